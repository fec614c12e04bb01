"""The Hypothesis engine: finds violations, shortens them, replays, swarms over faults, CI/dev profiles."""

from __future__ import annotations

import json
import subprocess
import sys
import unittest
from pathlib import Path

import pytest
from hypothesis.database import DirectoryBasedExampleDatabase

import splitbrain.checker.hypothesis as engine
from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.checker.hypothesis import CI_EXAMPLES, hypothesis_check, machine_class, model_test_case, profile
from splitbrain.models import registry
from splitbrain.models.core import Model
from splitbrain.properties.kinds import always, sometimes
from splitbrain.traces.format import load
from splitbrain.traces.replay import replay


class Grid(Model):
    """Two counters x, y in 0..n-1: ``incx``, ``incy``, ``reset``; (bx, by) is the bad corner.

    The shortest path to the bad corner takes bx + by steps.
    """

    name = "grid"

    def __init__(self, n: int = 5, bx: int = 3, by: int = 2, starts: int = 1):
        self.n, self.bx, self.by, self.starts = n, bx, by, starts
        self._params = dict(n=n, bx=bx, by=by, starts=starts)

    def init_states(self):
        return [(0, i) for i in range(self.starts)]

    def successors(self, s):
        x, y = s
        if x < self.n - 1:
            yield ("incx",), (x + 1, y)
        if y < self.n - 1:
            yield ("incy",), (x, y + 1)
        yield ("reset",), (0, 0)

    def properties(self):
        return [
            always("NotCorner", lambda s: s != (self.bx, self.by)),
            sometimes("FarCorner", lambda s: s == (self.n - 1, self.n - 1)),
            sometimes("Impossible", lambda s: s[0] < 0),
        ]

    def render(self, s):
        return {"x": s[0], "y": s[1]}


class Lossy(Model):
    """A receiver counts delivered messages up to ``goal``; 2k fault actions each lose everything.

    Without swarm testing a random walk must pick ``deliver`` among 2k+1
    actions ``goal - 1`` times in a row; with both fault kinds switched off
    (one walk in 16) it cannot miss.
    """

    name = "lossy"
    fault_kinds = ("crash", "drop")

    def __init__(self, k: int = 5, goal: int = 6):
        self.k, self.goal = k, goal
        self._params = dict(k=k, goal=goal)

    def init_states(self):
        return [0]

    def successors(self, x):
        for i in range(self.k):
            yield ("crash", i), 0
        yield ("deliver",), x + 1
        for i in range(self.k):
            yield ("drop", i), 0

    def within_boundary(self, x):
        return x <= self.goal

    def properties(self):
        return [always("NeverAll", lambda x: x < self.goal)]


class Stuck(Model):
    """Counts to 2 and stops: a deadlock unless allowed."""

    name = "stuck"

    def __init__(self, allow: bool = False):
        self.allow_deadlock = allow
        self._params = dict(allow=allow)

    def init_states(self):
        return [0]

    def successors(self, x):
        if x < 2:
            yield ("inc",), x + 1

    def properties(self):
        return [always("Small", lambda x: x < 10)]


def test_finds_violation_with_a_shortest_length_trace_that_replays(tmp_path):
    model = Grid()
    result = hypothesis_check(model, trace_dir=tmp_path)
    assert result.verdict == "violation" and result.engine == "hypothesis"
    prop = result.prop("NotCorner")
    assert prop.holds is False and prop.trace is result.counterexample
    trace = result.counterexample
    assert len(trace) == len(check(Grid()).counterexample) == 5
    assert sorted(trace.actions) == [("incx",)] * 3 + [("incy",)] * 2
    path = Path(result.extra["trace_file"])
    assert path.parent == tmp_path and path.name.startswith("grid-NotCorner-")
    assert replay(load(path), Grid()).reproduced


