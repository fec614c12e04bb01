"""``check --dot FILE`` / ``--graphml FILE``: the reachable state graph of a small model.

Expected node and edge counts are hand counts of the toy models (worked out
next to each test), and the reachable states are cross-checked with
``tests.toys.reachable``, a search independent of the exporter.
"""

from __future__ import annotations

import re
from pathlib import Path

import networkx as nx
import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.graph import GraphTooLarge, state_graph, to_dot
from splitbrain.models.core import Model
from splitbrain.properties.kinds import always_step
from tests.toys import Counter, Tokens, reachable

TOYS = Path(__file__).resolve().parent / "toys.py"


def dot_counts(dot: str) -> tuple[int, int]:
    """(node statements, edge statements) of the Graphviz text the exporter writes."""
    nodes = re.findall(r"^  s\d+ \[", dot, re.M)
    edges = re.findall(r"^  s\d+ -> s\d+ \[", dot, re.M)
    return len(nodes), len(edges)


def test_counter_graph_by_hand():
    # Counter(n=5): states 0..4; each has inc ((x+1) mod 5) and reset (-> 0): 5 nodes, 10 edges.
    model = Counter(n=5)
    g = state_graph(model)
    assert (g.number_of_nodes(), g.number_of_edges()) == (5, 10)
    assert g.number_of_nodes() == len(reachable(model))
    initial = [n for n, d in g.nodes(data=True) if d["initial"]]
    violating = {d["label"]: d["violates"] for n, d in g.nodes(data=True) if d["violates"]}
    assert initial == ["s0"] and g.nodes["s0"]["label"] == '{"x": 0}'
    assert violating == {'{"x": 3}': "NotBad"}  # NotBad: x != 3
    assert sorted(d["label"] for _, _, d in g.edges(data=True)) == ["inc()"] * 5 + ["reset()"] * 5
    dot = to_dot(g)
    assert dot_counts(dot) == (5, 10)
    assert dot.count("peripheries=2") == 1 and dot.count("fillcolor=") == 1


def test_tokens_graph_by_hand():
    # Tokens(k=2, m=2): (0,0) -> (1,0), (0,1); both -> (1,1): 4 nodes, 4 edges, no symmetry reduction.
    model = Tokens(k=2, m=2)
    g = state_graph(model)
    assert (g.number_of_nodes(), g.number_of_edges()) == (4, 4)
    assert g.number_of_nodes() == len(reachable(model))
    assert dot_counts(to_dot(g)) == (4, 4)


def test_max_depth_cuts_the_graph():
    # Counter(n=5) within 2 steps: states 0, 1, 2; edges from 0 (inc, reset) and 1 (inc, reset).
    g = state_graph(Counter(n=5), max_depth=2)
    assert (g.number_of_nodes(), g.number_of_edges()) == (3, 4)


class StepBreaker(Model):
    """0 -> 1 -> 2 by 'up'; the step invariant forbids the step out of 1."""

    def init_states(self):
        return [0]

    def actions(self, x):
        return [("up",)] if x < 2 else []

    def next_state(self, x, a):
        return x + 1

    def properties(self):
        return [always_step("NoStepFromOne", lambda s, a, t: s != 1)]


def test_edges_that_break_a_step_invariant_are_marked():
    g = state_graph(StepBreaker())
    marked = [(u, v) for u, v, d in g.edges(data=True) if d["violates"] == "NoStepFromOne"]
    assert marked == [("s1", "s2")] and g.number_of_edges() == 2
    assert to_dot(g).count("color=red, fontcolor=red") == 1


def test_too_many_states_is_refused():
    with pytest.raises(GraphTooLarge, match="more than 10 states"):
        state_graph(Counter(n=50), limit=10)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_writes_dot_and_graphml_that_networkx_reads_back(capsys, tmp_path):
    dot, graphml = tmp_path / "g.dot", tmp_path / "g.graphml"
    code, out, err = run(capsys, "check", f"{TOYS}:Counter", "--dot", dot, "--graphml", graphml,
                         "--trace-out", tmp_path / "t.json", "-q")
    assert code == 1  # the check itself runs as usual: NotBad is violated
    assert "state graph: 5 states, 10 steps" in err
    assert dot_counts(dot.read_text()) == (5, 10)
    g = nx.read_graphml(graphml)
    assert (g.number_of_nodes(), g.number_of_edges()) == (5, 10)
    assert [d["label"] for _, d in g.nodes(data=True) if d["violates"]] == ['{"x": 3}']
    assert [n for n, d in g.nodes(data=True) if d["initial"]] == ["s0"]


def test_check_refuses_a_large_graph_in_one_line(capsys, tmp_path):
    # Counter with n=10001 has 10,001 states, one more than the limit.
    code, out, err = run(capsys, "check", f"{TOYS}:Counter", "-p", "n=10001", "--dot", tmp_path / "g.dot", "-q")
    assert code == 2
    assert err.count("\n") == 1 and "more than 10000 states" in err and "--max-depth" in err
    assert not (tmp_path / "g.dot").exists()
