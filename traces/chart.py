"""What a counterexample's chart shows: lifelines, messages, faults, and every state.

:func:`build_chart` replays a trace on its model and collects, for an actor
model (``splitbrain.models.actors.ActorModel``), the data of a message
sequence chart: one lifeline per node, each message from the step that sent
it (the step after which it first appears in flight; 0 for the initial state)
to the step that delivered, dropped or lost it, the copies a ``duplicate``
step made, partitions as bands over the steps where they hold, and crashes,
restarts, clock jumps and timer firings as events on the lifelines.
Deliveries are matched to sends by ``(src, dst, msg)``, oldest copy first.
For any other model the chart is a table of the variables each step changed.

:func:`render_text` and :func:`render_dot` draw a chart as text and as
Graphviz source; ``splitbrain.traces.chart_html`` draws it as SVG and HTML.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from splitbrain.models.actors import ActorModel
from splitbrain.models.core import Model, format_action
from splitbrain.models.faults import format_groups
from splitbrain.traces.format import Trace, to_jsonable
from splitbrain.traces.render import changes
from splitbrain.traces.replay import execute, model_for

DELIVERED, DROPPED, LOST, IN_FLIGHT = "delivered", "dropped", "lost", "in flight"


@dataclass
class Message:
    """One copy of a message: sent after step ``sent``, ended by step ``end`` (None: still in flight).

    ``fate``: delivered, dropped (a drop step), lost (removed otherwise, e.g.
    across a partition that drops), or in flight. ``copy``: "" for a send,
    "duplicate" for a copy a duplicate step made, "redelivery" for a second
    delivery on a duplicating network, "byzantine" for an adversary's message.
    """

    id: int
    src: str
    dst: str
    text: str
    sent: int
    end: int | None = None
    fate: str = IN_FLIGHT
    copy: str = ""


@dataclass
class Event:
    """Something that happens on one node's lifeline at a step (crash, restart, timeout, ...)."""

    step: int
    node: str
    kind: str
    label: str


@dataclass
class Band:
    """A partition (or a failed one-way link) over steps ``start`` .. ``end`` - 1 (end None: to the last step)."""

    start: int
    end: int | None
    label: str
    groups: list[list[str]]


@dataclass
class Step:
    """Step ``number`` (1-based): its action, its one-line description, and the node it happens at."""

    number: int
    action: Any
    text: str
    node: str | None
    kind: str


@dataclass
class Chart:
    """Everything a chart of one trace shows; ``states[i]`` is the rendering after step i.

    ``loop_start``: for a lasso (a liveness counterexample), the state the
    last step returns to; the steps after it repeat forever.
    """

    model: str
    property: str
    kind: str
    claim: str
    params: dict[str, Any]
    states: list[Any]
    steps: list[Step]
    nodes: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    loop_start: int | None = None

    @property
    def is_actor(self) -> bool:
        """Whether this is a message sequence chart (an actor model), not a table of variables."""
        return bool(self.nodes)

    def outcome(self) -> str:
        """The sentence that ends the chart: the violated property (or the witness reached)."""
        claim = f": {self.claim}" if self.claim else ""
        if self.kind == "sometimes":
            return f"{self.property} reached{claim}"
        if self.property == "Deadlock":
            return "Deadlock: no action is enabled in the last state"
        if self.loop_start is None:
            return f"{self.property} violated{claim}"
        if self.loop_start == len(self.steps):
            return f"{self.property} violated{claim} (the last state stutters forever)"
        first, last = self.loop_start + 1, len(self.steps)
        cycle = f"step {last} repeats" if first == last else f"steps {first}-{last} repeat"
        return f"{self.property} violated{claim} ({cycle} forever)"

    def changes_at(self, step: int) -> list[str]:
        """What step ``step`` changed, one line per field (empty for the initial state)."""
        return changes(self.states[step - 1], self.states[step]) if step > 0 else []

    def variables(self) -> list[str]:
        """Non-actor charts: the state's variables (its top-level fields), in order of first appearance."""
        names: dict[str, None] = {}
        for s in self.states:
            for key in (s if isinstance(s, dict) else {"state": s}):
                names.setdefault(key, None)
        return list(names)

    def value(self, step: int, variable: str) -> Any:
        """Non-actor charts: ``variable``'s value after ``step`` (None when absent)."""
        s = self.states[step]
        return s.get(variable) if isinstance(s, dict) else s

    def delivered(self) -> list[Message]:
        """The messages that were delivered, one per delivery."""
        return [m for m in self.messages if m.fate == DELIVERED]


