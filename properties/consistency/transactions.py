"""Transactional consistency the way Elle checks it: dependency graphs and their cycles.

A transaction history (Jepsen's ``:f :txn`` operations) is judged in three steps.

1. **Dependencies are inferred** between committed transactions (and
   indeterminate ones whose writes were observed):

   - ``ww`` (write-write): T1 installed a version of a key and T2 installed the
     next one;
   - ``wr`` (write-read): T2 read the version T1 installed;
   - ``rw`` (read-write, an anti-dependency): T1 read a version and T2
     installed the next one;
   - ``process``: T2 is the next transaction of T1's client process;
   - ``realtime``: T1 completed before T2 was invoked.

   In a **list-append** history (``[:append k v]``, ``[:r k [v ...]]``) every
   read returns the whole list, so the version order of a key is the longest
   list read (every other read must be a prefix of it), and appends nobody
   read come after all of it. In an **rw-register** history (``[:w k v]``,
   ``[:r k v]``) versions are ordered only by what is certain: the initial
   ``nil`` comes first, and within one transaction a value read or written
   precedes a value it writes later. Appended or written values must be
   unique per key.

2. **Anomalies** are found. Those that are not cycles are read straight off
   the history: ``G1a`` (aborted read: a failed transaction's write was
   read), ``G1b`` (intermediate read: a version that its writer overwrote in
   the same transaction was read), ``internal`` (a transaction's read
   disagrees with its own earlier reads and writes), ``incompatible-order``
   (two reads of a list that are not prefixes of each other),
   ``duplicate-elements`` and ``garbage-read`` (a value nobody wrote). The
   others are cycles in the dependency graph, named after Adya (A. Adya,
   "Weak Consistency: A Generalized Theory and Optimistic Implementations
   for Distributed Transactions", MIT PhD thesis, 1999) and Elle (K.
   Kingsbury and P. Alvaro, "Elle: Inferring Isolation Anomalies from
   Experimental Observations", VLDB 2020):

   - ``G0`` (dirty write): a cycle of ww edges only;
   - ``G1c`` (circular information flow): ww and wr edges, at least one wr;
   - ``G-single`` (read skew): exactly one rw edge;
   - ``G-nonadjacent``: several rw edges, no two of them consecutive;
   - ``G2-item``: rw edges, two of them consecutive (write skew and worse);
   - each with the suffix ``-process`` or ``-realtime`` when the cycle needs
     process or real-time edges (``G-single-realtime``, ...).

   The search works on strongly connected components (networkx): whether a
   component holds a cycle of a given family is decided exactly and in
   linear time (a family without consecutive rw edges is searched in a
   product graph that remembers whether the last edge was rw); the example
   printed is the shortest cycle found by breadth-first search within a
   budget of steps, the shortest overall when the budget suffices.

3. **Consistency models** prohibit anomalies (:data:`PROHIBITED`), from
   ``read-uncommitted`` (G0) to ``strict-serializable`` (every cycle, real
   time included). Internal consistency, compatible list orders, distinct
   elements and reads of written values are required by every model. A
   history satisfies a model when none of the anomalies it prohibits occurs;
   so a history valid under a model is valid under every weaker one
   (:data:`WEAKER`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable, Iterable, Sequence

import networkx as nx

from splitbrain.models.registry import UsageError
from splitbrain.properties.consistency.edn import Keyword, paused_gc
from splitbrain.properties.consistency.history import FAIL, INFO, INVOKE, OK, HistoryError, _show
from splitbrain.properties.consistency.readers import is_client, read_edn_events

LIST_APPEND = "list-append"
RW_REGISTER = "rw-register"

WW, WR, RW, PROCESS, REALTIME = "ww", "wr", "rw", "process", "realtime"
_PRIORITY = (WW, WR, PROCESS, REALTIME, RW)  # the label an edge gets when it has several kinds

CYCLE_BASES = ("G0", "G1c", "G-single", "G-nonadjacent", "G2-item")
CYCLE_ANOMALIES = tuple(b + s for s in ("", "-process", "-realtime") for b in CYCLE_BASES)
OTHER_ANOMALIES = ("G1a", "G1b", "internal", "incompatible-order", "duplicate-elements", "garbage-read")
_ALWAYS = ("internal", "incompatible-order", "duplicate-elements", "garbage-read")
_SI = ("G0", "G1c", "G-single", "G-nonadjacent")


def _with(suffixes: Sequence[str], bases: Sequence[str]) -> tuple[str, ...]:
    return tuple(b + s for s in suffixes for b in bases)


PROHIBITED: dict[str, frozenset[str]] = {name: frozenset(_ALWAYS + anomalies) for name, anomalies in {
    "read-uncommitted": ("G0",),
    "read-committed": ("G0", "G1a", "G1b", "G1c"),
    "snapshot-isolation": ("G1a", "G1b", *_SI),
    "repeatable-read": ("G1a", "G1b", *CYCLE_BASES),
    "serializable": ("G1a", "G1b", *CYCLE_BASES),
    "strong-session-snapshot-isolation": ("G1a", "G1b", *_with(("", "-process"), _SI)),
    "strong-snapshot-isolation": ("G1a", "G1b", *_with(("", "-process", "-realtime"), _SI)),
    "strong-session-serializable": ("G1a", "G1b", *_with(("", "-process"), CYCLE_BASES)),
    "strict-serializable": ("G1a", "G1b", *CYCLE_ANOMALIES),
}.items()}
"""The anomalies each consistency model prohibits. Without predicate reads,
Adya's G2 is G2-item, so repeatable read and serializability coincide here."""

