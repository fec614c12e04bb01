"""Liveness under fairness: eventually, leads-to, always-eventually, lassos and their replay."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings, strategies as st

from splitbrain.checker.commands import format_result
from splitbrain.checker.explore import check
from splitbrain.checker.liveness import build_graph, check_liveness, judge
from splitbrain.models.byzantine.bcastbyz import BcastByz
from splitbrain.models.core import Model
from splitbrain.properties.kinds import (
    AFTER_FAULTS, SF, WF, after_faults, always, always_eventually, eventually, leads_to,
)
from splitbrain.traces.format import from_json
from splitbrain.traces.render import render_trace
from splitbrain.traces.replay import execute, replay


# -- small models -------------------------------------------------------------------

class Race(Model):
    """Process A counts a from 0 to 2 and stops; process B toggles b forever."""

    name = "race"

    def init_states(self):
        return [(0, 0)]

    def successors(self, s):
        a, b = s
        if a < 2:
            yield ("stepA",), (a + 1, b)
        yield ("toggleB",), (a, 1 - b)

    def properties(self):
        done = lambda s: s[0] == 2
        return [
            eventually("ADone", done, WF("A", "stepA")),
            eventually("ADoneUnfair", done),
            eventually("ADoneWrongFairness", done, WF("B", "toggleB")),
        ]


class Blink(Model):
    """A light toggles on and off; ``fire`` is enabled only while it is on."""

    name = "blink"

    def init_states(self):
        return [("off", False)]

    def successors(self, s):
        light, fired = s
        if not fired:
            yield ("toggle",), ("on" if light == "off" else "off", fired)
            if light == "on":
                yield ("fire",), (light, True)
        else:
            yield ("rest",), s  # a stuttering step: enables and satisfies no fairness class

    def properties(self):
        fired = lambda s: s[1]
        return [
            eventually("FiresStrong", fired, SF("fire", "fire")),
            eventually("FiresWeak", fired, WF("fire", "fire")),
            eventually("FiresUnfair", fired),
        ]


class Clients(Model):
    """Two clients request; a server grants pending requests, one at a time."""

    name = "clients"

    def init_states(self):
        return [(False, False)]

    def successors(self, s):
        for i in (0, 1):
            if s[i]:
                yield ("grant", i), s[:i] + (False,) + s[i + 1:]
            else:
                yield ("request", i), s[:i] + (True,) + s[i + 1:]

    def properties(self):
        pending1 = lambda s: s[1]
        served1 = lambda s: not s[1]
        return [
            leads_to("Client1Served", pending1, served1, WF("grant", "grant", per=lambda a: a[1])),
            leads_to("Client1ServedClassFair", pending1, served1, WF("grant", "grant")),
            leads_to("Client1ServedUnfair", pending1, served1),
        ]


class Ring(Model):
    """x ticks around 0, 1, 2; at x > 0 the process may also wait (w toggles)."""

    name = "ring"

    def init_states(self):
        return [(0, 0)]

    def successors(self, s):
        x, w = s
        yield ("tick",), ((x + 1) % 3, w)
        if x > 0:
            yield ("wait",), (x, 1 - w)

    def properties(self):
        at_zero = lambda s: s[0] == 0
        return [
            always_eventually("BackToZero", at_zero, WF("tick", "tick")),
            always_eventually("BackToZeroUnfair", at_zero),
        ]


class Stops(Model):
    """x counts 0, 1, 2 and stops there (a deadlock); ``goal`` says which value is good."""

    name = "stops"
    allow_deadlock = True

    def __init__(self, goal: int = 2):
        self.goal = goal
        self._params = {"goal": goal}

    def init_states(self):
        return [0]

    def successors(self, x):
        if x < 2:
            yield ("inc",), x + 1

    def properties(self):
        return [eventually("ReachesGoal", lambda x: x == self.goal, WF("inc", "inc"))]


class Flaky(Model):
    """A node that is up may work (once) or ping; crashes (a fault) and restarts interrupt it."""

    name = "flaky"
    fault_kinds = frozenset({"crash"})

    def init_states(self):
        return [("up", False, 0)]

    def successors(self, s):
        mode, done, ping = s
        if mode == "up":
            yield ("crash",), ("down", done, ping)
            yield ("ping",), (mode, done, 1 - ping)
            if not done:
                yield ("work",), ("up", True, ping)
        else:
            yield ("restart",), ("up", done, ping)

    def properties(self):
        done = lambda s: s[1]
        fair = [WF("work", "work"), WF("restart", "restart")]
        return [
            eventually("WorkDone", done, fair),
            eventually("WorkDoneAfterFaults", done, fair + [AFTER_FAULTS]),
            eventually("WorkDoneAfterCrashes", done, fair + [after_faults("crash")]),
            eventually("WorkDoneAfterFaultsUnfair", done, [AFTER_FAULTS]),
        ]


class Wedged(Model):
    """From ``wedged`` only a crash is possible: after faults stop, the node stutters there."""

    name = "wedged"
    fault_kinds = frozenset({"crash"})

    def init_states(self):
        return ["start"]

    def successors(self, s):
        if s == "start":
            yield ("jam",), "wedged"
            yield ("finish",), "done"
        elif s == "wedged":
            yield ("crash",), "start"

    def properties(self):
        return [eventually("Finishes", lambda s: s == "done", [WF("finish", "finish"), AFTER_FAULTS])]


def verdicts(model: Model) -> dict:
    return {r.name: r for r in check_liveness(model).results}


def assert_lasso(model: Model, result) -> None:
    """The result failed with a lasso whose cycle returns to loop_start, and it replays."""
    assert result.holds is False
    trace = result.trace
    assert trace is not None and trace.loop_start is not None
    assert 0 <= trace.loop_start <= len(trace.actions)
    states = execute(model, trace.init, trace.actions)
    if trace.loop_start < len(trace.actions):
        assert states[-1] == states[trace.loop_start]
    report = replay(trace, model)
    assert report.reproduced, report.message


# -- eventually ---------------------------------------------------------------------

def test_eventually_holds_under_weak_fairness_of_the_slow_process():
    assert verdicts(Race())["ADone"].holds is True


def test_eventually_fails_without_fairness_with_a_lasso_of_the_other_process():
    m = Race()
    r = verdicts(m)["ADoneUnfair"]
    assert_lasso(m, r)
    assert r.trace.loop_start == 0
    assert r.trace.actions == [("toggleB",), ("toggleB",)]


def test_fairness_of_the_wrong_process_does_not_help():
    m = Race()
    r = verdicts(m)["ADoneWrongFairness"]
    assert_lasso(m, r)
    assert all(a == ("toggleB",) for a in r.trace.actions[r.trace.loop_start:])


def test_strong_fairness_forces_an_action_enabled_infinitely_often():
    m = Blink()
    v = verdicts(m)
    assert v["FiresStrong"].holds is True
    # fire is disabled every other state, so weak fairness admits the blinking cycle
    assert_lasso(m, v["FiresWeak"])
    assert v["FiresWeak"].trace.actions[v["FiresWeak"].trace.loop_start:] == [("toggle",), ("toggle",)]
    assert_lasso(m, v["FiresUnfair"])


def test_a_stuttering_self_loop_is_not_a_step_of_a_fair_class():
    class Idle(Model):
        name = "idle"

        def init_states(self):
            return [0]

        def successors(self, x):
            yield ("idle",), x  # enabled forever, but a stuttering step
            if x == 0:
                yield ("go",), 1

        def properties(self):
            return [eventually("Goes", lambda x: x == 1, WF("idle", "idle")),
                    eventually("GoesFair", lambda x: x == 1, WF("go", "go"))]

    m = Idle()
    v = verdicts(m)
    assert_lasso(m, v["Goes"])
    assert v["Goes"].trace.actions == [("idle",)]
    assert v["GoesFair"].holds is True


# -- leads-to -------------------------------------------------------------------------

def test_leads_to_holds_with_per_client_fairness():
    assert verdicts(Clients())["Client1Served"].holds is True


def test_leads_to_fails_when_the_class_is_fair_only_as_a_whole():
    m = Clients()
    r = verdicts(m)["Client1ServedClassFair"]
    assert_lasso(m, r)
    states = execute(m, r.trace.init, r.trace.actions)
    assert all(s[1] for s in states[r.trace.loop_start:])  # client 1 waits on the whole cycle
    assert ("grant", 0) in r.trace.actions[r.trace.loop_start:]  # while client 0 is served


def test_leads_to_fails_without_fairness():
    m = Clients()
    assert_lasso(m, verdicts(m)["Client1ServedUnfair"])


# -- always-eventually ----------------------------------------------------------------

def test_always_eventually_holds_under_weak_fairness():
    assert verdicts(Ring())["BackToZero"].holds is True


def test_always_eventually_lasso_has_a_stem_into_the_cycle():
    m = Ring()
    r = verdicts(m)["BackToZeroUnfair"]
    assert_lasso(m, r)
    assert r.trace.loop_start == 1
    assert r.trace.actions == [("tick",), ("wait",), ("wait",)]


# -- deadlock stutters ------------------------------------------------------------------

def test_a_deadlock_in_a_bad_state_stutters_forever():
    m = Stops(goal=5)
    r = verdicts(m)["ReachesGoal"]
    assert_lasso(m, r)
    assert r.trace.loop_start == len(r.trace.actions) == 2
    assert "stutters forever" in r.trace.note


def test_a_deadlock_in_a_good_state_satisfies_eventually():
    assert verdicts(Stops(goal=2))["ReachesGoal"].holds is True


# -- after faults stop ------------------------------------------------------------------

def test_endless_crashes_defeat_fairness():
    m = Flaky()
    r = verdicts(m)["WorkDone"]
    assert_lasso(m, r)
    assert ("crash",) in r.trace.actions[r.trace.loop_start:]


def test_after_faults_stop_the_fair_suffix_makes_progress():
    v = verdicts(Flaky())
    assert v["WorkDoneAfterFaults"].holds is True
    assert v["WorkDoneAfterCrashes"].holds is True


def test_after_faults_without_fairness_fails_with_a_fault_free_cycle():
    m = Flaky()
    r = verdicts(m)["WorkDoneAfterFaultsUnfair"]
    assert_lasso(m, r)
    assert ("crash",) not in r.trace.actions[r.trace.loop_start:]


def test_a_state_with_only_fault_actions_stutters_once_faults_stop():
    m = Wedged()
    r = verdicts(m)["Finishes"]
    assert_lasso(m, r)
    assert r.trace.actions == [("jam",)]
    assert r.trace.loop_start == 1


# -- replay of lassos -------------------------------------------------------------------

def test_replay_rejects_a_wrong_loop_start():
    m = Ring()
    trace = verdicts(m)["BackToZeroUnfair"].trace
    bad = dataclasses.replace(trace, loop_start=0)
    report = replay(bad, m)
    assert not report.reproduced
    assert "does not return" in report.message


def test_replay_rejects_an_unfair_cycle():
    m = Blink()
    trace = verdicts(m)["FiresWeak"].trace
    report = replay(dataclasses.replace(trace, property="FiresStrong"), m)
    assert not report.reproduced
    assert "not fair" in report.message and "SF(fire)" in report.message


def test_replay_rejects_a_cycle_through_a_fault_under_after_faults():
    m = Flaky()
    trace = verdicts(m)["WorkDone"].trace
    report = replay(dataclasses.replace(trace, property="WorkDoneAfterFaults"), m)
    assert not report.reproduced
    assert "fault" in report.message


def test_replay_rejects_a_lasso_on_which_the_property_holds():
    m = Race()
    trace = verdicts(m)["ADoneUnfair"].trace
    good = dataclasses.replace(trace, actions=[("stepA",), ("stepA",), ("toggleB",), ("toggleB",)],
                               states=[], steps=[], loop_start=2)
    report = replay(good, m)
    assert not report.reproduced
    assert "does not fail" in report.message


def test_lasso_survives_json_and_renders_its_cycle():
    m = Ring()
    trace = verdicts(m)["BackToZeroUnfair"].trace
    again = from_json(json.loads(json.dumps(trace.to_json())))
    assert again.loop_start == trace.loop_start
    assert replay(again, m).reproduced
    text = render_trace(again)
    assert "cycle starts here" in text and "repeats forever" in text


# -- the checker and the command line -------------------------------------------------------

def test_check_judges_liveness_with_the_other_properties():
    result = check(Race())
    assert result.verdict == "violation"
    assert result.prop("ADone").holds is True
    assert result.prop("ADoneUnfair").holds is False
    assert result.counterexample is not None and result.counterexample.loop_start is not None
    assert result.extra["fairness"]["ADone"] == ["WF(A)"]
    text = format_result(result, None)
    assert "assuming: WF(A)" in text and "assuming: no fairness" in text


def test_check_leaves_liveness_undecided_when_the_search_is_bounded():
    result = check(Race(), max_depth=1)
    assert result.prop("ADone").holds is None


def test_liveness_and_safety_together():
    class Both(Race):
        def properties(self):
            return [always("Small", lambda s: s[0] <= 2)] + super().properties()[:1]

    result = check(Both())
    assert result.verdict == "ok"
    assert [p.holds for p in result.properties] == [True, True]


def test_graph_counts_match_the_exhaustive_checker():
    from tests.toys import Counter

    m = Counter(n=6)
    g = build_graph(m)
    r = check(m, stop_at_first=False)
    assert r.complete
    assert len(g) == r.distinct_states
    assert g.transitions + 1 == r.states_generated  # the checker also counts the initial state


def test_judge_reports_no_lasso_for_a_property_that_holds():
    m = Ring()
    prop = m.properties()[0]
    g = build_graph(m, [prop])
    r = judge(g, m, prop)
    assert r.holds is True and r.trace is None


def test_fairness_vocabulary_rejects_nonsense():
    with pytest.raises(TypeError):
        eventually("X", bool, fairness=["WF(A)"])
    with pytest.raises(TypeError):
        WF("both", "a", step=lambda s, a, t: True)
    with pytest.raises(TypeError):
        eventually("X", bool, fairness=[AFTER_FAULTS, after_faults("crash")])


def test_step_fairness_sees_the_states():
    class Two(Model):
        name = "two"

        def init_states(self):
            return [(0, 0)]

        def successors(self, s):
            if s[0] == 0:
                yield ("go", "a"), (1, s[1])
            yield ("spin",), (s[0], 1 - s[1])

        def properties(self):
            moved = lambda s: s[0] == 1
            return [eventually("Moves", moved, WF("x goes", step=lambda s, a, t: t[0] > s[0]))]

    assert verdicts(Two())["Moves"].holds is True


# -- cross-check against brute force on random graphs ------------------------------------------

KINDS = ("a", "b", "c")


class RandomGraph(Model):
    """A model given by its edges ``(u, kind, v)``; state 0 is initial."""

    name = "random-graph"

    def __init__(self, edges, props=()):
        self.edges = sorted(set(edges))
        self.props = list(props)

    def init_states(self):
        return [0]

    def successors(self, u):
        for a, k, v in self.edges:
            if a == u:
                yield (k, v), v

    def properties(self):
        return self.props


def brute_force_fails(model: RandomGraph, prop, faults: frozenset = frozenset()) -> bool:
    """Whether a fair behaviour violates ``prop``, by trying every set of edges as the cycle's.

    ``faults``: the fault kinds when the property assumes faults stop.
    """
    reach, todo = {0}, [0]
    while todo:
        u = todo.pop()
        for a, _, v in model.edges:
            if a == u and v not in reach:
                reach.add(v)
                todo.append(v)
    out = {u: [(k, v) for a, k, v in model.edges if a == u] for u in reach}
    kinds_of: dict[tuple[int, int], set] = {}  # the kinds of the suffix actions from u to v
    for u in reach:
        for k, v in out[u]:
            if k not in faults:
                kinds_of.setdefault((u, v), set())
    for u in reach:
        for k, v in out[u]:
            if (u, v) in kinds_of:
                kinds_of[(u, v)].add(k)
    stutters = {u for u in reach if not any(e[0] == u for e in kinds_of)}
    enabled = {u: {k for k, v in out[u] if v != u} for u in reach}
    cond, target = prop.condition, prop.target
    bad = {u for u in reach if not (target(u) if prop.kind == "leads_to" else cond(u))}

    def reachable(sources, allowed):
        seen, todo = set(sources), list(sources)
        while todo:
            u = todo.pop()
            for k, v in out[u]:
                if v in allowed and v not in seen:
                    seen.add(v)
                    todo.append(v)
        return seen

    if prop.kind == "eventually":
        entry = reachable([0], bad) if 0 in bad else set()
    elif prop.kind == "always_eventually":
        entry = set(reach)
    else:
        entry = reachable([u for u in bad if cond(u)], bad)

    def is_fair(nodes, taken):
        for f in prop.fairness:
            if not hasattr(f, "strong"):
                continue
            on = [f.name in enabled[u] for u in nodes]
            if (any(on) if f.strong else all(on)) and f.name not in taken:
                return False
        return True

    for u in stutters & bad & entry:  # a stuttering end: the state alone, no step taken
        if is_fair([u], set()):
            return True
    candidates = [e for e in kinds_of if e[0] in bad and e[1] in bad]
    for mask in range(1, 1 << len(candidates)):
        chosen = [candidates[i] for i in range(len(candidates)) if mask >> i & 1]
        nodes = {u for e in chosen for u in e}
        if not nodes & entry:
            continue
        start = next(iter(nodes))
        fwd, bwd = {start}, {start}
        for closure, (x, y) in ((fwd, (0, 1)), (bwd, (1, 0))):
            todo = [start]
            while todo:
                u = todo.pop()
                for e in chosen:
                    if e[x] == u and e[y] not in closure:
                        closure.add(e[y])
                        todo.append(e[y])
        if fwd != nodes or bwd != nodes:
            continue
        if is_fair(nodes, {k for a, b in chosen if a != b for k in kinds_of[(a, b)]}):
            return True
    return False


graphs = st.lists(st.tuples(st.integers(0, 4), st.sampled_from(KINDS), st.integers(0, 4)), max_size=9)


@settings(max_examples=200, deadline=None)
@given(graphs, st.sampled_from(["eventually", "leads_to", "always_eventually"]),
       st.frozensets(st.integers(0, 4)), st.frozensets(st.integers(0, 4)),
       st.lists(st.tuples(st.sampled_from(KINDS), st.booleans()), max_size=3, unique_by=lambda x: x[0]),
       st.booleans())
def test_fair_cycle_search_agrees_with_brute_force(edges, kind, p_set, q_set, fair, c_is_fault):
    """Random graphs; kind "c" is a fault under an after-faults assumption half the time."""
    fairness = [(SF if strong else WF)(k, k) for k, strong in fair] + ([after_faults("c")] if c_is_fault else [])
    p = lambda u: u in p_set
    q = lambda u: u in q_set
    prop = {"eventually": lambda: eventually("P", p, fairness),
            "always_eventually": lambda: always_eventually("P", p, fairness),
            "leads_to": lambda: leads_to("P", p, q, fairness)}[kind]()
    model = RandomGraph(edges, [prop])
    result = check_liveness(model).results[0]
    assert (result.holds is False) == brute_force_fails(model, prop, frozenset("c") if c_is_fault else frozenset())
    if result.holds is False:
        report = replay(result.trace, model)
        assert report.reproduced, report.message


# -- the protocol models -------------------------------------------------------------------------

def _named(model: Model, name: str, **params) -> Model:
    model.name = name
    model._params = params
    return model


def test_twophase_every_rm_decides_under_fairness():
    from splitbrain.models.twophase import TwoPhase

    result = check(_named(TwoPhase(3, liveness="fair"), "twophase", rms=3, liveness="fair"))
    assert result.verdict == "ok"
    assert result.prop("EveryRMDecides").holds is True
    assert (result.distinct_states, result.states_generated, result.depth) == (288, 1146, 11)  # TLC: TwoPhase.tla, RM = 3


def test_twophase_without_fairness_an_rm_may_wait_forever():
    from splitbrain.models.twophase import TwoPhase

    m = _named(TwoPhase(3, liveness="unfair"), "twophase", rms=3, liveness="unfair")
    result = check(m)
    r = result.prop("EveryRMDecides")
    assert_lasso(m, r)
    states = execute(m, r.trace.init, r.trace.actions)
    assert "working" in states[-1][0]
    assert (result.distinct_states, result.states_generated) == (288, 1146)  # TLC's counts for TwoPhase.tla, RM = 3


def test_twophase_liveness_is_off_by_default():
    from splitbrain.models.twophase import TwoPhase

    assert all(p.kind != "eventually" for p in TwoPhase(3).properties())


@pytest.mark.parametrize("acceptors,values,max_ballot", [(1, 1, 1), (3, 1, 1), (3, 2, 1)])
def test_paxos_mcliveness_holds_under_mclspec_fairness(acceptors, values, max_ballot):
    from splitbrain.models.paxos import Paxos

    m = _named(Paxos(acceptors, values, max_ballot, liveness="fair"), "paxos")
    result = check(m)
    assert result.verdict == "ok"
    assert result.prop("MCLiveness").holds is True


def test_paxos_mcliveness_counts_match_tlc():
    from splitbrain.models.paxos import Paxos

    result = check(_named(Paxos(1, 1, 1, liveness="fair"), "paxos"))
    # TLC on MCPaxos.tla (Acceptor = 1, Value = 1, Ballot = 0..1): 25 distinct, 82 generated, depth 9
    # (tlaplus/Examples manifest, ../shared/reference/README.md); liveness adds no variable.
    assert (result.distinct_states, result.states_generated, result.depth) == (25, 82, 9)


def test_paxos_mcliveness_fails_without_fairness_with_a_lasso():
    from splitbrain.models.paxos import Paxos

    m = _named(Paxos(3, 1, 1, liveness="unfair"), "paxos")
    result = check(m)
    r = result.prop("MCLiveness")
    assert_lasso(m, r)
    assert result.counterexample is r.trace


def test_paxos_needs_a_fair_majority_of_acceptors():
    from splitbrain.models.paxos import Paxos

    m = Paxos(3, 1, 1, liveness="fair")
    full = m.properties()[-1]
    phase1a, phase2a, _ = full.fairness
    minority = WF("a1 only", lambda a: a[0] in ("Phase1b", "Phase2b") and a[1] == "a1")
    prop = eventually("MinorityFair", full.condition, [phase1a, phase2a, minority])
    r = judge(build_graph(m, [prop]), m, prop)
    assert r.holds is False
    states = execute(m, r.trace.init, r.trace.actions)
    assert not any(m.chosen(s) for s in states)
    assert states[-1] == states[r.trace.loop_start]


# bcastByz (tlaplus/Examples specifications/bcastByz): CorrLtl and RelayLtl under Spec's
# weak fairness of "some correct process steps, receiving only from correct senders".

def _bcast_correct_step(state, action, next_state) -> bool:
    """\\E self \\in Corr : ReceiveFromCorrectSender(self) /\\ (UponV1(self) \\/ ...)."""
    if action[0] == "Unchanged":
        return False
    sent_by = {q for q, _ in state.sent}
    return all(q in sent_by for q in action[2])


def _bcast_properties(fair: bool) -> list:
    all_v1 = lambda s: all(s.pc[p - 1] == "V1" for p in s.corr)
    all_ac = lambda s: all(s.pc[p - 1] == "AC" for p in s.corr)
    some_ac = lambda s: any(s.pc[p - 1] == "AC" for p in s.corr)
    fairness = [WF("correct step", step=_bcast_correct_step)] if fair else []
    # CorrLtl == (\A i \in Corr: pc[i] = "V1") => <>(\A i \in Corr: pc[i] = "AC"), a formula on the
    # initial state; as pc never returns to V1, it is equivalent to the leads-to below.
    return [leads_to("CorrLtl", all_v1, all_ac, fairness), leads_to("RelayLtl", some_ac, all_ac, fairness)]


@pytest.fixture(scope="module")
def bcast_graph():
    """bcastByz with N=4, T=1, F=1 (bcastByz.cfg) and its state graph, labelled for both variants."""
    m = BcastByz(4, 1, 1)
    props = _bcast_properties(fair=True) + _bcast_properties(fair=False)
    return m, props, build_graph(m, props)


def test_bcastbyz_corr_and_relay_hold_under_weak_fairness_as_in_tlc(bcast_graph):
    m, props, graph = bcast_graph
    assert len(graph) == 14424  # TLC: 14,424 distinct (bcastByz.tla, N = 4, T = 1, F = 1; tlaplus/Examples manifest)
    assert graph.transitions + 64 == 227344  # TLC: 227,344 generated, with the 64 initial states
    assert [judge(graph, m, p).holds for p in props[:2]] == [True, True]


def test_bcastbyz_without_fairness_correct_processes_may_stall(bcast_graph):
    from splitbrain.properties.lasso import judge_lasso

    m, props, graph = bcast_graph
    for prop in props[2:]:
        r = judge(graph, m, prop)
        assert r.holds is False
        states = execute(m, r.trace.init, r.trace.actions)
        assert states[-1] == states[r.trace.loop_start]
        ok, message = judge_lasso(m, prop, states, r.trace.actions, r.trace.loop_start)
        assert ok, message


def test_command_line_checks_liveness_lists_fairness_and_replays_the_lasso(capsys, tmp_path):
    from splitbrain.checker.cli import main

    out_file = tmp_path / "lasso.json"
    code = main(["check", "twophase", "-p", "liveness=unfair", "--trace-out", str(out_file)])
    out = capsys.readouterr().out
    assert code == 1
    assert "EveryRMDecides" in out and "assuming: no fairness" in out and "cycle starts here" in out
    assert json.loads(out_file.read_text())["loop_start"] is not None
    assert main(["replay", str(out_file)]) == 0
    assert "reproduced" in capsys.readouterr().out

    code = main(["check", "twophase", "-p", "liveness=fair", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["verdict"] == "ok"
    assert data["fairness"]["EveryRMDecides"] == ["WF(TM)", "WF(RM) for each instance"]
    (decides,) = [p for p in data["properties"] if p["name"] == "EveryRMDecides"]
    assert (decides["kind"], decides["holds"], decides["note"]) == ("eventually", True, "")


# The three commands of README.md's "Liveness" section, as written there.
README_LIVENESS = [
    (["check", "paxos", "-p", "acceptors=2", "-p", "values=1", "-p", "max_ballot=1", "-p", "liveness=fair"],
     "MCLiveness", 0),
    (["check", "paxos", "-p", "acceptors=2", "-p", "values=1", "-p", "max_ballot=1", "-p", "liveness=unfair"],
     "MCLiveness", 1),
    (["check", "twophase", "-p", "liveness=fair"], "EveryRMDecides", 0),
]


@pytest.mark.parametrize("argv,prop,code", README_LIVENESS, ids=["paxos-fair", "paxos-unfair", "twophase-fair"])
def test_readme_liveness_commands(argv, prop, code, capsys, tmp_path):
    from splitbrain.checker.cli import main

    trace_file = tmp_path / "trace.json"
    assert main([*argv, "--json", "--trace-out", str(trace_file)]) == code
    data = json.loads(capsys.readouterr().out)
    (judged,) = [p for p in data["properties"] if p["name"] == prop]
    assert judged["kind"] == "eventually" and judged["holds"] is (code == 0)
    assert all(p["holds"] for p in data["properties"] if p["name"] != prop)
    if code == 1:  # "a lasso": a cycle that replays
        assert json.loads(trace_file.read_text())["loop_start"] is not None
        assert main(["replay", str(trace_file)]) == 0
