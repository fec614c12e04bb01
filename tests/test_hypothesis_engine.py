"""The Hypothesis engine: Hypothesis draws every step, shrinks failures, and replays them from its database."""

from __future__ import annotations

import json
import unittest

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test
from test_swarm import BFS_LENGTH, Grid, Stuck

from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.checker.hypothesis import EXAMPLES, PropertyViolated, hypothesis_check, look, profile
from splitbrain.hypothesis import state_machine
from splitbrain.models import registry
from splitbrain.traces.format import load
from splitbrain.traces.replay import replay


def test_finds_a_violation_shrinks_it_and_writes_a_trace_that_replays(tmp_path):
    result = hypothesis_check(Grid(), trace_dir=tmp_path)
    assert result.verdict == "violation" and result.engine == "hypothesis"
    prop = result.prop("NotCorner")
    assert prop.holds is False and prop.trace is result.counterexample
    trace = result.counterexample
    assert len(trace) == len(check(Grid()).counterexample) == 5
    assert sorted(trace.actions) == [("incx",)] * 3 + [("incy",)] * 2
    assert "found by the Hypothesis engine (profile ci)" in trace.note and "shrunk by Hypothesis" in trace.note
    path = load(result.extra["trace_file"])
    assert replay(path, Grid()).reproduced
    assert result.extra["failing_example_steps"] >= 5 and result.extra["from_database"] is False


def test_a_rule_per_action_class_and_an_invariant_per_property():
    machine = state_machine(Grid())
    assert issubclass(machine, RuleBasedStateMachine)
    setup = machine.setup_state()
    # Grid's 25 states are all seen by the look, and none is a fixed point: no catch-all, no restart.
    assert {r.function.__name__ for r in setup.rules} == {"incx", "incy", "reset"}
    assert {i.function.__name__ for i in setup.invariants} == {"inv_NotCorner", "no_deadlock"}
    assert look(Grid()) == (["incx", "incy", "reset"], True, False)
    # A model larger than the look gets a catch-all rule and a restart rule as well.
    big = state_machine(registry.build("paxos"))
    assert {r.function.__name__ for r in big.setup_state().rules} == {
        "Phase1a", "Phase1b", "Phase2a", "Phase2b", "other_action", "restart"}


def test_hypothesis_shrinks_the_failing_example_by_its_own_shrinker():
    # Hypothesis's own TestCase (no splitbrain post-processing) reports the example it shrank:
    # the bad corner (3, 2) of the grid is 5 steps from the start.
    machine = state_machine(Grid())
    with pytest.raises(PropertyViolated) as caught:
        run_state_machine_as_test(machine, settings=settings(profile("ci"), max_examples=50))
    exc = caught.value
    assert exc.property == "NotCorner" and sorted(exc.actions) == [("incx",)] * 3 + [("incy",)] * 2
    assert "counterexample to NotCorner (always), 5 steps" in str(exc)


def test_sampled_verdicts_never_hold_and_an_unreached_witness_is_undecided():
    result = hypothesis_check(Grid(bx=99), budget=30)
    assert result.verdict == "undecided" and not result.complete  # the witness Impossible is not reached
    corner = result.prop("NotCorner")
    assert corner.holds is None and corner.sampled and corner.status == "no violation found"
    assert "Hypothesis examples of up to 50 steps (budget 30, profile ci, derandomized)" in corner.note
    impossible = result.prop("Impossible")
    assert impossible.holds is None and impossible.undecided and "not reached in" in impossible.note
    far = result.prop("FarCorner")
    if far.holds:  # reached: a witness trace that replays
        assert replay(far.trace, Grid(bx=99)).reproduced
    assert result.extra["examples"] >= 30


def test_deadlock_is_a_violation_unless_allowed():
    result = hypothesis_check(Stuck(), budget=5)
    assert result.verdict == "violation"
    assert result.prop("Deadlock").holds is False
    assert result.counterexample.actions == [("inc",), ("inc",)]
    assert replay(result.counterexample, Stuck()).reproduced
    assert hypothesis_check(Stuck(allow=True), budget=5).verdict == "ok"  # restarts at the fixed point
    assert hypothesis_check(Stuck(), budget=5, check_deadlock=False).verdict == "ok"


def test_ci_is_derandomized_and_a_seed_reproduces_its_examples():
    model = Grid(bx=99)
    a, b = hypothesis_check(model, budget=10), hypothesis_check(model, budget=10)
    assert (a.extra["examples"], a.states_generated) == (b.extra["examples"], b.states_generated)
    assert a.extra["seed"] is None
    c, d = hypothesis_check(model, budget=10, seed=7), hypothesis_check(model, budget=10, seed=7)
    assert (c.extra["examples"], c.states_generated) == (d.extra["examples"], d.states_generated)
    assert c.extra["seed"] == 7


def test_profiles():
    ci, dev, thorough = profile("ci"), profile("dev"), profile("thorough")
    assert ci.derandomize is True and ci.database is None and ci.deadline is None
    assert ci.max_examples == EXAMPLES["ci"] < dev.max_examples == EXAMPLES["dev"] < thorough.max_examples
    assert dev.derandomize is False and isinstance(dev.database, DirectoryBasedExampleDatabase)
    assert str(dev.database.path) == ".hypothesis/examples"
    assert all("shrink" in str(p) for p in (ci.phases, dev.phases))
    assert settings.get_profile("splitbrain-thorough").max_examples == thorough.max_examples
    with pytest.raises(ValueError, match="profiles: ci, dev, thorough"):
        profile("nightly")


