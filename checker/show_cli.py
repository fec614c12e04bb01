"""``splitbrain show TRACE.json``: draw a trace as a message sequence chart (or a table of changes).

The trace is replayed on its model to get every state. Formats: ``text``
(default, to stdout), ``html`` (one self-contained page: click a step to see
every node's state there), ``svg`` (standalone) and ``dot`` (Graphviz source).
Exit 0 when drawn; 2, with one line, for a missing or malformed trace, an
unknown format, or a trace the model no longer follows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from splitbrain.models.registry import UsageError

FORMATS = ("text", "html", "svg", "dot")
SUFFIXES = {".html": "html", ".htm": "html", ".svg": "svg", ".dot": "dot", ".gv": "dot", ".txt": "text"}


def register(sub: Any) -> None:
    """Add ``show`` to the command line."""
    p = sub.add_parser(
        "show", help="draw a trace: a message sequence chart for actor models, a table of changes otherwise",
        description="Replay a trace file and draw it. Actor models: one lifeline per node, an arrow per message "
                    "from its send to its delivery, faults on the lifelines, the violated property at the end. "
                    "Other models: a table of the variables each step changed. The HTML page shows every "
                    "state on a click.",
    )
    p.add_argument("file", help="a trace file written by check or simulate")
    p.add_argument("--format", "-f", choices=FORMATS, default=None,
                   help="text (default), html (self-contained page), svg (standalone) or dot (Graphviz); "
                        "default: from the -o suffix (.html, .svg, .dot, .gv), else text")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("--model", metavar="MODEL",
                   help="the model to replay on: a name, path/to/file.py:Class or package.module:Class "
                        "(default: the trace's model name, looked up in the registry and the project config)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Replay, draw, write; returns the exit code."""
    from splitbrain.traces.chart import build_chart, render_dot, render_text
    from splitbrain.traces.chart_html import render_html, render_svg
    from splitbrain.traces.format import TraceError, load
    from splitbrain.traces.replay import Divergence, model_for

    fmt = args.format or (SUFFIXES.get(Path(args.output).suffix.lower(), "text") if args.output else "text")
    try:
        trace = load(args.file)
        chart = build_chart(trace, model_for(trace, args.model))
    except TraceError as exc:
        raise UsageError(str(exc)) from None
    except Divergence as exc:
        raise UsageError(f"{args.file}: the model does not follow the trace: {exc}") from None
    text = {"text": render_text, "html": render_html, "svg": render_svg, "dot": render_dot}[fmt](chart)
    if not args.output:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return 0
    try:
        Path(args.output).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    print(f"wrote {args.output} ({fmt}, {len(chart.steps)} steps"
          + (f", {len(chart.nodes)} lifelines, {len(chart.delivered())} delivered messages)" if chart.is_actor else ")"))
    return 0