CONSISTENCY_MODELS = tuple(PROHIBITED)

# Which dependency cycles each model rules out: (edge kinds, whether only cycles without two
# consecutive rw edges are ruled out). The exact existence test behind each verdict.
_FAMILIES: dict[str, tuple[frozenset[str], bool]] = {
    "read-uncommitted": (frozenset({WW}), False),
    "read-committed": (frozenset({WW, WR}), False),
    "snapshot-isolation": (frozenset({WW, WR, RW}), True),
    "repeatable-read": (frozenset({WW, WR, RW}), False),
    "serializable": (frozenset({WW, WR, RW}), False),
    "strong-session-snapshot-isolation": (frozenset({WW, WR, RW, PROCESS}), True),
    "strong-snapshot-isolation": (frozenset({WW, WR, RW, PROCESS, REALTIME}), True),
    "strong-session-serializable": (frozenset({WW, WR, RW, PROCESS}), False),
    "strict-serializable": (frozenset({WW, WR, RW, PROCESS, REALTIME}), False),
}


def weaker(model: str) -> list[str]:
    """The models weaker than ``model``: every history ``model`` accepts, they accept too."""
    return [m for m in CONSISTENCY_MODELS if m != model and PROHIBITED[m] <= PROHIBITED[model]]


WEAKER: dict[str, list[str]] = {m: weaker(m) for m in CONSISTENCY_MODELS}

# --- the history ------------------------------------------------------------------------


@dataclass(frozen=True)
class Txn:
    """One transaction: its micro-operations ``(f, key, value)`` as completed (as invoked when not ok)."""

    id: int
    process: Hashable
    status: str
    ops: tuple[tuple[str, Any, Any], ...]
    line: int | None = None

    def describe(self) -> str:
        """``T3 (process 1, line 7): [[:append :x 1] [:r :y [1]]]``."""
        where = f"process {self.process}" + (f", line {self.line}" if self.line is not None else "")
        status = {INFO: ", indeterminate", FAIL: ", failed"}.get(self.status, "")
        ops = " ".join(f"[:{f} {_show(k)} {_show(v)}]" for f, k, v in self.ops)
        return f"T{self.id} ({where}{status}): [{ops}]"


@dataclass(frozen=True)
class TxnHistory:
    """Transactions in invocation order, with the order of invocations and completions."""

    txns: tuple[Txn, ...]
    events: tuple[tuple[str, int], ...]  # (INVOKE or the completion status, transaction id), in time order
    workload: str
    source: str = ""
    nemesis: int = 0  # events of non-client processes, read and not checked

    def __len__(self) -> int:
        return len(self.txns)


_MICRO = {"append": LIST_APPEND, "r": None, "w": RW_REGISTER}


def build_history(events: Iterable[tuple[Hashable, str, Any, int | None]], source: str = "",
                  workload: str | None = None, nemesis: int = 0) -> TxnHistory:
    """A history from ``(process, type, value, line)`` events of ``:txn`` operations.

    ``type`` is invoke, ok, fail or info; ``value`` the micro-operations as
    invoked or completed. The workload (list-append or rw-register) is
    inferred from the micro-operations unless given. HistoryError for a
    malformed event (the message names its line).
    """
    txns: list[list[Any]] = []
    order: list[tuple[str, int]] = []
    open_: dict[Hashable, int] = {}
    kinds: set[str] = set()
    for process, kind, value, line in events:
        ops = _micro_ops(value, line)
        if workload is None:
            for f, _, v in ops:
                if _MICRO[f]:
                    kinds.add(_MICRO[f])
                elif v is not None:
                    kinds.add(LIST_APPEND if isinstance(v, tuple) else RW_REGISTER)
        if kind == INVOKE:
            if process in open_:
                raise HistoryError(f"{_at(line)}process {process} invokes a transaction while another is outstanding")
            open_[process] = len(txns)
            order.append((INVOKE, len(txns)))
            txns.append([len(txns), process, INFO, ops, line])
        elif kind in (OK, FAIL, INFO):
            if process not in open_:
                raise HistoryError(f"{_at(line)}process {process} completes a transaction it did not invoke")
            i = open_.pop(process)
            txns[i][2] = kind
            if kind == OK:
                if len(ops) != len(txns[i][3]):
                    raise HistoryError(f"{_at(line)}the completion has {len(ops)} micro-operations, "
                                       f"the invocation {len(txns[i][3])}")
                txns[i][3] = ops
            order.append((kind, i))
        else:
            raise HistoryError(f"{_at(line)}unknown event type {kind!r} (expected invoke, ok, fail or info)")
    if workload is None:
        if len(kinds) > 1:
            raise HistoryError("the history mixes :append and :w micro-operations (expected list-append "
                               "or rw-register, not both)")
        workload = kinds.pop() if kinds else LIST_APPEND
    return TxnHistory(tuple(Txn(*t) for t in txns), tuple(order), workload, source, nemesis)


def _at(line: int | None) -> str:
    return f"line {line}: " if line is not None else ""


