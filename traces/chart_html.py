"""A chart (``splitbrain.traces.chart``) drawn as a standalone SVG, or as one self-contained HTML page.

The SVG of an actor trace is a message sequence chart: time runs down, one
row per step; one lifeline per node; an arrow per message copy from the row
that sent it to the row that delivered it (dropped and lost copies end in a
cross, duplicated copies are purple, copies still in flight run off the
bottom); partitions are shaded bands with their groups coloured on the
lifelines; crashes, restarts, timers and clock jumps are marks on the
lifelines; the violated property closes the chart. Other models get a table
of the variables each step changed.

The HTML page holds the SVG (or the table) and, for every step, a panel with
every node's state there and the change from the step before; a click on a
step (or the arrow keys) shows its panel. Everything is inline: the page
fetches nothing.
"""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any

from splitbrain.traces.chart import DELIVERED, DROPPED, IN_FLIGHT, LOST, Chart, crashed_spans, short

ROW = 28          # height of a step's row
COL = 150         # width of a node's column
GUTTER = 44       # step numbers
PAD = 60          # room left of the first lifeline for its labels
TOP = 52          # node heads
TEXT_WIDTH = 700  # the column of step descriptions
GROUP_COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280")

SVG_STYLE = """
.step-row { fill: transparent; cursor: pointer; }
.step-row.odd { fill: #f7f7f9; }
.step-row:hover, .step-row.selected { fill: #fff3c4; }
text { font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 11px; fill: #222; }
.step-num, .step-text, .band, .head, .lifeline, .down, .down-dash, .outcome { pointer-events: none; }
.step-num { fill: #777; text-anchor: end; }
.step-text { fill: #333; }
.head rect { fill: #edf2f7; stroke: #4a5568; }
.head text { font-weight: 600; font-size: 13px; text-anchor: middle; }
.lifeline { stroke: #4a5568; stroke-width: 1.5; }
.down { stroke: #fff; stroke-width: 5; }
.down-dash { stroke: #a0aec0; stroke-width: 1.5; stroke-dasharray: 2 4; }
.band rect { fill: #f6ad55; fill-opacity: 0.16; stroke: #dd6b20; stroke-dasharray: 6 3; }
.band text { fill: #9c4221; font-weight: 600; }
.group { stroke-width: 5; stroke-opacity: 0.55; }
.arrow line, .arrow path { stroke: #2c5282; stroke-width: 1.4; fill: none; }
.arrow text { font-size: 10px; fill: #2c5282; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.arrow.duplicate line, .arrow.duplicate path, .arrow.redelivery line { stroke: #805ad5; stroke-dasharray: 5 2; }
.arrow.duplicate text, .arrow.redelivery text { fill: #6b46c1; }
.arrow.byzantine line { stroke: #c53030; stroke-dasharray: 4 2; }
.arrow.dropped line, .arrow.lost line { stroke: #c53030; stroke-dasharray: 3 3; }
.arrow.dropped text, .arrow.lost text { fill: #c53030; }
.arrow .cross { stroke: #c53030; stroke-width: 2.2; stroke-dasharray: none; }
.arrow.inflight line { stroke: #a0aec0; stroke-dasharray: 2 3; }
.arrow.inflight text { fill: #718096; }
.event text { font-size: 10px; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.event.timeout circle { fill: #fff; stroke: #2d3748; stroke-width: 1.3; }
.event.crash line { stroke: #c53030; stroke-width: 2.5; }
.event.crash text { fill: #c53030; font-weight: 600; }
.event.restart path { fill: #2f855a; }
.event.restart text { fill: #2f855a; font-weight: 600; }
.event.clock_jump rect, .event.tick rect, .event.reorder rect { fill: #dd6b20; }
.event.clock_jump text { fill: #9c4221; font-weight: 600; }
.cycle path { fill: none; stroke: #2c5282; stroke-width: 1.5; }
.outcome text { fill: #c53030; font-weight: 700; font-size: 12px; }
.outcome line { stroke: #c53030; stroke-width: 2; }
.table-head { font-weight: 600; }
"""

