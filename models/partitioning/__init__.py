"""Data partitioners: where every key lives, and what moves when nodes come and go.

Each scheme is an immutable :class:`~splitbrain.models.partitioning.base.Partitioner`:
``owners(key)`` gives the nodes holding ``key`` (primary first, ``replicas``
distinct live nodes), ``join(node)`` and ``leave(node)`` give the partitioner
after a membership change. All hashing is :func:`~splitbrain.models.partitioning.hashing.stable_hash`
(BLAKE2b), never Python's per-process salted ``hash``.

=============  ====================================  ========  =================
scheme         class                                 replicas  membership change
=============  ====================================  ========  =================
modulo         :class:`ModuloPartitioner`            r >= 1    rehash: most keys move
ring           :class:`RingPartitioner` (vnodes)     r >= 1    keys move to/from the node
rendezvous     :class:`RendezvousPartitioner`        r >= 1    keys move to/from the node
jump           :class:`JumpPartitioner`              1         last bucket only leaves
range          :class:`RangePartitioner`             1         split / merge / move
directory      :class:`DirectoryPartitioner`         1         explicit shard moves
composite      :class:`CompositePartitioner`         1         range steps in one group
=============  ====================================  ========  =================

:func:`make` builds the usual starting layout of any scheme for a list of
nodes. The properties are in ``splitbrain.properties.partitioning``; the checkable models
in ``splitbrain.models.partitioning.model`` (CLI name ``partitioner``); the measurements
in ``splitbrain.models.partitioning.measure`` (``splitbrain partition``).
"""

from __future__ import annotations

from typing import Iterable

from splitbrain.models.partitioning.base import Node, Partitioner
from splitbrain.models.partitioning.directory import DirectoryPartitioner
from splitbrain.models.partitioning.hashed import (
    JumpPartitioner, ModuloPartitioner, RendezvousPartitioner, RingPartitioner, jump_hash,
)
from splitbrain.models.partitioning.hashing import stable_hash
from splitbrain.models.partitioning.ranges import CompositePartitioner, RangePartitioner

SCHEMES = ("modulo", "ring", "rendezvous", "jump", "range", "directory", "composite")
# The schemes whose layout is a function of the membership alone.
MEMBERSHIP_SCHEMES = ("modulo", "ring", "rendezvous", "jump")
# The schemes that support replicas > 1.
REPLICATED_SCHEMES = ("modulo", "ring", "rendezvous")


def make(
    scheme: str,
    nodes: Iterable[Node],
    *,
    replicas: int = 1,
    vnodes: int = 16,
    space: int = 1 << 32,
    shards: int = 1024,
    groups: int | None = None,
) -> Partitioner:
    """The starting partitioner of ``scheme`` over ``nodes``.

    ``vnodes``: ring tokens per node. ``space``: the integer key space
    ``[0, space)`` of range (and of the suffix in composite). ``shards``:
    directory shards. ``groups``: composite groups (default: one per four
    nodes), the nodes dealt round-robin among them.
    """
    nodes = list(nodes)
    if scheme not in REPLICATED_SCHEMES and replicas != 1:
        raise ValueError(f"scheme {scheme} does not replicate: replicas must be 1")
    if scheme == "modulo":
        return ModuloPartitioner(nodes, replicas)
    if scheme == "ring":
        return RingPartitioner(nodes, vnodes, replicas)
    if scheme == "rendezvous":
        return RendezvousPartitioner(nodes, replicas)
    if scheme == "jump":
        return JumpPartitioner(nodes)
    if scheme == "range":
        return RangePartitioner.even(space, nodes)
    if scheme == "directory":
        return DirectoryPartitioner.round_robin(shards, nodes)
    if scheme == "composite":
        return CompositePartitioner.even(space, nodes, groups or max(1, len(nodes) // 4))
    raise ValueError(f"unknown scheme {scheme!r} (schemes: {', '.join(SCHEMES)})")


__all__ = [
    "SCHEMES", "MEMBERSHIP_SCHEMES", "REPLICATED_SCHEMES", "make", "Node", "Partitioner",
    "ModuloPartitioner", "RingPartitioner", "RendezvousPartitioner", "JumpPartitioner", "jump_hash",
    "RangePartitioner", "DirectoryPartitioner", "CompositePartitioner", "stable_hash",
]
