"""Consistency models weaker than linearizability.

Common ground for every checker here:

- Failed operations did not happen and are ignored.
- An indeterminate operation may have taken effect or not; where a model
  needs to know, it took effect exactly when some read observed it.
- *Session order*: operation a precedes operation b of the same process when
  a completed before b was invoked. (An indeterminate operation never
  completed, so nothing of its process is ordered after it.)
- *Reads-from*: for read/write objects (registers, key-value get/put), a read
  that returned value v read from the write of v on the same key; the
  initial value is read from no write. This needs every written value to be
  unique per key, as in Jepsen's workloads; a history that writes the same
  value twice on a key is refused with a ValueError. A read of a value that
  no operation wrote violates every model here.

Each check returns a :class:`~splitbrain.properties.consistency.history.Verdict`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import networkx as nx

from splitbrain.properties.consistency.datatypes import INVALID, DataType
from splitbrain.properties.consistency.history import FAIL, INFO, OK, History, Operation, Verdict, _show
from splitbrain.properties.consistency.linearizability import check_linearizable

SEQUENTIAL = "sequential"
CAUSAL = "causal"
CONVERGENT = "convergent"
READ_YOUR_WRITES = "read-your-writes"
MONOTONIC_READS = "monotonic-reads"
MONOTONIC_WRITES = "monotonic-writes"
WRITES_FOLLOW_READS = "writes-follow-reads"
SESSION_GUARANTEES = (READ_YOUR_WRITES, MONOTONIC_READS, MONOTONIC_WRITES, WRITES_FOLLOW_READS)

_BOTTOM = -1  # "the initial value": the write a read of the initial value read from


def _happened(history: History | Sequence[Operation]) -> list[Operation]:
    return [op for op in history if op.status != FAIL]


def session_order(ops: Sequence[Operation]) -> list[int]:
    """For each operation (by position in ``ops``), the bitmask of its session predecessors."""
    preds = [0] * len(ops)
    mine: dict[Any, list[int]] = {}
    for i, op in enumerate(ops):
        mine.setdefault(op.process, []).append(i)
    for members in mine.values():
        finished = sorted((ops[j].ret, j) for j in members if ops[j].status == OK)
        for i in members:
            mask = 0
            for ret, j in finished:
                if ret >= ops[i].call:
                    break
                mask |= 1 << j
            preds[i] = mask
    return preds


# --- a legal order under precedence constraints --------------------------------


class _Serial:
    """The outcome of a serialization search: an order, or how far it got."""

    def __init__(self, ok: bool, order: list[int], state: Any, stuck: list[int]) -> None:
        self.ok = ok
        self.order = order  # the legal order found, or the longest legal partial order
        self.state = state
        self.stuck = stuck  # operations that could not be placed next (when not ok)


class SearchLimit(RuntimeError):
    """A search for an order gave up after exploring its limit of configurations."""


LIMIT = 500_000  # configurations a serialization search may explore before giving up


def serialize(ops: Sequence[Operation], preds: Sequence[int], datatype: DataType,
              required: int | None = None, limit: int | None = None) -> _Serial:
    """A legal total order of ``ops`` that places each one after its ``preds``.

    Every operation in ``required`` (a bitmask; default: the completed ones)
    must be placed; the others (indeterminate) may be left out, and must not
    be anyone's predecessor. Legal means replaying the order through
    ``datatype`` gives each completed operation its result. Depth-first
    search over (placed operations, state), each configuration explored once
    (one that placed a superset of the optional operations of a known one is
    skipped); a legal operation that never changes the state is placed at
    once, without alternatives. Raises :class:`SearchLimit` after ``limit``
    configurations (default :data:`LIMIT`): the problem is NP-complete in
    general, and a verdict that would take hours is better refused.
    """
    budget = LIMIT if limit is None else limit
    n = len(ops)
    init, apply = datatype.stepper(ops)
    if required is None:
        required = sum(1 << i for i, op in enumerate(ops) if op.status == OK)
    observer = [datatype.is_observer(op) for op in ops]
    trans: list[dict[Any, Any]] = [{} for _ in range(n)]
    visited: set[tuple[int, Any]] = set()
    seen: dict[tuple[int, Any], list[int]] = {}  # a few optional sets per (required placed, state)
    # interchangeable optional operations (same f, key and value) are placed in invocation order
    twin = [-1] * n
    last: dict[Any, int] = {}
    for i, op in enumerate(ops):
        if not required >> i & 1:
            mark = (op.f, op.key, _hashable(op.value))
            twin[i] = last.get(mark, -1)
            last[mark] = i

    def step(i: int, state: Any) -> Any:
        table = trans[i]
        if state not in table:
            table[state] = apply(state, ops[i])
        return table[state]

    def choices(placed: int, state: Any) -> list[int]:
        avail = [i for i in range(n) if not placed >> i & 1 and not preds[i] & ~placed]
        for i in avail:
            if observer[i] and step(i, state) is not INVALID:
                return [i]  # forced
        return [i for i in avail
                if twin[i] < 0 or placed >> twin[i] & 1 or preds[twin[i]] & ~placed]

    best = _Serial(False, [], init, [])
    path: list[int] = []
    placed, state = 0, init
    stack: list[tuple[int, Any, list[int], int]] = []
    options, at = choices(placed, state), 0
    while True:
        if placed & required == required:
            return _Serial(True, list(path), state, [])
        if len(path) > len(best.order) or not best.stuck:
            best.order, best.state = list(path), state
            best.stuck = [i for i in range(n) if required >> i & 1 and not placed >> i & 1
                          and not preds[i] & ~placed]
        moved = False
        while at < len(options):
            i = options[at]
            at += 1
            new = step(i, state)
            if new is INVALID:
                continue
            after = placed | 1 << i
            if (after, new) in visited:
                continue
            extra = after & ~required
            known = seen.setdefault((after & required, new), [])
            if any(not old & ~extra for old in known):
                continue
            visited.add((after, new))
            if len(known) < 8:
                known.append(extra)
            budget -= 1
            if budget < 0:
                raise SearchLimit(f"gave up after {LIMIT if limit is None else limit:,} configurations")
            stack.append((placed, state, options, at))
            path.append(i)
            placed, state = after, new
            options, at = choices(placed, state), 0
            moved = True
            break
        if moved:
            continue
        if not stack:
            return best
        placed, state, options, at = stack.pop()
        path.pop()


# --- sequential consistency -----------------------------------------------------


def check_sequential(history: History | Sequence[Operation], datatype: DataType) -> Verdict:
    """Sequential consistency (Lamport): one legal total order of all the
    operations that respects every process's own order.

    Definition: there is a total order of the completed operations, plus any
    subset of the indeterminate ones, that (1) respects session order and
    (2) is legal for the data type (each completed operation returns what it
    returned when the operations are replayed in that order). Unlike
    linearizability, operations of different processes may be reordered
    against real time. Sequential consistency is not local, so a keyed
    history is checked as one store (the product of its keys). A
    linearizable history is sequentially consistent; that is checked first,
    as it is fast, and the search for an order tries operations in
    invocation order.
    """
    ops = _happened(history)
    if check_linearizable(ops, datatype).ok:
        return Verdict(True, SEQUENTIAL, details={"operations": len(ops), "linearizable": True})
    result = serialize(ops, session_order(ops), datatype)
    if result.ok:
        return Verdict(True, SEQUENTIAL, details={"operations": len(ops)})
    placed = [ops[i] for i in result.order]
    stuck = [ops[i] for i in result.stuck]
    lines = [f"not sequentially consistent: no total order of the operations respects every process's "
             f"order and gives every read its result. The longest legal order placed {len(placed)} "
             f"operation{'s' if len(placed) != 1 else ''} (the store then holds {_show(result.state)}); "
             f"the last of them:"]
    lines += [f"  #{op.id} {op.describe()}" for op in placed[-6:]]
    lines.append("and none of these, next in their processes, can follow:")
    lines += [f"  #{op.id} {op.describe()}" for op in stuck[:10]]
    return Verdict(False, SEQUENTIAL, "\n".join(lines), operations=tuple(stuck[:10]),
                   details={"placed": len(placed)})


# --- reads-from -----------------------------------------------------------------


class _Accesses:
    """Each operation's reads and writes of whole values, and who read from whom."""

    def __init__(self, ops: Sequence[Operation], datatype: DataType, consistency: str) -> None:
        self.reads: list[tuple[int, Any, Any]] = []   # (op index, key, value read)
        self.writes: list[tuple[int, Any, Any]] = []  # (op index, key, value written)
        for i, op in enumerate(ops):
            acc = datatype.accesses(op)
            if acc is None:
                raise ValueError(f"{consistency} needs read/write histories (reads-from comes from the "
                                 f"values read); operation #{op.id} ({op.f}) of {datatype.name} is neither")
            for kind, value in acc:
                (self.reads if kind == "r" else self.writes).append((i, op.key, _hashable(value)))
        self.writer: dict[tuple[Any, Any], int] = {}
        for i, key, value in self.writes:
            if (key, value) in self.writer and self.writer[(key, value)] != i:
                a, b = ops[self.writer[(key, value)]], ops[i]
                raise ValueError(f"{consistency} needs distinct written values per key: #{a.id} and #{b.id} "
                                 f"both write {_show(value)}")
            self.writer[(key, value)] = i
        self.initial = _hashable(datatype.init)
        self.phantom: list[tuple[int, Any]] = []  # reads of values nobody wrote
        self.rf: dict[int, list[tuple[Any, int]]] = {}  # reader -> [(key, writer or _BOTTOM)]
        for i, key, value in self.reads:
            if (key, value) in self.writer:
                w = self.writer[(key, value)]
            elif value == self.initial:
                w = _BOTTOM
            else:
                self.phantom.append((i, value))
                continue
            self.rf.setdefault(i, []).append((key, w))