def _micro_ops(value: Any, line: int | None) -> tuple[tuple[str, Any, Any], ...]:
    """``value`` checked to be a transaction: a vector of [f k v] micro-operations."""
    if not isinstance(value, tuple):
        raise HistoryError(f"{_at(line)}expected a transaction [[:append K V] [:r K V] [:w K V] ...], got {_show(value)}")
    for m in value:
        if not (isinstance(m, tuple) and len(m) == 3 and isinstance(m[0], str) and m[0] in _MICRO):
            raise HistoryError(f"{_at(line)}expected a micro-operation [:append K V], [:r K V] or [:w K V], "
                               f"got {_show(m)}")
    try:
        hash(value)
    except TypeError:
        raise HistoryError(f"{_at(line)}a key or value that is a map: {_show(value)}") from None
    return value


def read_txn_history(path: str | Path) -> TxnHistory:
    """A Jepsen transaction history from an EDN file (UsageError, with file and line, when malformed)."""
    path = Path(path)
    rows = read_edn_events(path)
    events = []
    nemesis = 0
    for line, ev in rows:
        for name in ("process", "type", "f"):
            if name not in ev:
                raise UsageError(f"{path}:{line}: event has no :{name}")
        if not is_client(ev["process"]):
            nemesis += 1
            continue
        if isinstance(ev["process"], bool) or not isinstance(ev["process"], (int, str)):
            raise UsageError(f"{path}:{line}: :process must be an integer, got {_show(ev['process'])}")
        if ev["f"] != "txn":
            raise UsageError(f"{path}:{line}: expected :f :txn (a transaction), got {_show(ev['f'])}")
        kind = ev["type"]
        if not isinstance(kind, Keyword) or kind not in (INVOKE, OK, FAIL, INFO):
            raise UsageError(f"{path}:{line}: :type must be :invoke, :ok, :fail or :info, got {_show(kind)}")
        events.append((ev["process"], str(kind), ev.get("value"), line))
    if not events:
        raise UsageError(f"{path}: empty history: no transactions")
    try:
        with paused_gc():
            return build_history(events, str(path), nemesis=nemesis)
    except HistoryError as exc:
        raise UsageError(located(path, exc)) from None


def located(path: str | Path, exc: Exception) -> str:
    """``FILE:LINE: problem`` for an error whose message starts with ``line LINE: `` (else ``FILE: problem``)."""
    text = str(exc)
    head, sep, rest = text.partition(": ")
    if sep and head.startswith("line ") and head[5:].isdigit():
        return f"{path}:{head[5:]}: {rest}"
    return f"{path}: {text}"


# --- anomalies and the verdict --------------------------------------------------------------


@dataclass(frozen=True)
class Anomaly:
    """One anomaly: its ``name``, the transactions involved, and in words why.

    For a cycle, ``txns`` are in cycle order and ``edges[i]`` says why
    ``txns[i]`` precedes ``txns[i + 1]`` (the last edge closes the cycle).
    """

    name: str
    txns: tuple[int, ...]
    explanation: str
    edges: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"anomaly": self.name, "transactions": list(self.txns), "explanation": self.explanation,
                "edges": list(self.edges)}


@dataclass(frozen=True)
class TxnVerdict:
    """Does the history satisfy ``consistency``? ``anomalies`` found (all kinds, one example of each).

    Every anomaly kind absent from ``anomalies`` was searched exhaustively and
    does not occur, except those in ``details["unfinished_searches"]``, whose
    search for an example stopped at its budget (the verdict is exact all the same).
    """

    ok: bool
    consistency: str
    anomalies: dict[str, Anomaly]
    prohibited_found: tuple[str, ...]
    explanation: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.ok

    def to_json(self) -> dict[str, Any]:
        return {"consistency": self.consistency, "satisfied": self.ok,
                "anomalies": {k: a.to_json() for k, a in self.anomalies.items()},
                "prohibited": list(self.prohibited_found), "explanation": self.explanation,
                "details": self.details}


SEARCH_BUDGET = 50_000  # edges a cycle search follows per anomaly kind before it settles for what it found


class _Graph:
    """The dependency graph: ``kinds[kind][(a, b)]`` says why T``a`` precedes T``b`` by an edge of ``kind``."""

    def __init__(self) -> None:
        self.kinds: dict[str, dict[tuple[int, int], tuple]] = {k: {} for k in _PRIORITY}

    def add(self, a: int, b: int, kind: str, why: tuple) -> None:
        if a != b:
            self.kinds[kind].setdefault((a, b), why)

    def edge_kinds(self, a: int, b: int) -> dict[str, tuple]:
        """The kinds of the edges from ``a`` to ``b``, each with why it holds."""
        return {k: edges[(a, b)] for k, edges in self.kinds.items() if (a, b) in edges}


def analyze(history: TxnHistory, budget: int = SEARCH_BUDGET) -> tuple[dict[str, Anomaly], "_Cycles"]:
    """Every anomaly found in ``history`` (one example of each name) and the cycle finder."""
    anomalies: dict[str, Anomaly] = {}
    graph = _Graph()
    if history.workload == LIST_APPEND:
        _list_append(history, graph, anomalies)
    else:
        _rw_register(history, graph, anomalies)
    _order_edges(history, graph)
    cycles = _Cycles(history, graph, budget)
    for name in CYCLE_ANOMALIES:
        found = cycles.example(name)
        if found is not None:
            anomalies[name] = found
    return anomalies, cycles


