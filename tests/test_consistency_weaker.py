"""The weaker consistency models on small hand-made histories: for each model one
history that satisfies it and one that does not, with indeterminate operations;
and sequential consistency cross-checked against a brute-force search."""

from __future__ import annotations

from itertools import combinations, permutations

import pytest
from hypothesis import given, settings

from splitbrain.properties.consistency import KV, QUEUE, REGISTER, check
from splitbrain.properties.consistency.datatypes import INVALID
from splitbrain.properties.consistency.history import FAIL, INFO, OK, Event, History
from splitbrain.properties.consistency.weaker import (
    SearchLimit,
    check_causal,
    check_convergence,
    check_monotonic_reads,
    check_monotonic_writes,
    check_read_your_writes,
    check_sequential,
    check_writes_follow_reads,
    serialize,
    session_order,
)
from test_consistency_linearizability import histories


def H(*events):
    return History.from_events(Event(*e) for e in events)


def w(p, v, key=None):  # a completed write (register) or put (kv)
    f = "write" if key is None else "put"
    return [(p, "invoke", f, v, key), (p, "ok", f, v)]


def r(p, v, key=None, seen=None):  # a completed read (register) or get (kv)
    f = "read" if key is None else "get"
    return [(p, "invoke", f, None, key), (p, "ok", f, v, None, seen)]


def seq(*groups):
    return H(*[e for g in groups for e in g])


# --- sequential consistency ----------------------------------------------------------


def test_sequential_allows_a_stale_read_that_linearizability_forbids():
    # p1 reads nil after p0's write completed: fine if p1's read is ordered first;
    # p2's timed-out write took effect, as p1's second read shows
    h = seq(w(0, 1), r(1, None), [(2, "invoke", "write", 2), (2, "info", "write")], r(1, 2))
    assert not check(h, REGISTER, "linearizable").ok
    v = check_sequential(h, REGISTER)
    assert v.ok and not v.details.get("linearizable")


def test_sequential_forbids_seeing_one_process_writes_out_of_order():
    h = seq(w(0, 1), w(0, 2), r(1, 2), r(1, 1), [(2, "invoke", "write", 3), (2, "info", "write")])
    v = check_sequential(h, REGISTER)
    assert not v.ok
    assert "not sequentially consistent" in v.explanation
    assert v.operations


def test_sequential_is_not_local():
    # each key alone is fine, together they need a cycle (a "store buffering" outcome)
    h = seq(w(0, "1", "x"), r(0, "", "y"), w(1, "1", "y"), r(1, "", "x"))
    assert not check_sequential(h, KV).ok
    for key in ("x", "y"):
        part = [op for op in h if op.key == key]
        assert check_sequential(part, KV).ok


def brute_sequential(ops, datatype):
    ops = [o for o in ops if o.status != FAIL]
    preds = session_order(ops)
    done = [i for i, o in enumerate(ops) if o.status == OK]
    maybe = [i for i, o in enumerate(ops) if o.status == INFO]
    init, apply = datatype.stepper(ops)
    for k in range(len(maybe) + 1):
        for chosen in combinations(maybe, k):
            for order in permutations(done + list(chosen)):
                pos = {i: n for n, i in enumerate(order)}
                if any(j not in pos or pos[j] > pos[i] for i in order for j in range(len(ops)) if preds[i] >> j & 1):
                    continue
                state = init
                for i in order:
                    state = apply(state, ops[i])
                    if state is INVALID:
                        break
                else:
                    return True
    return False


@settings(max_examples=120, deadline=None)
@given(histories(REGISTER))
def test_sequential_agrees_with_brute_force_on_registers(ops):
    assert check_sequential(ops, REGISTER).ok is brute_sequential(ops, REGISTER)


@settings(max_examples=80, deadline=None)
@given(histories(QUEUE))
def test_sequential_agrees_with_brute_force_on_queues(ops):
    assert check_sequential(ops, QUEUE).ok is brute_sequential(ops, QUEUE)


def test_serialization_search_gives_up_at_its_limit():
    ops = list(seq(*[w(p, p) for p in range(6)], r(9, 99)))
    with pytest.raises(SearchLimit):
        serialize(ops, [0] * len(ops), REGISTER, limit=10)


