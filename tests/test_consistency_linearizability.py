"""The linearizability checker: small hand-made histories, explanations, and a
cross-check against a brute-force search on random histories of every data type."""

from __future__ import annotations

import dataclasses
from itertools import combinations, permutations

from hypothesis import given, settings
from hypothesis import strategies as st

from splitbrain.properties.consistency import KV, QUEUE, REGISTER, SET, check
from splitbrain.properties.consistency.datatypes import INVALID, DataType
from splitbrain.properties.consistency.history import FAIL, INFO, OK, UNKNOWN, Event, History, Operation
from splitbrain.properties.consistency.linearizability import check_linearizable


def op(i, process, f, value=None, result=None, status=OK, call=0, ret=None, key=None):
    return Operation(i, process, f, value, UNKNOWN if status == INFO else result, status, call,
                     None if status == INFO else ret, key)


def H(*events):
    return History.from_events(Event(*e) for e in events)


# --- hand-made histories -----------------------------------------------------------


def test_sequential_write_then_read_is_linearizable():
    h = H((0, "invoke", "write", 1), (0, "ok", "write", 1), (1, "invoke", "read"), (1, "ok", "read", 1))
    assert check_linearizable(h, REGISTER).ok


def test_stale_read_after_write_completed_is_not_linearizable():
    h = H((0, "invoke", "write", 1), (0, "ok", "write", 1), (1, "invoke", "read"), (1, "ok", "read", None))
    v = check_linearizable(h, REGISTER)
    assert not v.ok
    assert v.operations[0].f == "read" and v.operations[0].result is None


def test_concurrent_read_may_see_old_or_new_value():
    for seen in (None, 1):
        h = H((0, "invoke", "write", 1), (1, "invoke", "read"), (1, "ok", "read", seen), (0, "ok", "write", 1))
        assert check_linearizable(h, REGISTER).ok


def test_indeterminate_write_may_take_effect_late_or_never():
    # the write times out; one later read sees nothing, the next sees its value
    h = H((0, "invoke", "write", 7), (0, "info", "write"),
          (1, "invoke", "read"), (1, "ok", "read", None),
          (1, "invoke", "read"), (1, "ok", "read", 7))
    assert check_linearizable(h, REGISTER).ok
    # ... but it cannot be undone: once seen, a later read cannot miss it
    h2 = H((0, "invoke", "write", 7), (0, "info", "write"),
           (1, "invoke", "read"), (1, "ok", "read", 7),
           (1, "invoke", "read"), (1, "ok", "read", None))
    assert not check_linearizable(h2, REGISTER).ok


def test_indeterminate_write_cannot_take_effect_before_its_invocation():
    h = H((1, "invoke", "read"), (1, "ok", "read", 7), (0, "invoke", "write", 7), (0, "info", "write"))
    assert not check_linearizable(h, REGISTER).ok


def test_failed_operation_never_happened():
    h = H((0, "invoke", "write", 7), (0, "fail", "write"), (1, "invoke", "read"), (1, "ok", "read", 7))
    assert not check_linearizable(h, REGISTER).ok


def test_cas_that_returned_false_must_see_another_value():
    ok = H((0, "invoke", "write", 1), (0, "ok", "write", 1), (1, "invoke", "cas", (2, 3)), (1, "ok", "cas", False))
    bad = H((0, "invoke", "write", 2), (0, "ok", "write", 2), (1, "invoke", "cas", (2, 3)), (1, "ok", "cas", False))
    assert check_linearizable(ok, REGISTER).ok
    assert not check_linearizable(bad, REGISTER).ok


def test_keys_are_independent_and_the_failing_key_is_named():
    h = H((0, "invoke", "put", "x", "a"), (0, "ok", "put", "x"),
          (1, "invoke", "get", None, "b"), (1, "ok", "get", ""),
          (1, "invoke", "get", None, "a"), (1, "ok", "get", "x"))
    assert check_linearizable(h, KV).ok
    h2 = H((0, "invoke", "append", "x", "a"), (0, "ok", "append", "x"),
           (1, "invoke", "get", None, "b"), (1, "ok", "get", ""),
           (1, "invoke", "get", None, "a"), (1, "ok", "get", "xx"))
    v2 = check_linearizable(h2, KV)
    assert not v2.ok and v2.details["key"] == "a"
    assert 'key "a"' in v2.explanation


