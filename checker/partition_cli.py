"""``splitbrain partition``: the partitioning schemes measured beside theory.

Prints, for each cluster size, each scheme's load (max/mean), the fraction of
keys moved when a node joins and when one leaves (with the theoretical
fraction beside each), the moves minimal disruption forbids, and the lookup
time per key. See ``splitbrain.models.partitioning.measure``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from splitbrain.models.registry import UsageError


def register(sub: Any) -> None:
    """Add ``partition`` to the command line."""
    p = sub.add_parser("partition", help="measure the partitioning schemes: load, keys moved, lookup time")
    p.add_argument("--keys", type=int, default=100_000, metavar="K", help="keys to place (default 100000)")
    p.add_argument("--nodes", default="4,16,64", metavar="N,N,...", help="cluster sizes (default 4,16,64)")
    p.add_argument("--vnodes", default="1,16,256", metavar="V,V,...",
                   help="ring tokens per node, one row each (default 1,16,256)")
    p.add_argument("--scheme", action="append", metavar="NAME",
                   help="measure only this scheme (repeatable; default: all)")
    p.add_argument("--json", action="store_true", help="print one JSON object per row")
    p.set_defaults(func=run)


def _counts(text: str, option: str, least: int) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected comma-separated integers") from None
    if not values or min(values) < least:
        raise UsageError(f"{option} {text!r}: expected integers of at least {least}")
    return values


def run(args: argparse.Namespace) -> int:
    from splitbrain.models.partitioning import SCHEMES
    from splitbrain.models.partitioning.measure import format_table, table

    nodes = _counts(args.nodes, "--nodes", 2)
    vnodes = _counts(args.vnodes, "--vnodes", 1)
    schemes = args.scheme or list(SCHEMES)
    unknown = [s for s in schemes if s not in SCHEMES]
    if unknown:
        raise UsageError(f"unknown scheme {unknown[0]!r} (schemes: {', '.join(SCHEMES)})")
    if args.keys < 2 * max(nodes) + 2:
        raise UsageError(f"--keys {args.keys}: need at least {2 * max(nodes) + 2} keys for {max(nodes)} nodes")
    if not args.json and sys.stderr.isatty():
        print(f"  measuring {len(schemes)} schemes at n = {args.nodes} with {args.keys:,} keys ...",
              file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        rows = table(nodes, args.keys, vnodes, schemes)
    except ValueError as exc:  # a size a scheme cannot take
        raise UsageError(str(exc)) from None
    if args.json:
        for row in rows:
            print(json.dumps(row.to_json()))
        return 0
    print(f"{args.keys:,} keys; each moved fraction is followed by its theoretical value; "
          f"stray = moves minimal disruption forbids\n")
    print(format_table(rows))
    print(f"\nmeasured in {time.perf_counter() - start:.1f} s")
    return 0
