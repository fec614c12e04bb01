"""Random simulation: verdicts on a sample, reproducible by seed, the walking rules, and the CLI."""

from __future__ import annotations

import json

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.simulate import (
    DEFAULT_FAULT_KINDS,
    Swarm,
    first_hit,
    shorten,
    simulate,
    swarm_kinds,
    trace_file_name,
)
from splitbrain.models import registry
from splitbrain.models.core import Model
from splitbrain.properties.kinds import always, sometimes
from splitbrain.traces.format import load
from splitbrain.traces.replay import replay


class Ring(Model):
    """A position on a ring of n cells: ``fwd``, ``back``, and ``stay`` (a stuttering step).

    ``bad`` is the forbidden cell; ``limit`` bounds the explored cells (within_boundary).
    """

    name = "ring"

    def __init__(self, n: int = 8, bad: int = 4, limit: int | None = None, goal: int = 2):
        self.n, self.bad, self.limit, self.goal = n, bad, limit, goal
        self._params = dict(n=n, bad=bad, limit=limit, goal=goal)

    def init_states(self):
        return [0]

    def successors(self, x):
        yield ("stay",), x
        yield ("fwd",), (x + 1) % self.n
        yield ("back",), (x - 1) % self.n

    def within_boundary(self, x):
        return self.limit is None or x <= self.limit or x >= self.n - self.limit

    def properties(self):
        return [always("AvoidBad", lambda x: x != self.bad),
                sometimes("GoalReached", lambda x: x == self.goal),
                sometimes("Never", lambda x: x < 0)]

    def render(self, x):
        return {"x": x}


class Halt(Model):
    """Counts to ``top`` and then only stutters (``wait``), or deadlocks when ``deadlock``."""

    name = "halt"

    def __init__(self, top: int = 3, deadlock: bool = False):
        self.top, self.deadlock = top, deadlock
        self._params = dict(top=top, deadlock=deadlock)

    def init_states(self):
        return [0]

    def successors(self, x):
        if x < self.top:
            yield ("inc",), x + 1
        elif not self.deadlock:
            yield ("wait",), x

    def properties(self):
        return [always("Fine", lambda x: True)]


def test_finds_violation_and_cuts_the_walk_at_the_first_bad_state():
    result = simulate(Ring(), runs=200, depth=40, seed=1)
    assert result.verdict == "violation" and result.engine == "simulate"
    trace = result.counterexample
    assert trace.property == "AvoidBad" and "seed 1" in trace.note
    assert trace.states[-1] == {"x": 4} and {"x": 4} not in trace.states[:-1]
    assert ("stay",) not in trace.actions  # stuttering steps are never taken
    assert replay(trace, Ring()).reproduced
    assert result.prop("GoalReached").holds is None or result.prop("GoalReached").holds is True


def test_same_seed_same_walks_and_a_fresh_seed_is_recorded():
    a = simulate(Ring(bad=99), runs=50, depth=30, seed=42)
    b = simulate(Ring(bad=99), runs=50, depth=30, seed=42)
    assert (a.states_generated, a.distinct_states, a.depth) == (b.states_generated, b.distinct_states, b.depth)
    assert a.prop("GoalReached").trace.actions == b.prop("GoalReached").trace.actions
    c = simulate(Ring(), runs=20, depth=30, seed=3)
    d = simulate(Ring(), runs=20, depth=30, seed=3)
    assert c.counterexample.actions == d.counterexample.actions
    fresh = simulate(Ring(bad=99), runs=3, depth=5)
    seed = fresh.extra["seed"]
    assert isinstance(seed, int) and any(f"seed {seed}" in n for n in fresh.notes)
    again = simulate(Ring(bad=99), runs=3, depth=5, seed=seed)
    assert again.states_generated == fresh.states_generated


def test_sampled_verdicts():
    # The witness Never cannot be reached: the run is undecided (exit 3), never "ok".
    result = simulate(Ring(bad=99), runs=100, depth=20, seed=5)
    assert result.verdict == "undecided" and result.complete is False
    avoid = result.prop("AvoidBad")
    assert avoid.holds is None and avoid.sampled and not avoid.undecided  # a sample never says "holds"
    assert avoid.status == "no violation found"
    assert "no violation in 100 random walks of up to 20 steps" in avoid.note
    assert result.prop("GoalReached").holds is True and replay(result.prop("GoalReached").trace, Ring(bad=99)).reproduced
    never = result.prop("Never")
    assert never.holds is None and never.undecided and "not reached in 100 random walks" in never.note
    assert [p.name for p in result.undecided] == ["Never"]
    assert result.distinct_states == 8 and result.states_generated == 100 * 21
    assert result.depth == 21 and result.extra["runs"] == 100


def test_walks_stay_within_the_boundary():
    # Cells 3..5 are outside the boundary, so the bad cell 4 is never visited (as in check).
    result = simulate(Ring(limit=2), runs=200, depth=50, seed=2)
    assert result.verdict == "undecided" and result.distinct_states == 5  # undecided: Never is not reached
    assert result.prop("AvoidBad").status == "no violation found"


def test_walk_ends_at_a_fixed_point_and_deadlock_is_reported():
    fixed = simulate(Halt(), runs=5, depth=50, seed=0)
    assert fixed.verdict == "ok" and fixed.depth == 4 and fixed.states_generated == 5 * 4
    dead = simulate(Halt(deadlock=True), runs=5, depth=50, seed=0)
    assert dead.verdict == "violation" and dead.prop("Deadlock").holds is False
    assert dead.counterexample.actions == [("inc",)] * 3 and replay(dead.counterexample, Halt(deadlock=True)).reproduced
    assert simulate(Halt(deadlock=True), runs=5, depth=50, seed=0, check_deadlock=False).verdict == "ok"