# --- causal consistency -----------------------------------------------------------------


def test_causal_allows_concurrent_writes_seen_in_different_orders():
    h = seq(w(0, 1), w(1, 2), r(2, 1), r(2, 2), r(3, 2), r(3, 1),
            [(4, "invoke", "write", 3), (4, "info", "write")])  # never observed: may have been lost
    assert not check_sequential(h, REGISTER).ok
    assert check_causal(h, REGISTER).ok


def test_causal_forbids_seeing_an_effect_before_its_cause():
    # p0's timed-out put of x took effect (p1 read it); p1 then put y; p2 sees y but not x
    h = seq([(0, "invoke", "put", "a", "x"), (0, "info", "put")], r(1, "a", "x"), w(1, "b", "y"),
            r(2, "b", "y"), r(2, "", "x"))
    v = check_causal(h, KV)
    assert not v.ok
    assert "process 2" in v.explanation


def test_causal_with_metadata_uses_the_seen_sets():
    # op ids: 0 put x=a, 1 put y=b (having seen #0), 2 get y -> b, 3 get x -> "" (saw #1 only)
    ok = H((0, "invoke", "put", "a", "x"), (0, "ok", "put", None),
           (1, "invoke", "put", "b", "y"), (1, "ok", "put", None, None, frozenset()),
           (2, "invoke", "get", None, "y"), (2, "ok", "get", "b", None, frozenset({1})),
           (2, "invoke", "get", None, "x"), (2, "ok", "get", "", None, frozenset({1})))
    assert check_causal(ok, KV).ok
    bad = H((0, "invoke", "put", "a", "x"), (0, "ok", "put", None),
            (1, "invoke", "put", "b", "y"), (1, "ok", "put", None, None, frozenset({0})),
            (2, "invoke", "get", None, "y"), (2, "ok", "get", "b", None, frozenset({1})),
            (2, "invoke", "get", None, "x"), (2, "ok", "get", "", None, frozenset({1})))
    assert not check_causal(bad, KV).ok


def test_causal_needs_distinct_written_values():
    with pytest.raises(ValueError, match="distinct written values"):
        check_causal(seq(w(0, 1), w(1, 1), r(2, 1)), REGISTER)


# --- eventual convergence ---------------------------------------------------------------------


def test_convergent_when_quiescent_reads_agree():
    h = seq(w(0, "a", "x"), w(1, "b", "x"), [(2, "invoke", "put", "c", "x"), (2, "info", "put")],
            r(3, "c", "x"), r(4, "c", "x"))
    assert check_convergence(h, KV).ok


def test_not_convergent_when_quiescent_reads_disagree():
    h = seq(w(0, "a", "x"), w(1, "b", "x"), [(2, "invoke", "put", "c", "x"), (2, "info", "put")],
            r(3, "b", "x"), r(4, "c", "x"))
    v = check_convergence(h, KV)
    assert not v.ok and "disagree" in v.explanation


def test_not_convergent_when_the_agreed_value_comes_from_no_update():
    h = seq(w(0, "a", "x"), r(3, "zzz", "x"), r(4, "zzz", "x"))
    assert not check_convergence(h, KV).ok


def test_convergence_with_metadata_compares_reads_that_saw_the_same_updates():
    # #0 append x, #1 append y (indeterminate), then reads tagged with what their replica had applied
    base = [(0, "invoke", "append", "x", "k"), (0, "ok", "append", None),
            (1, "invoke", "append", "y", "k"), (1, "info", "append")]
    good = H(*base, (2, "invoke", "get", None, "k"), (2, "ok", "get", "xy", None, frozenset({0, 1})),
             (3, "invoke", "get", None, "k"), (3, "ok", "get", "xy", None, frozenset({0, 1})),
             (4, "invoke", "get", None, "k"), (4, "ok", "get", "x", None, frozenset({0})))
    assert check_convergence(good, KV).ok
    split = H(*base, (2, "invoke", "get", None, "k"), (2, "ok", "get", "xy", None, frozenset({0, 1})),
              (3, "invoke", "get", None, "k"), (3, "ok", "get", "yx", None, frozenset({0, 1})))
    assert not check_convergence(split, KV).ok


