"""Cross-check: each invariant proved with z3 holds in every reachable state
of the explicit model of the same protocol, on small configurations.

Every conjunct (and goal) of the symbolic proof is restated here as a Python
predicate over the explicit model's states, and the exhaustive checker
explores the model with those predicates as ``always`` properties. A
representation check ties the two encodings together where they differ (the
symbolic Paxos reads maxVBal/maxVal off the 2b messages). The quorum theorems
are cross-checked by brute force over all subsets of small clusters.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, Callable, Iterator

import pytest

from splitbrain.checker.explore import check
from splitbrain.models import registry
from splitbrain.models.core import Model
from splitbrain.properties import proofs
from splitbrain.properties.kinds import always

Predicate = Callable[[Any], bool]


class WithInvariants(Model):
    """``inner`` with ``predicates`` as its only properties."""

    def __init__(self, inner: Model, predicates: dict[str, Predicate]) -> None:
        self.inner = inner
        self.predicates = predicates
        self.name = inner.name
        self._params = inner.params()

    def init_states(self) -> Any:
        return self.inner.init_states()

    def successors(self, state: Any) -> Iterator[tuple[Any, Any]]:
        return self.inner.successors(state)

    def properties(self) -> list:
        return [always(name, pred) for name, pred in self.predicates.items()]


def judge(model: Model, predicates: dict[str, Predicate]) -> dict[str, bool]:
    """Each predicate's verdict over every reachable state of ``model``."""
    result = check(WithInvariants(model, predicates), check_deadlock=False, stop_at_first=False)
    assert result.verdict in ("ok", "violation") and result.distinct_states > 1
    return {p.name: p.holds for p in result.properties}


# -- Paxos ------------------------------------------------------------------------


def paxos_predicates(m: Any) -> dict[str, Predicate]:
    """The symbolic Paxos invariant over explicit states (maxBal, maxVBal, maxVal, msgs)."""

    def of(s: Any, kind: str) -> list[tuple]:
        return [x for x in s[3] if x[0] == kind]

    def proposal_safe(s: Any) -> bool:
        maxBal, msgs = s[0], s[3]
        for _, b, v in of(s, "2a"):
            for c in range(0, b):
                for w in m.values:
                    if w == v:
                        continue
                    for q in m.quorums:
                        if not any(maxBal[x] > c and ("2b", x, c, w) not in msgs for x in q):
                            return False
        return True

    def last_vote_is_highest(s: Any) -> bool:
        for a in range(m.n):
            votes = [(b, v) for (_, x, b, v) in of(s, "2b") if x == a]
            highest = max(votes, key=lambda vote: vote[0]) if votes else (-1, None)
            if (s[1][a], s[2][a]) != highest:
                return False
        return True

    return {
        "VotesBelowMaxBal": lambda s: all(b <= s[0][a] for (_, a, b, v) in of(s, "2b")),
        "OneBPromise": lambda s: all(b <= s[0][a] for (_, a, b, mb, mv) in of(s, "1b")),
        "OneBReportsVote": lambda s: all(
            mb == -1 or (mb < b and ("2b", a, mb, mv) in s[3]) for (_, a, b, mb, mv) in of(s, "1b")
        ),
        "OneBReportsHighest": lambda s: all(
            not (mb < c < b) for (_, a, b, mb, mv) in of(s, "1b") for (_, x, c, w) in of(s, "2b") if x == a
        ),
        "OneValuePerBallot": lambda s: len({b for (_, b, v) in of(s, "2a")}) == len(of(s, "2a")),
        "VoteHasProposal": lambda s: all(("2a", b, v) in s[3] for (_, a, b, v) in of(s, "2b")),
        "ProposalsAtRealBallots": lambda s: all(b >= 0 for (_, b, v) in of(s, "2a")),
        "ProposalSafe": proposal_safe,
        "Agreement": lambda s: len(m.chosen(s)) <= 1,
        "LastVoteIsHighestVote": last_vote_is_highest,
    }


