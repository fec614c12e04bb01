"""The TLA+-mirrored reference models count states exactly as TLC does.

Figures from tlaplus/Examples (manifest.json files and spec comments) and from
TLC runs recorded in ../shared/reference/README.md: distinct states, states
generated, depth. Paxos with 3 acceptors / 2 values / ballots 0..2 is checked in
test_paxos_bugs.py, where the same run shows the correct model passing at the
bounds that expose the bugs.
"""

from __future__ import annotations

import json
from collections import Counter
from itertools import permutations
from math import prod

import pytest

from splitbrain.checker.explore import check
from splitbrain.models import registry
from splitbrain.models.paxos import Paxos
from splitbrain.models.paxoscommit import PaxosCommit
from splitbrain.models.twophase import TwoPhase
from splitbrain.traces.replay import replay
from toys import reachable


def counts(result):
    return result.distinct_states, result.states_generated, result.depth


# -- TwoPhase ----------------------------------------------------------------------

def test_twophase_3_rms_matches_tlc():
    r = check(TwoPhase(rms=3))
    assert counts(r) == (288, 1146, 11)
    assert r.verdict == "ok"
    assert r.prop("TCConsistent").holds and r.prop("AllCommitted").holds


def test_twophase_6_rms_matches_the_specs_comment():
    r = check(TwoPhase(rms=6))
    assert r.distinct_states == 50816
    assert r.verdict == "ok"


# TwoPhase with 7 RMs (TLC: 296,448 / 2,744,706 / 23) is the bench entry twophase-7, which fails on a mismatch.


# -- TwoPhase under symmetry ---------------------------------------------------------

def _permute(state, perm):
    """``state`` with RM i renamed perm[i]."""
    rmState, tmState, tmPrepared, msgs = state
    moved = [None] * len(rmState)
    for i, x in enumerate(rmState):
        moved[perm[i]] = x
    return (
        tuple(moved), tmState, frozenset(perm[i] for i in tmPrepared),
        frozenset(("Prepared", perm[m[1]]) if m[0] == "Prepared" else m for m in msgs),
    )


def test_twophase_canonical_picks_exactly_one_state_per_orbit():
    model = TwoPhase(rms=4)
    states = reachable(model)
    perms = list(permutations(range(4)))
    orbits = {frozenset(_permute(s, p) for p in perms) for s in states}
    canon = {model.canonical(s) for s in states}
    assert len(canon) == len(orbits) < len(states)
    for s in list(states)[::7]:
        c = model.canonical(s)
        assert c in {_permute(s, p) for p in perms}  # a member of s's own orbit
        assert all(model.canonical(_permute(s, p)) == c for p in perms)
    assert check(model, symmetry=True).distinct_states == len(orbits)


@pytest.mark.parametrize("rms, full, reduced", [(3, 288, 80), (5, 8832, 314)])
def test_twophase_symmetry_reduction_counts_and_verdicts(rms, full, reduced):
    plain = check(TwoPhase(rms=rms))
    sym = check(TwoPhase(rms=rms), symmetry=True)
    assert (plain.distinct_states, sym.distinct_states) == (full, reduced)
    assert plain.depth == sym.depth
    assert [(p.name, p.holds) for p in plain.properties] == [(p.name, p.holds) for p in sym.properties]


def test_twophase_witness_found_under_symmetry_replays_on_the_unreduced_model():
    r = check(registry.build("twophase", {"rms": "4"}), symmetry=True)
    trace = r.prop("AllCommitted").trace
    assert trace is not None and len(trace) == 13  # 4 prepares, 4 receipts, commit, 4 commits
    assert replay(trace, registry.build("twophase", {"rms": "4"})).reproduced


# -- Paxos -----------------------------------------------------------------------

def test_mcpaxos_1_acceptor_1_value_ballots_0_1_matches_tlc():
    r = check(Paxos(acceptors=1, values=1, max_ballot=1))
    assert counts(r) == (25, 82, 9)
    assert r.verdict == "ok"
    assert all(p.holds for p in r.properties)


def _votes(msgs, a):
    return {(m[2], m[3]) for m in msgs if m[0] == "2b" and m[1] == a}


