"""``splitbrain show``: message sequence charts of actor traces, tables of changes for other models.

The figures asserted here are hand counts of the hand-built traces below
(each step's effect is written next to it), or counts read independently
from a trace file's actions.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from splitbrain.checker.cli import main
from splitbrain.models.actors import Actor, ActorModel
from splitbrain.traces.chart import DELIVERED, DROPPED, IN_FLIGHT, LOST, build_chart, render_dot, render_text
from splitbrain.traces.chart_html import render_html, render_svg
from splitbrain.traces.format import load
from splitbrain.traces.replay import make_trace
from tests.toys import Counter

CORPUS = Path(__file__).resolve().parent.parent / "traces" / "corpus"
FIGURE8 = CORPUS / "raft_figure8__StateMachineSafety.json"
PING = ("Ping", 1)
PONG = ("Pong", 1)


class Pinger(Actor):
    """Node a pings b and c when it starts; a pinged node answers Pong; a node counts the Pongs it gets."""

    def on_start(self, node_id, ctx, durable=None):
        if node_id == "a":
            ctx.send("b", PING)
            ctx.send("c", PING)
        return 0

    def on_message(self, node_id, state, src, msg, ctx):
        if msg[0] == "Ping":
            ctx.send(src, ("Pong", msg[1]))
            return state
        return state + 1


def pinger(faults: str = "partition=1,crash=1,restart,loss=1,dup=1", network: str = "unordered") -> ActorModel:
    return ActorModel({n: Pinger() for n in "abc"}, faults=faults, network=network)


# Initially in flight: a->b Ping (m0), a->c Ping (m1), both sent "at step 0".
STEPS = [
    ("duplicate", "a", "b", PING),          # 1: a second copy of a->b Ping (m2, a duplicate)
    ("deliver", "a", "b", PING),            # 2: m0 delivered (oldest copy first); b answers Pong (m3)
    ("deliver", "a", "b", PING),            # 3: m2 delivered; b answers Pong again (m4)
    ("drop", "a", "c", PING),               # 4: m1 dropped
    ("partition", (("a",), ("b", "c"))),    # 5: a cut off (messages wait: no partition-drop)
    ("heal",),                              # 6: the partition heals
    ("deliver", "b", "a", PONG),            # 7: m3 delivered (the older Pong), m4 stays in flight
    ("crash", "c"),                         # 8
    ("restart", "c"),                       # 9
]


@pytest.fixture
def chart():
    return build_chart(make_trace(pinger(), 0, STEPS, "Anything", "always"), pinger())


def test_chart_follows_each_message_from_send_to_delivery(chart):
    assert chart.nodes == ["a", "b", "c"]
    got = [(m.src, m.dst, m.sent, m.end, m.fate, m.copy) for m in chart.messages]
    assert got == [
        ("a", "b", 0, 2, DELIVERED, ""),
        ("a", "c", 0, 4, DROPPED, ""),
        ("a", "b", 1, 3, DELIVERED, "duplicate"),
        ("b", "a", 2, 7, DELIVERED, ""),
        ("b", "a", 3, None, IN_FLIGHT, ""),
    ]
    assert len(chart.delivered()) == 3  # steps 2, 3 and 7


def test_chart_puts_faults_on_the_lifelines_and_partitions_in_bands(chart):
    assert [(e.step, e.node, e.kind) for e in chart.events] == [(8, "c", "crash"), (9, "c", "restart")]
    assert [(b.start, b.end, b.groups) for b in chart.bands] == [(5, 6, [["a"], ["b", "c"]])]
    assert chart.outcome().startswith("Anything violated")


def test_messages_lost_across_a_partition_that_drops_them():
    model = pinger(faults="partition=1,partition-drop")
    chart = build_chart(make_trace(model, 0, [("partition", (("a",), ("b", "c")))], "X", "always"), model)
    assert [(m.dst, m.end, m.fate) for m in chart.messages] == [("b", 1, LOST), ("c", 1, LOST)]
    assert [(b.start, b.end) for b in chart.bands] == [(1, None)]


def test_a_duplicating_network_delivers_one_send_twice():
    model = pinger(faults="none", network="duplicating")
    steps = [("deliver", "a", "b", PING), ("deliver", "a", "b", PING)]
    chart = build_chart(make_trace(model, 0, steps, "X", "always"), model)
    delivered = [(m.dst, m.sent, m.end, m.copy) for m in chart.delivered() if m.src == "a"]
    assert delivered == [("b", 0, 1, "redelivery"), ("b", 0, 2, "redelivery")]


def _svg_elements(svg: str, cls: str) -> list[ET.Element]:
    root = ET.fromstring(svg.split("\n", 1)[1])  # after the XML declaration
    return [e for e in root.iter() if cls in (e.get("class") or "").split()]


def test_svg_has_one_lifeline_per_node_and_one_arrow_per_delivered_message(chart):
    svg = render_svg(chart)
    assert svg.startswith('<?xml version="1.0"')
    ET.fromstring(svg.split("\n", 1)[1])  # well-formed XML
    assert [e.get("data-node") for e in _svg_elements(svg, "lifeline")] == ["a", "b", "c"]
    assert len(_svg_elements(svg, "delivered")) == 3
    assert len(_svg_elements(svg, "dropped")) == 1
    assert len(_svg_elements(svg, "duplicate")) == 1
    assert len(_svg_elements(svg, "inflight")) == 1
    assert len(_svg_elements(svg, "band")) == 1
    assert len(_svg_elements(svg, "crash")) == 1 and len(_svg_elements(svg, "restart")) == 1


class _Collect(HTMLParser):
    """Tags with their attributes, and the text inside each state panel."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.panel_text: dict[int, str] = {}
        self._panel: int | None = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "section" and "state-panel" in (attrs.get("class") or ""):
            self._panel, self._depth = int(attrs["data-step"]), 0
            self.panel_text[self._panel] = ""
        elif self._panel is not None and tag == "section":
            self._depth += 1

    def handle_endtag(self, tag):
        if tag == "section" and self._panel is not None:
            if self._depth == 0:
                self._panel = None
            else:
                self._depth -= 1

    def handle_data(self, data):
        if self._panel is not None:
            self.panel_text[self._panel] += data


