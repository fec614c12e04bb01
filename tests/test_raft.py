"""Raft: each bug flag is found at its default bounds, where the correct model passes.

The exhaustive runs use symmetry reduction, as ``splitbrain check raft`` does
by default. Figures measured on this machine (2 cores) are in the comments;
the slowest runs are marked slow and are covered in the default set by the
corpus replays (tests/test_corpus_replays.py) and a depth-bounded check.
"""

from __future__ import annotations

import json

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.models import registry
from splitbrain.traces.format import load
from splitbrain.traces.replay import replay
from tests.test_corpus_replays import CORPUS

# bug flag -> (the property its shortest counterexample violates, that counterexample's length)
BUGS = {
    "no_log_check": ("LeaderCompleteness", 12),
    "volatile_vote": ("ElectionSafety", 10),
    "figure8": ("LeaderCompleteness", 28),        # ~25 s to find; correct model 54,652 states, ~21 s
    "stale_lease_read": ("NoStaleReads", 18),     # ~36 s to find; correct model 281,665 states, ~100 s
    "membership_one_step": ("LeaderCompleteness", 25),  # ~170 s to find; correct model 196,220 states, ~130 s
}
SLOW = {"membership_one_step"}


def bounds_of(bug: str) -> dict:
    """The bounds and faults ``-p bug=NAME`` alone resolves to."""
    params = dict(registry.build("raft", {"bug": bug}).params())
    params.pop("bug")
    return params


def flags(marked_slow: set[str]) -> list:
    return [pytest.param(b, marks=pytest.mark.slow) if b in marked_slow else b for b in BUGS]


@pytest.mark.parametrize("bug", flags(SLOW))
def test_bug_is_found_with_a_shortest_counterexample(bug):
    prop, length = BUGS[bug]
    found = check(registry.build("raft", {"bug": bug}), symmetry=True)
    assert found.verdict == "violation"
    assert found.prop(prop).holds is False
    assert len(found.counterexample) == length
    assert replay(found.counterexample).reproduced


@pytest.mark.parametrize("bug", flags(SLOW))
def test_correct_model_passes_at_the_bug_bounds(bug):
    correct = check(registry.build("raft", {**bounds_of(bug), "bug": "none"}), symmetry=True)
    assert correct.verdict == "ok" and correct.complete, [p.name for p in correct.violated]
    assert all(p.holds for p in correct.properties)  # every witness reached too


def test_correct_model_has_no_violation_as_long_as_membership_counterexample():
    # The fast cover of the slow membership run: no violation within the bug's trace length.
    _, length = BUGS["membership_one_step"]
    correct = check(registry.build("raft", {**bounds_of("membership_one_step"), "bug": "none"}),
                    symmetry=True, max_depth=length)
    assert correct.verdict == "ok"
    assert all(p.holds is not False for p in correct.properties)


@pytest.mark.parametrize("bug", list(BUGS))
def test_corpus_holds_the_shortest_counterexample_of_each_bug(bug):
    trace = load(CORPUS / f"raft_{bug}.json")
    prop, length = BUGS[bug]
    assert trace.params["bug"] == bug and trace.property == prop and len(trace) == length
    assert {k: v for k, v in trace.params.items() if k != "bug"} == bounds_of(bug)


def test_every_fault_kind_on_three_servers_passes():
    # partitions, loss, duplication and crash-recovery (the unordered network reorders):
    # 330,834 distinct states (symmetry), depth 32, ~120 s.
    model = registry.build("raft", {"faults": "partition=1,crash=1,restart,loss=1,dup=1"})
    r = check(model, symmetry=True, fingerprint=True)
    assert r.verdict == "ok" and r.complete
    assert all(p.holds for p in r.properties)


def test_volatile_vote_counterexample_restarts_a_server():
    r = check(registry.build("raft", {"bug": "volatile_vote"}))
    kinds = [a[0] for a in r.counterexample.actions]
    assert "crash" in kinds and "restart" in kinds


def test_stale_read_story_names_the_clock_jump_and_the_stale_read():
    steps = load(CORPUS / "raft_stale_lease_read.json").steps
    assert any("clock jumps" in s for s in steps)
    assert "its lease runs to" in steps[-1] and "the client reads ()" in steps[-1]


def test_figure8_story_says_the_old_entry_was_committed_by_counting_replicas():
    steps = load(CORPUS / "raft_figure8.json").steps
    assert any("by counting replicas, though it is from term 1" in s for s in steps)


def test_default_correct_model_elects_and_commits():
    r = check(registry.build("raft", {}))
    assert r.verdict == "ok"
    witnesses = [p for p in r.properties if p.kind == "sometimes"]
    assert witnesses and all(p.holds for p in witnesses)


def test_liveness_fair_holds_and_unfair_splits_the_vote_forever():
    fair = check(registry.build("raft", {"liveness": "fair"}))
    assert fair.verdict == "ok" and fair.prop("LeaderEventuallyElected").holds is True
    unfair = check(registry.build("raft", {"liveness": "unfair"}))
    lasso = unfair.prop("LeaderEventuallyElected")
    assert lasso.holds is False and lasso.trace.loop_start is not None
    assert replay(lasso.trace).reproduced
    before_cycle = lasso.trace.actions[:lasso.trace.loop_start]
    assert [a[2] for a in before_cycle] == ["ElectionTimeout"] * 3  # three candidates, one vote each


def test_cli_explores_raft_up_to_symmetry_by_default(capsys):
    assert main(["check", "raft", "-p", "max_term=1", "--json"]) == 0
    reduced = json.loads(capsys.readouterr().out)
    assert main(["check", "raft", "-p", "max_term=1", "--json", "--no-symmetry"]) == 0
    full = json.loads(capsys.readouterr().out)
    assert reduced["symmetry"] is True and full["symmetry"] is False
    assert reduced["distinct_states"] < full["distinct_states"]
