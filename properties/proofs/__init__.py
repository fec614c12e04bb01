"""Proofs for every cluster size, by name: ``splitbrain prove NAME``.

Each entry builds a statement in the language of ``language.py``: a
:class:`~splitbrain.properties.proofs.language.Protocol` with its inductive
invariant, or :class:`~splitbrain.properties.proofs.language.Theorems` (claims
about set sizes). ``splitbrain.checker.induction.prove`` checks either.

- ``quorum``: quorum intersection theorems (majorities; Byzantine 2f+1 of
  3f+1) and the counterexample for quorums of 2f.
- ``paxos``: Paxos agreement by an inductive invariant in the spirit of
  Paxos.tla; ``-p bug=ignore_highest_vote`` is a broken Phase 2a whose proof
  fails with a counterexample to induction.
- ``raft``: Raft election safety (one leader per term).
- ``twophase``: TwoPhase.tla consistency (no RM commits while another aborts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from splitbrain.models.registry import Param, UsageError
from splitbrain.properties.proofs import paxos, quorum, raft, twophase
from splitbrain.properties.proofs.language import Protocol, Theorems

Provable = Protocol | Theorems  # what a proof states: checked by checker.induction.prove


@dataclass(frozen=True)
class ProofSpec:
    """A proof the command line knows by name, with its parameters."""

    name: str
    summary: str
    factory: Callable[..., Provable]
    params: tuple[Param, ...] = ()
    bugs: dict[str, str] = field(default_factory=dict)

    def parse_params(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Typed parameter values (defaults filled in); UsageError for a bad one."""
        values = {p.name: p.default for p in self.params}
        by_name = {p.name: p for p in self.params}
        for name, text in raw.items():
            if name not in by_name:
                known = ", ".join(by_name) or "none"
                raise UsageError(f"proof {self.name} has no parameter {name!r} (parameters: {known})")
            values[name] = by_name[name].parse(text)
        return values


PROOFS: dict[str, ProofSpec] = {
    spec.name: spec
    for spec in (
        ProofSpec("quorum", "quorum intersection for every n: majorities, Byzantine 2f+1 of 3f+1, "
                  "and the counterexample for 2f", quorum.build),
        ProofSpec(
            "paxos", "Paxos agreement (Paxos.tla) for any number of acceptors, values and ballots", paxos.build,
            params=(Param("bug", str, "none", "a deliberately broken variant",
                          choices=("none", *paxos.BUGS)),),
            bugs=dict(paxos.BUGS),
        ),
        ProofSpec("raft", "Raft election safety: at most one leader per term, for any number of servers",
                  raft.build),
        ProofSpec("twophase", "TwoPhase.tla consistency for any number of resource managers", twophase.build),
    )
}


def get(name: str) -> ProofSpec:
    """The spec of proof ``name``, or a UsageError naming the known proofs."""
    if name not in PROOFS:
        raise UsageError(f"unknown proof {name!r} (known: {', '.join(sorted(PROOFS))})")
    return PROOFS[name]


def build(name: str, raw_params: dict[str, Any] | None = None) -> Provable:
    """The proof object for ``name`` with its parameters (text or typed values)."""
    spec = get(name)
    return spec.factory(**spec.parse_params(raw_params or {}))