def parse_html(text: str) -> _Collect:
    parser = _Collect()
    parser.feed(text)
    parser.close()
    return parser


def test_html_has_a_state_panel_per_step_and_fetches_nothing(chart):
    page = parse_html(render_html(chart))
    panels = [a for t, a in page.tags if t == "section" and "state-panel" in a.get("class", "")]
    assert [int(a["data-step"]) for a in panels] == list(range(len(STEPS) + 1))
    rows = [a for t, a in page.tags if "step-row" in (a.get("class") or "")]
    assert [int(a["data-step"]) for a in rows] == list(range(len(STEPS) + 1))
    for tag, attrs in page.tags:  # self-contained: no external script, style sheet, image or frame
        assert not (tag in ("script", "img", "iframe") and attrs.get("src")), tag
        assert not (tag == "link" and attrs.get("href")), tag
    # the panel of step 8 shows c crashed, with the change from the step before
    assert "crashed" in page.panel_text[8] and "nodes.c: 0 -> crashed" in page.panel_text[8]
    # every node's state is in every panel
    node_divs = [a["data-node"] for t, a in page.tags if t == "div" and "node-state" in (a.get("class") or "")]
    assert node_divs == ["a", "b", "c"] * (len(STEPS) + 1)


def test_dot_has_a_lifeline_per_node_and_an_edge_per_message_that_ended(chart):
    dot = render_dot(chart)
    assert dot.startswith("digraph ") and dot.rstrip().endswith("}")
    assert dot.count("{") == dot.count("}")
    heads = re.findall(r"^  h(\d+) \[", dot, re.M)
    assert heads == ["0", "1", "2"]
    messages = re.findall(r"^  p(\d+)_(\d+) -> p(\d+)_(\d+) \[label=", dot, re.M)
    # ended copies: 3 delivered + 1 dropped; the Pong still in flight has no end point
    assert sorted(messages) == sorted([("0", "0", "1", "2"), ("0", "1", "1", "3"), ("0", "0", "0", "4"),
                                       ("1", "2", "0", "7")])


def test_text_chart_has_a_row_per_step_and_lists_the_messages(chart):
    text = render_text(chart)
    rows = re.findall(r"^ +(\d+)  ", text, re.M)
    assert rows == [str(i) for i in range(len(STEPS) + 1)]
    assert "m1 a -> c: Ping(1), sent at step 0, dropped at step 4" in text
    assert "m2 a -> b: Ping(1), sent at step 1, delivered at step 3, duplicate" in text
    assert "[partition {a} | {b, c}]" in text


def test_figure8_chart_has_three_lifelines_and_an_arrow_per_delivery():
    data = json.loads(FIGURE8.read_text())
    deliveries = [(i, a[1], a[2]) for i, a in enumerate(data["actions"], 1) if a[0] == "deliver"]
    chart = build_chart(load(FIGURE8))
    assert chart.nodes == ["n1", "n2", "n3"]
    assert sorted((m.end, m.src, m.dst) for m in chart.delivered()) == deliveries
    assert all(m.sent < m.end for m in chart.delivered())
    assert len(chart.steps) == len(data["actions"]) == 33
    svg = render_svg(chart)
    assert len(_svg_elements(svg, "lifeline")) == 3
    assert len(_svg_elements(svg, "delivered")) == len(deliveries)


