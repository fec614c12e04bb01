"""The Byzantine adversary shared by the byzantine models.

The models whose traitors need more than the actor layer's Byzantine nodes
(``splitbrain.models.actors``: a fixed universe of messages a traitor may send at any
time) use this: what a traitor can sign depends on what it has received.

The checker, not the model, picks the traitors: ``traitor_sets`` lists every
choice of up to ``t`` traitors, and each becomes an initial state. Every
message a traitor sends is then a choice the checker branches on:

- with signed messages a traitor may send any message the traitors can sign
  together (``can_sign``): they share their keys, but a loyal node's signature
  exists only on what that node really signed, so it can be relayed, never
  forged;
- ``subsets`` lists every set of messages a traitor may send at once
  (including none and all).
"""

from __future__ import annotations

from itertools import chain, combinations
from typing import Any, Collection, Hashable, Iterable, Sequence

Value = Hashable


def traitor_sets(nodes: Sequence[int], t: int) -> list[frozenset[int]]:
    """Every set of at most ``t`` traitors among ``nodes``, smallest first."""
    return [frozenset(c) for k in range(min(t, len(nodes)) + 1) for c in combinations(nodes, k)]


def can_sign(value: Value, signers: Sequence[int], traitors: Collection[int],
             genuine: Collection[tuple[Value, tuple[int, ...]]]) -> bool:
    """Whether the traitors can produce ``value`` signed in turn by ``signers``.

    Traitors sign anything with their own keys; the part of the chain up to
    its last loyal signer must be a genuine signed message the traitors hold
    (``genuine``: pairs ``(value, signers)``).
    """
    loyal = [k for k, s in enumerate(signers) if s not in traitors]
    if not loyal:
        return True
    return (value, tuple(signers[: loyal[-1] + 1])) in genuine


def subsets(items: Iterable[Any]) -> list[frozenset]:
    """Every subset of ``items`` (the empty set first)."""
    items = sorted(items, key=repr)
    return [frozenset(c) for c in chain.from_iterable(combinations(items, k) for k in range(len(items) + 1))]
