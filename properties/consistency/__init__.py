"""History checkers: is what clients observed allowed by a consistency model?

A :class:`History` of client operations (invocation, completion, result) is
judged against a data type's sequential specification (:mod:`.datatypes`)
under a consistency model:

- ``linearizable`` (:mod:`.linearizability`): one order, consistent with real time;
- ``sequential``, ``causal``, ``convergent`` and the session guarantees
  ``read-your-writes``, ``monotonic-reads``, ``monotonic-writes``,
  ``writes-follow-reads`` (:mod:`.weaker`).

The data types are knossos's (register / cas-register, multi-register,
mutex, set, unordered and FIFO queues) plus a key-value store
(:mod:`.datatypes`). Readers for Porcupine and Jepsen files are in
:mod:`.readers`, on the EDN reader :mod:`.edn`; a property constructor for
models that record a client history in their state in :mod:`.property`.
Transactional histories (list-append, rw-register) are judged Elle's way in
:mod:`.transactions`, from read uncommitted to strict serializability. The
``splitbrain lincheck`` and ``txncheck`` commands are in ``checker/``.
"""

from __future__ import annotations

from typing import Sequence

from splitbrain.properties.consistency.datatypes import DATATYPES, KV, QUEUE, REGISTER, SET, DataType, get_datatype
from splitbrain.properties.consistency.history import (
    FAIL,
    INFO,
    OK,
    UNKNOWN,
    Event,
    History,
    HistoryBuilder,
    HistoryError,
    Operation,
    Verdict,
)
from splitbrain.properties.consistency.linearizability import LINEARIZABLE, check_linearizable
from splitbrain.properties.consistency.weaker import CHECKERS as _WEAKER

MODELS: tuple[str, ...] = (LINEARIZABLE, *_WEAKER)


def check(history: History | Sequence[Operation], datatype: DataType | str,
          consistency: str = LINEARIZABLE) -> Verdict:
    """Does ``history`` satisfy ``consistency`` for ``datatype``?

    ValueError for an unknown model or data type, or a history the model
    cannot judge (for example repeated written values where reads-from is
    needed).
    """
    if isinstance(datatype, str):
        datatype = get_datatype(datatype)
    if consistency == LINEARIZABLE:
        return check_linearizable(history, datatype)
    if consistency not in _WEAKER:
        raise ValueError(f"unknown consistency model {consistency!r} (known: {', '.join(MODELS)})")
    return _WEAKER[consistency](history, datatype)


__all__ = [
    "DATATYPES", "KV", "QUEUE", "REGISTER", "SET", "DataType", "get_datatype",
    "FAIL", "INFO", "OK", "UNKNOWN", "Event", "History", "HistoryBuilder", "HistoryError", "Operation",
    "Verdict", "LINEARIZABLE", "MODELS", "check", "check_linearizable",
]
