"""The exhaustive checker: TLC-style counts, verdicts, shortest counterexamples, modes."""

from __future__ import annotations

import io

import pytest

from splitbrain.checker.explore import check
from toys import Counter, Tokens
from splitbrain.traces.replay import replay


def test_counts_match_tlc_definitions():
    # 5 states; generated = 1 initial + 2 enabled actions in each of 5 states; depth = 5 levels.
    r = check(Counter(n=5, bad=99), stop_at_first=False)
    assert (r.distinct_states, r.states_generated, r.depth) == (5, 11, 5)
    assert r.verdict == "ok"
    assert r.prop("NotBad").holds is True and r.prop("GoalReached").holds is True


def test_bfs_finds_shortest_counterexample():
    r = check(Counter(n=6, jump=True), "bfs")
    assert r.verdict == "violation"
    assert r.prop("NotBad").holds is False
    assert r.counterexample.actions == [("jump", 3)]
    assert replay(r.counterexample, Counter(n=6, jump=True)).reproduced


def test_dfs_explores_same_states_and_finds_violation():
    bfs = check(Counter(n=7, bad=99), "bfs")
    dfs = check(Counter(n=7, bad=99), "dfs")
    assert (dfs.distinct_states, dfs.states_generated) == (bfs.distinct_states, bfs.states_generated)
    r = check(Counter(n=7), "dfs")
    assert r.verdict == "violation" and replay(r.counterexample, Counter(n=7)).reproduced


def test_fingerprint_mode_counts_and_reports_collision_estimate():
    exact = check(Tokens(k=3, m=4))
    fp = check(Tokens(k=3, m=4), fingerprint=True)
    assert (fp.distinct_states, fp.states_generated, fp.depth) == (exact.distinct_states, exact.states_generated, exact.depth)
    n, g = fp.distinct_states, fp.states_generated
    assert fp.collision_probability == pytest.approx(n * (g - n) / 2**64)
    assert exact.collision_probability is None


def test_deadlock_reported_unless_allowed():
    r = check(Counter(n=4, wrap=False, reset=False, bad=99, goal=3))
    assert r.verdict == "violation"
    assert r.prop("Deadlock").holds is False
    assert r.counterexample.property == "Deadlock" and len(r.counterexample) == 3
    assert replay(r.counterexample, Counter(n=4, wrap=False, reset=False, bad=99, goal=3)).reproduced
    assert check(Counter(n=4, wrap=False, reset=False, bad=99, goal=3), check_deadlock=False).verdict == "ok"
    assert check(Counter(n=4, wrap=False, reset=False, bad=99, goal=3, allow_deadlock=True)).verdict == "ok"


def test_unreachable_witness_is_a_failure():
    r = check(Counter(n=3, bad=99, goal=7))
    assert r.verdict == "violation"
    assert r.prop("GoalReached").holds is False
    assert "never reached" in r.prop("GoalReached").note


def test_keep_going_reports_every_violation():
    r = check(Counter(n=4, wrap=False, reset=False, bad=2, goal=3), stop_at_first=False)
    assert {p.name for p in r.violated} == {"NotBad", "Deadlock"}
    assert r.complete
    first = check(Counter(n=4, wrap=False, reset=False, bad=2, goal=3))
    assert [p.name for p in first.violated] == ["NotBad"]
    assert not first.complete
    assert first.states_generated >= first.distinct_states  # counted up to the stop


def test_max_depth_that_cuts_behaviours_leaves_invariants_undecided():
    # States 0..3 are within 3 steps; state 4 (and the bad state 7) lie beyond: cut, so undecided.
    r = check(Counter(n=10, bad=7, goal=2), max_depth=3)
    assert r.verdict == "undecided"
    assert r.distinct_states == 4 and r.depth == 4
    assert not r.complete
    assert r.prop("NotBad").holds is None and "max depth 3" in r.prop("NotBad").note
    assert r.prop("GoalReached").holds is True


def test_max_depth_beyond_the_diameter_decides():
    # Counter(n=4): states 0..3, the farthest 3 steps away. A bound of 4 steps expands every
    # state; a bound of 3 leaves state 3 unexpanded, so the search is not complete.
    for engine in ("bfs", "dfs"):
        r = check(Counter(n=4, bad=99, goal=3), engine, max_depth=4)
        assert r.complete and r.verdict == "ok" and r.prop("NotBad").holds is True, engine
        cut = check(Counter(n=4, bad=99, goal=3), engine, max_depth=3)
        assert not cut.complete and cut.verdict == "undecided" and cut.distinct_states == 4, engine


def test_witness_not_reached_within_max_depth_is_undecided():
    r = check(Counter(n=10, bad=99, goal=5), max_depth=3)
    assert r.verdict == "undecided"
    assert r.prop("GoalReached").holds is None and "not reached within max depth 3" in r.prop("GoalReached").note


def test_state_constraint_limits_exploration():
    class Bounded(Counter):
        def within_boundary(self, x):
            return x <= 2

    r = check(Bounded(n=10, bad=5, goal=2))
    assert r.verdict == "ok"
    assert r.distinct_states == 3


def test_symmetry_keeps_one_state_per_orbit_and_traces_replay_unreduced():
    model = Tokens(k=3, m=3)
    full = check(model)
    reduced = check(model, symmetry=True)
    assert full.distinct_states == 27
    assert reduced.distinct_states == model.orbits() == 10
    bad = Tokens(k=3, m=3, bad_sum=5)
    r = check(bad, symmetry=True)
    assert r.verdict == "violation" and len(r.counterexample) == 5
    assert replay(r.counterexample, Tokens(k=3, m=3, bad_sum=5)).reproduced


def test_symmetry_on_model_without_it_is_an_error():
    with pytest.raises(ValueError, match="declares no symmetry"):
        check(Counter(), symmetry=True)


def test_ctrl_c_stops_cleanly_with_figures_so_far():
    class Interrupting(Tokens):
        calls = 0

        def successors(self, s):
            Interrupting.calls += 1
            if Interrupting.calls == 20:
                raise KeyboardInterrupt
            return super().successors(s)

    r = check(Interrupting(k=3, m=6))
    assert r.verdict == "interrupted"
    assert 0 < r.distinct_states < 56
    assert not r.complete


def test_progress_lines_go_to_the_given_stream():
    out = io.StringIO()
    check(Tokens(k=4, m=5), progress=out, progress_interval=1e-9)
    text = out.getvalue()
    assert "distinct" in text and "states/s" in text


def test_progress_is_quiet_by_default(capsys):
    check(Tokens(k=3, m=4))
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
