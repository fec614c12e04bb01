"""Partitioners that derive ownership from a hash of the key and the membership.

- :class:`ModuloPartitioner`: node ``i = hash(key) mod n`` of the sorted
  members (replicas: the next nodes in that order). Adding or removing a node
  changes ``n`` and so moves almost every key: about n/(n+1) of them on a join.
- :class:`RingPartitioner`: consistent hashing (Karger et al.). Each node puts
  ``vnodes`` tokens on a 64-bit ring; a key belongs to the first token at or
  after its hash, and its replicas are the next distinct nodes clockwise.
- :class:`RendezvousPartitioner`: highest random weight (Thaler & Ravishankar).
  Each node scores the key; the owners are the ``replicas`` highest scores.
- :class:`JumpPartitioner`: jump consistent hash (Lamping & Veach, 2014). Nodes
  are buckets ``0..n-1`` in join order; only the last bucket can leave.

The last three move, on a join, only keys that go to the new node, and on a
leave only the leaving node's keys (``splitbrain.properties.partitioning`` checks it).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from typing import Any, Iterable

from splitbrain.models.partitioning.base import (
    Node, Partitioner, check_join, check_leave, check_replicas, sorted_nodes,
)
from splitbrain.models.partitioning.hashing import MASK64, stable_hash

_LCG = 2862933555777941757


class ModuloPartitioner(Partitioner):
    """``hash(key) mod n`` over the sorted members; replicas are the following nodes."""

    scheme = "modulo"

    def __init__(self, nodes: Iterable[Node], replicas: int = 1) -> None:
        self.nodes = sorted_nodes(nodes)
        check_replicas(replicas, self.nodes)
        self.replicas = replicas

    def owners(self, key: Any) -> tuple[Node, ...]:
        nodes, n = self.nodes, len(self.nodes)
        i = stable_hash(key) % n
        if self.replicas == 1:
            return (nodes[i],)
        return tuple(nodes[(i + j) % n] for j in range(self.replicas))

    def join(self, node: Node) -> "ModuloPartitioner":
        check_join(node, self.nodes)
        return ModuloPartitioner(self.nodes + (node,), self.replicas)

    def leave(self, node: Node) -> "ModuloPartitioner":
        check_leave(node, self.nodes)
        return ModuloPartitioner([n for n in self.nodes if n != node], self.replicas)


class RingPartitioner(Partitioner):
    """A consistent-hashing ring with ``vnodes`` tokens per node."""

    scheme = "ring"

    def __init__(self, nodes: Iterable[Node], vnodes: int = 16, replicas: int = 1) -> None:
        self.nodes = sorted_nodes(nodes)
        check_replicas(replicas, self.nodes)
        if vnodes < 1:
            raise ValueError("vnodes must be at least 1")
        self.vnodes = vnodes
        self.replicas = replicas
        # (token, node) sorted: equal tokens are ordered by node, so ties are deterministic.
        tokens = sorted((stable_hash(("vnode", node, i)), node) for node in self.nodes for i in range(vnodes))
        self.points = [t for t, _ in tokens]
        # The replica set that starts at each token: that token's node, then
        # the next distinct nodes clockwise.
        count = len(tokens)
        sets = []
        for start in range(count):
            chosen: list[Node] = []
            i = start
            while len(chosen) < replicas:
                node = tokens[i % count][1]
                if node not in chosen:
                    chosen.append(node)
                i += 1
            sets.append(tuple(chosen))
        self.sets = sets

    def token_index(self, key: Any) -> int:
        """The index of the first token at or after the key's hash (wrapping to 0)."""
        i = bisect_left(self.points, stable_hash(key))
        return 0 if i == len(self.points) else i

    def owners(self, key: Any) -> tuple[Node, ...]:
        return self.sets[self.token_index(key)]

    def join(self, node: Node) -> "RingPartitioner":
        check_join(node, self.nodes)
        return RingPartitioner(self.nodes + (node,), self.vnodes, self.replicas)

    def leave(self, node: Node) -> "RingPartitioner":
        check_leave(node, self.nodes)
        return RingPartitioner([n for n in self.nodes if n != node], self.vnodes, self.replicas)

    def __repr__(self) -> str:
        return f"RingPartitioner(nodes={list(self.nodes)}, vnodes={self.vnodes}, replicas={self.replicas})"


