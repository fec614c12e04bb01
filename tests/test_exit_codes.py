"""Exit codes that do not overstate: 0 complete and decided, 1 violated, 2 usage, 3 undecided, 130 interrupted."""

from __future__ import annotations

import json

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.commands import exit_code
from splitbrain.checker.explore import check
from splitbrain.checker.result import CheckResult
from toys import Counter


def test_a_depth_bound_that_cuts_the_search_leaves_liveness_undecided(capsys):
    # TwoPhase with RM = 3 has depth 11 (TLC): 10 steps reach every state but leave the last
    # states unexpanded, so the search is not complete and EveryRMDecides cannot be judged.
    assert main(["check", "twophase", "-p", "liveness=fair", "--max-depth", "10"]) == 3
    out = capsys.readouterr().out
    assert "EveryRMDecides                   undecided" in out
    assert "Verdict: undecided" in out and "holds" not in out
    assert main(["check", "twophase", "-p", "liveness=fair"]) == 0
    out = capsys.readouterr().out
    assert "EveryRMDecides                   holds" in out
    assert "Verdict: ok: the search was complete and every property holds" in out


def test_json_carries_the_undecided_verdict(capsys):
    assert main(["check", "twophase", "--max-depth", "4", "--json"]) == 3
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "undecided" and data["complete"] is False
    status = {p["name"]: (p["holds"], p["status"]) for p in data["properties"]}
    assert status == {"TCConsistent": (None, "undecided"), "AllCommitted": (None, "undecided")}


def test_strict_fails_an_unreached_witness_with_a_line_saying_why(capsys):
    # AllCommitted needs 1 + 3 + 1 + 3 = 8 steps (prepare each RM, commit, each RM receives): not within 4.
    assert main(["check", "twophase", "--max-depth", "4"]) == 3
    capsys.readouterr()
    assert main(["check", "twophase", "--max-depth", "4", "--strict"]) == 1
    assert "strict: witness AllCommitted was not reached" in capsys.readouterr().out
    assert main(["check", "twophase", "--strict"]) == 0


def test_a_violation_is_1():
    assert main(["check", "twophase", "-p", "bug=commit_on_first_prepared", "--trace-out", "/dev/null", "-q"]) == 1


def test_witness_never_reached_in_a_complete_search_is_a_violation_but_undecided_under_a_bound():
    complete = check(Counter(n=3, bad=99, goal=7))
    assert complete.verdict == "violation" and exit_code(complete) == 1
    bounded = check(Counter(n=10, bad=99, goal=7), max_depth=3)
    assert bounded.verdict == "undecided" and exit_code(bounded) == 3
    assert exit_code(bounded, strict=True) == 1


def test_interrupted_is_130_even_with_strict():
    result = CheckResult(model="m", params={}, engine="bfs", verdict="interrupted")
    assert exit_code(result) == 130 and exit_code(result, strict=True) == 130


def test_sampled_liveness_is_undecided(capsys):
    # 300 walks reach AllCommitted (see test_simulate), but a sample cannot judge EveryRMDecides.
    argv = ["simulate", "twophase", "-p", "liveness=fair", "--runs", "300", "--depth", "20", "--seed", "1"]
    assert main(argv) == 3
    out = capsys.readouterr().out
    assert "a sampled search cannot judge liveness" in out and "Verdict: undecided" in out


@pytest.mark.parametrize("command", ["check", "simulate"])
def test_help_documents_the_exit_codes(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out and "--strict" in out
    for code in ("0", "1", "2", "3", "130"):
        assert f"\n  {code}  " in out


def test_usage_errors_are_2_and_one_line(capsys):
    assert main(["check", "twophase", "--max-depth", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--max-depth must be >= 0" in err and err.count("\n") == 1


def test_fixture_fails_on_undecided_only_when_strict(splitbrain_check):
    result = splitbrain_check("twophase", max_depth=4)
    assert result.verdict == "undecided"
    with pytest.raises(pytest.fail.Exception, match="witness AllCommitted was not reached"):
        splitbrain_check("twophase", max_depth=4, strict=True)
    with pytest.raises(pytest.fail.Exception, match="always TCConsistent undecided"):
        splitbrain_check("twophase", max_depth=4, strict=True)
    assert splitbrain_check("twophase", strict=True).verdict == "ok"
