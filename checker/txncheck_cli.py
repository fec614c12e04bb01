"""``splitbrain txncheck FILE --consistency MODEL``: judge a transaction history, Elle's way.

Exit code 0 when the history satisfies the consistency model, 1 when it shows
an anomaly the model prohibits (the smallest cycle found is printed: each
transaction and why each edge holds), 2 when the file cannot be read or is
malformed (one line naming the file, the line and what was expected).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from splitbrain.models.registry import UsageError
from splitbrain.properties.consistency.history import HistoryError
from splitbrain.properties.consistency.transactions import (
    CONSISTENCY_MODELS,
    check_transactions,
    located,
    read_txn_history,
)


def register(sub: Any) -> None:
    """Add ``txncheck`` to the command line."""
    p = sub.add_parser(
        "txncheck", help="check a Jepsen transaction history (list-append or rw-register) for isolation anomalies",
        description="Infer ww/wr/rw, process and real-time dependencies between the transactions of a Jepsen "
                    "history (:f :txn, list-append or rw-register), find the anomalies (G0, G1a, G1b, G1c, "
                    "G-single, G-nonadjacent, G2-item, internal, and the -process / -realtime cycles) and judge "
                    "them against a consistency model. Exit 0: satisfied; 1: a prohibited anomaly (the "
                    "smallest cycle found is printed); 2: unreadable or malformed file.",
    )
    p.add_argument("file", help="the history file (EDN: a vector, a list or a sequence of event maps)")
    p.add_argument("--consistency", choices=CONSISTENCY_MODELS, default="serializable", metavar="MODEL",
                   help=f"the consistency model (default: serializable; one of {', '.join(CONSISTENCY_MODELS)})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read, check and report; returns the exit code."""
    history = read_txn_history(args.file)
    start = time.perf_counter()
    try:
        verdict = check_transactions(history, args.consistency)
    except HistoryError as exc:  # values that are not distinct, reads of the wrong shape
        raise UsageError(located(args.file, exc)) from None
    seconds = time.perf_counter() - start
    head = (f"({history.workload}, {len(history)} transactions"
            + (f", {history.nemesis} nemesis events not checked" if history.nemesis else "")
            + f", {seconds:.3f} s)")
    unfinished = verdict.details.get("unfinished_searches")
    if args.json:
        print(json.dumps({"file": str(args.file), "workload": history.workload, "transactions": len(history),
                          "nemesis_events": history.nemesis, "seconds": round(seconds, 6), **verdict.to_json()}))
    elif verdict.ok:
        print(f"{args.file}: {args.consistency} {head}")
        allowed = [name for name in verdict.anomalies]
        if allowed:
            print(f"anomalies found, all allowed by {args.consistency}: {', '.join(allowed)}")
    else:
        print(f"{args.file}: NOT {args.consistency} {head}")
        print(verdict.explanation)
    if unfinished and not args.json:
        print(f"(the search for an example of {unfinished} stopped at its budget: the verdict is exact, "
              "the list of anomalies may be incomplete)")
    return 0 if verdict.ok else 1