def test_explanation_names_the_blocked_operation_and_the_prefix():
    h = H((0, "invoke", "write", 1), (0, "ok", "write", 1),
          (0, "invoke", "write", 2), (0, "ok", "write", 2),
          (1, "invoke", "read"), (1, "ok", "read", 1))
    v = check_linearizable(h, REGISTER)
    assert not v.ok
    assert "#2" in v.explanation and "read -> 1" in v.explanation
    assert "Longest linearizable prefix: the 2 operations" in v.explanation
    assert v.details["linearized"] == [0, 1]
    assert v.details["blocked_operation"] == 2


def test_queue_and_set():
    fifo = H((0, "invoke", "enqueue", 1), (0, "ok", "enqueue", 1), (0, "invoke", "enqueue", 2), (0, "ok", "enqueue", 2),
             (1, "invoke", "dequeue"), (1, "ok", "dequeue", 1), (1, "invoke", "dequeue"), (1, "ok", "dequeue", 2),
             (1, "invoke", "dequeue"), (1, "ok", "dequeue", None))
    assert check_linearizable(fifo, QUEUE).ok
    lifo = H((0, "invoke", "enqueue", 1), (0, "ok", "enqueue", 1), (0, "invoke", "enqueue", 2), (0, "ok", "enqueue", 2),
             (1, "invoke", "dequeue"), (1, "ok", "dequeue", 2))
    assert not check_linearizable(lifo, QUEUE).ok
    s = H((0, "invoke", "add", 1), (0, "ok", "add", 1), (1, "invoke", "add", 2), (1, "info", "add"),
          (2, "invoke", "read"), (2, "ok", "read", (1,)), (2, "invoke", "read"), (2, "ok", "read", (2, 1)))
    assert check_linearizable(s, SET).ok
    lost = H((0, "invoke", "add", 1), (0, "ok", "add", 1), (2, "invoke", "contains", 1), (2, "ok", "contains", False))
    assert not check_linearizable(lost, SET).ok


def test_times_equal_at_completion_and_invocation_count_as_concurrent():
    # b is invoked at the instant a completes: they may be ordered either way
    a = op(0, 0, "write", 1, call=0, ret=5)
    b = op(1, 1, "read", None, None, call=5, ret=6)
    assert check_linearizable([a, b], REGISTER).ok
    b_later = op(1, 1, "read", None, None, call=6, ret=7)
    assert not check_linearizable([a, b_later], REGISTER).ok


def test_many_identical_indeterminate_writes_stay_fast():
    events = []
    for p in range(40):
        events += [(p, "invoke", "write", p % 2), (p, "info", "write")]
    events += [(99, "invoke", "read"), (99, "ok", "read", 5)]
    assert not check_linearizable(H(*events), REGISTER).ok


# --- cross-check against brute force ----------------------------------------------------


def brute_force(ops, datatype: DataType) -> bool:
    """Linearizable by definition: some subset of the indeterminate operations plus
    all completed ones, in some order respecting real time, replays legally."""
    ops = [o for o in ops if o.status != FAIL]
    done = [o for o in ops if o.status == OK]
    maybe = [o for o in ops if o.status == INFO]
    init, apply = datatype.stepper(ops)
    for k in range(len(maybe) + 1):
        for chosen in combinations(maybe, k):
            for order in permutations(done + list(chosen)):
                if any(a.ret is not None and a.ret < b.call
                       for x, b in enumerate(order) for a in order[x + 1:]):
                    continue
                state = init
                for o in order:
                    state = apply(state, o)
                    if state is INVALID:
                        break
                else:
                    return True
    return False


def _operation(draw, datatype: DataType):
    if datatype is REGISTER:
        f = draw(st.sampled_from(["read", "write", "cas"]))
        return f, None, {"read": None, "write": draw(st.integers(0, 2)),
                         "cas": (draw(st.integers(0, 2)), draw(st.integers(0, 2)))}[f]
    if datatype is KV:
        f = draw(st.sampled_from(["get", "put", "append"]))
        return f, draw(st.sampled_from(["a", "b"])), None if f == "get" else draw(st.sampled_from(["x", "y"]))
    if datatype is QUEUE:
        f = draw(st.sampled_from(["enqueue", "dequeue"]))
        return f, None, draw(st.integers(0, 2)) if f == "enqueue" else None
    f = draw(st.sampled_from(["add", "remove", "contains", "read"]))
    return f, None, None if f == "read" else draw(st.integers(0, 2))