def check_transactions(history: TxnHistory, consistency: str, budget: int = SEARCH_BUDGET) -> TxnVerdict:
    """Does ``history`` satisfy ``consistency`` (one of :data:`CONSISTENCY_MODELS`)?

    ValueError for an unknown model; HistoryError for a history whose values
    are not distinct or whose reads have the wrong shape.
    """
    if consistency not in PROHIBITED:
        raise ValueError(f"unknown consistency model {consistency!r} (known: {', '.join(CONSISTENCY_MODELS)})")
    with paused_gc():
        anomalies, cycles = analyze(history, budget)
    return judge(history, anomalies, cycles, consistency)


def check_all_models(history: TxnHistory, budget: int = SEARCH_BUDGET) -> dict[str, TxnVerdict]:
    """The verdict of every consistency model on ``history`` (one analysis)."""
    with paused_gc():
        anomalies, cycles = analyze(history, budget)
    return {m: judge(history, anomalies, cycles, m) for m in CONSISTENCY_MODELS}


def judge(history: TxnHistory, anomalies: dict[str, Anomaly], cycles: "_Cycles", consistency: str) -> TxnVerdict:
    """The verdict of ``consistency`` on the anomalies :func:`analyze` found."""
    anomalies = dict(anomalies)
    prohibited = PROHIBITED[consistency]
    found = [name for name in (*OTHER_ANOMALIES, *CYCLE_ANOMALIES) if name in anomalies and name in prohibited]
    kinds, nonadjacent = _FAMILIES[consistency]
    if not any(n in CYCLE_ANOMALIES for n in found):
        example = cycles.family_example(kinds, nonadjacent)  # exact: a prohibited cycle the budget missed
        if example is not None:
            anomalies.setdefault(example.name, example)
            found.append(example.name)
    details = {"transactions": len(history), "workload": history.workload, "dependencies": cycles.edge_count,
               "nontrivial_components": len(cycles.components),
               "largest_component": max((len(c) for c in cycles.components), default=1),
               "unfinished_searches": ", ".join(cycles.unfinished)}
    if not found:
        return TxnVerdict(True, consistency, anomalies, (), "", details)
    text = [f"not {consistency}, which prohibits {', '.join(found)}, found here."]
    cycle_names = [n for n in found if n in CYCLE_ANOMALIES]
    for name in found:
        if name not in CYCLE_ANOMALIES:
            text.append(f"{name}: {anomalies[name].explanation}")
    if cycle_names:
        smallest = min((anomalies[n] for n in cycle_names), key=lambda a: len(a.txns))
        text.append(f"{smallest.name}: {smallest.explanation}")
        for i, t in enumerate(smallest.txns):
            text.append(f"  {history.txns[t].describe()}")
            text.append(f"    -> {smallest.edges[i]}")
        text.append(f"  (back to T{smallest.txns[0]})")
    return TxnVerdict(False, consistency, anomalies, tuple(found), "\n".join(text), details)


def _note(anomalies: dict[str, Anomaly], name: str, txns: tuple[int, ...], explanation: str) -> None:
    """Record the first example of a non-cycle anomaly."""
    anomalies.setdefault(name, Anomaly(name, txns, explanation))


# --- inference: list-append ------------------------------------------------------------------