def build_chart(trace: Trace, model: Model | None = None) -> Chart:
    """The chart of ``trace``, replayed on ``model`` (default: the trace's own, see ``model_for``).

    Raises ``Divergence`` when the model does not follow the trace, and the
    registry's UsageError when the trace's model cannot be built.
    """
    model = model or model_for(trace)
    worlds = execute(model, trace.init, trace.actions)
    states = [to_jsonable(model.render(w)) for w in worlds]
    claim = trace.extra.get("claim") or next(
        (p.description for p in model.properties() if p.name == trace.property and p.description), "")
    steps = [Step(i, a, model.describe(worlds[i - 1], a, worlds[i]), _node_of(a), str(a[0]) if a else "")
             for i, a in enumerate(trace.actions, 1)]
    chart = Chart(trace.model, trace.property, trace.kind, claim, dict(trace.params), states, steps,
                  loop_start=trace.loop_start)
    if isinstance(model, ActorModel):
        chart.nodes = list(model.node_ids)
        _trace_messages(chart, model, worlds)
        _trace_events(chart)
    return chart


def _node_of(action: Any) -> str | None:
    """The node a step happens at: a delivery's destination, a timer's or a fault's node."""
    if not isinstance(action, tuple) or not action:
        return None
    kind = action[0]
    if kind in ("deliver", "byzantine"):
        return action[2]
    if kind in ("timeout", "crash", "restart", "clock_jump") or (kind == "tick" and len(action) == 2):
        return action[1]
    return None


def _trace_messages(chart: Chart, model: ActorModel, worlds: list[Any]) -> None:
    """Follow every message copy from the step that sent it to the step that ended it."""
    open_: dict[tuple, deque[Message]] = {}

    def text(env: tuple) -> str:
        return model.actors[model.index[env[1]]].format_message(env[2])

    def new(env: tuple, step: int, copy: str = "") -> Message:
        msg = Message(len(chart.messages), env[0], env[1], text(env), step, copy=copy)
        chart.messages.append(msg)
        return msg

    def end(env: tuple, step: int, fate: str) -> Message | None:
        queue = open_.get(env)
        if not queue:
            return None
        msg = queue.popleft()
        msg.end, msg.fate = step, fate
        return msg

    for env in sorted(model.in_flight(worlds[0]), key=repr):
        open_.setdefault(env, deque()).append(new(env, 0))
    for i, action in enumerate([s.action for s in chart.steps], 1):
        before, after = Counter(model.in_flight(worlds[i - 1])), Counter(model.in_flight(worlds[i]))
        added, removed = after - before, before - after
        kind, env = action[0], tuple(action[1:4])
        if kind == "deliver":
            if removed[env]:
                removed[env] -= 1
                end(env, i, DELIVERED)
            elif open_.get(env):  # a duplicating network keeps a delivered message in flight
                first = open_[env][0]
                chart.messages.append(Message(len(chart.messages), first.src, first.dst, first.text, first.sent,
                                              i, DELIVERED, "redelivery"))
        elif kind == "drop" and removed[env]:
            removed[env] -= 1
            end(env, i, DROPPED)
        elif kind == "duplicate" and added[env]:
            added[env] -= 1
            open_.setdefault(env, deque()).append(new(env, i, "duplicate"))
        elif kind == "byzantine":
            msg = new(env, i, "byzantine")
            msg.end, msg.fate = i, DELIVERED
        for gone in sorted(removed.elements(), key=repr):  # e.g. lost across a partition that drops
            end(gone, i, LOST)
        for sent in sorted(added.elements(), key=repr):
            open_.setdefault(sent, deque()).append(new(sent, i))