PAGE_STYLE = """
body { margin: 0; font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #222; }
header { padding: 10px 16px; border-bottom: 1px solid #ddd; background: #fafafa; }
header h1 { font-size: 17px; margin: 0 0 4px 0; }
header p { margin: 2px 0; font-size: 13px; color: #555; }
header .outcome-line { color: #c53030; font-weight: 600; }
main { display: flex; align-items: flex-start; gap: 12px; padding: 8px 12px; }
#chart { flex: 0 1 auto; overflow: auto; max-height: calc(100vh - 110px); border: 1px solid #e2e8f0; }
#states { flex: 1 1 380px; min-width: 320px; max-height: calc(100vh - 110px); overflow: auto;
          position: sticky; top: 0; font-size: 12px; }
.state-panel h2 { font-size: 14px; margin: 4px 0; }
.state-panel .what { margin: 0 0 8px 0; }
.state-panel h3 { font-size: 13px; margin: 10px 0 2px 0; }
.state-panel table { border-collapse: collapse; width: 100%; }
.state-panel td { border-bottom: 1px solid #eee; padding: 2px 4px; vertical-align: top; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; word-break: break-word; }
.state-panel td.field { color: #555; white-space: nowrap; width: 1%; }
.state-panel tr.changed td { background: #fff3c4; }
.state-panel .old { color: #a0aec0; text-decoration: line-through; margin-right: 6px; }
.state-panel ul.changes { margin: 2px 0 6px 0; padding-left: 18px; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; }
.state-panel .unchanged { color: #888; }
table.steps { border-collapse: collapse; font-size: 12px; }
table.steps th, table.steps td { border: 1px solid #e2e8f0; padding: 3px 6px; vertical-align: top; }
table.steps td.changed { background: #fff3c4; font-family: ui-monospace, Menlo, Consolas, monospace; }
table.steps tr { cursor: pointer; }
table.steps tr.selected td { outline: 2px solid #ecc94b; }
"""

PAGE_SCRIPT = """
(function () {
  var panels = Array.prototype.slice.call(document.querySelectorAll('.state-panel'));
  var last = panels.length - 1;
  var current = last;
  function show(i) {
    if (i < 0 || i > last) { return; }
    current = i;
    panels.forEach(function (p) { p.hidden = Number(p.dataset.step) !== i; });
    document.querySelectorAll('.step-row, tr.step').forEach(function (r) {
      r.classList.toggle('selected', Number(r.dataset.step) === i);
    });
  }
  document.addEventListener('click', function (e) {
    var hit = e.target.closest('.step-row, tr.step, .arrow, .event');
    if (hit && hit.dataset.step !== undefined) { show(Number(hit.dataset.step)); }
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowDown' || e.key === 'j') { show(current + 1); e.preventDefault(); }
    if (e.key === 'ArrowUp' || e.key === 'k') { show(current - 1); e.preventDefault(); }
  });
  show(current);
})();
"""


def _a(value: Any) -> str:
    """An attribute value, escaped."""
    return escape(str(value), quote=True)


def _y(row: int) -> float:
    """The middle of a row (row 0: the initial state)."""
    return TOP + row * ROW + ROW / 2


def render_svg(chart: Chart) -> str:
    """The chart as a standalone SVG document."""
    body = _svg_chart(chart) if chart.is_actor else _svg_table(chart)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _svg_open(width: float, height: float, title: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img">',
            f"<title>{escape(title)}</title>",
            f"<style>{SVG_STYLE}</style>",
            "<defs>",
            '<marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#2c5282"/></marker>',
            '<marker id="head-dup" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#805ad5"/></marker>',
            '<marker id="head-byz" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c53030"/></marker>',
            "</defs>"]


def _title(chart: Chart) -> str:
    what = "witness for" if chart.kind == "sometimes" else "counterexample to"
    return f"{chart.model}: {what} {chart.property}, {len(chart.steps)} steps"