class RendezvousPartitioner(Partitioner):
    """Highest random weight: the owners are the nodes scoring the key highest."""

    scheme = "rendezvous"

    def __init__(self, nodes: Iterable[Node], replicas: int = 1) -> None:
        self.nodes = sorted_nodes(nodes)
        check_replicas(replicas, self.nodes)
        self.replicas = replicas
        self.node_hashes = tuple(stable_hash(("node", n)) for n in self.nodes)

    def weights(self, key: Any) -> list[int]:
        """Each node's score for ``key`` (in node order): SplitMix64 of the two hashes combined."""
        kh = stable_hash(key)
        out = []
        for nh in self.node_hashes:
            z = kh ^ nh
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
            out.append(z ^ (z >> 31))
        return out

    def owners(self, key: Any) -> tuple[Node, ...]:
        if self.replicas == 1:
            # The loop of weights() inlined: this is the scheme's O(n) lookup cost.
            kh = stable_hash(key)
            best, best_w = 0, -1
            for i, nh in enumerate(self.node_hashes):
                z = kh ^ nh
                z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
                z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
                z ^= z >> 31
                if z > best_w:
                    best, best_w = i, z
            return (self.nodes[best],)
        w = self.weights(key)
        # Highest weight first; an (astronomically unlikely) tie goes to the earlier node.
        top = heapq.nlargest(self.replicas, range(len(w)), key=lambda i: (w[i], -i))
        return tuple(self.nodes[i] for i in top)

    def join(self, node: Node) -> "RendezvousPartitioner":
        check_join(node, self.nodes)
        return RendezvousPartitioner(self.nodes + (node,), self.replicas)

    def leave(self, node: Node) -> "RendezvousPartitioner":
        check_leave(node, self.nodes)
        return RendezvousPartitioner([n for n in self.nodes if n != node], self.replicas)


def jump_hash(key: int, buckets: int) -> int:
    """Lamping & Veach's jump consistent hash: the bucket in ``0..buckets-1`` of a 64-bit key.

    Growing ``buckets`` from b to b+1 moves exactly the keys that land in the
    new bucket b, about 1/(b+1) of them.
    """
    if buckets < 1:
        raise ValueError("buckets must be at least 1")
    key &= MASK64
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * _LCG + 1) & MASK64
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


class JumpPartitioner(Partitioner):
    """Jump consistent hash over the nodes in join order (node i is bucket i).

    The scheme numbers buckets densely, so only the most recently joined node
    (the last bucket) can leave without renumbering; ``leave`` of any other
    node is refused. There is one owner per key (no replicas).
    """

    scheme = "jump"

    def __init__(self, nodes: Iterable[Node], replicas: int = 1) -> None:
        listed = tuple(nodes)
        if len(set(listed)) != len(listed):
            raise ValueError("a node is listed twice")
        if not listed:
            raise ValueError("a partitioner needs at least one node")
        if replicas != 1:
            raise ValueError("jump consistent hash gives one bucket per key: replicas must be 1")
        self.nodes = listed
        self.replicas = 1

    def owners(self, key: Any) -> tuple[Node, ...]:
        return (self.nodes[jump_hash(stable_hash(key), len(self.nodes))],)

    def join(self, node: Node) -> "JumpPartitioner":
        check_join(node, self.nodes)
        return JumpPartitioner(self.nodes + (node,))

    def leave(self, node: Node) -> "JumpPartitioner":
        check_leave(node, self.nodes)
        if node != self.nodes[-1]:
            raise ValueError(f"jump hash can only remove the last bucket ({self.nodes[-1]!r}), not {node!r}")
        return JumpPartitioner(self.nodes[:-1])