def _hashable(x: Any) -> Any:
    if isinstance(x, list):
        return tuple(_hashable(a) for a in x)
    if isinstance(x, set):
        return frozenset(x)
    return x


def _phantom_verdict(ops: Sequence[Operation], acc: _Accesses, consistency: str) -> Verdict | None:
    if not acc.phantom:
        return None
    i, value = acc.phantom[0]
    return Verdict(False, consistency,
                   f"not {consistency}: operation #{ops[i].id} ({ops[i].describe()}) read {_show(value)}, "
                   f"which no operation wrote", operations=(ops[i],))


# --- causal consistency ------------------------------------------------------------


def check_causal(history: History | Sequence[Operation], datatype: DataType) -> Verdict:
    """Causal consistency (causal memory, Ahamad et al.): every process sees
    all writes in an order that respects causality.

    Definition: let *causal order* be the transitive closure of session
    order and the visibility relation, where a write is visible to an
    operation that read from it (reads-from) or, for operations carrying
    causal metadata (``Operation.seen``), to an operation whose metadata
    lists it. The history is causally consistent when causal order is acyclic
    and, for every process p, there is a legal total order of all the writes
    that took effect plus p's own operations that respects causal order.
    Writes that took effect: every completed update, and an indeterminate one
    when some operation observed it (one nobody observed may be seen or not,
    by each process independently). Different processes may see concurrent
    writes in different orders. A linearizable history is causal; that is
    checked first, as it is fast.
    """
    ops = _happened(history)
    n = len(ops)
    index = {op.id: i for i, op in enumerate(ops)}
    visible: list[int] = [0] * n  # for each op, the writes visible to it (bitmask)
    metadata = any(op.seen is not None for op in ops)
    if metadata:
        for i, op in enumerate(ops):
            for w in op.seen or ():
                if w in index and w != op.id:
                    visible[i] |= 1 << index[w]
    else:
        acc = _Accesses(ops, datatype, CAUSAL)
        bad = _phantom_verdict(ops, acc, CAUSAL)
        if bad is not None:
            return bad
        if check_linearizable(ops, datatype).ok:
            return Verdict(True, CAUSAL, details={"operations": n, "linearizable": True})
        for r, froms in acc.rf.items():
            for _, w in froms:
                if w != _BOTTOM and w != r:
                    visible[r] |= 1 << w
    observed = 0
    for mask in visible:
        observed |= mask
    preds = session_order(ops)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for i in range(n):
        for j in _bits(preds[i] | visible[i]):
            graph.add_edge(j, i)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        cycle = []
    if cycle:
        involved = [ops[a] for a, _ in cycle]
        text = " -> ".join(f"#{op.id}" for op in involved + involved[:1])
        lines = [f"not causal: causality is cyclic ({text}; each step is session order or a write "
                 f"seen by the next operation):"]
        lines += [f"  #{op.id} {op.describe()}" for op in involved]
        return Verdict(False, CAUSAL, "\n".join(lines), operations=tuple(involved))
    closure = _transitive_preds(graph, n)
    updates = [i for i, op in enumerate(ops) if not datatype.is_observer(op)]
    for process in dict.fromkeys(op.process for op in ops):
        members = sorted(set(updates) | {i for i, op in enumerate(ops) if op.process == process})
        sub = [ops[i] for i in members]
        where = {m: k for k, m in enumerate(members)}
        sub_preds = [sum(1 << where[j] for j in _bits(closure[m]) if j in where) for m in members]
        required = sum(1 << k for k, m in enumerate(members) if ops[m].status == OK or observed >> m & 1)
        result = serialize(sub, sub_preds, datatype, required)
        if not result.ok:
            stuck = [sub[k] for k in result.stuck]
            lines = [f"not causal: process {process} cannot see the writes in any order that respects "
                     f"causality and gives its reads their results. The longest legal order for it "
                     f"placed {len(result.order)} operations (the store then holds {_show(result.state)}); "
                     f"the last of them:"]
            lines += [f"  #{sub[k].id} {sub[k].describe()}" for k in result.order[-6:]]
            lines.append("and none of these can follow:")
            lines += [f"  #{op.id} {op.describe()}" for op in stuck[:10]]
            return Verdict(False, CAUSAL, "\n".join(lines), operations=tuple(stuck[:10]),
                           details={"process": str(process)})
    return Verdict(True, CAUSAL, details={"operations": n})