def _svg_chart(chart: Chart) -> str:
    n, rows = len(chart.nodes), len(chart.steps) + 1
    x = {node: GUTTER + PAD + COL / 2 + j * COL for j, node in enumerate(chart.nodes)}
    area = PAD + n * COL  # the lifelines' part of the chart, right of the step numbers
    text_x = GUTTER + area - COL / 2 + 150  # room for the last lifeline's event labels
    width, height = text_x + TEXT_WIDTH, TOP + (rows + 1) * ROW + 12
    bottom = TOP + rows * ROW
    out = _svg_open(width, height, _title(chart))
    for i in range(rows):  # clickable rows with their numbers and descriptions
        what = "initial state" if i == 0 else chart.steps[i - 1].text
        out.append(f'<rect class="step-row{" odd" if i % 2 else ""}" data-step="{i}" x="0" y="{TOP + i * ROW}" '
                   f'width="{width}" height="{ROW}"><title>{escape(f"{i}. {what}")}</title></rect>')
        out.append(f'<text class="step-num" x="{GUTTER - 8}" y="{_y(i) + 4}">{i}</text>')
        out.append(f'<text class="step-text" x="{text_x}" y="{_y(i) + 4}">{escape(short(what, 112))}'
                   f"<title>{escape(what)}</title></text>")
    for b in chart.bands:
        top, end = TOP + b.start * ROW, TOP + (b.end if b.end is not None else rows) * ROW
        out.append(f'<g class="band" data-start="{b.start}" data-end="{b.end if b.end is not None else ""}">'
                   f'<rect x="{GUTTER - 4}" y="{top}" width="{area + 8}" height="{end - top}"/>'
                   f'<text x="{GUTTER + area - 6}" y="{top + 12}" text-anchor="end">{escape(b.label)}</text>')
        for g, group in enumerate(b.groups):
            colour = GROUP_COLOURS[g % len(GROUP_COLOURS)]
            for node in group:
                if node in x and not any(node in earlier for earlier in b.groups[:g]):
                    out.append(f'<line class="group" x1="{x[node]}" y1="{top}" x2="{x[node]}" y2="{end}" '
                               f'stroke="{colour}"/>')
        out.append("</g>")
    for node in chart.nodes:
        out.append(f'<g class="head"><rect x="{x[node] - 45}" y="8" width="90" height="26" rx="4"/>'
                   f'<text x="{x[node]}" y="26">{escape(node)}</text></g>')
        out.append(f'<line class="lifeline" data-node="{_a(node)}" x1="{x[node]}" y1="34" x2="{x[node]}" y2="{bottom}"/>')
    for node, start, end in crashed_spans(chart):
        y1, y2 = _y(start), (_y(end) if end is not None else bottom)
        out.append(f'<line class="down" x1="{x[node]}" y1="{y1}" x2="{x[node]}" y2="{y2}"/>'
                   f'<line class="down-dash" x1="{x[node]}" y1="{y1}" x2="{x[node]}" y2="{y2}"/>')
    for m in chart.messages:
        out.append(_svg_message(m, x, bottom))
    rightwards = {(m.sent, m.src) for m in chart.messages if x[m.dst] > x[m.src]}
    for ev in chart.events:  # a label on the side away from the messages the node sends then
        out.append(_svg_event(ev.kind, ev.label, ev.step, x[ev.node], left=(ev.step, ev.node) in rightwards))
    if chart.loop_start is not None:  # a lasso: an arrow in the margin back to the state the cycle returns to
        y1, y2 = _y(rows - 1), _y(chart.loop_start)
        out.append(f'<g class="cycle"><path d="M14,{y1} L6,{y1} L6,{y2} L12,{y2}" marker-end="url(#head)"/>'
                   f"<title>the steps after {chart.loop_start} repeat forever</title></g>")
    out.append(f'<g class="outcome"><line x1="{GUTTER - 4}" y1="{bottom}" x2="{GUTTER + area + 4}" y2="{bottom}"/>'
               f'<text x="{GUTTER}" y="{bottom + ROW / 2 + 5}">&#x2717; {escape(chart.outcome())}</text></g>')
    out.append("</svg>")
    return "\n".join(out)


