"""Quorum intersection theorems, for every cluster size.

Any subsets S1..Sk of an n-element set cut it into 2^k disjoint *regions*
(one per pattern of membership), and each set's size is the sum of the sizes of
its regions. Conversely, any non-negative region sizes summing to n describe
such subsets. So a statement about the sizes of sets and of their
intersections holds for all finite sets iff it holds for all non-negative
integer region sizes: linear integer arithmetic, which z3 decides. This is
how the claims below are proved for every n (and every f) at once.

- ``MajoritiesIntersect``: two majorities of the same n nodes share a node.
  This is the quorum axiom the Paxos and Raft proofs assume.
- ``ByzantineOverlap``: with n = 3f+1, two quorums of 2f+1 share f+1 nodes.
- ``ByzantineCorrectOverlap``: hence, with at most f faulty nodes, they share
  a correct one.
- ``TwoFQuorumsMissCorrect``: with quorums of only 2f out of 3f+1 there are
  two quorums whose common nodes are all faulty: the smallest such case is
  found and shown.
- ``TwoFCounterexampleEveryF``: and there is one for every f >= 1 (the
  family: Q1 and Q2 share f-1 nodes, all faulty).
"""

from __future__ import annotations

from typing import Callable

import z3

from splitbrain.properties.proofs.language import Claim, Regions, Theorems


def correct_overlap(name: str, quorum_size: Callable[[z3.ArithRef], z3.ArithRef], doc: str) -> Claim:
    """For every f >= 0, with n = 3f+1 and at most f faulty nodes, any two
    quorums of ``quorum_size(f)`` nodes share a correct node."""
    f = z3.Int("f")
    r = Regions(("Q1", "Q2", "faulty"))
    return Claim(
        name, doc, "forall", r,
        z3.Implies(
            z3.And(f >= 0, r.n == 3 * f + 1, r.size("Q1") >= quorum_size(f), r.size("Q2") >= quorum_size(f),
                   r.size("faulty") <= f),
            r.size("Q1", "Q2", outside=("faulty",)) >= 1,
        ),
        {"f": f, "n": r.n},
    )


def build() -> Theorems:
    """The quorum theorems."""
    claims = []

    r = Regions(("Q1", "Q2"))
    claims.append(Claim(
        "MajoritiesIntersect",
        "for every n >= 1, any two sets of more than n/2 of n nodes share a node",
        "forall", r,
        z3.Implies(
            z3.And(r.n >= 1, 2 * r.size("Q1") > r.n, 2 * r.size("Q2") > r.n),
            r.size("Q1", "Q2") >= 1,
        ),
        {"n": r.n},
    ))

    f = z3.Int("f")
    r = Regions(("Q1", "Q2"))
    claims.append(Claim(
        "ByzantineOverlap",
        "for every f >= 0, with n = 3f+1, any two sets of 2f+1 nodes share at least f+1 nodes",
        "forall", r,
        z3.Implies(
            z3.And(f >= 0, r.n == 3 * f + 1, r.size("Q1") >= 2 * f + 1, r.size("Q2") >= 2 * f + 1),
            r.size("Q1", "Q2") >= f + 1,
        ),
        {"f": f, "n": r.n},
    ))

    claims.append(correct_overlap(
        "ByzantineCorrectOverlap", lambda f: 2 * f + 1,
        "for every f >= 0, with n = 3f+1 and at most f faulty nodes, any two quorums of 2f+1 share a correct node",
    ))

    r = Regions(("Q1", "Q2", "faulty"))
    claims.append(Claim(
        "TwoFQuorumsMissCorrect",
        "with quorums of only 2f out of 3f+1 nodes, two quorums can share no correct node "
        "(the smallest f is shown)",
        "exists", r,
        z3.And(f >= 1, r.n == 3 * f + 1, r.size("Q1") >= 2 * f, r.size("Q2") >= 2 * f,
               r.size("faulty") <= f, r.size("Q1", "Q2", outside=("faulty",)) == 0),
        {"f": f, "n": r.n},
        smallest=lambda k: f == k,
    ))

    # The family for every f: Q1 and Q2 share f-1 nodes, all of them faulty.
    r = Regions(("Q1", "Q2", "faulty"))
    family = {(1, 1, 1): f - 1, (1, 0, 0): f + 1, (0, 1, 0): f + 1}
    assign = z3.And([c == family.get(p, 0) for p, c in r.count.items()])
    claims.append(Claim(
        "TwoFCounterexampleEveryF",
        "for every f >= 1 that counterexample exists: Q1 and Q2 of 2f nodes out of 3f+1 sharing "
        "only f-1 nodes, all faulty",
        "forall", r,
        z3.Implies(
            z3.And(f >= 1, r.n == 3 * f + 1, assign),
            z3.And(r.size("Q1") == 2 * f, r.size("Q2") == 2 * f, r.size("faulty") <= f,
                   r.size("Q1", "Q2", outside=("faulty",)) == 0),
        ),
        {"f": f, "n": r.n},
    ))
    return Theorems("quorum", "quorum intersection for every cluster size (majorities, Byzantine 2f+1 of 3f+1)",
                    claims)
