"""``splitbrain study NAME``: regenerate a measured study's table (text or JSON) and its SVG chart.

The simulations live in ``splitbrain.models.service.studies``; this module
only runs them and renders their figures.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from splitbrain.models.registry import UsageError

STUDY_HELP = """studies:
  backoff     N clients on one optimistic-concurrency row (read the version, write
              conditionally, retry on conflict), N = 10..150, backoff none, exponential,
              equal, full and decorrelated jitter, with the parameters of the AWS study
              "Exponential Backoff And Jitter" (base 5 ms, cap 2000 ms, network delay
              normal(10, 2) ms per call): mean total calls and completion time
  metastable  a queued server, clients with timeouts and retries, a load spike: without
              a retry budget it stays overloaded after the spike, with one it recovers;
              offered load, goodput and queue length per time bucket

--plot writes an SVG chart (only .svg is supported; .png is refused).
exit codes: 0 done, 2 a usage error (one line on stderr)"""

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")


def register(sub: Any) -> None:
    """Add ``study`` to the command line."""
    p = sub.add_parser("study", help="regenerate a measured study (backoff, metastable): tables and an SVG plot",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=STUDY_HELP)
    p.add_argument("name", metavar="NAME", help="backoff or metastable")
    p.add_argument("--json", action="store_true", help="print the tables as JSON")
    p.add_argument("--plot", metavar="FILE.svg", help="write the study's chart as SVG (only .svg is supported)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from splitbrain.models.service import studies

    if args.name not in studies.STUDIES:
        raise UsageError(f"unknown study {args.name!r} (one of {', '.join(studies.STUDIES)})")
    if args.plot is not None and not args.plot.lower().endswith(".svg"):
        raise UsageError(f"--plot {args.plot}: only .svg is supported")
    if args.seed < 0:
        raise UsageError("--seed must be >= 0")
    if args.name == "backoff":
        rows = studies.backoff_study(seed=args.seed)
        data: Any = [asdict(r) for r in rows]
        lines = backoff_table(rows)
        chart = backoff_chart(rows) if args.plot else ""
    else:
        variants = studies.metastable_study(seed=args.seed)
        data = {name: [asdict(r) for r in rows] for name, rows in variants.items()}
        lines = metastable_table(variants)
        chart = metastable_chart(variants, studies.StormConfig()) if args.plot else ""
    if args.plot:
        try:
            Path(args.plot).write_text(chart)
        except OSError as exc:
            raise UsageError(f"--plot {args.plot}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps({"study": args.name, "seed": args.seed, "rows": data}))
    else:
        print("\n".join(lines))
        if args.plot:
            print(f"wrote {args.plot}")
    return 0


# -- tables ---------------------------------------------------------------------------
def backoff_table(rows: list[Any]) -> list[str]:
    """One line per (policy, clients): mean calls and completion time."""
    reps = rows[0].repetitions if rows else 0
    lines = [f"backoff: means over {reps} seeded runs each (base 5 ms, cap 2000 ms, delay normal(10, 2) ms)",
             f"{'policy':<13} {'clients':>7} {'calls':>10} {'completion ms':>14}"]
    for r in rows:
        lines.append(f"{r.policy:<13} {r.clients:>7} {r.calls:>10.1f} {r.completion_ms:>14.1f}")
    return lines


def metastable_table(variants: dict[str, list[Any]]) -> list[str]:
    """Per time bucket, for each variant: offered load, goodput (per tick) and queue length."""
    names = list(variants)
    head = f"{'ticks':>9}" + "".join(f" | {n + ': offered':>20} {'goodput':>8} {'queue':>6}" for n in names)
    lines = ["metastable: offered load and goodput in requests per tick, queue length at the bucket's end", head]
    for i, first in enumerate(variants[names[0]]):
        cells = f"{f'{first.start}-{first.end}':>9}"
        for n in names:
            r = variants[n][i]
            cells += f" | {r.offered:>20.1f} {r.goodput:>8.1f} {r.queue:>6}"
        lines.append(cells)
    return lines


# -- charts ---------------------------------------------------------------------------
def backoff_chart(rows: list[Any]) -> str:
    """Total calls against clients, one line per policy."""
    series: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        series.setdefault(r.policy, []).append((r.clients, r.calls))
    return svg_chart("Backoff and jitter: mean total calls", "clients", "calls", series)


def metastable_chart(variants: dict[str, list[Any]], config: Any) -> str:
    """Goodput and offered load over time (bucket midpoints), for each variant; the spike shaded."""
    series: dict[str, list[tuple[float, float]]] = {}
    for name, rows in variants.items():
        series[f"offered load, {name}"] = [((r.start + r.end) / 2, r.offered) for r in rows]
        series[f"goodput, {name}"] = [((r.start + r.end) / 2, r.goodput) for r in rows]
    return svg_chart("Metastable retry storm", "tick", "requests per tick", series,
                     band=(config.spike_start, config.spike_end, "load spike"))


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [low, high]."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def svg_chart(title: str, x_label: str, y_label: str, series: dict[str, list[tuple[float, float]]],
              width: int = 720, height: int = 440, band: tuple[float, float, str] | None = None) -> str:
    """A line chart as SVG text: axes with ticks, one polyline per series, a legend.

    ``band`` = (from x, to x, label) shades that stretch of the x axis.
    """
    left, right, top, bottom = 70, 230, 40, 50
    xs = [x for pts in series.values() for x, _ in pts] or [0.0]
    ys = [y for pts in series.values() for _, y in pts] or [0.0]
    x_ticks = nice_ticks(min(xs), max(xs))
    y_ticks = nice_ticks(min(0.0, min(ys)), max(ys))
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return top + plot_h - (y - y0) / (y1 - y0) * plot_h

    def label(v: float) -> str:
        return f"{v:g}"

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left + plot_w / 2:.1f}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>']
    if band is not None:
        b0, b1 = px(max(x0, band[0])), px(min(x1, band[1]))
        out.append(f'<rect x="{b0:.1f}" y="{top}" width="{b1 - b0:.1f}" height="{plot_h}" fill="#f2f2f2"/>')
        out.append(f'<text x="{(b0 + b1) / 2:.1f}" y="{top + 14}" text-anchor="middle" fill="#666">'
                   f'{escape(band[2])}</text>')
    for t in x_ticks:
        x = px(t)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#e5e5e5"/>')
        out.append(f'<line x1="{x:.1f}" y1="{top + plot_h}" x2="{x:.1f}" y2="{top + plot_h + 5}" stroke="black"/>')
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{label(t)}</text>')
    for t in y_ticks:
        y = py(t)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<line x1="{left - 5}" y1="{y:.1f}" x2="{left}" y2="{y:.1f}" stroke="black"/>')
        out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{label(t)}</text>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="black"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 12}" text-anchor="middle">{escape(x_label)}</text>')
    out.append(f'<text x="16" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 16 {top + plot_h / 2:.1f})">{escape(y_label)}</text>')
    for i, (name, pts) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="6 3"' if i >= len(PALETTE) else ""
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2"{dash} points="{points}">'
                   f'<title>{escape(name)}</title></polyline>')
        ly = top + 10 + 20 * i
        lx = left + plot_w + 15
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 24}" y2="{ly}" stroke="{color}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{lx + 30}" y="{ly + 4}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
