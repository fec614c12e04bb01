"""The kinds of property a user states about a model.

- ``always(name, P)``: P holds in every reachable state (an invariant).
- ``sometimes(name, P)``: P holds in at least one reachable state (a witness).
  A ``sometimes`` property that is never reached is a failure: it catches the
  model that is safe only because it never does anything.
- ``eventually``, ``leads_to`` and ``always_eventually`` are liveness
  properties, judged on the state graph under the fairness they state.

A predicate takes one state and returns a bool. Properties know nothing about
how they are checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

Predicate = Callable[[Any], bool]

ALWAYS = "always"
SOMETIMES = "sometimes"
EVENTUALLY = "eventually"
LEADS_TO = "leads_to"
ALWAYS_EVENTUALLY = "always_eventually"

SAFETY_KINDS = (ALWAYS,)
WITNESS_KINDS = (SOMETIMES,)
LIVENESS_KINDS = (EVENTUALLY, LEADS_TO, ALWAYS_EVENTUALLY)


@dataclass(frozen=True)
class Property:
    """A named claim about a model's behaviours.

    ``condition`` is P; ``target`` is Q for ``leads_to`` (P ~> Q). ``fairness``
    lists the fairness assumptions a liveness property is judged under.
    """

    name: str
    kind: str
    condition: Predicate
    target: Predicate | None = None
    fairness: tuple[Any, ...] = field(default=())
    description: str = ""

    @property
    def is_liveness(self) -> bool:
        return self.kind in LIVENESS_KINDS


def always(name: str, condition: Predicate, description: str = "") -> Property:
    """An invariant: ``condition`` holds in every reachable state."""
    return Property(name, ALWAYS, condition, description=description)


def sometimes(name: str, condition: Predicate, description: str = "") -> Property:
    """A witness: ``condition`` holds in some reachable state."""
    return Property(name, SOMETIMES, condition, description=description)


def invariants(props: Sequence[Property]) -> list[Property]:
    """The ``always`` properties among ``props``."""
    return [p for p in props if p.kind == ALWAYS]


def witnesses(props: Sequence[Property]) -> list[Property]:
    """The ``sometimes`` properties among ``props``."""
    return [p for p in props if p.kind == SOMETIMES]
