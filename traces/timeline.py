"""A client history drawn as a timeline, as one self-contained HTML page (``lincheck --html``).

One row per process; each operation is a bar from its invocation to its
completion (an indeterminate one runs to the end of the history, dashed; a
failed one is hatched grey). Times are drawn by rank (the n-th distinct
moment at the n-th tick), so that a history in nanoseconds reads as well as
one in event counts. When the history is not linearizable the operations of
the longest linearizable prefix are green and numbered in their linearized
order, a red line marks where that prefix ends (the completion of the
operation that cannot be placed), the operations the explanation names are
red, and the explanation is printed as the text output gives it. Operations
on other keys than the failing one are faded. A click on an operation shows
its description. Nothing is fetched from outside the page.
"""

from __future__ import annotations

from html import escape
from typing import Any

from splitbrain.properties.consistency.history import FAIL, INFO, History, Operation, Verdict, _show

ROW = 24
LEFT = 10       # the first tick, in the scrolling part
LABELS = 110    # the process names' column, which does not scroll
TOP = 34
MIN_TICK, MAX_TICK, TARGET_WIDTH = 12, 40, 2000

STYLE = """
body { margin: 0; font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #222; }
header { padding: 10px 16px; border-bottom: 1px solid #ddd; background: #fafafa; }
header h1 { font-size: 17px; margin: 0 0 4px 0; }
header p { margin: 2px 0; font-size: 13px; color: #555; }
.verdict.bad { color: #c53030; font-weight: 600; }
.verdict.good { color: #2f855a; font-weight: 600; }
pre.explanation { margin: 8px 16px; padding: 8px; background: #fff5f5; border: 1px solid #feb2b2; font-size: 12px; white-space: pre-wrap; }
#frame { display: flex; overflow-y: auto; max-height: calc(100vh - 240px); margin: 0 16px; border: 1px solid #e2e8f0; }
#frame > svg { flex: 0 0 auto; }
#timeline { overflow-x: auto; flex: 1 1 auto; }
#info { margin: 6px 16px; font-size: 13px; min-height: 1.4em; font-family: ui-monospace, Menlo, Consolas, monospace; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 14px; height: 10px; margin-right: 4px; vertical-align: middle; border: 1px solid #555; }
svg text { font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 10px; }
.proc { fill: #444; text-anchor: end; font-size: 11px; }
.lane { stroke: #edf2f7; }
.op rect { fill: #bee3f8; stroke: #2b6cb0; stroke-width: 1; cursor: pointer; }
.op text { fill: #1a202c; pointer-events: none; }
.op.linearized rect { fill: #c6f6d5; stroke: #2f855a; }
.op.involved rect { fill: #fed7d7; stroke: #c53030; stroke-width: 2; }
.op.blocked rect { fill: #feb2b2; stroke: #9b2c2c; stroke-width: 2.5; }
.op.indeterminate rect { stroke-dasharray: 4 2; fill-opacity: 0.55; }
.op.failed rect { fill: url(#hatch); stroke: #a0aec0; }
.op.faded { opacity: 0.3; }
.op.selected rect { stroke: #d69e2e; stroke-width: 3; }
.order { fill: #22543d; font-weight: 700; font-size: 9px; }
.prefix-end line { stroke: #c53030; stroke-width: 2; stroke-dasharray: 6 3; }
.prefix-end text { fill: #c53030; font-weight: 600; font-size: 11px; }
"""

SCRIPT = """
(function () {
  var info = document.getElementById('info');
  var timeline = document.getElementById('timeline');
  var cut = document.querySelector('.prefix-end line');
  if (cut) {  // open where the linearizable prefix ends
    timeline.scrollLeft = Math.max(0, Number(cut.getAttribute('x1')) - timeline.clientWidth * 0.6);
  }
  document.addEventListener('click', function (e) {
    var op = e.target.closest('.op');
    if (!op) { return; }
    document.querySelectorAll('.op.selected').forEach(function (o) { o.classList.remove('selected'); });
    op.classList.add('selected');
    info.textContent = op.dataset.describe;
  });
})();
"""


