"""What every partitioner offers: the owners of a key, and a new partitioner
after a node joins or leaves.

A partitioner is an immutable value. ``owners(key)`` is a deterministic
function of the key and the partitioner's layout (its live nodes, ring,
ranges or table): the primary first, then the other replicas, all distinct.
``join`` and ``leave`` return a new partitioner and leave the old one
unchanged, so a before/after pair can be compared key by key.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Union

Node = Union[int, str]


class Partitioner(ABC):
    """Maps keys to the live nodes that own them."""

    scheme: str = "partitioner"
    nodes: tuple[Node, ...] = ()
    replicas: int = 1

    @abstractmethod
    def owners(self, key: Any) -> tuple[Node, ...]:
        """The nodes that hold ``key``: primary first, ``replicas`` distinct nodes."""

    def owner(self, key: Any) -> Node:
        """The primary owner of ``key``."""
        found = self.owners(key)
        if not found:
            raise KeyError(f"key {key!r} has no owner")
        return found[0]

    @abstractmethod
    def join(self, node: Node) -> "Partitioner":
        """The partitioner after ``node`` joins (with the scheme's own rebalancing)."""

    @abstractmethod
    def leave(self, node: Node) -> "Partitioner":
        """The partitioner after ``node`` leaves (its keys handed to others)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nodes={list(self.nodes)}, replicas={self.replicas})"


def sorted_nodes(nodes: Any) -> tuple[Node, ...]:
    """``nodes`` as a sorted tuple; ValueError for duplicates or an empty set."""
    listed = list(nodes)
    unique = sorted(set(listed))
    if len(unique) != len(listed):
        raise ValueError("a node is listed twice")
    if not unique:
        raise ValueError("a partitioner needs at least one node")
    return tuple(unique)


def check_replicas(replicas: int, nodes: tuple[Node, ...]) -> None:
    """ValueError unless 1 <= replicas <= number of nodes."""
    if replicas < 1:
        raise ValueError("replicas must be at least 1")
    if replicas > len(nodes):
        raise ValueError(f"replicas={replicas} needs at least {replicas} nodes, have {len(nodes)}")


def check_join(node: Node, nodes: tuple[Node, ...]) -> None:
    if node in nodes:
        raise ValueError(f"node {node!r} is already a member")


def check_leave(node: Node, nodes: tuple[Node, ...]) -> None:
    if node not in nodes:
        raise ValueError(f"node {node!r} is not a member")
