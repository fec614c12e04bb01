"""Measurements of the partitioning schemes, beside what theory predicts.

For ``n`` nodes and a set of keys, each scheme is measured on its starting
layout (``splitbrain.models.partitioning.make``):

- load: the most keys any node holds as primary, over the mean ``keys / n``;
- moved on join: the fraction of keys whose owner changes when node ``n``
  joins; moved on leave: the same when the last node leaves;
- stray moves: keys that moved although minimal disruption forbids it (on the
  join, to a node other than the new one; on the leave, from a node other
  than the leaving one);
- lookup time: wall-clock microseconds per ``owners(key)`` call.

Theory for the moved fractions: a consistent scheme (ring, rendezvous, jump,
and a directory that hands the new node its fair share) moves 1/(n+1) of the
keys on a join and 1/n on a leave; modulo-N keeps a key only when its hash
gives the same index modulo n and n+1, so it moves n/(n+1) on a join and
(n-1)/n on a leave; range (and composite, within a group) splits the widest of
n equal ranges for the new node, moving 1/(2n), and merges the leaving node's
range into a neighbour, moving 1/n. Range and composite keys are ordered:
integers 0..keys-1 for range; for composite the pairs (i div 100, i mod 100),
1000 prefixes of 100 ordered suffixes for 100k keys.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Sequence

from splitbrain.models.partitioning import SCHEMES, Partitioner, make

COMPOSITE_SUFFIXES = 100
DIRECTORY_SHARDS = 1024


@dataclass
class Row:
    """The figures of one scheme at one cluster size."""

    scheme: str
    vnodes: int | None
    nodes: int
    keys: int
    max_over_mean: float
    moved_join: float
    moved_leave: float
    theory_join: float
    theory_leave: float
    stray_moves: int
    lookup_us: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def keys_for(scheme: str, count: int) -> list[Any]:
    """The ``count`` keys a scheme is measured on."""
    if scheme == "composite":
        return [(i // COMPOSITE_SUFFIXES, i % COMPOSITE_SUFFIXES) for i in range(count)]
    return list(range(count))


def build(scheme: str, n: int, key_count: int, vnodes: int = 16) -> Partitioner:
    """The starting partitioner of ``scheme`` on nodes ``0..n-1``."""
    space = COMPOSITE_SUFFIXES if scheme == "composite" else key_count
    return make(scheme, range(n), vnodes=vnodes, space=space, shards=DIRECTORY_SHARDS)


def theory(scheme: str, n: int) -> tuple[float, float]:
    """The expected fraction of keys moved on a join and on a leave at ``n`` nodes."""
    if scheme == "modulo":
        return n / (n + 1), (n - 1) / n
    if scheme in ("range", "composite"):
        return 1 / (2 * n), 1 / n
    if scheme == "directory":
        return (DIRECTORY_SHARDS // (n + 1)) / DIRECTORY_SHARDS, 1 / n
    return 1 / (n + 1), 1 / n


def measure(scheme: str, n: int, key_count: int, vnodes: int = 16) -> Row:
    """Load, moved fractions, stray moves and lookup time of ``scheme`` at ``n`` nodes."""
    if n < 2:
        raise ValueError("measuring a leave needs at least 2 nodes")
    keys = keys_for(scheme, key_count)
    part = build(scheme, n, key_count, vnodes)
    start = time.perf_counter()
    before = [part.owners(k) for k in keys]
    lookup_us = (time.perf_counter() - start) / len(keys) * 1e6
    joined = part.join(n)
    left = part.leave(n - 1)
    after_join = [joined.owners(k) for k in keys]
    after_leave = [left.owners(k) for k in keys]

    load: dict[Any, int] = {node: 0 for node in part.nodes}
    for owners in before:
        load[owners[0]] += 1
    moved_join = moved_leave = stray = 0
    for a, j, l in zip(before, after_join, after_leave):
        if a != j:
            moved_join += 1
            stray += j[0] != n
        if a != l:
            moved_leave += 1
            stray += a[0] != n - 1
    theory_join, theory_leave = theory(scheme, n)
    return Row(
        scheme=scheme, vnodes=vnodes if scheme == "ring" else None, nodes=n, keys=key_count,
        max_over_mean=max(load.values()) / (len(keys) / n),
        moved_join=moved_join / len(keys), moved_leave=moved_leave / len(keys),
        theory_join=theory_join, theory_leave=theory_leave, stray_moves=stray, lookup_us=lookup_us,
    )


def table(
    node_counts: Sequence[int] = (4, 16, 64),
    key_count: int = 100_000,
    vnode_counts: Sequence[int] = (1, 16, 256),
    schemes: Iterable[str] = SCHEMES,
) -> list[Row]:
    """One row per scheme (per vnode count for the ring) and cluster size."""
    chosen = list(schemes)
    rows = []
    for n in node_counts:
        for scheme in chosen:
            for v in (vnode_counts if scheme == "ring" else (16,)):
                rows.append(measure(scheme, n, key_count, v))
    return rows


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a text table, measured figures beside the theory."""
    head = (f"{'scheme':<11} {'vnodes':>6} {'n':>3} {'max/mean':>8}  {'moved on join':>15} {'(theory)':>8}  "
            f"{'moved on leave':>15} {'(theory)':>8}  {'stray':>5} {'lookup µs/key':>13}")
    lines = [head, "-" * len(head)]
    last_n = None
    for r in rows:
        if last_n is not None and r.nodes != last_n:
            lines.append("")
        last_n = r.nodes
        v = "-" if r.vnodes is None else str(r.vnodes)
        lines.append(
            f"{r.scheme:<11} {v:>6} {r.nodes:>3} {r.max_over_mean:>8.3f}  {r.moved_join:>15.4f} {r.theory_join:>8.4f}  "
            f"{r.moved_leave:>15.4f} {r.theory_leave:>8.4f}  {r.stray_moves:>5} {r.lookup_us:>13.2f}"
        )
    return "\n".join(lines)


def worst_deviation(rows: Sequence[Row],
                    schemes: Iterable[str] = ("modulo", "rendezvous", "jump", "directory")) -> float:
    """The largest |measured - theory| / theory of the moved fractions among ``schemes``
    (those whose moved fraction concentrates around its expectation)."""
    chosen = set(schemes)
    worst = 0.0
    for r in rows:
        if r.scheme in chosen:
            worst = max(worst, abs(r.moved_join - r.theory_join) / r.theory_join,
                        abs(r.moved_leave - r.theory_leave) / r.theory_leave)
    return worst


def bench(key_count: int = 20_000) -> dict[str, Any]:
    """A smaller run of the full table, summarised for ``splitbrain bench``."""
    start = time.perf_counter()
    rows = table(key_count=key_count)
    seconds = time.perf_counter() - start
    by = {(r.scheme, r.vnodes, r.nodes): r for r in rows}
    return {
        "rows": len(rows),
        "seconds": seconds,
        "worst_moved_vs_theory": round(worst_deviation(rows), 4),
        "stray_moves_consistent": sum(r.stray_moves for r in rows if r.scheme != "modulo"),
        "lookup_us_n64": {name: round(by[(s, v, 64)].lookup_us, 2) for name, s, v in
                          (("ring256", "ring", 256), ("rendezvous", "rendezvous", None), ("jump", "jump", None))},
    }
