"""A model's recorded client history judged as an ``always`` property."""

from __future__ import annotations

import pytest

from splitbrain.checker.explore import check
from splitbrain.models.core import Model
from splitbrain.properties.consistency import REGISTER
from splitbrain.properties.consistency.history import Event
from splitbrain.properties.consistency.property import HistoryCheck, history_property
from toys import reachable

SCRIPTS = ((("write", 1), ("write", 2)), (("read", None), ("read", None)))


class RegisterService(Model):
    """Client 0 writes 1 then 2, client 1 reads twice, against a register service.

    Each operation is three steps: the client invokes it, the service serves
    it, the client receives the reply. The correct service has one copy. The
    ``stale`` one acknowledges a write once replica A has it, copies A to B
    later, and serves reads from B.

    State: (replica A, replica B, per client (next op, phase, result), events).
    """

    name = "register-service"
    allow_deadlock = True

    def __init__(self, stale: bool = False, consistency: str = "linearizable"):
        self.stale = stale
        self.consistency = consistency

    def init_states(self):
        return [(None, None, ((0, "idle", None), (0, "idle", None)), ())]

    def successors(self, state):
        a, b, clients, events = state
        for c, (step, phase, result) in enumerate(clients):
            if step == len(SCRIPTS[c]):
                continue
            f, value = SCRIPTS[c][step]
            if phase == "idle":
                yield ("invoke", c), (a, b, _set(clients, c, (step, "sent", None)),
                                      events + (Event(c, "invoke", f, value),))
            elif phase == "sent":
                if f == "write":
                    new_a, new_b, got = value, (b if self.stale else value), value
                else:
                    new_a, new_b, got = a, b, (b if self.stale else a)
                yield ("serve", c), (new_a, new_b, _set(clients, c, (step, "served", got)), events)
            else:
                yield ("reply", c), (a, b, _set(clients, c, (step + 1, "idle", None)),
                                     events + (Event(c, "ok", f, result),))
        if self.stale and a != b:
            yield ("replicate",), (a, a, clients, events)

    def properties(self):
        final = None if self.consistency == "linearizable" else finished
        return [history_property("ClientsSeeOneRegister", lambda s: s[3], REGISTER, self.consistency, final)]


def _set(items, i, value):
    return items[:i] + (value,) + items[i + 1:]


def finished(state):
    return all(step == len(SCRIPTS[c]) for c, (step, _, _) in enumerate(state[2]))


def test_the_correct_service_is_linearizable():
    result = check(RegisterService())
    assert result.verdict == "ok"
    assert result.prop("ClientsSeeOneRegister").holds is True


def test_stale_reads_are_found_with_a_shortest_counterexample():
    model = RegisterService(stale=True)
    result = check(model)
    assert result.verdict == "violation"
    assert result.prop("ClientsSeeOneRegister").holds is False
    trace = result.counterexample
    assert trace is not None
    # the write is acknowledged, then a read is served by the replica that lacks it
    actions = [tuple(a) if isinstance(a, list) else a for a in trace.actions]
    assert actions.count(("reply", 0)) == 1 and ("reply", 1) in actions
    assert len(actions) == 6  # invoke, serve, reply the write; invoke, serve, reply the read
    prop = model.properties()[0]
    final_state = _replay(model, actions)
    verdict = prop.condition.verdict(final_state)
    assert not verdict.ok and "read -> nil" in verdict.explanation


def test_stale_reads_are_still_sequentially_consistent():
    result = check(RegisterService(stale=True, consistency="sequential"))
    assert result.verdict == "ok"


def test_verdicts_are_cached_by_history():
    model = RegisterService()
    prop = model.properties()[0]
    result = check(model)
    assert isinstance(prop.condition, HistoryCheck)
    # the model's own property object is fresh per call; count on one we hold
    states = reachable(model)
    for s in states:
        assert prop.condition(s)
    assert prop.condition.checks == len({s[3] for s in states}) < len(states)
    assert result.distinct_states == len(states)


def test_non_prefix_closed_models_need_final():
    with pytest.raises(ValueError, match="not prefix-closed"):
        history_property("SC", lambda s: s[3], REGISTER, "sequential")
    with pytest.raises(ValueError, match="unknown consistency model"):
        history_property("X", lambda s: s[3], REGISTER, "strict-serializable")
    prop = history_property("SC", lambda s: s[3], "register", "sequential", final=finished)
    assert prop.kind == "always" and "final" in prop.description


def _replay(model, actions):
    (state,) = model.init_states()
    for action in actions:
        state = dict(model.successors(state))[action]
    return state


