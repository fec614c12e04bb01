"""Coverage as TLC reports it, and ``always_step`` properties, in every engine."""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import pytest

from splitbrain.checker import explore
from splitbrain.checker.cli import main
from splitbrain.checker.commands import exit_code, format_result
from splitbrain.checker.explore import check
from splitbrain.checker.hypothesis import hypothesis_check
from splitbrain.checker.simulate import simulate
from splitbrain.models.actors import Actor, ActorModel
from splitbrain.models.core import Model
from splitbrain.properties.kinds import always, always_step
from splitbrain.traces.replay import replay
from toys import Counter


def run(model: Model, engine: str, **options: Any):
    """The result of ``engine`` on ``model`` (small fixed budgets for the sampled engines)."""
    if engine == "simulate":
        return simulate(model, runs=200, depth=30, seed=1, **options)
    if engine == "hypothesis":
        return hypothesis_check(model, budget=40, max_depth=30, **options)
    return check(model, engine, **options)


def rows(result) -> dict[str, tuple[int, int]]:
    return {a.name: (a.taken, a.new_states) for a in result.coverage.actions}


# -- action classes ----------------------------------------------------------------

@pytest.mark.parametrize("engine", ["bfs", "dfs"])
def test_exhaustive_coverage_matches_a_count_by_hand(engine):
    # Counter(n=5): states 0..4, each with inc and reset enabled: 5 steps of each class.
    # Only inc ever reaches a new state (1..4); reset always returns to the initial state 0.
    r = check(Counter(n=5, bad=99, goal=4), engine)
    assert rows(r) == {"inc": (5, 4), "reset": (5, 0)}
    judged = {p.name: p for p in r.coverage.properties}
    assert judged["NotBad"].judged == 5
    assert judged["GoalReached"].reached is True and judged["GoalReached"].judged <= 5
    assert r.coverage.declared is None and r.coverage.never_taken == []