def _list_append(history: TxnHistory, graph: _Graph, anomalies: dict[str, Anomaly]) -> None:
    txns = history.txns
    writer: dict[Any, dict[Any, int]] = {}  # key -> element -> the transaction that appended it (not failed)
    failed: dict[Any, dict[Any, int]] = {}  # key -> element -> the failed transaction that appended it
    last_append: dict[tuple[int, Any], Any] = {}  # (txn, key) -> its last element appended to key
    reads: list[tuple[int, Any, tuple, bool]] = []  # (txn, key, list, external: before its own appends)
    for t in txns:
        tid, status = t.id, t.status
        known: dict[Any, tuple] = {}  # key -> what the txn must read now (after a read and appends)
        own: dict[Any, tuple] = {}  # key -> its appends not preceded by a read
        for f, k, v in t.ops:
            if f == "append":
                if status == FAIL:
                    failed.setdefault(k, {})[v] = tid
                    continue
                wk = writer.setdefault(k, {})
                if v in wk:
                    raise HistoryError(f"{_at(t.line)}{_show(v)} is appended to key {_show(k)} twice (also by "
                                       f"T{wk[v]}): txncheck needs distinct appended values per key")
                wk[v] = tid
                last_append[(tid, k)] = v
                if k in known:
                    known[k] += (v,)
                else:
                    own[k] = own.get(k, ()) + (v,)
                continue
            if status != OK or v is None:
                continue
            if not isinstance(v, tuple):
                raise HistoryError(f"{_at(t.line)}a read of key {_show(k)} returned {_show(v)}, not a list")
            mine = own.get(k)
            if (k in known and v != known[k]) or (mine and v[-len(mine):] != mine):
                expected = known[k] if k in known else ("...", *mine)  # type: ignore[misc]
                _note(anomalies, "internal", (tid,), f"T{tid} read key {_show(k)} = {_show(v)} but its own "
                      f"earlier reads and appends say {_show(expected)}")
            reads.append((tid, k, v, k not in known and not mine))
            known[k] = v
            own.pop(k, None)
    # the version order of each key: its longest read, which every other read must be a prefix of
    longest: dict[Any, tuple] = {}
    for _, k, v, _ in reads:
        if k not in longest or len(v) > len(longest[k]):
            longest[k] = v
    broken: set[Any] = set()  # keys without a version order
    for tid, k, v, _ in reads:
        if v != longest[k][:len(v)] or (k in broken and len(set(v)) != len(v)):
            if k not in broken:
                _note(anomalies, "incompatible-order", (tid,), f"T{tid} read key {_show(k)} = {_show(v)}, "
                      f"which is not a prefix of {_show(longest[k])}, read elsewhere")
            broken.add(k)
            if len(set(v)) != len(v):
                _note(anomalies, "duplicate-elements", (tid,), f"T{tid} read key {_show(k)} = {_show(v)}: "
                      "an element appears twice")
    for k, order in longest.items():
        if len(set(order)) != len(order):
            reader = next(tid for tid, key, v, _ in reads if key == k and len(set(v)) != len(v))
            _note(anomalies, "duplicate-elements", (reader,), f"T{reader} read key {_show(k)} with an element "
                  "appearing twice")
            broken.add(k)
    # where each key's order first holds an element no committed or indeterminate transaction appended
    first_unknown = {k: next((i for i, e in enumerate(order) if e not in writer.get(k, ())), len(order))
                     for k, order in longest.items()}
    ww, wr, rw = graph.kinds[WW], graph.kinds[WR], graph.kinds[RW]
    unread: dict[Any, list[tuple[int, Any]]] = {}  # key -> committed appends (txn, element) no read shows
    for k, wk in writer.items():
        seen = set(longest.get(k, ()))
        unread[k] = [(w, e) for e, w in wk.items() if e not in seen and txns[w].status == OK]
    for tid, k, v, external in reads:
        if k in broken or len(v) > first_unknown[k]:  # G1a or garbage somewhere in this read
            for e in v:
                if e in failed.get(k, ()):
                    _note(anomalies, "G1a", (tid, failed[k][e]), f"T{tid} read key {_show(k)} = {_show(v)}, "
                          f"with {_show(e)} appended by T{failed[k][e]}, which failed")
                elif e not in writer.get(k, ()):
                    _note(anomalies, "garbage-read", (tid,), f"T{tid} read key {_show(k)} = {_show(v)}, but no "
                          f"transaction appended {_show(e)}")
        if k in broken or not external:
            continue
        wk = writer.get(k, {})
        if v:
            w = wk.get(v[-1])
            if w is not None and w != tid:
                wr.setdefault((w, tid), (k, v[-1]))
                if last_append[(w, k)] != v[-1]:
                    _note(anomalies, "G1b", (tid, w), f"T{tid} read key {_show(k)} = {_show(v)}, ending in "
                          f"{_show(v[-1])}, an intermediate append of T{w} (which then appended "
                          f"{_show(last_append[(w, k)])})")
        order = longest[k]
        last = v[-1] if v else None
        if len(v) < len(order):
            w = wk.get(order[len(v)])
            if w is not None and w != tid:
                rw.setdefault((tid, w), (k, last, order[len(v)]))
        else:
            for w, e in unread.get(k, ()):  # appends nobody read: installed after the whole list
                if w != tid:
                    rw.setdefault((tid, w), (k, last, e))
    for k, order in longest.items():
        if k in broken:
            continue
        wk = writer.get(k, {})
        prev = None
        for e in order:
            w = wk.get(e)
            if w is None:
                continue
            if prev is not None and prev[0] != w:
                ww.setdefault((prev[0], w), (k, prev[1], e))
            prev = (w, e)
        if prev is not None:
            for w, e in unread.get(k, ()):
                if w != prev[0]:
                    ww.setdefault((prev[0], w), (k, prev[1], e))


# --- inference: rw-register ------------------------------------------------------------------


def _rw_register(history: TxnHistory, graph: _Graph, anomalies: dict[str, Anomaly]) -> None:
    txns = history.txns
    writer: dict[tuple[Any, Any], int] = {}
    failed: dict[tuple[Any, Any], int] = {}
    last_write: dict[tuple[int, Any], Any] = {}
    for t in txns:
        for f, k, v in t.ops:
            if f != "w":
                continue
            if t.status == FAIL:
                failed[(k, v)] = t.id
                continue
            if v is None:
                raise HistoryError(f"{_at(t.line)}a write of nil to key {_show(k)}: nil is the initial version")
            if (k, v) in writer and writer[(k, v)] != t.id:
                raise HistoryError(f"{_at(t.line)}{_show(v)} is written to key {_show(k)} twice (also by "
                                   f"T{writer[(k, v)]}): txncheck needs distinct written values per key")
            writer[(k, v)] = t.id
            last_write[(t.id, k)] = v
    # version order: nil first; within a transaction, what it read or wrote before a write precedes it
    later: dict[Any, dict[Any, set]] = {}  # key -> version -> versions certainly after it
    readers: dict[tuple[Any, Any], list[int]] = {}  # (key, version) -> transactions that read it externally
    for t in txns:
        if t.status == FAIL:
            continue
        current: dict[Any, Any] = {}
        for f, k, v in t.ops:
            if f == "w":
                if k in current and current[k] != v:
                    later.setdefault(k, {}).setdefault(current[k], set()).add(v)
                current[k] = v
                continue
            if t.status != OK:
                continue
            if k in current and current[k] != v:  # its own earlier read or write of k says otherwise
                _note(anomalies, "internal", (t.id,), f"T{t.id} read key {_show(k)} = {_show(v)} but its own "
                      f"earlier read or write says {_show(current[k])}")
            if k not in current:
                readers.setdefault((k, v), []).append(t.id)
                if v is not None:
                    if (k, v) in failed:
                        _note(anomalies, "G1a", (t.id, failed[(k, v)]), f"T{t.id} read key {_show(k)} = "
                              f"{_show(v)}, written by T{failed[(k, v)]}, which failed")
                    elif (k, v) not in writer:
                        _note(anomalies, "garbage-read", (t.id,), f"T{t.id} read key {_show(k)} = {_show(v)}, "
                              "which no transaction wrote")
                    else:
                        w = writer[(k, v)]
                        graph.add(w, t.id, WR, (k, v))
                        if last_write[(w, k)] != v and w != t.id:
                            _note(anomalies, "G1b", (t.id, w), f"T{t.id} read key {_show(k)} = {_show(v)}, an "
                                  f"intermediate write of T{w} (which then wrote {_show(last_write[(w, k)])})")
                current[k] = v
    for (k, v), w in writer.items():
        later.setdefault(k, {}).setdefault(None, set()).add(v)
    for k, succ in later.items():
        for a, bs in succ.items():
            for b in bs:
                wb = writer.get((k, b))
                if wb is None:
                    continue
                if a is not None and (k, a) in writer:
                    graph.add(writer[(k, a)], wb, WW, (k, a, b))
                for r in readers.get((k, a), ()):
                    graph.add(r, wb, RW, (k, a, b))