def _bits(mask: int) -> list[int]:
    out = []
    i = 0
    while mask:
        if mask & 1:
            out.append(i)
        mask >>= 1
        i += 1
    return out


def _transitive_preds(graph: nx.DiGraph, n: int) -> list[int]:
    """For each node of an acyclic graph, the bitmask of all its ancestors."""
    closure = [0] * n
    for node in nx.topological_sort(graph):
        for parent in graph.predecessors(node):
            closure[node] |= closure[parent] | 1 << parent
    return closure


# --- eventual convergence ------------------------------------------------------------


def check_convergence(history: History | Sequence[Operation], datatype: DataType) -> Verdict:
    """Eventual convergence: replicas that received the same updates agree.

    Definition: any two reads of the same key that observed the same set of
    updates return the same value, and that value is the result of applying
    those updates in some order. The updates a read observed are its causal
    metadata (``Operation.seen``) when it has some; a read without metadata
    that was invoked after every completed update had completed and every
    indeterminate one had been invoked (a *quiescent* read) observed all the
    updates that took effect, so all quiescent reads of a key must agree,
    on a value obtained from every completed update and some of the
    indeterminate ones. Reads that are neither are not constrained.
    """
    ops = _happened(history)
    is_update = [not datatype.is_observer(op) for op in ops]
    reads = [i for i, op in enumerate(ops) if op.status == OK and datatype.is_read(op.f)]
    by_id = {op.id: i for i, op in enumerate(ops)}
    settled = max([op.ret for i, op in enumerate(ops) if is_update[i] and op.status == OK]
                  + [op.call for i, op in enumerate(ops) if is_update[i] and op.status == INFO], default=None)
    groups: dict[tuple[Any, Any], list[int]] = {}
    for r in reads:
        op = ops[r]
        if op.seen is not None:
            observed = frozenset(by_id[w] for w in op.seen
                                 if w in by_id and is_update[by_id[w]] and _same_key(ops[by_id[w]], op.key, datatype))
            groups.setdefault((op.key, observed), []).append(r)
        elif settled is None or op.call > settled:
            groups.setdefault((op.key, None), []).append(r)
    for (key, observed), members in groups.items():
        first = ops[members[0]]
        for r in members[1:]:
            if ops[r].result != first.result:
                what = "the same updates" if observed is not None else "every update (they ran after all of them)"
                return Verdict(False, CONVERGENT,
                               f"not convergent: #{first.id} ({first.describe()}) and #{ops[r].id} "
                               f"({ops[r].describe()}) observed {what} but disagree",
                               operations=(first, ops[r]))
        if observed is None:
            updates = [i for i, op in enumerate(ops) if is_update[i] and _same_key(op, key, datatype)]
            required = [i for i in updates if ops[i].status == OK]
        else:
            updates = sorted(observed)
            required = updates
        sub = [ops[i] for i in updates] + [first]
        last = len(sub) - 1
        need = sum(1 << k for k, i in enumerate(updates) if i in required)
        preds = [0] * last + [need]  # the read comes after every update it must have observed
        need |= 1 << last
        if not serialize(sub, preds, datatype, need).ok:
            return Verdict(False, CONVERGENT,
                           f"not convergent: #{first.id} ({first.describe()}) returned a value that no order of "
                           f"the {len(required)} update{'s' if len(required) != 1 else ''} it observed produces",
                           operations=(first,))
    checked = sum(len(m) for m in groups.values())
    return Verdict(True, CONVERGENT, details={"reads_checked": checked})


