"""Client histories: operations with their invocation and completion.

A history is what clients observed: each operation was invoked by a process at
some moment and then either

- completed (``ok``): it took effect exactly once, somewhere between its
  invocation and its completion, and returned ``result``;
- failed (``fail``): it definitely did not take effect (checkers ignore it);
- is indeterminate (``info``, or never completed): it may have taken effect at
  any moment after its invocation, or never, and its result is unknown
  (:data:`UNKNOWN`).

Times are any comparable numbers (seconds, nanoseconds, or simply event
indices); an indeterminate operation has no completion time (``ret`` is None,
i.e. it stays open until the end of the history). A process has at most one
operation outstanding. Operation ids are the invocation order, 0-based.

Model states can record a history as a tuple of :class:`Event` values (small
hashable tuples) and turn it into a :class:`History` with
:meth:`History.from_events`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable, Iterable, Iterator, NamedTuple

from splitbrain.properties.consistency.edn import Keyword

OK = "ok"
FAIL = "fail"
INFO = "info"
INVOKE = "invoke"
STATUSES = (OK, FAIL, INFO)


class _Unknown:
    """The result of an indeterminate operation (a singleton)."""

    _instance: "_Unknown | None" = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "unknown"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


class HistoryError(ValueError):
    """A malformed history (the message says what is wrong, without a location)."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One client operation: ``f(value)`` by ``process``, returning ``result``.

    ``key`` names the object operated on for keyed data types (None otherwise).
    ``line`` is where the invocation came from (a file line number), if known.
    ``seen``, when not None, is causal metadata: the ids of the update
    operations the serving replica had applied when it answered.
    """

    id: int
    process: Hashable
    f: str
    value: Any
    result: Any
    status: str
    call: Any
    ret: Any = None
    key: Any = None
    line: int | None = None
    seen: frozenset[int] | None = None

    @property
    def indeterminate(self) -> bool:
        """True when the operation may or may not have taken effect."""
        return self.status == INFO

    @property
    def completed(self) -> bool:
        """True when the operation took effect and returned a known result."""
        return self.status == OK

    def describe(self) -> str:
        """``process 3: write 4 -> ok`` style, in one short phrase."""
        text = f"process {self.process}: {self.f}"
        if self.key is not None:
            text += f" key {_show(self.key)}"
        if self.value is not None:
            text += f" {_show(self.value)}"
        if self.status == INFO:
            text += " (indeterminate)"
        elif self.status == FAIL:
            text += " (failed)"
        elif (self.result is not None and self.result != self.value) or self.result is False \
                or (self.result is None and self.value is None):
            text += f" -> {_show(self.result)}"
        if self.line is not None:
            text += f" [line {self.line}]"
        return text


def _show(x: Any) -> str:
    if x is None:
        return "nil"
    if x is True:
        return "true"
    if x is False:
        return "false"
    if isinstance(x, Keyword):
        return f":{x}"
    if isinstance(x, str):
        return f'"{x}"'
    if isinstance(x, (tuple, list)):
        return "[" + " ".join(_show(a) for a in x) + "]"
    if isinstance(x, (frozenset, set)):
        return "#{" + " ".join(sorted(_show(a) for a in x)) + "}"
    return str(x)


class Event(NamedTuple):
    """One history event as a model records it: hashable and JSON-friendly.

    ``type`` is ``invoke``, ``ok``, ``fail`` or ``info``; ``value`` is the
    argument (invoke) or the result (completion); ``seen`` optional causal
    metadata on a completion (ids of the updates the replica had applied).
    """

    process: Hashable
    type: str
    f: str
    value: Any = None
    key: Any = None
    seen: frozenset[int] | None = None


@dataclass(frozen=True)
class History:
    """A sequence of operations, in invocation order (ids 0, 1, 2, ...).

    ``nemesis`` keeps the events of non-client processes (Jepsen's fault
    injector) as ``(line, type, f, value)`` for display; no checker judges them.
    """

    ops: tuple[Operation, ...]
    source: str = field(default="", compare=False)
    nemesis: tuple[tuple[Any, ...], ...] = field(default=(), compare=False)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def __getitem__(self, i: int) -> Operation:
        return self.ops[i]

    @classmethod
    def from_events(cls, events: Iterable[Event | tuple], source: str = "") -> "History":
        """The history of ``events`` (times are event positions).

        Raises :class:`HistoryError` (naming the event's position) when an
        event is malformed or does not fit (a completion with no invocation,
        a second invocation while one is outstanding).
        """
        builder = HistoryBuilder()
        for i, ev in enumerate(events):
            ev = Event(*ev)
            try:
                if ev.type == INVOKE:
                    builder.invoke(ev.process, ev.f, ev.value, key=ev.key, time=i)
                else:
                    builder.complete(ev.process, ev.type, ev.f, ev.value, time=i, seen=ev.seen)
            except HistoryError as exc:
                raise HistoryError(f"event {i}: {exc}") from None
        return builder.history(source)

    def processes(self) -> list[Hashable]:
        """The processes, in order of first invocation."""
        return list(dict.fromkeys(op.process for op in self.ops))

    def by_process(self) -> dict[Hashable, list[Operation]]:
        """Each process's operations in invocation order."""
        out: dict[Hashable, list[Operation]] = {}
        for op in self.ops:
            out.setdefault(op.process, []).append(op)
        return out

    def keys(self) -> list[Any]:
        """The keys operated on, in order of first use."""
        return list(dict.fromkeys(op.key for op in self.ops))


# field positions in the builder's working lists (the order of Operation's fields)
_ID, _PROCESS, _F, _VALUE, _RESULT, _STATUS, _CALL, _RET, _KEY, _LINE, _SEEN = range(11)


class HistoryBuilder:
    """Pairs invocations with completions, as a reader or a recorder sees them."""

    def __init__(self) -> None:
        self._ops: list[list[Any]] = []
        self._open: dict[Hashable, list[Any]] = {}
        self._tick = 0  # the default time: events counted so far

    def invoke(self, process: Hashable, f: str, value: Any, *, key: Any = None,
               time: Any = None, line: int | None = None) -> int:
        """Open an operation; returns its id."""
        if process in self._open:
            prev = self._open[process]
            where = f" (line {prev[_LINE]})" if prev[_LINE] is not None else ""
            raise HistoryError(f"process {process} invokes {f} while its {prev[_F]}{where} is still outstanding")
        op_id = len(self._ops)
        self._tick += 1
        op = [op_id, process, f, value, UNKNOWN, INFO, self._tick if time is None else time, None, key, line, None]
        self._ops.append(op)
        self._open[process] = op
        return op_id

    def complete(self, process: Hashable, status: str, f: str | None, result: Any, *,
                 time: Any = None, seen: Iterable[int] | None = None) -> int:
        """Close ``process``'s outstanding operation with ``status``; returns its id."""
        if status not in STATUSES:
            raise HistoryError(f"unknown event type {status!r} (expected invoke, ok, fail or info)")
        op = self._open.pop(process, None)
        if op is None:
            raise HistoryError(f"process {process} completes {f or 'an operation'} but has no outstanding invocation")
        self._tick += 1
        if f is not None and f != op[_F]:
            self._open[process] = op
            raise HistoryError(f"process {process} completes {f} but invoked {op[_F]}")
        op[_STATUS] = status
        if status == INFO:
            return op[_ID]  # stays open: it may take effect at any later moment
        op[_RET] = self._tick if time is None else time
        op[_RESULT] = result
        if seen is not None:
            op[_SEEN] = frozenset(seen)
        return op[_ID]

    def history(self, source: str = "", nemesis: tuple[tuple[Any, ...], ...] = ()) -> History:
        """The operations so far; outstanding ones count as indeterminate."""
        return History(tuple(Operation(*op) for op in self._ops), source, nemesis)


@dataclass(frozen=True)
class Verdict:
    """A checker's answer: does the history satisfy ``consistency``?

    ``explanation`` says why not, in words (empty when satisfied);
    ``operations`` are the operations involved in the violation.
    """

    ok: bool
    consistency: str
    explanation: str = ""
    operations: tuple[Operation, ...] = ()
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def __bool__(self) -> bool:
        return self.ok

    def to_json(self) -> dict[str, Any]:
        return {
            "consistency": self.consistency,
            "satisfied": self.ok,
            "explanation": self.explanation,
            "involved": [{"id": op.id, "line": op.line, "operation": op.describe()} for op in self.operations],
            "details": {k: v for k, v in self.details.items() if isinstance(v, (int, float, str, bool, type(None)))},
        }