# --- process and real-time order ---------------------------------------------------------------


def _order_edges(history: TxnHistory, graph: _Graph) -> None:
    """process edges between a process's consecutive transactions; realtime edges (transitively
    reduced) from each transaction to those invoked after it completed. Failed transactions are left out."""
    txns = history.txns
    last: dict[Hashable, int] = {}
    frontier: set[int] = set()  # completed transactions that no completed one is known to follow
    before: dict[int, tuple[int, ...]] = {}
    done: set[int] = set()

    realtime = graph.kinds[REALTIME]

    def place(i: int) -> None:
        for f in before[i]:
            realtime[(f, i)] = ()
        process = txns[i].process
        if process in last:
            graph.add(last[process], i, PROCESS, (process,))
        last[process] = i

    for kind, i in history.events:
        if kind == INVOKE:
            before[i] = tuple(frontier)
            continue
        done.add(i)
        if kind == FAIL:
            continue
        place(i)
        if kind == OK:
            frontier.difference_update(before[i])
            frontier.add(i)
    for i in before:
        if i not in done:  # never completed: indeterminate
            place(i)


# --- cycles ---------------------------------------------------------------------------------------

_X_LEVEL = {PROCESS: 1, REALTIME: 2}


class _Cycles:
    """Cycle search over the dependency graph's strongly connected components."""

    def __init__(self, history: TxnHistory, graph: _Graph, budget: int) -> None:
        self.history = history
        self.graph = graph
        self.budget = budget
        self.edge_count = sum(len(edges) for edges in graph.kinds.values())
        g = nx.DiGraph()
        g.add_edges_from(_on_cycles(graph))
        self.components = [c for c in nx.strongly_connected_components(g) if len(c) > 1]
        self._start_cache: dict[tuple[frozenset[str], bool], list[list[int]]] = {}
        self.exhausted = False  # whether the last search stopped at its budget
        self.unfinished: list[str] = []  # anomaly names whose search stopped at its budget without an example
        self.succ: dict[int, list[tuple[int, dict[str, tuple]]]] = {}
        member = {v for c in self.components for v in c}
        for a, b in g.edges:
            if a in member and b in member:
                self.succ.setdefault(a, []).append((b, graph.edge_kinds(a, b)))

    def _label(self, kinds: dict[str, tuple], allowed: frozenset[str]) -> str | None:
        for k in _PRIORITY:
            if k in kinds and k in allowed:
                return k
        return None

    def _starts(self, allowed: frozenset[str], nonadjacent: bool) -> list[list[int]]:
        """The components (sorted) of the subgraph of ``allowed`` edges that hold a cycle of the family."""
        if (allowed, nonadjacent) not in self._start_cache:
            self._start_cache[(allowed, nonadjacent)] = self._components_of(allowed, nonadjacent)
        return self._start_cache[(allowed, nonadjacent)]

    def _components_of(self, allowed: frozenset[str], nonadjacent: bool) -> list[list[int]]:
        out = []
        for comp in self.components:
            g = nx.DiGraph()
            for a in comp:
                for b, kinds in self.succ.get(a, ()):
                    if b not in comp:
                        continue
                    label = self._label(kinds, allowed)
                    if label is None:
                        continue
                    if not nonadjacent:
                        g.add_edge(a, b)
                    elif label != RW:
                        g.add_edge((a, 0), (b, 0))
                        g.add_edge((a, 1), (b, 0))
                    else:
                        g.add_edge((a, 0), (b, 1))
            for sub in nx.strongly_connected_components(g):
                if len(sub) > 1:
                    out.append(sorted({x[0] if nonadjacent else x for x in sub}))
        return out

    def family_example(self, allowed: frozenset[str], nonadjacent: bool) -> Anomaly | None:
        """The shortest cycle found of the family, or None when the family has no cycle (exact)."""
        starts = self._starts(allowed, nonadjacent)
        if not starts:
            return None
        found = self._search(starts, allowed, lambda name: not nonadjacent or _base(name) in _SI,
                             no_adjacent_rw=nonadjacent)
        if found is None:  # over budget: any cycle of the family, found in linear time
            found = self._any_cycle(starts[0], allowed, nonadjacent)
        return found

    def example(self, name: str) -> Anomaly | None:
        """The shortest cycle named ``name`` found within the budget, or None."""
        base, suffix = _base(name), name[len(_base(name)):]
        allowed = {"G0": {WW}, "G1c": {WW, WR}}.get(base, {WW, WR, RW})
        allowed |= {"": set(), "-process": {PROCESS}, "-realtime": {PROCESS, REALTIME}}[suffix]
        starts = self._starts(frozenset(allowed), False)
        if not starts:
            return None
        found = self._search(starts, frozenset(allowed), lambda n: n == name,
                             no_adjacent_rw=base in ("G-single", "G-nonadjacent"),
                             max_rw=1 if base == "G-single" else 2)
        if found is None and self.exhausted:
            self.unfinished.append(name)
        return found

    def _search(self, starts: list[list[int]], allowed: frozenset[str], accept: Any,
                no_adjacent_rw: bool = False, max_rw: int = 2) -> Anomaly | None:
        """Breadth-first search, from each start, of the shortest cycle whose name ``accept``s.

        Paths with two consecutive rw edges (``no_adjacent_rw``) or more than
        ``max_rw`` rw edges are not followed. Stops when the budget is spent.
        """
        best: list | None = None
        spent = 0
        self.exhausted = False
        for comp in starts:
            members = set(comp)
            adj: dict[int, list[tuple[int, str, bool, bool, int]]] = {}
            for a in comp:
                out = adj[a] = []
                for b, kinds in self.succ.get(a, ()):
                    label = self._label(kinds, allowed)
                    if b in members and label is not None:
                        out.append((b, label, label == RW, label == WR, _X_LEVEL.get(label, 0)))
            for s in comp:
                if spent >= self.budget:
                    self.exhausted = True
                    break
                path, cost = self._bfs(s, adj, accept, len(best) if best else None, no_adjacent_rw, max_rw)
                spent += cost
                if path is not None and (best is None or len(path) < len(best)):
                    best = path
        if best is None:
            return None
        return self._anomaly(best)

    @staticmethod
    def _bfs(s: int, adj: dict[int, list[tuple[int, str, bool, bool, int]]], accept: Any, bound: int | None,
             no_adjacent_rw: bool, max_rw: int) -> tuple[list | None, int]:
        # state: (node, first edge rw, last edge rw, rw edges (0, 1, 2+), two rw adjacent, wr seen, x level)
        start = (s, None, False, 0, False, False, 0)
        parent: dict[tuple, tuple | None] = {start: None}
        queue = deque([(start, 0)])
        cost = 0
        while queue:
            state, depth = queue.popleft()
            if bound is not None and depth + 1 >= bound:
                break
            v, first, last, nrw, adjacent, wr, x = state
            for b, label, is_rw, is_wr, level in adj[v]:
                cost += 1
                nadj = adjacent or (is_rw and last)
                nrw2 = nrw + is_rw
                if (no_adjacent_rw and nadj) or nrw2 > max_rw:
                    continue
                nstate = (b, is_rw if first is None else first, is_rw, min(2, nrw2), nadj, wr or is_wr,
                          max(x, level))
                if b == s:
                    closing = nstate[:4] + (nadj or (is_rw and bool(first)),) + nstate[5:]
                    if accept(_name(closing)):
                        steps = [(b, label)]
                        cur = state
                        while parent[cur] is not None:
                            prev, lab = parent[cur]
                            steps.append((cur[0], lab))
                            cur = prev
                        steps.reverse()  # [(node reached, label of the edge into it)], ending at s
                        cycle = _simple_cycle([s] + [n for n, _ in steps[:-1]], [lab for _, lab in steps], accept)
                        if cycle is not None:
                            return cycle, cost
                    continue
                if nstate not in parent:
                    parent[nstate] = (state, label)
                    queue.append((nstate, depth + 1))
        return None, cost

    def _any_cycle(self, comp: list[int], allowed: frozenset[str], nonadjacent: bool) -> Anomaly:
        """A cycle of the family in ``comp`` by depth-first search (linear time)."""
        g = nx.DiGraph()
        members = set(comp)
        for a in comp:
            for b, kinds in self.succ.get(a, ()):
                label = self._label(kinds, allowed)
                if b not in members or label is None:
                    continue
                if not nonadjacent:
                    g.add_edge(a, b, label=label)
                elif label != RW:
                    g.add_edge((a, 0), (b, 0), label=label)
                    g.add_edge((a, 1), (b, 0), label=label)
                else:
                    g.add_edge((a, 0), (b, 1), label=label)
        sub = max(nx.strongly_connected_components(g), key=len)
        cycle = nx.find_cycle(g.subgraph(sub))
        nodes = [(a[0] if nonadjacent else a) for a, _ in cycle]
        labels = [g.edges[a, b]["label"] for a, b in cycle]
        # as a path: [(node, label of the edge into it)], starting and ending at the first node
        path = [(nodes[0], labels[-1])] + [(nodes[i], labels[i - 1]) for i in range(1, len(nodes))]
        path.append((nodes[0], labels[-1]))
        return self._anomaly(path)

    def _anomaly(self, path: list[tuple[int, str]]) -> Anomaly:
        nodes = [n for n, _ in path[:-1]]
        labels = [lab for _, lab in path[1:]]  # labels[i]: edge nodes[i] -> nodes[i + 1]
        name = classify(labels)
        edges = []
        for i, a in enumerate(nodes):
            b = nodes[(i + 1) % len(nodes)]
            edges.append(self._why(a, b, labels[i]))
        rws = labels.count(RW)
        what = {"G0": "a cycle of write-write dependencies", "G1c": "a cycle of write dependencies and reads",
                "G-single": "a cycle with exactly one read-write anti-dependency",
                "G-nonadjacent": f"a cycle with {rws} read-write anti-dependencies, none consecutive",
                "G2-item": f"a cycle with {rws} read-write anti-dependencies, two of them consecutive"}[_base(name)]
        if name != _base(name):
            what += f", through {'real-time' if REALTIME in labels else 'process'} order"
        return Anomaly(name, tuple(nodes), f"{what} ({len(nodes)} transactions):", tuple(edges))

    def _why(self, a: int, b: int, label: str) -> str:
        why = self.graph.kinds[label][(a, b)]
        ta, tb = self.history.txns[a], self.history.txns[b]
        la = self.history.workload == LIST_APPEND
        if label == WW:
            k, x, y = why
            return (f"ww: T{b} {'appended' if la else 'wrote'} {_show(y)} to key {_show(k)} right after T{a}'s "
                    f"{_show(x)}")
        if label == WR:
            k, v = why
            return (f"wr: T{b} read key {_show(k)} ending in {_show(v)}, appended by T{a}" if la else
                    f"wr: T{b} read key {_show(k)} = {_show(v)}, written by T{a}")
        if label == RW:
            k, x, y = why
            seen = f"ending in {_show(x)}" if la and x is not None else ("empty" if la else f"= {_show(x)}")
            return (f"rw: T{a} read key {_show(k)} {seen}, and T{b} {'appended' if la else 'wrote'} "
                    f"{_show(y)}, the next version")
        if label == PROCESS:
            return f"process: T{b} is process {ta.process}'s next transaction"
        return (f"realtime: T{a} completed before T{b} was invoked" +
                (f" (line {tb.line})" if tb.line is not None else ""))