def _same_key(op: Operation, key: Any, datatype: DataType) -> bool:
    return not datatype.keyed or op.key == key


# --- session guarantees ----------------------------------------------------------------


def _check_session(history: History | Sequence[Operation], datatype: DataType, guarantee: str) -> Verdict:
    """A session guarantee, as constraints on the version order of each key.

    The framework (Terry et al. 1994, as formalised by Viotti & Vukolic):
    each key's writes take effect in a total *version order* after the
    initial value. A read r of a key is visible to (sees) the write it read
    from, plus the writes of that key its causal metadata (``seen``) lists,
    and it returns the latest of them in version order. The guarantee holds
    when some version order meets the read semantics and the guarantee's own
    constraints. Without metadata a read sees only the write it read, so
    monotonic writes, which constrains only writes, cannot be broken by a
    plain history; it needs ``seen`` to be observable.
    """
    ops = _happened(history)
    acc = _Accesses(ops, datatype, guarantee)
    bad = _phantom_verdict(ops, acc, guarantee)
    if bad is not None:
        return bad
    index = {op.id: i for i, op in enumerate(ops)}
    writes_of: dict[int, set[Any]] = {}  # op -> keys it wrote
    for i, key, _ in acc.writes:
        writes_of.setdefault(i, set()).add(key)
    read_from: dict[tuple[int, Any], int] = {}  # (reader, key) -> version read
    sees: dict[tuple[int, Any], set[int]] = {}   # (reader, key) -> versions it saw
    for r, froms in acc.rf.items():
        for key, w in froms:
            read_from[(r, key)] = w
            seen = {w} - {_BOTTOM}
            for other in ops[r].seen or ():
                j = index.get(other)
                if j is not None and j != r and key in writes_of.get(j, ()):
                    seen.add(j)
            sees[(r, key)] = seen
    preds = session_order(ops)
    # (key, version a, version b that must not come before a, why: the operations that say so)
    constraints: list[tuple[Any, int, int, tuple[int, ...]]] = []
    for (r, key), w in read_from.items():
        # read semantics: what a read saw comes no later than what it returned,
        # and a read-modify-write writes after the version it read
        constraints += [(key, v, w, (r,)) for v in sees[(r, key)]]
        if key in writes_of.get(r, ()):
            constraints.append((key, w, r, (r,)))
    for b in range(len(ops)):
        for a in _bits(preds[b]):
            if guarantee == READ_YOUR_WRITES:
                constraints += [(key, a, read_from[(b, key)], (a, b)) for key in writes_of.get(a, ())
                                if (b, key) in read_from]
            elif guarantee == MONOTONIC_READS:
                constraints += [(key, v, read_from[(b, key)], (a, b)) for (r, key), seen in sees.items()
                                if r == a and (b, key) in read_from for v in seen]
            elif guarantee == MONOTONIC_WRITES:
                constraints += [(key, a, b, (a, b)) for key in writes_of.get(a, ()) & writes_of.get(b, set())]
            elif guarantee == WRITES_FOLLOW_READS:
                constraints += [(key, v, b, (a, b)) for (r, key), seen in sees.items()
                                if r == a and key in writes_of.get(b, ()) for v in seen]
    graph = nx.DiGraph()
    reasons: dict[tuple[Any, Any], tuple[int, ...]] = {}
    for key, before, after, why in constraints:
        if before == after or before == _BOTTOM:
            continue
        if after == _BOTTOM:
            return _session_violation(ops, guarantee, why, f"the initial value of {_object(key)} was "
                                      f"read after #{ops[before].id} had been written or seen")
        u, v = (key, before), (key, after)
        graph.add_edge(u, v)
        reasons.setdefault((u, v), why)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return Verdict(True, guarantee, details={"constraints": graph.number_of_edges()})
    involved: list[int] = []
    lines = [f"not {guarantee}: no order of the writes to {_object(cycle[0][0][0])} fits what the sessions "
             f"observed; each must come before the next:"]
    for u, v in cycle:
        why = reasons[(u, v)]
        involved += [i for i in why if i not in involved]
        because = (f"process {ops[why[1]].process} did #{ops[why[0]].id} and then #{ops[why[1]].id}"
                   if len(why) == 2 else f"#{ops[why[0]].id} returned the later one")
        lines.append(f"  #{ops[u[1]].id} before #{ops[v[1]].id}: {because}")
    lines += [f"  #{ops[i].id} {ops[i].describe()}" for i in involved]
    return Verdict(False, guarantee, "\n".join(lines), operations=tuple(ops[i] for i in involved))