def test_sampled_verdicts_witness_found_and_unreached_is_undecided():
    result = hypothesis_check(Grid(bx=99), max_examples=30)
    assert result.verdict == "undecided" and not result.complete  # the witness Impossible is not reached
    corner = result.prop("NotCorner")
    assert corner.holds is None and corner.sampled and corner.status == "no violation found"
    assert "no violation in 30 Hypothesis examples" in corner.note or "no violation in" in corner.note
    far = result.prop("FarCorner")
    assert far.holds is True and len(far.trace) == 8  # shortened: 4 incx + 4 incy
    assert replay(far.trace, Grid(bx=99)).reproduced
    impossible = result.prop("Impossible")
    assert impossible.holds is None and impossible.undecided and "not reached in" in impossible.note
    assert [p.name for p in result.undecided] == ["Impossible"]
    assert result.distinct_states == 25 and result.extra["examples"] >= 30


def test_deadlock_is_a_violation_unless_allowed():
    result = hypothesis_check(Stuck(), max_examples=5)
    assert result.verdict == "violation"
    assert result.prop("Deadlock").holds is False
    assert result.counterexample.actions == [("inc",), ("inc",)]
    assert replay(result.counterexample, Stuck()).reproduced
    assert hypothesis_check(Stuck(allow=True), max_examples=5).verdict == "ok"
    assert hypothesis_check(Stuck(), max_examples=5, check_deadlock=False).verdict == "ok"


def test_ci_profile_is_deterministic_and_seed_gives_reproducible_samples():
    a, b = hypothesis_check(Grid()), hypothesis_check(Grid())
    assert a.counterexample.actions == b.counterexample.actions
    assert (a.extra["runs"], a.states_generated) == (b.extra["runs"], b.states_generated)
    c, d = hypothesis_check(Grid(), seed=7), hypothesis_check(Grid(), seed=7)
    assert (c.extra["runs"], c.states_generated) == (d.extra["runs"], d.states_generated)
    assert c.extra["seed"] == 7


def test_swarm_switches_off_fault_kinds_so_a_rare_run_is_found():
    # Unguided walks, to see the swarm's own effect (guided walks find this either way).
    with_swarm = hypothesis_check(Lossy(), max_examples=60, seed=1, guided=False)
    assert with_swarm.verdict == "violation"
    assert with_swarm.counterexample.actions == [("deliver",)] * 6
    without = hypothesis_check(Lossy(), max_examples=60, seed=1, swarm=False, guided=False)
    assert without.verdict == "ok"
    guided = hypothesis_check(Lossy(), max_examples=60, seed=1, swarm=False)
    assert guided.verdict == "violation" and guided.counterexample.actions == [("deliver",)] * 6


def test_several_initial_states_and_restarts_at_fixed_points():
    # Walks restart when only stuttering steps remain; traces name their initial state.
    result = hypothesis_check(Grid(n=3, bx=1, by=2, starts=3), max_examples=50)
    assert result.verdict == "violation"
    trace = result.counterexample
    assert trace.init in (0, 1, 2) and len(trace) == 3 - trace.init
    assert replay(trace, Grid(n=3, bx=1, by=2, starts=3)).reproduced


def test_dev_profile_shrinks_with_hypothesis_and_keeps_failures_per_model(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "DATABASE_DIR", str(tmp_path / "db"))
    config = profile("dev")
    assert config.derandomize is False and config.max_examples > CI_EXAMPLES
    assert isinstance(config.database, DirectoryBasedExampleDatabase)
    # Unguided walks replay exactly, so Hypothesis can shrink them.
    shrunk = hypothesis_check(Grid(), profile_name="dev", polish=False, seed=0, guided=False)
    walk = hypothesis_check(Grid(), polish=False, seed=0, guided=False)  # the same failing run, unshrunk
    assert shrunk.verdict == walk.verdict == "violation"
    assert len(shrunk.counterexample) < len(walk.counterexample)
    polished = hypothesis_check(Grid(bx=2, by=3), profile_name="dev", seed=0)
    assert len(polished.counterexample) == 5
    keys = [p for p in (tmp_path / "db").iterdir() if p.is_dir()]
    assert len(keys) >= 2  # each model (and parameters) under its own database key
    # replays the saved failure first
    again = hypothesis_check(Grid(), profile_name="dev", max_examples=1, guided=False)
    assert again.verdict == "violation"