def _literal_inv(model, state):
    """Paxos.tla's Inv conjuncts (and Voting's chosen), translated word for word."""
    maxBal, maxVBal, maxVal, msgs = state
    A, V, B, Quorum = range(model.n), model.values, model.ballots, model.quorums

    def voted_for(a, b, v):
        return (b, v) in _votes(msgs, a)

    def did_not_vote_at(a, b):
        return all(not voted_for(a, b, v) for v in V)

    def shows_safe_at(Q, b, v):
        return all(maxBal[a] >= b for a in Q) and any(
            (c == -1 or any(voted_for(a, c, v) for a in Q))
            and all(did_not_vote_at(a, d) for d in range(c + 1, b) for a in Q)
            for c in range(-1, b)
        )

    def safe_at(b, v):
        return all(
            any(all(voted_for(a, c, v) or (maxBal[a] > c and did_not_vote_at(a, c)) for a in Q) for Q in Quorum)
            for c in range(b)
        )

    chosen = {v for v in V if any(all(voted_for(a, b, v) for a in Q) for b in B for Q in Quorum)}
    return {
        "Consistency": len(chosen) <= 1,
        "ValueChosen": len(chosen) > 0,
        "MaxVoteInv": all(
            maxVal[a] is None if maxVBal[a] == -1 else voted_for(a, maxVBal[a], maxVal[a]) for a in A
        ),
        "Msg1bInv": all(
            maxBal[m[1]] >= m[2] and (m[3] < 0 or voted_for(m[1], m[3], m[4])) for m in msgs if m[0] == "1b"
        ),
        "Msg2aSafe": all(any(shows_safe_at(Q, m[1], m[2]) for Q in Quorum) for m in msgs if m[0] == "2a"),
        "Msg2aUnique": all(
            mm[2] == m[2] for m in msgs if m[0] == "2a" for mm in msgs if mm[0] == "2a" and mm[1] == m[1]
        ),
        "VotesSafe": all(safe_at(b, v) for a in A for (b, v) in _votes(msgs, a)),
        "OneValuePerBallot": all(
            v1 == v2 for a1 in A for a2 in A for (b1, v1) in _votes(msgs, a1) for (b2, v2) in _votes(msgs, a2)
            if b1 == b2
        ),
    }


@pytest.mark.parametrize("bug", ["none", "ignore_highest_vote", "minority_quorum", "vote_below_promise",
                                 "promise_not_kept", "vote_at_promise"])
def test_paxos_invariants_agree_with_a_literal_translation_of_inv(bug):
    # The properties of the correct model, judged on the states of each variant
    # (where the bugs make some conjuncts false).
    judge = Paxos(acceptors=3, values=2, max_ballot=2)
    props = {p.name: p.condition for p in judge.properties()}
    explore = Paxos(acceptors=3, values=2, max_ballot=1, bug=bug)
    states = sorted(reachable(explore), key=repr)[::6]
    seen_false = set()
    for s in states:
        expected = _literal_inv(judge, s)
        got = {name: bool(cond(s)) for name, cond in props.items()}
        assert got == expected, s
        seen_false |= {name for name, ok in got.items() if not ok}
    if bug == "none":
        assert seen_false == {"ValueChosen"}  # every invariant holds; not every state has a value chosen
    else:
        assert seen_false - {"ValueChosen"}, f"{bug} breaks no invariant of the correct model"


# -- PaxosCommit -------------------------------------------------------------------

# PaxosCommit as shipped (TLC: 1,321,761 / 16,959,159 / 28) is the bench entry paxoscommit, which fails on a mismatch.