def _object(key: Any) -> str:
    return "the register" if key is None else f"key {_show(key)}"


def _session_violation(ops: Sequence[Operation], guarantee: str, why: tuple[int, ...], what: str) -> Verdict:
    if len(why) == 2:
        a, b = why
        told = (f"process {ops[b].process} did #{ops[a].id} ({ops[a].describe()}) and then "
                f"#{ops[b].id} ({ops[b].describe()})")
    else:
        told = f"#{ops[why[0]].id} ({ops[why[0]].describe()}) saw a write yet returned the initial value"
    return Verdict(False, guarantee, f"not {guarantee}: {told}: {what}",
                   operations=tuple(ops[i] for i in why))


def check_read_your_writes(history: History | Sequence[Operation], datatype: DataType) -> Verdict:
    """Read your writes: a read sees every earlier write of its own session.

    Definition: if process p wrote w to key k and later (in session order)
    read k, the version it read is w or a version after w in the version
    order of k. (Reading the initial value after one's own write violates it.)
    """
    return _check_session(history, datatype, READ_YOUR_WRITES)


def check_monotonic_reads(history: History | Sequence[Operation], datatype: DataType) -> Verdict:
    """Monotonic reads: a session never reads an older version than it read before.

    Definition: if process p read key k and later read k again, every
    version the first read saw is visible to the second, so the second
    returns a version no earlier than any of them.
    """
    return _check_session(history, datatype, MONOTONIC_READS)


def check_monotonic_writes(history: History | Sequence[Operation], datatype: DataType) -> Verdict:
    """Monotonic writes: a session's writes take effect in the order it made them.

    Definition: if process p wrote w1 and later w2 to key k, then w1 comes
    before w2 in the version order of k: a read that saw both returns w2 (or
    later). Observable only through causal metadata (``Operation.seen``).
    """
    return _check_session(history, datatype, MONOTONIC_WRITES)


def check_writes_follow_reads(history: History | Sequence[Operation], datatype: DataType) -> Verdict:
    """Writes follow reads: a write is ordered after the versions its session read.

    Definition: if process p read key k and later wrote w to k, every
    version the read saw comes before w in the version order of k.
    """
    return _check_session(history, datatype, WRITES_FOLLOW_READS)


CHECKERS: dict[str, Callable[[History | Sequence[Operation], DataType], Verdict]] = {
    SEQUENTIAL: check_sequential,
    CAUSAL: check_causal,
    CONVERGENT: check_convergence,
    READ_YOUR_WRITES: check_read_your_writes,
    MONOTONIC_READS: check_monotonic_reads,
    MONOTONIC_WRITES: check_monotonic_writes,
    WRITES_FOLLOW_READS: check_writes_follow_reads,
}