def _trace_events(chart: Chart) -> None:
    """Faults and timers as lifeline events; partitions and failed links as bands."""
    for step in chart.steps:
        a, i = step.action, step.number
        if step.kind == "timeout":
            chart.events.append(Event(i, a[1], "timeout", f"timer {format_action(a[2])}"))
        elif step.kind == "crash":
            chart.events.append(Event(i, a[1], "crash", "crash"))
        elif step.kind == "restart":
            chart.events.append(Event(i, a[1], "restart", "restart"))
        elif step.kind == "clock_jump":
            chart.events.append(Event(i, a[1], "clock_jump", f"clock {a[2]:+d}"))
        elif step.kind == "tick" and len(a) == 2:
            chart.events.append(Event(i, a[1], "tick", "clock +1"))
        elif step.kind == "reorder":
            chart.events.append(Event(i, a[2], "reorder", "reorder"))
        elif step.kind == "partition":
            groups = [list(g) for g in a[1]]
            chart.bands.append(Band(i, None, f"partition {format_groups(a[1])}", groups))
        elif step.kind == "one_way":
            chart.bands.append(Band(i, None, f"link {a[1]} -> {a[2]} fails", [[a[1]], [a[2]]]))
        elif step.kind == "heal" and chart.bands and chart.bands[-1].end is None:
            chart.bands[-1].end = i


def crashed_spans(chart: Chart) -> list[tuple[str, int, int | None]]:
    """``(node, crash step, restart step or None)`` for every crash in the chart."""
    spans: list[tuple[str, int, int | None]] = []
    down: dict[str, int] = {}
    for ev in chart.events:
        if ev.kind == "crash":
            down[ev.node] = ev.step
        elif ev.kind == "restart" and ev.node in down:
            spans.append((ev.node, down.pop(ev.node), ev.step))
    spans += [(node, start, None) for node, start in down.items()]
    return spans