def render_timeline(history: History, verdict: Verdict, *, title: str = "", datatype: str = "") -> str:
    """The history and its verdict as one self-contained HTML page."""
    details = verdict.details or {}
    order = {op_id: k for k, op_id in enumerate(details.get("linearized") or [], 1)}
    blocked = details.get("blocked_operation")
    involved = {op.id for op in verdict.operations}
    failing_key = details.get("key")
    keyed = any(op.key is not None for op in history)

    times = sorted({t for op in history for t in (op.call, op.ret) if t is not None})
    rank = {t: i for i, t in enumerate(times)}
    tick = max(MIN_TICK, min(MAX_TICK, TARGET_WIDTH / max(1, len(times))))
    end = len(times)  # an open operation runs to here

    def x(t: Any) -> float:
        return LEFT + (rank[t] if t is not None else end) * tick

    processes = history.processes()
    row = {p: i for i, p in enumerate(processes)}
    width = LEFT + (end + 1) * tick + 20
    height = TOP + len(processes) * ROW + 20
    names = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABELS}" height="{height:.0f}">']
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}">',
           '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><rect width="6" height="6" fill="#edf2f7"/>'
           '<line x1="0" y1="0" x2="0" y2="6" stroke="#a0aec0" stroke-width="2"/></pattern></defs>']
    for p, i in row.items():
        y = TOP + i * ROW
        svg.append(f'<line class="lane" x1="{LEFT}" y1="{y + ROW / 2}" x2="{width - 10}" y2="{y + ROW / 2}"/>')
        names.append(f'<text class="proc" x="{LABELS - 8}" y="{y + ROW / 2 + 4}">process {escape(_show(p))}</text>')
    for op in history:
        svg.append(_bar(op, x, TOP + row[op.process] * ROW, order, blocked, involved,
                        faded=keyed and failing_key is not None and op.key != failing_key))
    if blocked is not None:
        cut = x(history[blocked].ret)
        svg.append(f'<g class="prefix-end"><line x1="{cut}" y1="{TOP - 8}" x2="{cut}" y2="{height - 10}"/>'
                   f'<text x="{cut + 4}" y="{TOP - 12}">linearizable up to here (#{blocked} completes)</text></g>')
    svg.append("</svg>")
    names.append("</svg>")

    verdict_line = (f'<p class="verdict good">{escape(verdict.consistency)}</p>' if verdict.ok else
                    f'<p class="verdict bad">NOT {escape(verdict.consistency)}</p>')
    explanation = f'<pre class="explanation">{escape(verdict.explanation)}</pre>' if verdict.explanation else ""
    what = f"{len(history)} operations by {len(processes)} processes" + (f", {datatype}" if datatype else "")
    legend = ('<p class="legend"><span><i style="background:#bee3f8"></i>operation</span>'
              + ('<span><i style="background:#c6f6d5"></i>in the longest linearizable prefix (numbered in its '
                 'order)</span><span><i style="background:#feb2b2"></i>cannot be placed / named in the '
                 'explanation</span>' if not verdict.ok else "")
              + '<span><i style="background:#bee3f8;border-style:dashed"></i>indeterminate (may take effect '
                'until the end)</span><span><i style="background:#edf2f7"></i>failed (did not happen)</span></p>')
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title or "history")}: {"" if verdict.ok else "NOT "}{escape(verdict.consistency)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>{escape(title or "history")}</h1>
<p>{escape(what)}</p>
{verdict_line}
{legend}
<p>Time runs left to right by rank (each distinct invocation or completion moment is one tick). Click an operation for its description.</p>
</header>
{explanation}
<div id="info"></div>
<div id="frame">
{chr(10).join(names)}
<div id="timeline">
{chr(10).join(svg)}
</div>
</div>
<script>{SCRIPT}</script>
</body>
</html>
"""


def _bar(op: Operation, x: Any, y: float, order: dict[int, int], blocked: int | None, involved: set[int],
         faded: bool) -> str:
    """One operation's bar from invocation to completion, classed by its part in the verdict."""
    classes = ["op"]
    if op.id in order:
        classes.append("linearized")
    if op.id == blocked:
        classes.append("blocked")
    elif op.id in involved:
        classes.append("involved")
    if op.status == INFO or op.ret is None:
        classes.append("indeterminate")
    if op.status == FAIL:
        classes.append("failed")
    if faded:
        classes.append("faded")
    x1, x2 = x(op.call), x(op.ret)
    x2 = max(x2, x1 + 4)
    label = _label(op)
    describe = f"#{op.id} {op.describe()}"
    out = [f'<g class="{" ".join(classes)}" data-op="{op.id}" data-describe="{escape(describe, quote=True)}">',
           f'<rect x="{x1:.1f}" y="{y + 4}" width="{x2 - x1:.1f}" height="{ROW - 8}" rx="3"/>',
           f"<title>{escape(describe)}</title>"]
    room = int((x2 - x1 - 6) / 5.5)
    if room >= 3:
        text = label if len(label) <= room else label[: max(1, room - 1)] + "\u2026"
        out.append(f'<text x="{x1 + 3:.1f}" y="{y + ROW / 2 + 3.5}">{escape(text)}</text>')
    if op.id in order:
        out.append(f'<text class="order" x="{x1 + 1:.1f}" y="{y + 3}">{order[op.id]}</text>')
    out.append("</g>")
    return "".join(out)


def _label(op: Operation) -> str:
    """A bar's short text: ``write 3``, ``read → 4``, ``cas [1 2] → false``, with the key if any."""
    text = op.f + (f" {_show(op.key)}" if op.key is not None else "")
    if op.value is not None:
        text += f" {_show(op.value)}"
    if op.status == FAIL:
        return text + " (failed)"
    if op.status == INFO or op.ret is None:
        return text + " ?"
    if (op.result is not None and op.result != op.value) or op.result is False or op.value is None:
        text += f" \u2192 {_show(op.result)}"
    return text
