"""Deterministic list-append histories, as Jepsen's append workload records them.

:func:`list_append_events` simulates clients of a strictly serializable
database: each transaction takes effect at one instant between its
invocation and its completion, and its reads see exactly the transactions
that took effect before. A few transactions fail (no effect) or end
indeterminate (effect or not, by a coin). Each key takes at most
``appends_per_key`` appends and is then retired for a fresh one, as Jepsen
does to keep lists short.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any

from splitbrain.properties.consistency.edn import Keyword
from splitbrain.properties.consistency.history import FAIL, INFO, INVOKE, OK
from splitbrain.properties.consistency.transactions import check_transactions, read_txn_history

_APPEND, _R = Keyword("append"), Keyword("r")


def list_append_events(n: int, seed: int = 0, processes: int = 10, active_keys: int = 5,
                       appends_per_key: int = 32, max_ops: int = 4,
                       stale_reads: float = 0.0) -> list[tuple[Any, str, Any, int]]:
    """``(process, type, value, line)`` events of ``n`` transactions (see the module docstring).

    With ``stale_reads`` > 0, that fraction of reads returns a strict prefix of
    the list instead (an anomaly to find).
    """
    rng = random.Random(seed)
    lists: dict[int, list[int]] = {}
    appended: dict[int, int] = {}
    keys = list(range(active_keys))
    next_key = active_keys
    events: list[tuple[Any, str, Any, int]] = []
    idle = list(range(processes))
    running: dict[int, list[Any]] = {}  # process -> [invoked ops, completed ops or None (not yet applied)]
    next_process = processes
    started = 0

    def invoke(p: int) -> None:
        nonlocal next_key
        ops = []
        for _ in range(rng.randint(1, max_ops)):
            k = rng.choice(keys)
            if rng.random() < 0.5:
                appended[k] = appended.get(k, 0) + 1
                ops.append((_APPEND, k, appended[k]))
                if appended[k] >= appends_per_key:
                    keys[keys.index(k)] = next_key
                    next_key += 1
            else:
                ops.append((_R, k, None))
        running[p] = [tuple(ops), None]
        events.append((p, INVOKE, tuple(ops), len(events) + 1))

    def apply(ops: tuple) -> tuple:
        done = []
        for f, k, v in ops:
            if f == _APPEND:
                lists.setdefault(k, []).append(v)
                done.append((f, k, v))
            else:
                seen = lists.get(k, [])
                if stale_reads and seen and rng.random() < stale_reads:
                    seen = seen[:rng.randrange(len(seen))]
                done.append((f, k, tuple(seen)))
        return tuple(done)

    while started < n or running:
        if idle and started < n and (not running or rng.random() < 0.4):
            p = idle.pop(rng.randrange(len(idle)))
            invoke(p)
            started += 1
            continue
        p = rng.choice(list(running))
        ops, done = running[p]
        if done is None:
            roll = rng.random()
            if roll < 0.01:  # aborted: no effect
                del running[p]
                events.append((p, FAIL, ops, len(events) + 1))
                idle.append(p)
            elif roll < 0.015:  # indeterminate: took effect or not; the process is replaced
                if rng.random() < 0.5:
                    apply(ops)
                del running[p]
                events.append((p, INFO, ops, len(events) + 1))
                idle.append(next_process)
                next_process += 1
            else:
                running[p][1] = apply(ops)  # takes effect now
            continue
        del running[p]
        events.append((p, OK, done, len(events) + 1))
        idle.append(p)
    return events


def to_edn(events: list[tuple[Any, str, Any, int]]) -> str:
    """The events as a Jepsen history file: one vector, one event map per line."""
    def show(x: Any) -> str:
        if isinstance(x, Keyword):
            return ":" + x
        if x is None:
            return "nil"
        if isinstance(x, tuple):
            return "[" + " ".join(show(a) for a in x) + "]"
        return str(x)

    lines = [f"{{:process {p}, :type :{kind}, :f :txn, :value {show(value)}}}" for p, kind, value, _ in events]
    return "[" + "\n ".join(lines) + "]\n"


def measure(n: int, seed: int = 1, consistency: str = "strict-serializable") -> dict[str, Any]:
    """Write a generated ``n``-transaction history to a temporary EDN file, read it and check it.

    ``read_seconds`` is reading the file (EDN and pairing), ``check_seconds``
    the check, ``seconds`` both; ``valid`` must be True (the generated
    history is strictly serializable by construction).
    """
    text = to_edn(list_append_events(n, seed))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.edn"
        path.write_text(text)
        start = time.perf_counter()
        history = read_txn_history(path)
        read = time.perf_counter() - start
        verdict = check_transactions(history, consistency)
        check = time.perf_counter() - read - start
    return {"transactions": len(history), "events": 2 * len(history), "file_mib": round(len(text) / 2 ** 20, 1),
            "consistency": consistency, "valid": verdict.ok, "dependencies": verdict.details["dependencies"],
            "read_seconds": round(read, 2), "check_seconds": round(check, 2), "seconds": round(read + check, 2)}


def bench() -> dict[str, Any]:
    """The ``txncheck-100k`` bench entry: :func:`measure` on 100,000 transactions."""
    return measure(100_000)