def test_a_failure_is_kept_in_the_example_database_and_replayed_first(tmp_path):
    db = tmp_path / "db"
    first = hypothesis_check(Grid(bx=2, by=1), profile_name="dev", database=db, seed=0, budget=30)
    assert first.verdict == "violation" and first.extra["from_database"] is False
    assert first.extra["database"] == str(db) and any(db.iterdir())
    again = hypothesis_check(Grid(bx=2, by=1), profile_name="dev", database=db, seed=1, budget=30)
    assert again.verdict == "violation" and again.extra["from_database"] is True
    assert again.extra["found_after_examples"] == 1  # the first example run was the saved one
    assert "replayed from the example database" in again.counterexample.note
    assert any("replayed from the example database" in n for n in again.notes)
    assert again.counterexample.actions == first.counterexample.actions
    other = hypothesis_check(Grid(bx=1, by=0), profile_name="dev", database=db, seed=1, budget=30)
    assert other.extra["from_database"] is False  # each model (and parameters) under its own key


class TestUserStateMachine:
    """``state_machine(model).TestCase`` the way a user writes it in a test module."""

    def run(self, model) -> unittest.TestResult:
        case = state_machine(model).TestCase
        case.settings = profile("ci")
        result = unittest.TestResult()
        case("runTest").run(result)
        return result

    def test_fails_on_a_buggy_model_with_the_rendered_trace(self):
        result = self.run(Grid())
        assert len(result.failures) == 1
        message = result.failures[0][1]
        assert "NotCorner violated after 5 steps" in message
        assert "counterexample to NotCorner (always), 5 steps" in message and "splitbrain replay" not in message

    def test_passes_on_a_correct_model(self):
        assert self.run(Grid(bx=99)).wasSuccessful()


# Bug flags the Hypothesis engine finds at its default (ci) budget: the cheapest eight of the 45
# (of 51 safety flags) it found when measured flag by flag (README, "Engines"); tests/test_swarm.py
# has every flag, found by the swarm engine. Each trace is at most twice BFS's shortest.
FOUND_AT_CI_BUDGET = [
    ("bcastbyz", "forged_echo"),
    ("demo-register", "relay_without_dedup"),
    ("discovery", "evict_during_partition"),
    ("health-checks", "no_startup_probe"),
    ("load-balancer", "stale_counts"),
    ("load-balancer", "unhealthy_in_rotation"),
    ("paxos", "promise_not_kept"),
    ("sm", "unchecked_signatures"),
]


@pytest.mark.parametrize("model, bug", FOUND_AT_CI_BUDGET, ids=[f"{m}-{b}" for m, b in FOUND_AT_CI_BUDGET])
def test_finds_bug_flags_at_the_ci_budget(model, bug):
    result = hypothesis_check(registry.build(model, {"bug": bug}))
    assert result.verdict == "violation"
    assert len(result.counterexample) <= 2 * BFS_LENGTH[(model, bug)][1]
    assert replay(result.counterexample).reproduced


def test_correct_paxos_passes_a_small_budget():
    result = hypothesis_check(registry.build("paxos"), budget=10)
    assert result.verdict == "ok"
    assert all(p.holds is not False for p in result.properties)


def test_cli_keeps_the_failure_and_the_next_run_finds_it_in_the_database_first(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["check", "paxos", "-p", "bug=promise_not_kept", "--engine", "hypothesis", "--seed", "3"]
    assert main(argv + ["--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["engine"] == "hypothesis" and data["verdict"] == "violation"
    assert data["profile"] == "dev" and data["max_examples"] == EXAMPLES["dev"] and data["max_depth"] == 50
    assert data["from_database"] is False and any((tmp_path / ".hypothesis" / "examples").iterdir())
    assert main(["replay", data["trace"], "-q"]) == 0
    capsys.readouterr()
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "the failure was replayed from the example database .hypothesis/examples" in out
    assert main(argv + ["--hypothesis-db", "elsewhere", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["from_database"] is False
    # ci: derandomized, no database; a small budget that reaches no AllCommitted: undecided, exit 3.
    code = main(["check", "twophase", "--engine", "hypothesis", "--profile", "ci", "--budget", "3",
                 "--max-depth", "4", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 3 and data["verdict"] == "undecided" and data["max_examples"] == 3 and data["max_depth"] == 4
    assert "database" not in data


@pytest.mark.parametrize("argv, message", [
    (["check", "paxos", "--engine", "hypothesis", "--symmetry"], "--symmetry applies to the exhaustive engines"),
    (["check", "paxos", "--engine", "hypothesis", "--budget", "0"], "--budget and --max-depth must be >= 1"),
    (["check", "paxos", "--profile", "dev"], "--profile and --hypothesis-db apply to --engine hypothesis only"),
    (["check", "paxos", "--engine", "swarm", "--hypothesis-db", "x"], "apply to --engine hypothesis only"),
    (["check", "paxos", "--engine", "hypothesis", "--profile", "ci", "--hypothesis-db", "x"],
     "--hypothesis-db does not apply to --profile ci"),
])
def test_cli_usage_errors_are_one_line_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
