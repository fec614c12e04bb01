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

import itertools
import time
from dataclasses import dataclass
from typing import Callable

import z3

from splitbrain.checker.induction import CLAIM, FAILED, PROVED, UNKNOWN, Check, Counterexample, Report


class Regions:
    """The region sizes of ``names`` (sets) inside a universe of ``n`` nodes."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.count = {
            pattern: z3.Int("x" + "".join(map(str, pattern)))
            for pattern in itertools.product((1, 0), repeat=len(names))
        }
        self.n = z3.Int("n")

    def facts(self) -> list[z3.BoolRef]:
        """Region sizes are non-negative and add up to n."""
        return [c >= 0 for c in self.count.values()] + [z3.Sum(list(self.count.values())) == self.n]

    def size(self, *inside: str, outside: tuple[str, ...] = ()) -> z3.ArithRef:
        """|the intersection of the sets ``inside``, minus the sets ``outside``|."""
        idx_in = [self.names.index(s) for s in inside]
        idx_out = [self.names.index(s) for s in outside]
        return z3.Sum([
            c for p, c in self.count.items()
            if all(p[i] == 1 for i in idx_in) and all(p[i] == 0 for i in idx_out)
        ] or [z3.IntVal(0)])

    def example(self, model: z3.ModelRef, extra: dict[str, z3.ArithRef]) -> list[str]:
        """Concrete sets of nodes n1, n2... with the region sizes of ``model``."""
        members: dict[str, list[str]] = {s: [] for s in self.names}
        node = 0
        for pattern, c in self.count.items():
            for _ in range(model.eval(c, model_completion=True).as_long()):
                node += 1
                for s, bit in zip(self.names, pattern):
                    if bit:
                        members[s].append(f"n{node}")
        lines = [", ".join(f"{k} = {model.eval(v, model_completion=True)}" for k, v in extra.items())]
        lines.append(f"nodes = {{{', '.join(f'n{i}' for i in range(1, node + 1))}}}")
        lines += [f"{s} = {{{', '.join(m)}}}" for s, m in members.items()]
        if len(self.names) >= 2:
            common = [x for x in members[self.names[0]] if x in members[self.names[1]]]
            lines.append(f"{self.names[0]} & {self.names[1]} = {{{', '.join(common)}}}")
        return lines


@dataclass
class Claim:
    """A statement about set sizes: ``forall`` (proved if it has no
    counterexample) or ``exists`` (proved by a witness)."""

    name: str
    doc: str
    kind: str  # "forall" | "exists"
    regions: Regions
    formula: z3.BoolRef  # forall: the claim; exists: what the witness satisfies
    shown: dict[str, z3.ArithRef]
    smallest: Callable[[int], z3.BoolRef] | None = None  # exists: try k = 1, 2, ... first


class Theorems:
    """A named list of claims, checked one by one (same interface as a Protocol)."""

    def __init__(self, name: str, summary: str, claims: list[Claim]) -> None:
        self.name = name
        self.summary = summary
        self.claims = claims
        self.conjuncts: list = []
        self.goals: list = []
        self.actions: list = []

    def conjunct_names(self) -> list[str]:
        return []

    def action_names(self) -> list[str]:
        return []

    def run(
        self, drop: str | None = None, timeout: float = 30.0, minimise: bool = True, stop_at_first: bool = False
    ) -> Report:
        if drop is not None:
            raise KeyError(drop)
        checks = []
        for claim in self.claims:
            checks.append(_check(claim, timeout, minimise))
            if stop_at_first and checks[-1].verdict == FAILED:
                break
        return Report(self.name, checks)


def _check(claim: Claim, timeout: float, minimise: bool) -> Check:
    start = time.perf_counter()
    base = claim.regions.facts()
    target = z3.Not(claim.formula) if claim.kind == "forall" else claim.formula
    solver = z3.Solver()
    solver.set("timeout", max(1, int(timeout * 1000)))
    solver.add(*base, target)
    model = None
    if claim.kind == "exists" and minimise and claim.smallest is not None:
        for k in range(1, 6):
            solver.push()
            solver.add(claim.smallest(k))
            if solver.check() == z3.sat:
                model = solver.model()
                solver.pop()
                break
            solver.pop()
    result = z3.sat if model is not None else solver.check()
    if model is None and result == z3.sat:
        model = solver.model()
    seconds = time.perf_counter() - start
    if result == z3.unknown:
        return Check(CLAIM, claim.name, None, UNKNOWN, seconds, None, solver.reason_unknown())
    if claim.kind == "forall":
        if result == z3.unsat:
            return Check(CLAIM, claim.name, None, PROVED, seconds)
        cex = Counterexample(f"counterexample to {claim.name}", [("sets", claim.regions.example(model, claim.shown))])
        return Check(CLAIM, claim.name, None, FAILED, seconds, cex)
    if result == z3.unsat:
        return Check(CLAIM, claim.name, None, FAILED, seconds, None, "no witness exists")
    wit = Counterexample(f"witness for {claim.name}", [("sets", claim.regions.example(model, claim.shown))])
    return Check(CLAIM, claim.name, None, PROVED, seconds, wit)


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