def test_paxos_predicates_name_the_proofs_conjuncts_and_goal():
    proof = proofs.build("paxos")
    names = set(paxos_predicates(registry.build("paxos", {})))
    assert names == set(proof.conjunct_names()) | {g.name for g in proof.goals} | {"LastVoteIsHighestVote"}


@pytest.mark.parametrize("config", [
    {"acceptors": 3, "values": 2, "max_ballot": 1},
    {"acceptors": 2, "values": 2, "max_ballot": 2},
])
def test_paxos_invariant_holds_in_every_reachable_state(config):
    model = registry.build("paxos", config)
    verdicts = judge(model, paxos_predicates(model))
    assert verdicts == {name: True for name in verdicts}


def test_buggy_paxos_breaks_the_conjunct_the_cti_names():
    """The explicit model with Phase 2a ignoring reported votes reaches a state violating ProposalSafe."""
    model = registry.build("paxos", {"bug": "ignore_highest_vote", "acceptors": 2, "values": 2, "max_ballot": 1})
    verdicts = judge(model, paxos_predicates(model))
    assert verdicts["ProposalSafe"] is False


# -- TwoPhase ------------------------------------------------------------------------


def twophase_predicates(m: Any) -> dict[str, Predicate]:
    """The symbolic TwoPhase invariant over explicit states (rmState, tmState, tmPrepared, msgs)."""
    commit, abort = ("Commit",), ("Abort",)

    def prepared(s: Any, rm: int) -> bool:
        return ("Prepared", rm) in s[3]

    rms = range(m.rms)
    return {
        "DecisionsFromTM": lambda s: (commit not in s[3] or s[1] == "committed")
        and (abort not in s[3] or s[1] == "aborted"),
        "TMPreparedWasSent": lambda s: all(prepared(s, rm) for rm in s[2]),
        "PreparedLeftWorking": lambda s: all(s[0][rm] != "working" for rm in rms if prepared(s, rm)),
        "CommitNeedsAllPrepared": lambda s: commit not in s[3] or all(prepared(s, rm) for rm in rms),
        "CommittedHasCommit": lambda s: all(s[0][rm] != "committed" or commit in s[3] for rm in rms),
        "AbortedHasReason": lambda s: all(
            s[0][rm] != "aborted" or abort in s[3] or not prepared(s, rm) for rm in rms
        ),
        "TCConsistent": lambda s: not ("committed" in s[0] and "aborted" in s[0]),
    }


def test_twophase_predicates_name_the_proofs_conjuncts_and_goal():
    proof = proofs.build("twophase")
    names = set(twophase_predicates(registry.build("twophase", {})))
    assert names == set(proof.conjunct_names()) | {g.name for g in proof.goals}


@pytest.mark.parametrize("rms", [1, 2, 3])
def test_twophase_invariant_holds_in_every_reachable_state(rms):
    model = registry.build("twophase", {"rms": rms})
    verdicts = judge(model, twophase_predicates(model))
    assert verdicts == {name: True for name in verdicts}


# -- quorum theorems, by brute force -------------------------------------------------


def subsets(n: int, size: int) -> list[frozenset]:
    return [frozenset(c) for c in combinations(range(n), size)]


@pytest.mark.parametrize("n", range(1, 8))
def test_majorities_intersect_by_brute_force(n):
    majorities = [q for k in range(n // 2 + 1, n + 1) for q in subsets(n, k)]
    assert all(q1 & q2 for q1 in majorities for q2 in majorities)


@pytest.mark.parametrize("f", [1, 2])
def test_byzantine_quorums_by_brute_force(f):
    n = 3 * f + 1
    big = subsets(n, 2 * f + 1)
    assert all(len(q1 & q2) >= f + 1 for q1 in big for q2 in big)
    faulty_sets = subsets(n, f)
    assert all(q1 & q2 - bad for q1 in big for q2 in big for bad in faulty_sets)
    small = subsets(n, 2 * f)
    assert any(not (q1 & q2 - bad) for q1 in small for q2 in small for bad in faulty_sets)