def test_non_actor_trace_is_a_table_of_changed_variables():
    model = Counter()
    chart = build_chart(make_trace(model, 0, [("inc",), ("inc",), ("reset",)], "NotBad", "always"), model)
    assert not chart.is_actor and chart.variables() == ["x"]
    assert [chart.changes_at(i) for i in (1, 2, 3)] == [["x: 0 -> 1"], ["x: 1 -> 2"], ["x: 2 -> 0"]]
    html = render_html(chart)
    assert '<td class="changed">2 -&gt; 0</td>' in html  # step 3's cell in column x
    page = parse_html(html)
    rows = [a for t, a in page.tags if t == "tr" and "step" in (a.get("class") or "").split()]
    assert [int(a["data-step"]) for a in rows] == [0, 1, 2, 3]
    assert len([a for t, a in page.tags if t == "section"]) == 4
    ET.fromstring(render_svg(chart).split("\n", 1)[1])
    assert "x: 2 -> 0" in render_text(chart)
    dot = render_dot(chart)  # a chain of the 4 states with the 3 steps between them
    assert len(re.findall(r"^  s\d+ \[shape=box", dot, re.M)) == 4
    assert re.findall(r"^  (s\d+ -> s\d+) ", dot, re.M) == ["s0 -> s1", "s1 -> s2", "s2 -> s3"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_show_cli_writes_each_format(capsys, tmp_path):
    code, out, err = run(capsys, "show", FIGURE8)
    assert code == 0 and "StateMachineSafety violated" in out
    for suffix, fmt in ((".html", "html"), (".svg", "svg"), (".gv", "dot")):
        target = tmp_path / f"chart{suffix}"
        code, out, err = run(capsys, "show", FIGURE8, "-o", target)
        assert code == 0 and f"({fmt}, 33 steps, 3 lifelines, 17 delivered messages)" in out
        assert target.stat().st_size > 1000
    code, out, _ = run(capsys, "show", FIGURE8, "--format", "svg")
    assert code == 0 and out.startswith("<?xml")


def test_show_cli_mistakes_are_one_line_and_exit_2(capsys, tmp_path):
    not_trace = tmp_path / "x.json"
    not_trace.write_text('{"hello": 1}')
    edited = tmp_path / "edited.json"
    data = json.loads(FIGURE8.read_text())
    data["actions"][3] = ["deliver", "n2", "n1", ["RequestVoteResponse", 9, True]]
    edited.write_text(json.dumps(data))
    for argv in ([tmp_path / "missing.json"], [not_trace], [FIGURE8, "--format", "pdf"], [edited]):
        code, out, err = run(capsys, "show", *argv)
        assert code == 2, argv
        assert len(err.strip().splitlines()) == 1 and err.startswith("splitbrain: error:"), err
    assert "step 4" in err  # the edited trace: where the model stops following it


def test_every_corpus_trace_draws_with_an_arrow_per_delivery():
    for path in sorted(CORPUS.glob("*.json")):
        trace = load(path)
        chart = build_chart(trace)
        ET.fromstring(render_svg(chart).split("\n", 1)[1])
        if chart.is_actor:  # a delivery or an adversary's message is one delivered arrow
            deliveries = sum(1 for a in trace.actions if a[0] in ("deliver", "byzantine"))
            assert len(chart.delivered()) == deliveries, path.name


def test_clock_faults_and_timers_are_lifeline_events():
    path = CORPUS / "raft_stale_lease_read__NoStaleReads.json"
    actions = json.loads(path.read_text())["actions"]
    chart = build_chart(load(path))
    jumps = [(i, a[1], f"clock {a[2]:+d}") for i, a in enumerate(actions, 1) if a[0] == "clock_jump"]
    timers = [(i, a[1]) for i, a in enumerate(actions, 1) if a[0] == "timeout"]
    assert jumps and [(e.step, e.node, e.label) for e in chart.events if e.kind == "clock_jump"] == jumps
    assert [(e.step, e.node) for e in chart.events if e.kind == "timeout"] == timers
    assert len(_svg_elements(render_svg(chart), "clock_jump")) == len(jumps)


def test_a_lasso_says_which_steps_repeat():
    path = CORPUS / "circuit_breaker_stuck_open__Recloses.json"
    trace = load(path)  # a leads_to counterexample: 13 steps, the last one returns to the state after step 12
    assert (len(trace), trace.loop_start) == (13, 12)
    chart = build_chart(trace)
    assert chart.outcome().endswith("(step 13 repeats forever)")
    assert "b: timer recover fires   <- the cycle returns here" in render_text(chart)
    assert len(_svg_elements(render_svg(chart), "cycle")) == 1