def _literal_paxoscommit_successors(model, state):
    """PCNext, enumerated as TLC enumerates it: one successor per witness of each
    existential and disjunct, a universal unfolded into a conjunction."""
    rmState, aState, msgs = state
    R, A, B = range(model.rms), range(model.n), model.ballots
    Majority = model.majorities
    out = []

    def with_rm(rm, x):
        return rmState[:rm] + (x,) + rmState[rm + 1:]

    def rec(ins, acc):  # aState[ins][acc], kept flat by the model
        return aState[ins * model.n + acc]

    def with_acc(ins, acc, new):
        i = ins * model.n + acc
        return aState[:i] + (new,) + aState[i + 1:]

    for rm in R:
        if rmState[rm] == "working":
            out.append((with_rm(rm, "prepared"), aState, msgs | {("phase2a", rm, 0, "prepared")}))
            out.append((with_rm(rm, "aborted"), aState, msgs | {("phase2a", rm, 0, "aborted")}))
        if ("Commit",) in msgs:
            out.append((with_rm(rm, "committed"), aState, msgs))
        if ("Abort",) in msgs:
            out.append((with_rm(rm, "aborted"), aState, msgs))
    for bal in B[1:]:
        for rm in R:
            out.append((rmState, aState, msgs | {("phase1a", rm, bal)}))
            if any(m[0] == "phase2a" and m[2] == bal and m[1] == rm for m in msgs):
                continue
            for MS in Majority:
                mset = [m for m in msgs if m[0] == "phase1b" and m[1] == rm and m[2] == bal and m[5] in MS]
                ways = prod(sum(1 for m in mset if m[5] == ac) for ac in MS)
                if ways:
                    maxbal = max((m[3] for m in mset), default=-1)
                    val = "aborted" if maxbal == -1 else next(m[4] for m in mset if m[3] == maxbal)
                    out += [(rmState, aState, msgs | {("phase2a", rm, bal, val)})] * ways

    def decided(rm, v):
        return [(b, MS) for b in B for MS in Majority if all(("phase2b", ac, rm, b, v) in msgs for ac in MS)]

    out += [(rmState, aState, msgs | {("Commit",)})] * prod(len(decided(rm, "prepared")) for rm in R)
    out += [(rmState, aState, msgs | {("Abort",)})] * sum(len(decided(rm, "aborted")) for rm in R)
    for acc in A:
        for m in msgs:
            if m[0] == "phase1a" and rec(m[1], acc)[0] < m[2]:
                _, bal, val = rec(m[1], acc)
                out.append((rmState, with_acc(m[1], acc, (m[2], bal, val)),
                            msgs | {("phase1b", m[1], m[2], bal, val, acc)}))
        for m in msgs:
            if m[0] == "phase2a" and rec(m[1], acc)[0] <= m[2]:
                out.append((rmState, with_acc(m[1], acc, (m[2], m[2], m[3])),
                            msgs | {("phase2b", acc, m[1], m[2], m[3])}))
    return out


def _literal_bfs(model, successors):
    seen = set(model.init_states())
    level, generated, depth = list(seen), len(seen), 1
    while level:
        nxt = []
        for s in level:
            for t in successors(model, s):
                generated += 1
                if t not in seen:
                    seen.add(t)
                    nxt.append(t)
        depth += bool(nxt)
        level = nxt
    return len(seen), generated, depth


@pytest.mark.parametrize("rms, acceptors, max_ballot", [(1, 3, 1), (2, 1, 1), (1, 2, 2), (2, 3, 0)])
def test_paxoscommit_counts_agree_with_a_literal_translation(rms, acceptors, max_ballot):
    model = PaxosCommit(rms=rms, acceptors=acceptors, max_ballot=max_ballot)
    r = check(model)
    assert counts(r) == _literal_bfs(model, _literal_paxoscommit_successors)
    assert r.verdict == "ok"


def test_paxoscommit_successors_are_the_literal_ones_state_by_state():
    model = PaxosCommit(rms=2, acceptors=2, max_ballot=1)
    for s in sorted(reachable(model), key=repr)[::5]:
        ours = Counter(t for _, t in model.successors(s))
        assert ours == Counter(_literal_paxoscommit_successors(model, s))


def test_paxoscommit_properties_hold_and_witnesses_are_reached():
    r = check(PaxosCommit(rms=1, acceptors=3, max_ballot=1))
    assert r.verdict == "ok"
    assert {p.name: p.holds for p in r.properties} == {
        "TCConsistent": True, "DecisionConsistent": True, "AllCommitted": True, "AbortedAfterPrepare": True,
    }


# -- presentation ------------------------------------------------------------------

@pytest.mark.parametrize("name, params", [
    ("twophase", {"rms": "3"}),
    ("paxos", {"acceptors": "3", "values": "2", "max_ballot": "1"}),
    ("paxoscommit", {"rms": "2", "acceptors": "3", "max_ballot": "1"}),
])
def test_render_and_describe_are_short_json_and_one_line(name, params):
    model = registry.build(name, params)
    state = next(iter(model.init_states()))
    for _ in range(12):  # walk a few steps, describing every enabled action
        steps = list(model.successors(state))
        for action, nxt in steps:
            json.dumps(action)
            text = model.describe(state, action, nxt)
            assert text and "\n" not in text and len(text) < 160
        json.dumps(model.render(state))
        state = steps[-1][1] if len(steps) % 2 else steps[0][1]
