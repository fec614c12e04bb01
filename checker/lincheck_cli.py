"""``splitbrain lincheck FILE``: judge a recorded history.

Exit code 0 when the history satisfies the consistency model, 1 when it does
not (the explanation is printed), 2 when the file cannot be read or is
malformed (one line naming the file, the line and the problem), or when the
model cannot judge the history (a weaker model that needs distinct written
values, or a search that gave up). ``--list-models`` (or ``--model help``)
lists the models, knossos's datatypes, with the operations each accepts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from splitbrain.models.registry import UsageError
from splitbrain.properties.consistency import MODELS, check
from splitbrain.properties.consistency.datatypes import ALIASES, DATATYPES, get_datatype
from splitbrain.properties.consistency.linearizability import LINEARIZABLE
from splitbrain.properties.consistency.readers import FORMATS, read_history
from splitbrain.properties.consistency.weaker import SearchLimit


def register(sub: Any) -> None:
    """Add ``lincheck`` to the command line."""
    p = sub.add_parser(
        "lincheck", help="check a recorded client history (Porcupine or Jepsen) for linearizability and more",
        description="Check a recorded history of client operations against a consistency model. "
                    "Exit 0: satisfied; 1: violated (with an explanation); 2: unreadable or malformed file, "
                    "or a history the model cannot judge.",
    )
    p.add_argument("file", nargs="?", help="the history file")
    p.add_argument("--model", choices=[*DATATYPES, *ALIASES, "help"], metavar="MODEL",
                   help="the object the clients operated on (default: from the format and the operations); "
                        "--model help or --list-models lists the models with their operations")
    p.add_argument("--list-models", action="store_true",
                   help="list the models (knossos's datatypes) with the operations each accepts, and exit")
    p.add_argument("--format", choices=FORMATS, help="the file format (default: detected from the content)")
    p.add_argument("--consistency", choices=MODELS, default=LINEARIZABLE,
                   help=f"the consistency model (default: {LINEARIZABLE})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--html", metavar="OUT", help="also write a timeline of the operations per client as one "
                   "self-contained HTML page (the longest linearizable prefix and the operations that cannot "
                   "be placed marked)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read, check and report; returns the exit code."""
    if args.list_models or args.model == "help":
        print(models_listing())
        return 0
    if args.file is None:
        raise UsageError("lincheck needs a history FILE (or --list-models)")
    datatype = get_datatype(args.model) if args.model else None
    history, datatype, fmt = read_history(args.file, args.format, datatype)
    start = time.perf_counter()
    try:
        verdict = check(history, datatype, args.consistency)
    except ValueError as exc:  # the history does not suit the model (e.g. repeated written values)
        raise UsageError(f"{args.file}: {exc}") from None
    except SearchLimit as exc:
        raise UsageError(f"{args.file}: undecided whether it is {args.consistency}: the search {exc}") from None
    seconds = time.perf_counter() - start
    if args.html:
        write_timeline(args.html, history, verdict, f"{args.file} ({fmt})", datatype.name)
    if args.json:
        out = {"file": str(args.file), "format": fmt, "model": datatype.name, "nemesis_events": len(history.nemesis),
               "operations": len(history), "seconds": round(seconds, 6), **verdict.to_json()}
        print(json.dumps(out))
    elif verdict.ok:
        print(f"{args.file}: {args.consistency} ({datatype.name}, {len(history)} operations, "
              f"{fmt}, {seconds:.3f} s)")
    else:
        print(f"{args.file}: NOT {args.consistency} ({datatype.name}, {len(history)} operations, "
              f"{fmt}, {seconds:.3f} s)")
        print(verdict.explanation)
    if history.nemesis and not args.json:
        print(f"{len(history.nemesis)} events of non-client processes (nemesis) were read and not checked")
    return 0 if verdict.ok else 1


def write_timeline(out: str, history: Any, verdict: Any, title: str, datatype: str) -> None:
    """``--html OUT``: the timeline page (traces/timeline.py), and a line on stderr saying where it went."""
    from splitbrain.traces.timeline import render_timeline

    try:
        Path(out).write_text(render_timeline(history, verdict, title=title, datatype=datatype), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{out}: cannot write: {exc.strerror or exc}") from None
    print(f"timeline written to {out}", file=sys.stderr)


def models_listing() -> str:
    """One paragraph per model: its name (and knossos aliases), what it is, the operations it accepts."""
    lines = []
    for name, datatype in DATATYPES.items():
        aliases = [a for a, target in ALIASES.items() if target == name]
        title = name + (f" (also {', '.join(aliases)})" if aliases else "")
        ops = ", ".join(f":{f} ({kind})" for f, kind in datatype.functions.items())
        keyed = "; operations carry :key (each key an independent object)" if datatype.keyed else ""
        lines.append(f"{title}\n    {datatype.summary}\n    operations: {ops}{keyed}")
    return "\n".join(lines)
