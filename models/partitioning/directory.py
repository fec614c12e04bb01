"""A directory: an explicit lookup table from shards to nodes.

A key hashes to one of a fixed number of shards (``stable_hash(key) mod
shards``); the table says which node holds each shard. Nothing moves unless
the table is changed: ``move`` hands one shard to a node, ``join`` moves shards
from the most loaded nodes to the new one until it holds its fair share, and
``leave`` hands the leaving node's shards one by one to the least loaded
nodes. This is how stores with a fixed number of partitions (vBuckets, Kafka
partitions, Elasticsearch shards) rebalance.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Sequence

from splitbrain.models.partitioning.base import Node, Partitioner, check_join, check_leave, sorted_nodes
from splitbrain.models.partitioning.hashing import stable_hash


class DirectoryPartitioner(Partitioner):
    """``table[shard]`` is the node that holds the shard; one owner per key."""

    scheme = "directory"

    def __init__(self, table: Sequence[Node], nodes: Iterable[Node] | None = None) -> None:
        if not table:
            raise ValueError("a directory needs at least one shard")
        self.table = tuple(table)
        self.nodes = sorted_nodes(set(self.table) if nodes is None else nodes)
        self.replicas = 1

    @classmethod
    def round_robin(cls, shards: int, nodes: Iterable[Node]) -> "DirectoryPartitioner":
        """Shard s on the (s mod n)-th of the sorted nodes."""
        members = sorted_nodes(nodes)
        if shards < 1:
            raise ValueError("shards must be at least 1")
        return cls([members[s % len(members)] for s in range(shards)], members)

    @property
    def shards(self) -> int:
        return len(self.table)

    def shard_of(self, key: Any) -> int:
        """The shard ``key`` hashes to."""
        return stable_hash(key) % len(self.table)

    partition_of = shard_of

    def owners(self, key: Any) -> tuple[Node, ...]:
        return (self.table[self.shard_of(key)],)

    def load(self) -> Counter:
        """Shards held by each live node (zero for an idle one)."""
        counts: Counter = Counter({n: 0 for n in self.nodes})
        counts.update(self.table)
        return counts

    def move(self, shard: int, to: Node) -> "DirectoryPartitioner":
        """Shard ``shard`` handed to live node ``to``."""
        if to not in self.nodes:
            raise ValueError(f"node {to!r} is not a member")
        table = list(self.table)
        table[shard] = to
        return DirectoryPartitioner(table, self.nodes)

    def join(self, node: Node) -> "DirectoryPartitioner":
        """``node`` joins and takes shards, each from the most loaded node, up to shards/(n+1)."""
        check_join(node, self.nodes)
        table = list(self.table)
        nodes = self.nodes + (node,)
        counts = Counter({n: 0 for n in nodes})
        counts.update(table)
        for _ in range(len(table) // len(nodes)):
            donor = max(self.nodes, key=lambda n: (counts[n], -self.nodes.index(n)))
            shard = max(s for s, owner in enumerate(table) if owner == donor)
            table[shard] = node
            counts[donor] -= 1
            counts[node] += 1
        return DirectoryPartitioner(table, nodes)

    def leave(self, node: Node) -> "DirectoryPartitioner":
        """``node`` leaves; each of its shards goes to the least loaded remaining node."""
        check_leave(node, self.nodes)
        rest = tuple(n for n in self.nodes if n != node)
        if not rest:
            raise ValueError("the last node cannot leave")
        table = list(self.table)
        counts = Counter({n: 0 for n in rest})
        counts.update(o for o in table if o != node)
        for shard, owner in enumerate(table):
            if owner == node:
                taker = min(rest, key=lambda n: (counts[n], rest.index(n)))
                table[shard] = taker
                counts[taker] += 1
        return DirectoryPartitioner(table, rest)

    def __repr__(self) -> str:
        return f"DirectoryPartitioner(table={list(self.table)}, nodes={list(self.nodes)})"
