"""Each Paxos bug variant breaks agreement, found by BFS with a shortest
counterexample, while the correct model passes at the same (default) bounds."""

from __future__ import annotations

from functools import lru_cache

import pytest

from splitbrain.checker.explore import check
from splitbrain.models import registry
from splitbrain.traces.replay import replay

# bug -> steps of the shortest counterexample at the default bounds (3 acceptors,
# 2 values, ballots 0..2). Two values chosen need two ballots, each with its 1a,
# a quorum of 1b, a 2a and a quorum of 2b: 2 * (1 + 2 + 1 + 2) steps with
# majorities, 2 * (1 + 1 + 1 + 1) with single-acceptor quorums.
SHORTEST = {
    # two ballots, each: 1a, two 1b, 2a, two 2b; the second 2a ignores the vote a 1b reports
    "ignore_highest_vote": 12,
    # two ballots, each: 1a, one 1b, 2a, one 2b: single-acceptor "quorums"
    "minority_quorum": 8,
    # as ignore_highest_vote, but the old ballot's value wins a late vote below a promise
    "vote_below_promise": 12,
}


def test_correct_paxos_passes_at_the_default_bounds_with_tlc_counts():
    model = registry.build("paxos", {})
    assert (model.n, len(model.values), model.ballots) == (3, 2, (0, 1, 2))
    r = check(model)
    # TLC on Paxos.tla, 3 acceptors, 2 values, ballots 0..2, majority quorums
    assert (r.distinct_states, r.states_generated, r.depth) == (185369, 1361380, 25)
    assert r.verdict == "ok"
    assert {p.name: p.holds for p in r.properties} == {
        "Consistency": True, "ValueChosen": True, "MaxVoteInv": True, "Msg1bInv": True,
        "Msg2aSafe": True, "Msg2aUnique": True, "VotesSafe": True, "OneValuePerBallot": True,
    }


@lru_cache(maxsize=None)
def _found(bug):
    """The BFS result for a bug variant at the default bounds, judging agreement only
    (the variants also state Inv's conjuncts, which most bugs break earlier), and
    the replayed trace."""
    model = registry.build("paxos", {"bug": bug})
    stated = model.properties()
    model.properties = lambda: [p for p in stated if p.name in ("Consistency", "ValueChosen")]
    r = check(model, "bfs")
    return r, replay(r.counterexample, model)


@pytest.mark.parametrize("bug", sorted(SHORTEST))
def test_bug_breaks_agreement_with_a_shortest_counterexample(bug):
    r, report = _found(bug)
    assert r.verdict == "violation"
    assert r.prop("Consistency").holds is False
    assert r.counterexample.property == "Consistency"
    assert len(r.counterexample) == SHORTEST[bug]  # BFS: no shorter behaviour breaks agreement
    assert report.reproduced, report.message
    model = registry.build("paxos", {"bug": bug})
    assert len(model.chosen(report.states[-1])) == 2


@pytest.mark.parametrize("bug", sorted(SHORTEST))
def test_bug_trace_shows_the_broken_rule(bug):
    r, report = _found(bug)
    steps = list(zip(r.counterexample.actions, report.states))  # (action, state it is taken in)
    if bug == "ignore_highest_vote":
        # a proposal whose quorum's 1b messages report a vote for another value
        def ignores_a_vote(action, state):
            _, b, v, quorum, _ = action
            reports = [m for m in state[3] if m[0] == "1b" and m[2] == b and f"a{m[1] + 1}" in quorum]
            top = max(reports, key=lambda m: m[3])
            return top[3] >= 0 and top[4] != v
        assert any(a[0] == "Phase2a" and ignores_a_vote(a, s) for a, s in steps)
    elif bug == "minority_quorum":
        # every proposal rests on the 1b message of a single acceptor
        assert all(len(a[3]) == 1 for a, _ in steps if a[0] == "Phase2a")
    else:
        # some acceptor votes in a ballot below the one it promised
        assert any(a[0] == "Phase2b" and a[2] < s[0][int(a[1][1:]) - 1] for a, s in steps)


def test_bug_variants_reject_unknown_names():
    with pytest.raises(registry.UsageError, match="bug"):
        registry.build("paxos", {"bug": "no_such_bug"})
