"""Linearizability: every operation takes effect at one instant between its
invocation and its completion, and the results are those of that sequential
order.

Definition. A history is linearizable for a data type when there is a total
order of its completed operations, plus any subset of its indeterminate ones,
that (1) respects real time: an operation that completed before another was
invoked comes first, and (2) is legal: replaying it through the data type's
step function from the initial state gives every completed operation the
result it returned. Failed operations are left out: they did not happen.

The search is Wing & Gong's tree search, made "just in time" as in Lowe's
work and in Porcupine: it only ever extends a linearization with an
operation invoked before the earliest completion still pending (the
*window*), and backtracks when none fits. Configurations already explored
(the set of linearized operations as a bitmask, the object's state) are not
explored again. Keyed data types are checked one key at a time
(linearizability is local: a history is linearizable exactly when each
key's is), the keys taking turns so that a violation on any key is found
without first finishing the others.

Where Porcupine keeps the window as a doubly linked list in time order and
tries operations in invocation order, this search keeps the window as a
sorted list of candidates so that it can choose the order, and adds
reductions that shrink the search by orders of magnitude on real histories
(see :func:`_search`): reads are placed as soon as they are legal (found
through an index by the value they returned), indeterminate operations are
tried last and never have to be placed, identical indeterminate operations
are placed in invocation order, a configuration whose placed indeterminate
operations are a superset of an explored one's is skipped, and a pending
read whose result can no longer be reached ends the branch.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

from splitbrain.properties.consistency.datatypes import INVALID, NOT_PINNED, DataType
from splitbrain.properties.consistency.history import FAIL, INFO, OK, History, Operation, Verdict, _show

LINEARIZABLE = "linearizable"

_MISS = object()
_NOPIN = object()  # an operation not pinned to a single state


class _Failure:
    """Where the search got furthest before it ran out of orders."""

    def __init__(self) -> None:
        self.rank = -1
        self.order: list[int] = []  # indices of the linearized operations, in order
        self.state: Any = None
        self.blocker = -1  # the operation whose completion could not be passed
        self.stuck = -1  # a pending read that could no longer become legal there, if that was why


_SLICE = 256  # pushes between two yields of a search (partitions take turns)


def _search(ops: Sequence[Operation], init: Any, apply: Callable[[Any, Operation], Any],
            observer: Sequence[bool], pins: Sequence[Any], resets: Sequence[bool],
            reachable: Callable[[Any, Any], bool] | None) -> Iterator[None]:
    """Search a linearization of ``ops`` (completed or indeterminate ones).

    A generator: it yields now and then so that several partitions can take
    turns, and returns None when a linearization exists, else a
    :class:`_Failure`.

    A configuration is (linearized completed operations, linearized
    indeterminate operations, state). Its candidates are the operations
    invoked before the earliest completion still pending (the "window").

    ``observer[i]`` says operation i never changes the state where it is legal
    (a read, a failed cas). A legal observer is linearized at once, without
    trying alternatives: moving it to the front of any successful
    continuation keeps that continuation legal. ``pins[i]`` is the one state
    in which observer i is legal (a read's result), or ``_NOPIN``; pinned
    observers are found through an index by state instead of being tried one
    by one. The other candidates are tried in this order: observers, then
    completed operations by invocation, then indeterminate ones.

    A configuration is pruned when one with the same completed set and state
    and a subset of its indeterminate operations was reached before: whatever
    the larger set can do, the smaller can do by leaving the extra operations
    out. It is also a dead end when a pinned observer in the window needs a
    state that ``reachable(state, pin)`` says cannot be reached from the
    current state, nor from the state left by any operation that may still
    come before it and ``resets`` the state (a write, whose effect does not
    depend on the state).
    """
    n = len(ops)
    events = []
    for i, op in enumerate(ops):
        events.append((op.call, 0, i))
        if op.status == OK:
            events.append((op.ret, 1, i))
    events.sort(key=lambda e: (e[0], e[1]))  # equal times: calls first (concurrent)
    never = len(events) + 1
    callpos = [0] * n
    retpos = [never] * n
    for pos, (_, kind, i) in enumerate(events):
        if kind == 0:
            callpos[i] = pos
        else:
            retpos[i] = pos
    info = [op.status != OK for op in ops]
    by_ret = sorted((i for i in range(n) if not info[i]), key=retpos.__getitem__)
    by_call = sorted(range(n), key=callpos.__getitem__)
    order = sorted(range(n), key=lambda i: (not observer[i], info[i], callpos[i]))
    prio = [0] * n  # operation -> its place in the trial order
    for p, i in enumerate(order):
        prio[i] = p
    pinned: dict[Any, list[int]] = {}  # state -> the observers legal exactly there, by invocation
    for i in by_call:
        if pins[i] is not _NOPIN:
            pinned.setdefault(pins[i], []).append(i)
    tried = [pins[i] is _NOPIN for i in range(n)]  # tried one by one as candidates

    # An indeterminate operation waits for its identical predecessor (same f and value).
    need = [0] * n
    last_twin: dict[Any, int] = {}
    for i in by_call:
        if info[i]:
            twin = (ops[i].f, _hashable(ops[i].value))
            if twin in last_twin:
                need[i] = 1 << last_twin[twin]
            last_twin[twin] = i

    completed = len(by_ret)
    failure = _Failure()
    if not completed:
        return None
    # for each pinned observer: the resetting operations invoked before it completes,
    # and the state each resetting operation leaves
    goal_resets = [0] * n
    reset_state: list[Any] = [None] * n
    if reachable is not None:
        reset_state = [apply(init, ops[j]) if resets[j] else None for j in range(n)]
        mask = 0
        j = 0
        for r in by_ret:
            while j < n and callpos[by_call[j]] < retpos[r]:
                if resets[by_call[j]]:
                    mask |= 1 << by_call[j]
                j += 1
            goal_resets[r] = mask
    bit = [1 << i for i in range(n)]
    done_bit = [0 if info[i] else bit[i] for i in range(n)]
    extra_bit = [bit[i] if info[i] else 0 for i in range(n)]
    trans: list[dict[Any, Any]] = [{} for _ in range(n)]
    cache: dict[tuple[int, Any], list[int]] = {}
    stack: list[tuple[Any, ...]] = []
    push = stack.append
    pop = stack.pop
    no_pins: list[int] = []

    state = init
    done = 0   # linearized completed operations
    extra = 0  # linearized indeterminate operations
    first = 0  # by_ret[first]: the earliest pending completion
    invoked = 0  # by_call[:invoked]: the operations invoked before it
    limit = retpos[by_ret[0]]
    while invoked < n and callpos[by_call[invoked]] < limit:
        invoked += 1
    cands = sorted(prio[i] for i in by_call[:invoked] if tried[i])
    # the pending pinned observers in the window (kept only when there is a reachability test)
    opens = [i for i in by_call[:invoked] if not tried[i]] if reachable is not None else []
    at = 0  # the next candidate to try
    budget = _SLICE
    fresh = True  # a configuration reached by a step forward (not by backtracking)
    while True:
        chosen = -1
        dead = False
        stuck = -1
        if fresh:
            if opens:  # (only filled when there is a reachability test)
                free = ~(done | extra)
                for g in opens:
                    target = pins[g]
                    if target == state or reachable(state, target):
                        continue
                    # or else some write still to come must lead there
                    writes = goal_resets[g] & free
                    while writes:
                        low = writes & -writes
                        if reachable(reset_state[low.bit_length() - 1], target):
                            break
                        writes ^= low
                    else:
                        dead = True  # a pending observer can no longer become legal
                        stuck = g
                        break
            if not dead:
                # a pinned observer legal in this state, if any, is a forced move
                for i in pinned.get(state, no_pins):
                    if callpos[i] >= limit:
                        break
                    if done & bit[i]:
                        continue
                    key = (done | bit[i], state)
                    seen = cache.get(key)
                    if seen is None:
                        cache[key] = [extra]
                        chosen = i
                    elif any(not old & ~extra for old in seen):
                        dead = True  # reached before: this configuration is settled
                    else:
                        seen.append(extra)
                        chosen = i
                    break
            if chosen >= 0:
                push((cands, opens, at, state, done, extra, first, invoked, chosen))
                done |= bit[chosen]
                if opens:
                    opens = opens.copy()
                    opens.remove(chosen)
        if chosen < 0 and not dead:
            # the other candidates, in trial order
            ncand = len(cands)
            while at < ncand:
                i = order[cands[at]]
                at += 1
                table = trans[i]
                new = table.get(state, _MISS)
                if new is _MISS:
                    new = table[state] = apply(state, ops[i])
                if new is INVALID or (need[i] and not extra & need[i]):
                    continue
                new_done = done | done_bit[i]
                new_extra = extra | extra_bit[i]
                key = (new_done, new)
                seen = cache.get(key)
                if seen is None:
                    cache[key] = [new_extra]
                else:
                    for old in seen:
                        if not old & ~new_extra:
                            break
                    else:
                        old = -1
                    if old >= 0:  # reached before with a subset of these indeterminate operations
                        if observer[i]:
                            dead = True  # and it settles this configuration
                            break
                        continue
                    seen.append(new_extra)
                push((cands, opens, at, state, done, extra, first, invoked, i))
                state = new
                done = new_done
                extra = new_extra
                cands = cands.copy()
                del cands[at - 1]
                chosen = i
                break
        if chosen >= 0:
            at = 0
            fresh = True
            if chosen == by_ret[first]:  # the window moves on to the next pending completion
                first += 1
                while first < completed and done & bit[by_ret[first]]:
                    first += 1
                if first == completed:
                    return None
                limit = retpos[by_ret[first]]
                start = invoked
                while invoked < n and callpos[by_call[invoked]] < limit:
                    invoked += 1
                if invoked > start:
                    arrived = by_call[start:invoked]
                    cands = sorted(cands + [prio[j] for j in arrived if tried[j]])
                    if reachable is not None:
                        opens = opens + [j for j in arrived if not tried[j]]
            budget -= 1
            if not budget:
                budget = _SLICE
                yield
            continue
        # a dead end: the earliest pending completion cannot be reached
        if first > failure.rank:
            failure.rank = first
            failure.order = [frame[-1] for frame in stack]
            failure.state = state
            failure.blocker = by_ret[first]
            failure.stuck = stuck
        while True:
            if not stack:
                return failure
            cands, opens, at, state, done, extra, first, invoked, chosen = pop()
            if not observer[chosen]:
                break
        limit = retpos[by_ret[first]]
        fresh = False


def _is_hashable(x: Any) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def _hashable(x: Any) -> Any:
    try:
        hash(x)
        return x
    except TypeError:
        return repr(x)


def relevant_operations(history: History | Sequence[Operation], datatype: DataType) -> list[Operation]:
    """The operations a linearizability check must consider.

    Failed operations did not happen; an indeterminate read changes nothing
    and constrains nothing.
    """
    return [op for op in history
            if op.status != FAIL and not (op.status == INFO and datatype.is_read(op.f))]


def partitions(ops: Sequence[Operation], datatype: DataType) -> list[tuple[Any, list[Operation]]]:
    """``ops`` split by key for a keyed data type (one part otherwise)."""
    if not datatype.keyed:
        return [(None, list(ops))]
    parts: dict[Any, list[Operation]] = {}
    for op in ops:
        parts.setdefault(op.key, []).append(op)
    return list(parts.items())


def check_linearizable(history: History | Sequence[Operation], datatype: DataType,
                       partition: bool = True) -> Verdict:
    """Is ``history`` linearizable for ``datatype``? (see the module docstring)

    The keys of a keyed data type are searched in turns, as Porcupine searches
    them in parallel, so that a violation on one key is found without first
    finishing the others. ``partition=False`` checks a keyed history as one
    object (the product of its keys): the same verdict, usually much slower.
    """
    ops = relevant_operations(history, datatype)
    parts = partitions(ops, datatype) if partition else [(None, ops)]
    running = []
    for key, part in parts:
        init, apply = datatype.stepper(part)
        observer = [datatype.is_observer(op) for op in part]
        pins = [datatype.pinned_state(op) if observer[i] else _NOPIN for i, op in enumerate(part)]
        if datatype.keyed and not partition and len({op.key for op in part}) > 1:
            pins = [_NOPIN] * len(part)  # a product state: no single pinned state
        pins = [_NOPIN if p is NOT_PINNED or not _is_hashable(p) else p for p in pins]
        resets = [datatype.functions.get(op.f) == "write" for op in part]
        reachable = datatype.reachable if pins.count(_NOPIN) < len(pins) else None
        running.append((key, part, _search(part, init, apply, observer, pins, resets, reachable)))
    while running:
        still = []
        for key, part, search in running:
            try:
                next(search)
            except StopIteration as stop:
                if stop.value is not None:
                    return _explain(part, key, stop.value, len(parts))
            else:
                still.append((key, part, search))
        running = still
    return Verdict(True, LINEARIZABLE, details={"partitions": len(parts), "operations": len(ops)})


def _explain(ops: Sequence[Operation], key: Any, failure: _Failure, nparts: int) -> Verdict:
    """A verdict naming the operation that cannot be placed after the longest linearizable prefix."""
    blocker = ops[failure.blocker]
    placed = set(failure.order)
    before = [ops[i] for i in failure.order]
    completed_before = sum(1 for op in ops if op.status == OK and op.ret < blocker.ret)
    where = f" for key {_show(key)}" if key is not None else ""
    state = _show(failure.state)
    took_effect = sum(1 for op in before if op.status == INFO)
    also = f", with {took_effect} indeterminate operation{'s' if took_effect != 1 else ''} taking effect" \
        if took_effect else ""
    lines = [
        f"not linearizable{where}: the history is linearizable up to just before operation "
        f"#{blocker.id} ({blocker.describe()}) completes, and no further.",
        f"Longest linearizable prefix: the {completed_before} operation{'s' if completed_before != 1 else ''} "
        f"completed before it, in this order{also} (the object then holds {state}):",
    ]
    shown = before[-8:]
    if len(before) > len(shown):
        lines.append(f"  ... {len(before) - len(shown)} earlier operations")
    lines += [f"  #{op.id} {op.describe()}" for op in shown]
    involved = [blocker]
    if failure.stuck >= 0:
        stuck = ops[failure.stuck]
        if stuck is not blocker:
            involved.insert(0, stuck)
        lines.append(f"Then operation #{stuck.id} ({stuck.describe()}) can no longer return what it "
                     f"returned: no operation that may still come before it leads from {state} to that.")
    # the operations that could still have taken effect before the blocker completed
    rivals = [op for i, op in enumerate(ops)
              if i not in placed and op not in involved and op.call <= blocker.ret]
    if rivals:
        lines.append(f"Operations concurrent with #{blocker.id}, none of which can be ordered "
                     f"so that every operation completed by then is legal:")
        lines += [f"  #{op.id} {op.describe()}" for op in rivals[:10]]
        if len(rivals) > 10:
            lines.append(f"  ... and {len(rivals) - 10} more")
    elif failure.stuck < 0:
        lines.append(f"No other operation could take effect first, and #{blocker.id} is not legal "
                     f"when the object holds {state}.")
    return Verdict(
        False, LINEARIZABLE, "\n".join(lines), operations=tuple(involved + rivals[:10]),
        details={"key": key, "prefix_length": completed_before, "partitions": nparts,
                 "blocked_operation": blocker.id, "linearized": [op.id for op in before]},
    )