def _on_cycles(graph: _Graph) -> list[tuple[int, int]]:
    """The edges left after repeatedly removing nodes without predecessors, then without successors.

    Every edge on a cycle is left (usually none: a valid history's graph is
    acyclic), so the components are then found in a much smaller graph.
    """
    pairs: list[tuple[int, int]] = []
    for edges in graph.kinds.values():
        pairs.extend(edges)
    for _ in range(2):  # from the sources, then from the sinks (on the reversed edges)
        succ: dict[int, list[int]] = {}
        indegree: dict[int, int] = {}
        for a, b in pairs:
            if a in succ:
                succ[a].append(b)
            else:
                succ[a] = [b]
            indegree[b] = indegree.get(b, 0) + 1
        ready = [a for a in succ if a not in indegree]
        for a in ready:  # ready grows while it is walked
            for b in succ.get(a, ()):
                indegree[b] -= 1
                if not indegree[b]:
                    ready.append(b)
        if len(ready) == len(succ.keys() | indegree.keys()):
            return []  # acyclic
        removed = set(ready)
        pairs = [(b, a) for a, b in pairs if a not in removed and b not in removed]
    return pairs


def _simple_cycle(nodes: list[int], labels: list[str], accept: Any) -> list[tuple[int, str]] | None:
    """The closed walk ``nodes`` (``labels[i]`` from ``nodes[i]`` to the next) as a path, if it is a
    simple cycle; else its shortest simple cycle whose name ``accept``s, or None."""
    pieces = _split_walk(nodes, labels)
    pieces = [p for p in pieces if accept(classify(p[1]))]
    if not pieces:
        return None
    nodes, labels = min(pieces, key=lambda p: len(p[0]))
    return [(nodes[0], "")] + [(nodes[(i + 1) % len(nodes)], labels[i]) for i in range(len(nodes))]