def test_ci_profile_settings():
    config = profile("ci")
    assert config.derandomize is True and config.database is None and config.deadline is None
    assert config.max_examples == CI_EXAMPLES
    with pytest.raises(ValueError):
        profile("nightly")


def test_machine_is_a_rule_based_state_machine_with_the_model_properties_as_invariants():
    machine = machine_class(Grid())
    from hypothesis.stateful import RuleBasedStateMachine

    assert issubclass(machine, RuleBasedStateMachine)
    case = machine.TestCase  # Hypothesis's own TestCase fails on the violation
    case.settings = profile("ci")
    result = unittest.TestResult()
    case("runTest").run(result)
    assert len(result.failures) == 1 and "NotCorner violated" in result.failures[0][1]


def test_model_test_case_fails_with_numbered_steps_and_a_trace_file(tmp_path):
    case = model_test_case(Grid(), trace_dir=tmp_path)
    assert issubclass(case, unittest.TestCase)
    result = unittest.TestResult()
    case("runTest").run(result)
    assert len(result.failures) == 1
    message = result.failures[0][1]
    assert "counterexample to NotCorner (always), 5 steps" in message
    assert "  1. incx" in message or "  1. incy" in message
    assert "splitbrain replay" in message
    (path,) = tmp_path.glob("*.json")
    assert replay(load(path), Grid()).reproduced
    passing = unittest.TestResult()
    model_test_case(Grid(bx=99), max_examples=10, trace_dir=tmp_path)("runTest").run(passing)
    assert passing.wasSuccessful()