def _svg_message(m: Any, x: dict[str, float], bottom: float) -> str:
    """One message copy: an arrow, a cross where it was lost, or a stub still in flight."""
    kinds = {DELIVERED: "delivered", DROPPED: "dropped", LOST: "lost", IN_FLIGHT: "inflight"}
    classes = " ".join(["arrow", kinds[m.fate]] + ([m.copy] if m.copy else []))
    step = m.end if m.end is not None else m.sent
    x1, y1 = x[m.src], _y(m.sent)
    tip = f"{m.src} -> {m.dst}: {m.text} (sent at step {m.sent}, " + (
        f"{m.fate} at step {m.end}" if m.end is not None else "still in flight") + (f", {m.copy}" if m.copy else "") + ")"
    head = {"duplicate": "head-dup", "redelivery": "head-dup", "byzantine": "head-byz"}.get(m.copy, "head")
    parts = [f'<g class="{classes}" data-msg="{m.id}" data-src="{_a(m.src)}" data-dst="{_a(m.dst)}" '
             f'data-sent="{m.sent}" data-end="{"" if m.end is None else m.end}" data-step="{step}">',
             f"<title>{escape(tip)}</title>"]
    label = short(m.text, 30) + {"duplicate": " (dup)", "redelivery": " (again)"}.get(m.copy, "")
    if m.fate == DELIVERED and m.src == m.dst:
        y2 = _y(m.end)
        parts.append(f'<path d="M{x1},{y1} C{x1 + 40},{y1} {x1 + 40},{y2} {x1 + 4},{y2}" marker-end="url(#{head})"/>')
        parts.append(f'<text x="{x1 + 44}" y="{(y1 + y2) / 2 + 3}">{escape(label)}</text>')
    elif m.fate == DELIVERED:
        x2, y2 = x[m.dst], _y(m.end)
        x2 += -4 if x2 > x1 else 4
        parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" marker-end="url(#{head})"/>')
        parts.append(_along(x1, y1, x2, y2, label))
    else:  # dropped or lost: a cross where it vanished; in flight: a stub off the bottom
        x2 = (x1 + x[m.dst]) / 2 if m.src != m.dst else x1 + 30
        y2 = _y(m.end) if m.end is not None else bottom
        parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"/>')
        if m.end is not None:
            parts.append(f'<line class="cross" x1="{x2 - 5}" y1="{y2 - 5}" x2="{x2 + 5}" y2="{y2 + 5}"/>'
                         f'<line class="cross" x1="{x2 - 5}" y1="{y2 + 5}" x2="{x2 + 5}" y2="{y2 - 5}"/>')
        note = {DROPPED: " (dropped)", LOST: " (lost)", IN_FLIGHT: " (in flight)"}[m.fate]
        parts.append(_along(x1, y1, x2, y2, label + note))
    parts.append("</g>")
    return "".join(parts)


def _along(x1: float, y1: float, x2: float, y2: float, label: str) -> str:
    """A label just above the line from (x1, y1) to (x2, y2), past its middle, turned to follow it.

    Past the middle, because the sender's own mark (a timer, say) is labelled at the start of the line.
    """
    mx, my = x1 + 0.6 * (x2 - x1), y1 + 0.6 * (y2 - y1)
    angle = math.degrees(math.atan2(y2 - y1, x2 - x1)) if x1 != x2 else 0.0
    if angle > 90 or angle < -90:  # keep the text upright
        angle -= 180 if angle > 0 else -180
    if abs(angle) > 30:  # steep lines (messages that waited long) keep a level label
        angle = 0.0
    return (f'<text x="{mx:.1f}" y="{my - 3:.1f}" text-anchor="middle" '
            f'transform="rotate({angle:.1f} {mx:.1f} {my:.1f})">{escape(label)}</text>')


def _svg_event(kind: str, label: str, step: int, x: float, left: bool = False) -> str:
    """A mark on a lifeline: a timer (circle), a crash (cross), a restart (triangle), a clock change (square)."""
    y = _y(step)
    if kind == "timeout":
        mark, label = f'<circle cx="{x}" cy="{y}" r="4"/>', label.removeprefix("timer ")
    elif kind == "crash":
        mark = (f'<line x1="{x - 6}" y1="{y - 6}" x2="{x + 6}" y2="{y + 6}"/>'
                f'<line x1="{x - 6}" y1="{y + 6}" x2="{x + 6}" y2="{y - 6}"/>')
    elif kind == "restart":
        mark = f'<path d="M{x - 6},{y + 5} L{x + 6},{y + 5} L{x},{y - 6} z"/>'
    else:
        mark = f'<rect x="{x - 4}" y="{y - 4}" width="8" height="8"/>'
    return (f'<g class="event {kind}" data-step="{step}">{mark}'
            f'<text x="{x - 8 if left else x + 8}" y="{y + 4}" text-anchor="{"end" if left else "start"}">'
            f"{escape(short(label, 22))}</text><title>{escape(label)}</title></g>")


def _svg_table(chart: Chart) -> str:
    """Non-actor charts: one row per step with the action and the variables it changed."""
    rows = len(chart.steps) + 1
    lines_of = [[short(chart.states[0], 150)]] + [chart.changes_at(s.number) or ["(no change)"] for s in chart.steps]
    heights = [max(1, len(lines)) * 16 + 8 for lines in lines_of]
    width, height = 1100, TOP + sum(heights) + ROW + 12
    out = _svg_open(width, height, _title(chart))
    out.append(f'<text class="table-head" x="8" y="{TOP - 10}">step</text>'
               f'<text class="table-head" x="50" y="{TOP - 10}">action</text>'
               f'<text class="table-head" x="470" y="{TOP - 10}">changed variables</text>')
    y = TOP
    for i in range(rows):
        what = "initial state" if i == 0 else chart.steps[i - 1].text
        out.append(f'<rect class="step-row{" odd" if i % 2 else ""}" data-step="{i}" x="0" y="{y}" '
                   f'width="{width}" height="{heights[i]}"/>')
        out.append(f'<text x="8" y="{y + 16}">{i}</text><text x="50" y="{y + 16}">{escape(short(what, 66))}'
                   f"<title>{escape(what)}</title></text>")
        for k, line in enumerate(lines_of[i]):
            out.append(f'<text x="470" y="{y + 16 + 16 * k}">{escape(short(line, 100))}</text>')
        y += heights[i]
    out.append(f'<g class="outcome"><text x="8" y="{y + ROW / 2 + 5}">&#x2717; {escape(chart.outcome())}</text></g>')
    out.append("</svg>")
    return "\n".join(out)


# -- HTML --------------------------------------------------------------------------


def render_html(chart: Chart) -> str:
    """The chart as one self-contained HTML page with a state panel per step."""
    title = _title(chart)
    params = ", ".join(f"{k}={v}" for k, v in chart.params.items())
    view = _svg_chart(chart) if chart.is_actor else _html_table(chart)
    panels = "\n".join(_panel(chart, i) for i in range(len(chart.steps) + 1))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{PAGE_STYLE}</style>
</head>
<body>
<header>
<h1>{escape(title)}</h1>
<p>{escape(params)}</p>
<p class="outcome-line">{escape(chart.outcome())}</p>
<p>Click a step (or press &#x2191; / &#x2193;) to see every {"node's " if chart.is_actor else ""}state there and what the step changed.</p>
</header>
<main>
<div id="chart">
{view}
</div>
<aside id="states">
{panels}
</aside>
</main>
<script>{PAGE_SCRIPT}</script>
</body>
</html>
"""


def _html_table(chart: Chart) -> str:
    """Non-actor charts: a table of steps and the variables each one changed (new value, old one crossed out)."""
    variables = chart.variables()
    out = ['<table class="steps"><thead><tr><th>step</th><th>action</th>'
           + "".join(f"<th>{escape(v)}</th>" for v in variables) + "</tr></thead><tbody>"]
    for i in range(len(chart.steps) + 1):
        what = "initial state" if i == 0 else chart.steps[i - 1].text
        lines = chart.changes_at(i)
        cells = []
        for v in variables:
            if i == 0:
                cells.append(f'<td class="changed">{escape(short(chart.value(0, v), 80))}</td>')
                continue
            mine = [_strip(line, v) for line in lines if _strip(line, v) is not None]
            cells.append(f'<td class="changed">{"<br>".join(escape(short(m, 80)) for m in mine)}</td>' if mine
                         else "<td></td>")
        out.append(f'<tr class="step" data-step="{i}"><td>{i}</td><td>{escape(what)}</td>{"".join(cells)}</tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


def _strip(line: str, variable: str) -> str | None:
    """A ``changes`` line about ``variable`` without the variable's name (None: about another one)."""
    if not isinstance(variable, str):
        return None
    if line.startswith(variable + ": "):
        return line[len(variable) + 2:]
    if line.startswith(variable + ".") or line.startswith(variable + "["):
        return line[len(variable):].lstrip(".")
    return None


def _panel(chart: Chart, i: int) -> str:
    """The state panel of step ``i``: what changed, then every node's (or variable's) value."""
    what = "initial state" if i == 0 else chart.steps[i - 1].text
    before = chart.states[i - 1] if i > 0 else None
    after = chart.states[i]
    parts = [f'<section class="state-panel" data-step="{i}" hidden>',
             f"<h2>Step {i} of {len(chart.steps)}</h2>", f'<p class="what">{escape(what)}</p>']
    lines = chart.changes_at(i)
    if i > 0:
        parts.append("<h3>Changes</h3>" + ('<ul class="changes">' + "".join(f"<li>{escape(x)}</li>" for x in lines)
                                           + "</ul>" if lines else '<p class="unchanged">nothing changed</p>'))
    if chart.is_actor and isinstance(after, dict):
        for node in chart.nodes:
            old = before["nodes"].get(node) if isinstance(before, dict) else None
            parts.append(f'<div class="node-state" data-node="{_a(node)}"><h3>{escape(node)}</h3>'
                         f"{_fields(old, after['nodes'].get(node), i > 0)}</div>")
        rest = {k: v for k, v in after.items() if k != "nodes"}
        old_rest = {k: v for k, v in before.items() if k != "nodes"} if isinstance(before, dict) else None
        parts.append(f'<div class="world-state"><h3>network, timers and the rest</h3>{_fields(old_rest, rest, i > 0)}</div>')
    else:
        parts.append(f"<h3>State</h3>{_fields(before, after, i > 0)}")
    parts.append("</section>")
    return "\n".join(parts)


def _fields(before: Any, after: Any, compare: bool) -> str:
    """A value as a table of its fields, the changed ones highlighted with their old value."""
    if not isinstance(after, dict):
        changed = compare and before != after
        old = f'<span class="old">{escape(_text(before))}</span>' if changed else ""
        return f'<table><tr class="{"changed" if changed else ""}"><td>{old}{escape(_text(after))}</td></tr></table>'
    old_fields = before if isinstance(before, dict) else {}
    rows = []
    for key, value in after.items():
        changed = compare and (key not in old_fields or old_fields[key] != value)
        old = f'<span class="old">{escape(_text(old_fields[key]))}</span>' if changed and key in old_fields else ""
        rows.append(f'<tr class="{"changed" if changed else ""}"><td class="field">{escape(str(key))}</td>'
                    f"<td>{old}{escape(_text(value))}</td></tr>")
    for key in old_fields:
        if compare and key not in after:
            rows.append(f'<tr class="changed"><td class="field">{escape(str(key))}</td>'
                        f'<td><span class="old">{escape(_text(old_fields[key]))}</span>(gone)</td></tr>')
    return "<table>" + "".join(rows) + "</table>"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(value) if value else "[]"
    return json.dumps(value, sort_keys=True)
