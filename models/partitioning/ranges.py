"""Partitioners that keep keys in order: range partitioning and the composite.

:class:`RangePartitioner` splits an integer key space ``[0, space)`` into
half-open ranges ``(lo, hi, owner)`` kept in key order, so a range query
touches a contiguous run of partitions. It changes only by explicit steps:
``split`` (the upper part of a range goes to a node), ``merge`` (a range
absorbs its right neighbour), ``move`` (a range changes owner); ``join`` and
``leave`` are made of those steps.

:class:`CompositePartitioner` hashes the first part of a key ``(prefix,
suffix)`` to a group of nodes (jump hash over the groups) and range-partitions
the suffix within that group, as stores with a hashed partition key and an
ordered clustering key do: all keys of one prefix stay in one group, in order.

Neither scheme replicates (one owner per key).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any, Iterable, Sequence

from splitbrain.models.partitioning.base import Node, Partitioner, check_join, check_leave, sorted_nodes
from splitbrain.models.partitioning.hashed import jump_hash
from splitbrain.models.partitioning.hashing import stable_hash

Part = tuple[int, int, Node]  # (lo, hi, owner): the keys lo <= k < hi


class RangePartitioner(Partitioner):
    """Ordered ranges of ``[0, space)``, each owned by one live node.

    The constructor takes the ranges as given (a layout with a gap or an
    overlap can be built, so that the coverage property can be seen to fail);
    :meth:`even` builds the usual starting layout.
    """

    scheme = "range"

    def __init__(self, space: int, parts: Sequence[Part], nodes: Iterable[Node] | None = None) -> None:
        if space < 1:
            raise ValueError("the key space must hold at least one key")
        self.space = space
        self.parts: tuple[Part, ...] = tuple(sorted(tuple(p) for p in parts))
        owners = {p[2] for p in self.parts}
        self.nodes = sorted_nodes(owners if nodes is None else nodes)
        self.replicas = 1
        self.starts = [p[0] for p in self.parts]

    @classmethod
    def even(cls, space: int, nodes: Iterable[Node]) -> "RangePartitioner":
        """One range per node, of (nearly) equal width, in node order."""
        members = sorted_nodes(nodes)
        n = len(members)
        if n > space:
            raise ValueError(f"{n} nodes cannot each own a range of a {space}-key space")
        bounds = [space * i // n for i in range(n + 1)]
        return cls(space, [(bounds[i], bounds[i + 1], members[i]) for i in range(n)], members)

    # -- lookup ---------------------------------------------------------------
    def index_of(self, key: int) -> int | None:
        """The index of the range holding ``key``, None when no range holds it."""
        if not 0 <= key < self.space:
            raise ValueError(f"key {key!r} is outside the key space [0, {self.space})")
        i = bisect_right(self.starts, key) - 1
        if i < 0 or key >= self.parts[i][1]:
            return None
        return i

    def owners(self, key: Any) -> tuple[Node, ...]:
        i = self.index_of(key)
        return () if i is None else (self.parts[i][2],)

    def partition_of(self, key: int) -> int | None:
        """The partition (range index) holding ``key``."""
        return self.index_of(key)

    def query(self, lo: int, hi: int) -> range:
        """The indices of the ranges a query for the keys ``lo <= k < hi`` must visit."""
        if not 0 <= lo < hi <= self.space:
            raise ValueError(f"query [{lo}, {hi}) is empty or outside [0, {self.space})")
        first = bisect_right(self.starts, lo) - 1
        last = bisect_right(self.starts, hi - 1) - 1
        return range(max(first, 0), last + 1)

    # -- explicit steps ---------------------------------------------------------
    def split(self, index: int, at: int, to: Node) -> "RangePartitioner":
        """Range ``index`` split at key ``at``; the upper part ``[at, hi)`` goes to ``to``."""
        lo, hi, owner = self.parts[index]
        if not lo < at < hi:
            raise ValueError(f"cannot split [{lo}, {hi}) at {at}")
        self._check_member(to)
        parts = self.parts[:index] + ((lo, at, owner), (at, hi, to)) + self.parts[index + 1:]
        return RangePartitioner(self.space, parts, self.nodes)

    def merge(self, index: int) -> "RangePartitioner":
        """Range ``index`` absorbs range ``index + 1``; its owner keeps the union."""
        if not 0 <= index < len(self.parts) - 1:
            raise ValueError(f"no range follows range {index}")
        lo, mid, owner = self.parts[index]
        mid2, hi, _ = self.parts[index + 1]
        if mid != mid2:
            raise ValueError(f"ranges [{lo}, {mid}) and [{mid2}, {hi}) are not adjacent")
        parts = self.parts[:index] + ((lo, hi, owner),) + self.parts[index + 2:]
        return RangePartitioner(self.space, parts, self.nodes)

    def move(self, index: int, to: Node) -> "RangePartitioner":
        """Range ``index`` handed to node ``to``."""
        self._check_member(to)
        lo, hi, _ = self.parts[index]
        parts = self.parts[:index] + ((lo, hi, to),) + self.parts[index + 1:]
        return RangePartitioner(self.space, parts, self.nodes)

    def with_member(self, node: Node) -> "RangePartitioner":
        """``node`` added as a live member that owns no range yet."""
        check_join(node, self.nodes)
        return RangePartitioner(self.space, self.parts, self.nodes + (node,))

    # -- membership -------------------------------------------------------------
    def join(self, node: Node) -> "RangePartitioner":
        """``node`` joins and takes the upper half of the widest range (the first, on a tie)."""
        widest = max(range(len(self.parts)), key=lambda i: (self.parts[i][1] - self.parts[i][0], -i))
        lo, hi, _ = self.parts[widest]
        if hi - lo < 2:
            raise ValueError("no range is wide enough to split")
        return self.with_member(node).split(widest, lo + (hi - lo) // 2, node)

    def leave(self, node: Node) -> "RangePartitioner":
        """``node`` leaves; each of its ranges merges into the range on its left
        (or, for the first range, on its right)."""
        check_leave(node, self.nodes)
        rest = tuple(n for n in self.nodes if n != node)
        if not rest:
            raise ValueError("the last node cannot leave")
        out: list[Part] = []
        pending: int | None = None  # start of leading ranges of ``node`` with no left neighbour
        for lo, hi, owner in self.parts:
            if owner == node:
                if out:
                    out[-1] = (out[-1][0], hi, out[-1][2])
                elif pending is None:
                    pending = lo
            else:
                if pending is not None:
                    lo, pending = pending, None
                out.append((lo, hi, owner))
        if pending is not None:  # ``node`` owned every range: an idle member takes them all
            out = [(pending, self.parts[-1][1], rest[0])]
        return RangePartitioner(self.space, out, rest)

    def _check_member(self, node: Node) -> None:
        if node not in self.nodes:
            raise ValueError(f"node {node!r} is not a member")

    def __repr__(self) -> str:
        return f"RangePartitioner(space={self.space}, parts={list(self.parts)}, nodes={list(self.nodes)})"


class CompositePartitioner(Partitioner):
    """Hash a key's prefix to a group; range-partition its suffix within the group."""

    scheme = "composite"

    def __init__(self, groups: Sequence[RangePartitioner]) -> None:
        if not groups:
            raise ValueError("a composite partitioner needs at least one group")
        self.groups = tuple(groups)
        all_nodes = [n for g in self.groups for n in g.nodes]
        self.nodes = sorted_nodes(all_nodes)  # a node in two groups is refused as a duplicate
        self.replicas = 1

    @classmethod
    def even(cls, space: int, nodes: Iterable[Node], groups: int = 1) -> "CompositePartitioner":
        """The sorted nodes dealt round-robin into ``groups`` groups, each with even ranges of ``[0, space)``."""
        members = sorted_nodes(nodes)
        if not 1 <= groups <= len(members):
            raise ValueError(f"groups must be between 1 and the number of nodes ({len(members)})")
        return cls([RangePartitioner.even(space, members[g::groups]) for g in range(groups)])

    def group_of(self, prefix: Any) -> int:
        """The group that holds every key with this prefix."""
        return jump_hash(stable_hash(prefix), len(self.groups))

    @staticmethod
    def _split_key(key: Any) -> tuple[Any, int]:
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"a composite key is a pair (prefix, suffix), not {key!r}")
        return key

    def owners(self, key: Any) -> tuple[Node, ...]:
        prefix, suffix = self._split_key(key)
        return self.groups[self.group_of(prefix)].owners(suffix)

    def partition_of(self, key: Any) -> tuple[int, int | None]:
        """(group, range index within the group) of ``key``."""
        prefix, suffix = self._split_key(key)
        g = self.group_of(prefix)
        return (g, self.groups[g].index_of(suffix))

    def query(self, prefix: Any, lo: int, hi: int) -> tuple[int, range]:
        """The group and the range indices a query for ``prefix`` and suffixes ``lo <= s < hi`` visits."""
        g = self.group_of(prefix)
        return g, self.groups[g].query(lo, hi)

    def with_group(self, index: int, group: RangePartitioner) -> "CompositePartitioner":
        """Group ``index`` replaced (after a split, merge or move inside it)."""
        return CompositePartitioner(self.groups[:index] + (group,) + self.groups[index + 1:])

    def join(self, node: Node) -> "CompositePartitioner":
        """``node`` joins the group with the fewest members (the first, on a tie)."""
        check_join(node, self.nodes)
        g = min(range(len(self.groups)), key=lambda i: (len(self.groups[i].nodes), i))
        return self.with_group(g, self.groups[g].join(node))

    def leave(self, node: Node) -> "CompositePartitioner":
        """``node`` leaves its group (which must keep at least one member)."""
        check_leave(node, self.nodes)
        g = next(i for i, grp in enumerate(self.groups) if node in grp.nodes)
        return self.with_group(g, self.groups[g].leave(node))

    def __repr__(self) -> str:
        return f"CompositePartitioner(groups={list(self.groups)})"