# Every bug flag of every registered model, at its defaults: the property its
# shortest (BFS) counterexample violates and that counterexample's length
# (tests/bug_search_table.py measures both engines side by side). Regression
# figures: the lengths are this checker's own BFS output; the corpus traces
# (tests/test_mutants.py) show a violation of that length exists.
BFS_LENGTH = {
    ("paxos", "ignore_highest_vote"): ("Msg2aSafe", 9),
    ("paxos", "minority_quorum"): ("Consistency", 8),
    ("paxos", "vote_below_promise"): ("Msg2aSafe", 9),
    ("raft", "volatile_vote"): ("ElectionSafety", 10),
    ("raft", "no_log_check"): ("LeaderCompleteness", 12),
    ("raft", "double_vote"): ("ElectionSafety", 8),
    ("raft", "leader_overwrite"): ("LeaderAppendOnly", 6),
    ("raft", "no_prev_check"): ("StateMachineSafety", 18),
    ("pbft", "small_quorum"): ("Agreement", 6),
    ("pbft", "forget_prepared"): ("Agreement", 14),
    ("migration", "cutover_before_catchup"): ("NoLostWrites", 5),
    ("migration", "no_epoch_fence"): ("SingleOwnerPerEpoch", 7),
    ("demo-lease", "volatile_lease"): ("MutualExclusion", 8),
    ("chain", "read_from_head"): ("Linearizable", 12),
    ("primary_backup", "no_fencing"): ("NoLostWrite", 7),
    ("crdt", "lww_merge"): ("CountsUpdates", 4),
    ("dynamo", "clock_skew"): ("NoLostWrite", 12),
    # the mutants that make every safety property falsifiable (tests/test_mutants.py)
    ("twophase", "commit_on_first_prepared"): ("TCConsistent", 5),
    ("paxos", "promise_not_kept"): ("Msg1bInv", 2),
    ("paxos", "vote_at_promise"): ("MaxVoteInv", 5),
    ("paxos", "two_proposals"): ("Msg2aUnique", 5),
    ("paxoscommit", "commit_on_first_prepared"): ("TCConsistent", 6),
    ("bcastbyz", "forged_echo"): ("TypeOK", 1),
    ("bcastbyz", "independent_faulty"): ("FCConstraints", 0),
    ("om", "trust_commander"): ("IC1", 7),
    ("om", "majority_without_direct"): ("IC2", 5),
    ("sm", "no_relay"): ("IC1", 6),
    ("sm", "unchecked_signatures"): ("IC2", 5),
    ("partitioner", "seed_tokens_kept"): ("ExactlyOneOwner", 1),
    ("partitioner", "tokens_by_position"): ("Deterministic", 0),
    ("demo-register", "send_to_ackers"): ("Convergence", 6),
    ("demo-register", "relay_without_dedup"): ("AtMostOnce", 3),
    ("demo-register", "volatile_log"): ("Durability", 3),
    ("chain", "ack_at_head"): ("NoLostWrite", 5),
    ("primary_backup", "read_without_confirm"): ("Linearizable", 7),
    ("crdt", "add_merge"): ("StrongConvergence", 5),
    # the service layer (models/service/)
    ("circuit-breaker", "unbounded_probes"): ("HalfOpenProbeLimit", 10),
    ("circuit-breaker", "retry_bypass"): ("NoCallWhileOpen", 6),
    ("retries", "no_idempotency_key"): ("AtMostOnce", 3),
    ("retries", "no_budget"): ("AttemptsWithinBudget", 2),
    ("load-balancer", "unhealthy_in_rotation"): ("NoRouteToUnready", 3),
    ("load-balancer", "stale_counts"): ("LeastConnections", 2),
    ("load-balancer", "bursty_wrr"): ("WeightedShare", 6),
    ("load-balancer", "modulo_hash"): ("MinimalRemap", 4),
    ("health-checks", "liveness_checks_dependency"): ("RestartOnlyIfHung", 8),
    ("health-checks", "no_startup_probe"): ("StartupBudget", 3),
    ("health-checks", "ready_kept_on_restart"): ("NoTrafficToUnready", 12),
    ("discovery", "cache_without_expiry"): ("CacheBounded", 8),
    ("discovery", "evict_during_partition"): ("NoWholesaleEviction", 3),
    ("autoscaler", "overlapping_thresholds"): ("NoFlapping", 10),
    ("autoscaler", "scale_in_during_outage"): ("WithinBounds", 4),
}
# Not found within the CI budget: Raft's bugs that need three or four elections
# in a precise order (shortest traces of 18 to 28 steps); tests/test_raft.py
# finds them exhaustively.
BEYOND_CI_BUDGET = {("raft", "figure8"), ("raft", "stale_lease_read"), ("raft", "membership_one_step")}
# Flags that break only a liveness property, which a sampled search cannot judge (undecided):
# check finds them as lassos (tests/test_service_circuit_breaker.py).
LIVENESS_ONLY = {("circuit-breaker", "stuck_open")}


def test_every_bug_flag_is_listed():
    flags = {(name, bug) for name, spec in registry.specs().items() for bug in spec.bugs}
    assert flags == set(BFS_LENGTH) | BEYOND_CI_BUDGET | LIVENESS_ONLY


@pytest.mark.parametrize("model, bug", sorted(BFS_LENGTH), ids=[f"{m}-{b}" for m, b in sorted(BFS_LENGTH)])
def test_bug_found_within_ci_budget_and_at_most_twice_bfs_length(model, bug):
    prop, length = BFS_LENGTH[(model, bug)]
    result = hypothesis_check(registry.build(model, {"bug": bug}))
    assert result.verdict == "violation"
    # The first violation found may be of another property than BFS's first (the correct model
    # passes at the same bounds, so any violation is the flag's); ``length`` is BFS's shortest
    # counterexample of any property.
    assert result.violated
    assert result.extra["examples"] <= CI_EXAMPLES
    assert len(result.counterexample) <= 2 * length
    assert replay(result.counterexample).reproduced