def _split_walk(nodes: list[int], labels: list[str]) -> list[tuple[list[int], list[str]]]:
    """A closed walk cut into simple cycles at its repeated nodes."""
    seen: dict[int, int] = {}
    for i, v in enumerate(nodes):
        if v in seen:
            j = seen[v]
            return (_split_walk(nodes[j:i], labels[j:i])
                    + _split_walk(nodes[:j] + nodes[i:], labels[:j] + labels[i:]))
        seen[v] = i
    return [(nodes, labels)]


def _base(name: str) -> str:
    for suffix in ("-process", "-realtime"):
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name


def _name(state: tuple) -> str:
    _, _, _, nrw, adj, wr, x = state
    if nrw == 0:
        base = "G1c" if wr else "G0"
    elif nrw == 1:
        base = "G-single"
    else:
        base = "G2-item" if adj else "G-nonadjacent"
    return base + ("", "-process", "-realtime")[x]


def classify(labels: Sequence[str]) -> str:
    """The anomaly name of a cycle whose edges have ``labels`` (ww, wr, rw, process, realtime), in order."""
    n = len(labels)
    rws = [lab == RW for lab in labels]
    adjacent = any(rws[i] and rws[(i + 1) % n] for i in range(n)) if n > 1 else False
    x = 2 if REALTIME in labels else 1 if PROCESS in labels else 0
    return _name((None, None, None, min(2, sum(rws)), adjacent, WR in labels, x))
