"""Raft: the correct model passes at each bug's default bounds, and the fast bugs are found."""

from __future__ import annotations

import pytest

from checker.explore import check
from models import registry
from traces.replay import replay


def bounds_of(bug: str) -> dict:
    """The bounds and faults ``-p bug=NAME`` alone resolves to."""
    params = dict(registry.build("raft", {"bug": bug}).params())
    params.pop("bug")
    return params


@pytest.mark.parametrize("bug,prop", [("no_log_check", "LeaderCompleteness"), ("volatile_vote", "ElectionSafety")])
def test_bug_found_and_correct_model_passes_at_the_same_bounds(bug, prop):
    found = check(registry.build("raft", {"bug": bug}))
    assert found.verdict == "violation"
    assert found.prop(prop).holds is False
    assert replay(found.counterexample).reproduced
    correct = check(registry.build("raft", {**bounds_of(bug), "bug": "none"}))
    assert correct.verdict == "ok", [p.name for p in correct.violated]


def test_volatile_vote_counterexample_restarts_a_server():
    r = check(registry.build("raft", {"bug": "volatile_vote"}))
    kinds = [a[0] for a in r.counterexample.actions]
    assert "crash" in kinds and "restart" in kinds


def test_default_correct_model_elects_and_commits():
    r = check(registry.build("raft", {}))
    assert r.verdict == "ok"
    witnesses = [p for p in r.properties if p.kind == "sometimes"]
    assert witnesses and all(p.holds for p in witnesses)


@pytest.mark.slow
def test_figure8_found():
    r = check(registry.build("raft", {"bug": "figure8"}))
    assert r.verdict == "violation" and r.prop("LeaderCompleteness").holds is False