def test_shorten_removes_detours_and_keeps_the_violation():
    model = Ring()
    f, b = ("fwd",), ("back",)
    walk = [f, b, f, f, b, f, f, b]  # cells 1 0 1 2 1 2 3 2
    is_bad = lambda x: x == 4  # noqa: E731
    assert first_hit(model, 0, walk, is_bad) is None  # this walk never reaches 4
    walk = walk + [f, f, b]  # ... now it does, at the second to last step
    assert len(first_hit(model, 0, walk, is_bad)) == len(walk) - 1
    assert shorten(model, 0, walk, is_bad) == [("fwd",)] * 4
    assert first_hit(model, 0, [("jump",)], is_bad) is None  # an action that is not enabled


def test_swarm_filter_and_kinds():
    steps = [(("crash", 1), 1), (("deliver", 0), 2), (("drop", 3), 3)]
    swarm = Swarm(frozenset({"crash", "drop"}))
    kept = swarm.filter(steps, lambda kind: True)  # every fault kind switched off
    assert kept == [(("deliver", 0), 2)]
    assert swarm.filter(steps[::2], lambda kind: True) == steps[::2]  # never leaves a walk without a step
    every = Swarm(None)
    assert every.filter(steps, lambda kind: kind == "deliver") == [steps[0], steps[2]]

    class Declared(Ring):
        fault_kinds = ("drop",)

    assert swarm_kinds(Declared()) == frozenset({"drop"})
    assert swarm_kinds(Ring()) is None  # no faults: swarm over every action kind
    assert "drop" in DEFAULT_FAULT_KINDS and "deliver" not in DEFAULT_FAULT_KINDS


class Lossy(Model):
    """Counts delivered messages up to 6; each of 10 fault actions (crash, drop) loses everything."""

    name = "lossy"
    fault_kinds = ("crash", "drop")

    def init_states(self):
        return [0]

    def successors(self, x):
        for i in range(5):
            yield ("crash", i), 0
            yield ("drop", i), 0
        if x < 6:
            yield ("deliver",), x + 1

    def properties(self):
        return [always("NeverAll", lambda x: x < 6)]


def test_swarm_finds_what_uniform_walks_miss():
    assert simulate(Lossy(), runs=200, depth=20, seed=1).verdict == "ok"
    found = simulate(Lossy(), runs=200, depth=20, seed=1, swarm=True)
    assert found.verdict == "violation" and found.counterexample.actions == [("deliver",)] * 6


def test_trace_file_names_carry_parameters_and_worker(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    a = simulate(Ring(), runs=50, depth=30, seed=1).counterexample
    b = simulate(Ring(n=9), runs=50, depth=30, seed=1).counterexample
    assert trace_file_name(a).startswith("ring-AvoidBad-") and trace_file_name(a) != trace_file_name(b)
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    assert trace_file_name(a).endswith("-gw3.json")


@pytest.mark.parametrize("bug", ["ignore_highest_vote", "minority_quorum", "vote_below_promise"])
def test_paxos_bugs_found_by_simulation(bug):
    result = simulate(registry.build("paxos", {"bug": bug}), runs=500, depth=50, seed=1)
    # a property the flag is declared to break (Consistency, or one of Inv's conjuncts)
    assert result.verdict == "violation"
    assert {p.name for p in result.violated} & set(registry.get("paxos").breaks[bug])
    assert replay(result.counterexample).reproduced


def test_cli_simulate(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cx.json"
    argv = ["simulate", "paxos", "-p", "bug=minority_quorum", "--runs", "300", "--depth", "40", "--seed", "3"]
    assert main(argv + ["--json", "--trace-out", str(out)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["engine"] == "simulate" and data["verdict"] == "violation" and data["seed"] == 3
    assert data["trace"] == str(out) and replay(load(out)).reproduced
    assert main(argv + ["--json", "--trace-out", str(tmp_path / "again.json")]) == 1
    capsys.readouterr()
    assert load(tmp_path / "again.json").actions == load(out).actions
    # 50 walks miss the witness AllCommitted (undecided, exit 3); 400 reach it (exit 0): regression figures of
    # seed 1 (the command line takes its walks in chunks of 100, chunk k seeded from (seed, k)).
    assert main(["simulate", "twophase", "--runs", "50", "--depth", "20", "--seed", "1"]) == 3
    text = capsys.readouterr().out
    assert "AllCommitted" in text and "Verdict: undecided" in text
    assert main(["simulate", "twophase", "--runs", "400", "--depth", "20", "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert "engine simulate" in text and "holds" not in text
    assert "Verdict: ok: no violation in 400 random walks of up to 20 steps (seed 1), and every witness reached" in text
    assert main(["simulate", "twophase", "--runs", "50", "--depth", "20", "--seed", "1", "--strict"]) == 1
    assert "strict: witness AllCommitted was not reached" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["simulate", "paxos", "--runs", "0"], "--runs must be >= 1"),
    (["simulate", "paxos", "--depth", "-1"], "--depth must be >= 0"),
    (["simulate", "nosuchmodel"], "unknown model"),
    (["simulate", "paxos", "-p", "acceptors=x"], "expected int"),
])
def test_cli_simulate_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