# --- session guarantees --------------------------------------------------------------------------


def test_read_your_writes():
    ok = seq(w(0, 1), r(0, 1), w(1, 2), r(1, 2), [(2, "invoke", "write", 3), (2, "info", "write")], r(0, 3))
    assert check_read_your_writes(ok, REGISTER).ok
    initial = seq(w(0, 1), r(0, None))
    v = check_read_your_writes(initial, REGISTER)
    assert not v.ok and "initial value" in v.explanation
    # each process reads the other's write after its own: the writes would have to be in both orders
    crossed = seq(w(0, 1), w(1, 2), r(0, 2), r(1, 1))
    v = check_read_your_writes(crossed, REGISTER)
    assert not v.ok and "#0 before #1" in v.explanation and "#1 before #0" in v.explanation


def test_monotonic_reads():
    ok = seq(w(0, 1), w(0, 2), r(1, 1), r(1, 2), [(2, "invoke", "write", 3), (2, "info", "write")], r(1, 3))
    assert check_monotonic_reads(ok, REGISTER).ok
    # p1 reads 2 then 1, p3 reads 1 then 2: no order of the two writes fits both
    bad = seq([(0, "invoke", "write", 1), (0, "info", "write")], w(2, 2), r(1, 2), r(1, 1), r(3, 1), r(3, 2))
    assert not check_monotonic_reads(bad, REGISTER).ok
    back_to_start = seq(w(0, 1), r(1, 1), r(1, None))
    assert not check_monotonic_reads(back_to_start, REGISTER).ok


def test_monotonic_writes_needs_metadata_to_be_observed():
    # #0 write 1 then #1 write 2 by p0; p1's read saw both but returned 1
    bad = H((0, "invoke", "write", 1), (0, "ok", "write", 1), (0, "invoke", "write", 2), (0, "ok", "write", 2),
            (1, "invoke", "read"), (1, "ok", "read", 1, None, frozenset({0, 1})))
    v = check_monotonic_writes(bad, REGISTER)
    assert not v.ok and v.operations
    plain = seq(w(0, 1), w(0, 2), r(1, 1))  # the reader may simply not have received #1 yet
    assert check_monotonic_writes(plain, REGISTER).ok
    ok = H((0, "invoke", "write", 1), (0, "ok", "write", 1), (0, "invoke", "write", 2), (0, "info", "write"),
           (1, "invoke", "read"), (1, "ok", "read", 2, None, frozenset({0, 1})))
    assert check_monotonic_writes(ok, REGISTER).ok


def test_writes_follow_reads():
    ok = seq(w(0, 1), r(1, 1), w(1, 2), r(2, 2), [(3, "invoke", "write", 3), (3, "info", "write")])
    assert check_writes_follow_reads(ok, REGISTER).ok
    # p1 read 2 and then wrote 3; p2 read 3 and then wrote 2 (timed out, but p1 saw it): 2 < 3 < 2
    bad = H((1, "invoke", "read"), (2, "invoke", "read"), (1, "ok", "read", 2), (2, "ok", "read", 3),
            (1, "invoke", "write", 3), (2, "invoke", "write", 2), (1, "ok", "write", 3), (2, "info", "write"))
    v = check_writes_follow_reads(bad, REGISTER)
    assert not v.ok
    assert {op.id for op in v.operations} == {0, 1, 2, 3}  # both reads and both writes
    assert check_read_your_writes(bad, REGISTER).ok  # the other guarantees do not see a problem here


def test_a_read_of_a_value_nobody_wrote_violates_every_model():
    h = seq(w(0, 1), r(1, 7))
    for model in ("sequential", "causal", "read-your-writes", "monotonic-reads", "monotonic-writes",
                  "writes-follow-reads", "convergent"):
        assert not check(h, REGISTER, model).ok, model


def test_appends_have_no_reads_from_relation():
    h = seq([(0, "invoke", "append", "a", "k"), (0, "ok", "append", None)], r(1, "a", "k"))
    with pytest.raises(ValueError, match="read/write"):
        check_read_your_writes(h, KV)