def test_twophase_coverage_sums_to_tlc_figures(capsys):
    # TLC on TwoPhase.tla, RM = 3: 288 distinct states, 1,146 generated (one initial state).
    # Every generated successor is a step of some class and every new state was reached by one.
    assert main(["check", "twophase", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    actions = data["coverage"]["actions"]
    assert sum(a["taken"] for a in actions) == 1146 - 1
    assert sum(a["new_states"] for a in actions) == 288 - 1
    assert {a["class"] for a in actions} == {"TMRcvPrepared", "TMCommit", "TMAbort", "RMPrepare",
                                             "RMChooseToAbort", "RMRcvCommitMsg", "RMRcvAbortMsg"}
    props = {p["name"]: p for p in data["coverage"]["properties"]}
    assert props["TCConsistent"] == {"name": "TCConsistent", "kind": "always", "judged": 288}
    assert props["AllCommitted"]["reached"] is True


@pytest.mark.parametrize("engine", ["simulate", "hypothesis"])
def test_sampled_coverage_counts_the_steps_the_walks_took(engine):
    r = run(Counter(n=5, bad=99, goal=4), engine)
    steps = sum(a.taken for a in r.coverage.actions)
    walks = r.extra["runs"]
    if engine == "simulate":
        assert steps == r.states_generated - walks  # each visit after a walk's first is one step
    # One initial state: every other distinct state was first reached by a step.
    assert sum(a.new_states for a in r.coverage.actions) == r.distinct_states - 1
    assert rows(r)["reset"][1] == 0
    assert {p.name: p.judged for p in r.coverage.properties}["NotBad"] == r.states_generated


def test_coverage_is_printed_after_the_verdicts():
    r = check(Counter(n=5, bad=99, goal=4))
    text = format_result(r, None)
    lines = text.splitlines()
    verdicts = [i for i, line in enumerate(lines) if line.startswith(("  always ", "  sometimes "))]
    assert len(verdicts) == 2 and lines.index("  coverage:") > max(verdicts)
    assert any(line.split()[:3] == ["inc", "5", "4"] for line in lines)
    assert "warning" not in text


# -- actors: classes by message type, timer name and fault kind --------------------

class Pinger(Actor):
    message_types = ("Pong",)
    timer_names = ("go",)

    def on_start(self, node_id, ctx, durable=None):
        ctx.set_timer("go")
        return 0

    def on_timer(self, node_id, state, timer, ctx):
        ctx.send("b", ("Ping", state + 1))
        return state + 1

    def on_message(self, node_id, state, src, msg, ctx):
        return state


class Ponger(Actor):
    message_types = ("Ping",)

    def on_start(self, node_id, ctx, durable=None):
        return 0

    def on_message(self, node_id, state, src, msg, ctx):
        ctx.send(src, ("Pong", msg[1]))
        return state + 1


def ping_pong(max_in_flight: int, faults: str = "dup=1") -> ActorModel:
    return ActorModel({"a": Pinger(), "b": Ponger()}, [always("True", lambda w: True)],
                      faults=faults, max_in_flight=max_in_flight)


def test_actor_classes_name_the_message_the_timer_and_the_fault():
    model = ping_pong(2)
    assert model.action_class(("deliver", "a", "b", ("Ping", 1))) == "deliver Ping"
    assert model.action_class(("timeout", "a", "go")) == "timeout go"
    assert model.action_class(("timeout", "a", ("retry", 3))) == "timeout retry"
    assert model.action_class(("duplicate", "a", "b", ("Ping", 1))) == "duplicate"
    assert model.action_classes() == ["deliver Ping", "deliver Pong", "timeout go", "duplicate"]
    assert ping_pong(2, faults="crash=1,restart,partition=1").action_classes() == [
        "deliver Ping", "deliver Pong", "timeout go", "partition", "heal", "crash", "restart"]


def test_a_declared_class_never_taken_is_a_warning_and_fails_strict():
    # With one message in flight at most, every duplicate leaves the boundary: dup never happens.
    pruned = check(ping_pong(1))
    assert pruned.verdict == "ok" and pruned.coverage.never_taken == ["duplicate"]
    assert rows(pruned)["duplicate"] == (0, 0) and rows(pruned)["deliver Ping"][0] > 0
    assert "warning: action class 'duplicate' was never taken" in format_result(pruned, None)
    assert pruned.strict_failures() == ["action class 'duplicate' was never taken"]
    assert exit_code(pruned) == 0 and exit_code(pruned, strict=True) == 1
    # Two in flight: the duplicate is taken and leads somewhere new.
    room = check(ping_pong(2))
    assert room.coverage.never_taken == [] and rows(room)["duplicate"][1] > 0
    assert exit_code(room, strict=True) == 0


# -- always_step -------------------------------------------------------------------

class Dial(Model):
    """x in 0..n-1: ``inc`` (wrapping to 0), ``stay`` (a self-loop) and ``dec`` (down to 0).

    Step properties: NoWrap (inc never goes down: the wrap step returns to a
    seen state) and NoStayAt (no self-loop at ``k``).
    """

    name = "dial"

    def __init__(self, n: int = 6, k: int = 2, props: tuple[str, ...] = ("NoWrap", "NoStayAt")):
        self.n, self.k, self.which = n, k, props
        self._params = dict(n=n, k=k, props=props)

    def init_states(self):
        return [0]

    def successors(self, x):
        yield ("inc",), (x + 1) % self.n
        yield ("stay",), x
        if x > 0:
            yield ("dec",), x - 1

    def properties(self):
        all_props = {
            "NoWrap": always_step("NoWrap", lambda s, a, t: not (a == ("inc",) and t < s)),
            "NoStayAt": always_step("NoStayAt", lambda s, a, t: not (a == ("stay",) and s == self.k)),
            "Small": always("Small", lambda x: x < self.n),
        }
        return [all_props[p] for p in self.which]


def brute_force(model: Model) -> tuple[dict[str, int], int]:
    """Per step property, the length of the shortest behaviour ending in a violating step; and the steps."""
    dist = {s: 0 for s in model.init_states()}
    queue = deque(dist)
    edges = []
    while queue:
        s = queue.popleft()
        for a, t in model.successors(s):
            edges.append((s, a, t))
            if t not in dist:
                dist[t] = dist[s] + 1
                queue.append(t)
    shortest = {}
    for p in model.properties():
        if p.kind == "always_step":
            lengths = [dist[s] + 1 for s, a, t in edges if not p.condition(s, a, t)]
            if lengths:
                shortest[p.name] = min(lengths)
    return shortest, len(edges)


def test_bfs_finds_the_shortest_step_violations_brute_force_finds():
    model = Dial(n=6, k=2)
    expected, _ = brute_force(model)
    assert expected == {"NoWrap": 6, "NoStayAt": 3}  # 5 incs then the wrap; 2 incs then stay
    r = check(model, stop_at_first=False)
    assert r.verdict == "violation"
    for name, length in expected.items():
        p = r.prop(name)
        assert p.holds is False and p.kind == "always_step" and len(p.trace) == length
        assert p.trace.kind == "always_step"
        assert replay(p.trace, model).reproduced
    assert r.prop("NoStayAt").trace.actions == [("inc",), ("inc",), ("stay",)]  # a self-loop
    assert r.prop("NoWrap").trace.actions == [("inc",)] * 6  # a step back to a seen state


@pytest.mark.parametrize("engine", ["dfs", "simulate", "hypothesis"])
def test_every_engine_judges_step_properties(engine):
    for name in ("NoWrap", "NoStayAt"):
        model = Dial(n=6, k=2, props=(name,))
        r = run(model, engine)
        assert r.verdict == "violation" and r.prop(name).holds is False, (engine, name)
        trace = r.counterexample
        assert trace.property == name and replay(trace, model).reproduced
        if engine == "hypothesis":  # shortened to a 1-minimal trace, here the shortest
            assert len(trace) == brute_force(model)[0][name]


def test_step_properties_are_judged_on_every_step():
    # No violation: each of the 6 states has inc and stay, 5 have dec; every step judged once.
    model = Dial(n=6, k=99, props=("NoStayAt",))
    _, steps = brute_force(model)
    assert steps == 6 + 6 + 5
    r = check(model)
    assert r.verdict == "ok" and r.prop("NoStayAt").holds is True
    assert r.coverage.properties[0].judged == steps == r.states_generated - 1


def test_step_properties_cost_nothing_without_any(monkeypatch):
    def fail(*args):
        raise AssertionError("judge_step called for a model without step properties")

    monkeypatch.setattr(explore._Search, "judge_step", fail)
    assert check(Dial(props=("Small",))).verdict == "ok"
    assert check(Dial(props=("Small",)), "dfs").verdict == "ok"


def test_a_step_replay_fails_when_the_last_step_is_fine():
    model = Dial(n=6, k=2, props=("NoStayAt",))
    trace = check(model).counterexample
    trace.actions = trace.actions[:-1] + [("inc",)]
    trace.states = trace.states[:-1]
    outcome = replay(trace, model)
    assert not outcome.reproduced and "holds on the last step" in outcome.message