def short(value: Any, width: int = 60) -> str:
    """``value`` as one line of at most ``width`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= width else text[: width - 3] + "..."


# -- text --------------------------------------------------------------------------


def render_text(chart: Chart) -> str:
    """The chart as plain text: a row per step with a column per node, then the messages."""
    head = f"{chart.model}: {'witness for' if chart.kind == 'sometimes' else 'counterexample to'} " \
           f"{chart.property} ({chart.kind}), {len(chart.steps)} steps"
    if not chart.is_actor:
        return "\n".join([head, *_text_table(chart), f"  => {chart.outcome()}"])
    cells: dict[tuple[int, str], list[str]] = {}
    for m in chart.messages:
        tag = f"m{m.id}"
        if m.copy != "redelivery" and m.copy != "byzantine":
            cells.setdefault((m.sent, m.src), []).append(f"{tag}>{m.dst}" + ("(dup)" if m.copy == "duplicate" else ""))
        if m.end is not None:
            mark = {DELIVERED: f"{tag}<{m.src}", DROPPED: f"{tag} dropped", LOST: f"{tag} lost"}[m.fate]
            cells.setdefault((m.end, m.dst if m.fate == DELIVERED else m.src), []).append(mark)
    for ev in chart.events:
        cells.setdefault((ev.step, ev.node), []).append(ev.label.upper() if ev.kind in ("crash", "restart") else ev.label)
    width = max([len(n) for n in chart.nodes] + [len(", ".join(v)) for v in cells.values()] + [6])
    width = min(width, 28)
    lines = [head, "  step  " + "  ".join(n.ljust(width) for n in chart.nodes) + "  what happened"]
    for i in range(len(chart.steps) + 1):
        row = [short(", ".join(cells.get((i, n), [])) or ".", width).ljust(width) for n in chart.nodes]
        what = "initial state" if i == 0 else chart.steps[i - 1].text
        if chart.loop_start is not None and i == chart.loop_start:
            what += "   <- the cycle returns here"
        band = next((b for b in chart.bands if b.start <= i and (b.end is None or i < b.end)), None)
        lines.append(f"  {i:>4}  " + "  ".join(row) + ("  [" + band.label + "] " if band else "  ") + what)
    lines.append(f"  => {chart.outcome()}")
    lines.append("  messages (mN>dst: sent to dst; mN<src: delivered from src):")
    for m in chart.messages:
        fate = m.fate if m.end is None else f"{m.fate} at step {m.end}"
        extra = f", {m.copy}" if m.copy else ""
        lines.append(f"    m{m.id} {m.src} -> {m.dst}: {m.text}, sent at step {m.sent}, {fate}{extra}")
    return "\n".join(lines)


def _text_table(chart: Chart) -> list[str]:
    """Non-actor charts: each step with the variables it changed."""
    back = "   <- the cycle returns here"
    lines = [f"     0. initial state: {short(chart.states[0], 200)}" + (back if chart.loop_start == 0 else "")]
    for step in chart.steps:
        lines.append(f"  {step.number:>4}. {step.text}" + (back if chart.loop_start == step.number else ""))
        lines += [f"         {line}" for line in chart.changes_at(step.number)]
    return lines


# -- Graphviz ------------------------------------------------------------------------


def _q(text: str) -> str:
    """A Graphviz double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(chart: Chart) -> str:
    """The chart as Graphviz source: lifelines as chains of points, messages as edges between them."""
    out = [f"digraph {_q(chart.model + ' ' + chart.property)} {{",
           f"  label={_q(chart.outcome())}; labelloc=b; rankdir=TB; newrank=true;",
           "  node [fontname=Helvetica, fontsize=10]; edge [fontname=Helvetica, fontsize=9];"]
    rows = len(chart.steps) + 1
    if not chart.is_actor:
        for i in range(rows):
            label = f"{i}: initial state" if i == 0 else f"{i}: " + "\\n".join(chart.changes_at(i)[:6])
            out.append(f"  s{i} [shape=box, label={_q(label)}];")
        for step in chart.steps:
            out.append(f"  s{step.number - 1} -> s{step.number} [label={_q(short(step.text, 50))}];")
        out.append(f"  s{rows - 1} [color=red, penwidth=2];")
        out.append("}")
        return "\n".join(out)
    events = {(ev.step, ev.node): ev.label for ev in chart.events}
    for j, node in enumerate(chart.nodes):
        out.append(f"  h{j} [shape=box, style=filled, fillcolor=lightgrey, label={_q(node)}];")
        for i in range(rows):
            label = events.get((i, node))
            shape = f"shape=box, label={_q(label)}" if label else 'shape=point, label=""'
            out.append(f"  p{j}_{i} [{shape}];")
        chain = " -> ".join([f"h{j}"] + [f"p{j}_{i}" for i in range(rows)])
        out.append(f"  {chain} [arrowhead=none, style=dashed, weight=100];")
    for i in range(rows):
        out.append("  { rank=same; " + " ".join(f"p{j}_{i};" for j in range(len(chart.nodes))) + " }")
    index = {n: j for j, n in enumerate(chart.nodes)}
    for m in chart.messages:
        if m.end is None:
            continue
        style = {DELIVERED: "solid", DROPPED: "dotted", LOST: "dotted"}[m.fate]
        note = {DROPPED: " (dropped)", LOST: " (lost)"}.get(m.fate, "") + (f" ({m.copy})" if m.copy else "")
        target = index[m.dst] if m.fate == DELIVERED else index[m.src]
        out.append(f"  p{index[m.src]}_{m.sent} -> p{target}_{m.end} "
                   f"[label={_q(short(m.text, 40) + note)}, style={style}, constraint=false];")
    for b in chart.bands:
        out.append(f"  band{b.start} [shape=note, style=filled, fillcolor=moccasin, "
                   f"label={_q(f'steps {b.start}-{b.end if b.end is not None else rows - 1}: {b.label}')}];")
    out.append("}")
    return "\n".join(out)
