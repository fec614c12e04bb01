"""Properties of data partitioners, as predicates over partitioners and layouts.

Each ``*_problem`` function returns None when its property holds, or one line
naming the first key (or range) that breaks it, so that a checker, a test or a
trace step can say exactly what went wrong.

- :func:`owner_problem`: every key has exactly ``r`` distinct owners, all live.
- :func:`determinism_problem`: partitioners built independently from the same
  layout (and from the same membership listed in another order) agree.
- :func:`disruption_problem`: minimal disruption. After a join, a key gains no
  owner but the new node (and its primary changes only to the new node); after
  a leave, a key loses no owner but the leaving node. With the membership
  unchanged (an explicit split, merge or move), the keys that move all come
  from one partition of the old layout and all go to one node.
- :func:`coverage_problem`: ranges cover ``[0, space)`` with no gap or overlap.
- :func:`range_query_problem`: a range query visits a contiguous run of
  partitions, and the partitioner's ``query`` names exactly that run.

``consistent`` schemes (ring, rendezvous, jump) satisfy minimal disruption;
modulo-N hashing does not, and :func:`moves` shows the keys that move.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from splitbrain.models.partitioning.base import Partitioner

Move = tuple[Any, tuple, tuple]  # (key, owners before, owners after)


def owner_problem(part: Partitioner, keys: Iterable[Any], replicas: int | None = None) -> str | None:
    """Every key has exactly ``replicas`` (default: the partitioner's) distinct live owners."""
    r = part.replicas if replicas is None else replicas
    live = set(part.nodes)
    for key in keys:
        owners = part.owners(key)
        if len(owners) != r:
            return f"key {key!r} has {len(owners)} owners {list(owners)}, expected {r}"
        if len(set(owners)) != r:
            return f"key {key!r} has repeated owners {list(owners)}"
        for node in owners:
            if node not in live:
                return f"key {key!r} is owned by {node!r}, which is not a live member"
    return None


def determinism_problem(builds: Sequence[Callable[[], Partitioner]], keys: Iterable[Any]) -> str | None:
    """Partitioners from ``builds`` (each a fresh construction of the same layout) agree on every key."""
    parts = [b() for b in builds]
    for key in keys:
        first = parts[0].owners(key)
        for other in parts[1:]:
            again = other.owners(key)
            if again != first:
                return f"key {key!r}: owners {list(first)} from one construction, {list(again)} from another"
    return None


def moves(before: Partitioner, after: Partitioner, keys: Iterable[Any]) -> list[Move]:
    """The keys whose owners (as a list: primary first) differ between ``before`` and ``after``."""
    out = []
    for key in keys:
        a, b = before.owners(key), after.owners(key)
        if a != b:
            out.append((key, a, b))
    return out


def disruption_problem(before: Partitioner, after: Partitioner, keys: Iterable[Any]) -> str | None:
    """Minimal disruption of the change from ``before`` to ``after`` (see the module docstring)."""
    joined = set(after.nodes) - set(before.nodes)
    left = set(before.nodes) - set(after.nodes)
    moved = moves(before, after, keys)
    if joined or left:
        for key, a, b in moved:
            gains = set(b) - set(a)
            losses = set(a) - set(b)
            ok_join = gains <= joined and (a[:1] == b[:1] or b[0] in joined)
            ok_leave = losses <= left and (a[:1] == b[:1] or a[0] in left)
            if not ((joined and ok_join) or (left and ok_leave)):
                change = _change(joined, left)
                return f"{change}, yet key {key!r} moves from {_names(a)} to {_names(b)}"
        return None
    if not moved:
        return None
    partition_of = getattr(before, "partition_of", None)
    if partition_of is None:
        key, a, b = moved[0]
        return f"the membership is unchanged, yet key {key!r} moves from {_names(a)} to {_names(b)}"
    sources = {partition_of(k) for k, _, _ in moved}
    targets = {b for _, _, b in moved}
    if len(sources) > 1:
        return f"one step moved keys out of {len(sources)} partitions: {sorted(map(str, sources))}"
    if len(targets) > 1:
        return f"one step moved keys to {len(targets)} different owners: {sorted(_names(t) for t in targets)}"
    return None


def coverage_problem(parts: Iterable[tuple[int, int, Any]], space: int) -> str | None:
    """The ranges ``(lo, hi, owner)`` cover ``[0, space)`` exactly once, none empty."""
    expected = 0
    for lo, hi, _ in sorted(parts, key=lambda p: (p[0], p[1])):
        if lo >= hi:
            return f"range [{lo}, {hi}) is empty"
        if lo > expected:
            return f"gap: keys [{expected}, {lo}) lie in no range"
        if lo < expected:
            return f"overlap: keys [{lo}, {min(expected, hi)}) lie in two ranges"
        expected = hi
    if expected < space:
        return f"gap: keys [{expected}, {space}) lie in no range"
    if expected > space:
        return f"keys [{space}, {expected}) lie outside the key space [0, {space})"
    return None


def touched(parts: Sequence[tuple[int, int, Any]], lo: int, hi: int) -> list[int]:
    """Indices of the ranges (in key order) that hold some key ``lo <= k < hi``."""
    return [i for i, (a, b, _) in enumerate(parts) if a < hi and b > lo]


def range_query_problem(part: Any, queries: Iterable[tuple[int, int]]) -> str | None:
    """Each query ``[lo, hi)`` visits a contiguous run of ranges, the run ``part.query`` names."""
    parts = part.parts
    for lo, hi in queries:
        hit = touched(parts, lo, hi)
        if hit and hit != list(range(hit[0], hit[-1] + 1)):
            return f"query [{lo}, {hi}) touches the non-contiguous ranges {hit}"
        visited = list(part.query(lo, hi))
        if visited != hit:
            return f"query [{lo}, {hi}) visits ranges {visited}, but its keys lie in ranges {hit}"
    return None


def all_queries(space: int) -> list[tuple[int, int]]:
    """Every non-empty query ``[lo, hi)`` over ``[0, space)``."""
    return [(lo, hi) for lo in range(space) for hi in range(lo + 1, space + 1)]


def _names(owners: Any) -> str:
    return "+".join(map(str, owners)) if owners else "nobody"


def _change(joined: set, left: set) -> str:
    parts = []
    if joined:
        parts.append(f"{_names(sorted(joined, key=str))} joined")
    if left:
        parts.append(f"{_names(sorted(left, key=str))} left")
    return " and ".join(parts)