# Raft's lengths are measured by the bench entries raft-find-* (minutes of search each).
@pytest.mark.parametrize("model, bug", sorted(k for k in BFS_LENGTH if k[0] != "raft"),
                         ids=[f"{m}-{b}" for m, b in sorted(BFS_LENGTH) if m != "raft"])
def test_bfs_lengths(model, bug):
    prop, length = BFS_LENGTH[(model, bug)]
    result = check(registry.build(model, {"bug": bug}), symmetry=registry.get(model).symmetry)
    assert result.prop(prop).holds is False and len(result.counterexample) == length


def test_guided_search_does_not_depend_on_the_modules_loaded():
    # Hypothesis draws numbers biased towards constants of the modules loaded; guided walks
    # draw coins only, so a CI run takes the same walks whatever the test suite imported.
    code = ("import sys; from splitbrain.models import registry; from splitbrain.checker.hypothesis import hypothesis_check; "
            "{extra}r = hypothesis_check(registry.build('chain', {{'bug': 'read_from_head'}}), max_examples=30); "
            "print(r.states_generated, r.distinct_states)")
    outputs = {subprocess.run([sys.executable, "-c", code.format(extra=extra)], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).resolve().parents[1]).stdout
               for extra in ("", "import splitbrain.checker.explore, tests.test_raft; ")}
    assert len(outputs) == 1, outputs


def test_correct_paxos_passes_a_small_budget():
    result = hypothesis_check(registry.build("paxos"), max_examples=15)
    assert result.verdict == "ok"
    assert all(p.holds is not False for p in result.properties)


def test_cli_check_engine_hypothesis(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["check", "paxos", "-p", "bug=minority_quorum", "--engine", "hypothesis", "--json"])
    assert code == 1
    data = json.loads(capsys.readouterr().out)
    assert data["engine"] == "hypothesis" and data["verdict"] == "violation"
    assert data["max_examples"] == CI_EXAMPLES and data["max_depth"] == 50
    assert main(["replay", data["trace"], "-q"]) == 0
    assert "reproduced" in capsys.readouterr().out
    # 5 examples of 10 steps do not reach the witness AllCommitted: undecided, exit 3.
    code = main(["check", "twophase", "--engine", "hypothesis", "--budget", "5", "--max-depth", "10", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 3 and data["verdict"] == "undecided" and data["max_examples"] == 5 and data["max_depth"] == 10
    assert {p["name"]: p["status"] for p in data["properties"]} == {
        "TCConsistent": "no violation found", "AllCommitted": "undecided"}
    code = main(["check", "twophase", "--engine", "hypothesis", "--budget", "50", "--max-depth", "20"])
    text = capsys.readouterr().out
    assert code == 0 and "holds" not in text
    assert "Verdict: ok: no violation in" in text and "Hypothesis examples of 20 steps" in text


@pytest.mark.parametrize("argv, message", [
    (["check", "paxos", "--engine", "hypothesis", "--symmetry"], "--symmetry applies to the exhaustive engines"),
    (["check", "paxos", "--engine", "hypothesis", "--budget", "0"], "--budget and --max-depth must be >= 1"),
    (["check", "paxos", "--budget", "10"], "--budget and --seed apply to --engine hypothesis only"),
])
def test_cli_usage_errors_are_one_line_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_guided_dev_runs_keep_failures_as_traces_in_the_example_database(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "DATABASE_DIR", str(tmp_path / "db"))
    first = hypothesis_check(Grid(), profile_name="dev", seed=0)
    assert first.verdict == "violation"
    again = hypothesis_check(Grid(), profile_name="dev", max_examples=1, seed=1)
    assert again.verdict == "violation"
    assert "replayed from the example database" in again.counterexample.note
    assert again.counterexample.actions == first.counterexample.actions
    ci = hypothesis_check(Grid())  # the CI profile has no database
    assert ci.verdict == "violation" and "example database" not in ci.counterexample.note