@st.composite
def histories(draw, datatype: DataType):
    """A run of a correct object (each operation takes effect at an instant inside
    its interval; an indeterminate one perhaps never), then perhaps one result
    corrupted."""
    plans = []
    for i in range(draw(st.integers(1, 6))):
        f, key, value = _operation(draw, datatype)
        call = draw(st.integers(0, 20))
        effect = call + draw(st.integers(0, 5))
        ret = effect + draw(st.integers(0, 5))
        status = draw(st.sampled_from([OK, OK, OK, INFO, FAIL]))
        happens = status == OK or (status == INFO and draw(st.booleans()))
        plans.append((i, draw(st.integers(0, 3)), f, key, value, status, call, effect, ret, happens))
    states, results = {}, {}  # per key
    for i, process, f, key, value, status, call, effect, ret, happens in sorted(plans, key=lambda x: (x[7], x[0])):
        if happens:
            state = states.get(key, datatype.init)
            results[i] = _result_of(datatype, state, f, value)
            states[key] = datatype.step(state, f, value, results[i])
            assert states[key] is not INVALID
    ops = [op(i, process, f, value, results.get(i), status, call=call, ret=ret, key=key)
           for i, process, f, key, value, status, call, effect, ret, happens in plans]
    done = [k for k, o in enumerate(ops) if o.status == OK]
    if done and draw(st.booleans()):
        o = ops[draw(st.sampled_from(done))]
        bad = draw(st.sampled_from([None, 0, 1, 2, False, True, "", "x", "xy", (), (1,)]))
        ops[o.id] = op(o.id, o.process, o.f, o.value, bad, OK, call=o.call, ret=o.ret, key=o.key)
    return ops


def _result_of(datatype: DataType, state, f, value):
    if datatype is REGISTER:
        return state == value[0] if f == "cas" else (state if f == "read" else None)
    if datatype is KV:
        return None if f != "get" else state
    if datatype is QUEUE:
        return None if f == "enqueue" else (state[0] if state else None)
    return {"add": None, "remove": None, "contains": value in state, "read": tuple(sorted(state))}[f]


def _agree(ops, datatype):
    expected = brute_force(ops, datatype)
    assert check_linearizable(ops, datatype).ok is expected
    assert check_linearizable(ops, datatype, partition=False).ok is expected


@settings(max_examples=150, deadline=None)
@given(histories(REGISTER))
def test_register_agrees_with_brute_force(ops):
    _agree(ops, REGISTER)


@settings(max_examples=150, deadline=None)
@given(histories(KV))
def test_kv_agrees_with_brute_force(ops):
    _agree(ops, KV)


@settings(max_examples=100, deadline=None)
@given(histories(QUEUE))
def test_queue_agrees_with_brute_force(ops):
    _agree(ops, QUEUE)


@settings(max_examples=100, deadline=None)
@given(histories(SET))
def test_set_agrees_with_brute_force(ops):
    _agree(ops, SET)


def test_generated_histories_include_both_verdicts():
    """The cross-check is only meaningful if it meets both answers."""
    seen = set()

    @settings(max_examples=80, deadline=None, database=None)
    @given(histories(REGISTER))
    def collect(ops):
        seen.add(brute_force(ops, REGISTER))

    collect()
    assert seen == {True, False}


def test_check_dispatches_by_name():
    h = H((0, "invoke", "write", 1), (0, "ok", "write", 1))
    assert check(h, "register", "linearizable").ok


@st.composite
def longer_kv_histories(draw):
    """Up to 14 operations on one or two keys: too many for brute force."""
    ops = []
    for i in range(draw(st.integers(1, 14))):
        f = draw(st.sampled_from(["get", "get", "put", "append", "append"]))
        call = draw(st.integers(0, 30))
        ret = call + draw(st.integers(0, 12))
        status = draw(st.sampled_from([OK, OK, OK, OK, INFO]))
        if f == "get":
            result = draw(st.sampled_from(["", "x", "y", "xy", "yx", "xx", "xyx"]))
            value = None
        else:
            result = value = draw(st.sampled_from(["x", "y"]))
        ops.append(op(i, i, f, value, result, status, call=call, ret=ret, key=draw(st.sampled_from(["a", "b"]))))
    return ops


@settings(max_examples=120, deadline=None)
@given(longer_kv_histories())
def test_reductions_do_not_change_verdicts(ops):
    """Reads found by value and unreachable reads cutting branches give the plain search's answer."""
    plain = dataclasses.replace(KV, name="kv-plain", pin=None, reachable=None)
    assert check_linearizable(ops, KV).ok is check_linearizable(ops, plain).ok
