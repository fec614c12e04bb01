"""The reachable state graph of a small model, as a networkx graph, Graphviz source or GraphML.

Nodes are the reachable states (``s0``, ``s1``, ... in breadth-first order),
each with a short rendering (``label``), whether it is initial, and the
invariants (``always`` properties) it violates; edges are the steps, labelled
with their action, and marked when they break a step invariant
(``always_step``). States are not reduced by symmetry; states outside the
model's boundary are shown but not expanded, as the checker does. A graph of
more than ``limit`` states is refused with :class:`GraphTooLarge`.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import networkx as nx

from splitbrain.models.core import Model, format_action
from splitbrain.models.registry import UsageError
from splitbrain.properties.kinds import ALWAYS, ALWAYS_STEP
from splitbrain.traces.format import to_jsonable

DEFAULT_LIMIT = 10_000
LABEL_WIDTH = 80


class GraphTooLarge(UsageError):
    """The model has more reachable states than the graph export allows."""


def _label(model: Model, state: Any) -> str:
    rendered = model.render(state)
    text = rendered if isinstance(rendered, str) else json.dumps(to_jsonable(rendered), sort_keys=True)
    return text if len(text) <= LABEL_WIDTH else text[: LABEL_WIDTH - 3] + "..."


def state_graph(model: Model, limit: int = DEFAULT_LIMIT, max_depth: int | None = None) -> nx.MultiDiGraph:
    """Every state reachable in ``model`` (within ``max_depth`` steps), breadth first, with its steps."""
    invariants = [p for p in model.properties() if p.kind == ALWAYS]
    step_props = [p for p in model.properties() if p.kind == ALWAYS_STEP]
    graph = nx.MultiDiGraph(name=getattr(model, "name", type(model).__name__))
    ids: dict[Any, str] = {}

    def add(state: Any, initial: bool) -> str:
        if state in ids:
            return ids[state]
        if len(ids) >= limit:
            raise GraphTooLarge(
                f"the state graph has more than {limit} states: export it for a smaller configuration "
                "(lower the -p parameters) or cut it with --max-depth")
        node = ids[state] = f"s{len(ids)}"
        broken = [p.name for p in invariants if not p.condition(state)]
        graph.add_node(node, label=_label(model, state), initial=initial, violates=", ".join(broken),
                       within_boundary=model.within_boundary(state))
        return node

    frontier: deque[tuple[Any, int]] = deque()
    for s in model.init_states():
        if s not in ids:
            add(s, True)
            frontier.append((s, 0))
    while frontier:
        state, depth = frontier.popleft()
        if not graph.nodes[ids[state]]["within_boundary"] or (max_depth is not None and depth >= max_depth):
            continue
        for action, nxt in model.successors(state):
            new = nxt not in ids
            target = add(nxt, False)
            broken = [p.name for p in step_props if not p.condition(state, action, nxt)]
            graph.add_edge(ids[state], target, label=format_action(action), violates=", ".join(broken))
            if new:
                frontier.append((nxt, depth + 1))
    return graph


def _q(text: str) -> str:
    """A Graphviz double-quoted string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: nx.MultiDiGraph) -> str:
    """Graphviz source: initial states doubly outlined, violating states and steps in red."""
    lines = [f"digraph {_q(graph.graph.get('name', 'states'))} {{",
             "  node [shape=box, fontname=Helvetica, fontsize=9]; edge [fontname=Helvetica, fontsize=8];"]
    for node, data in graph.nodes(data=True):
        attrs = [f"label={_q(data['label'] + (chr(10) + 'violates ' + data['violates'] if data['violates'] else ''))}"]
        if data["initial"]:
            attrs.append("peripheries=2")
        if data["violates"]:
            attrs.append('style=filled, fillcolor="#f8c0c0", color=red')
        if not data["within_boundary"]:
            attrs.append("style=dashed")
        lines.append(f"  {node} [{', '.join(attrs)}];")
    for src, dst, data in graph.edges(data=True):
        extra = ", color=red, fontcolor=red" if data["violates"] else ""
        lines.append(f"  {src} -> {dst} [label={_q(data['label'])}{extra}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def export_state_graph(model: Model, dot: str | None = None, graphml: str | None = None,
                       limit: int = DEFAULT_LIMIT, max_depth: int | None = None) -> nx.MultiDiGraph:
    """Build the state graph and write it as Graphviz source to ``dot`` and as GraphML to ``graphml``."""
    graph = state_graph(model, limit, max_depth)
    try:
        if dot:
            Path(dot).write_text(to_dot(graph), encoding="utf-8")
        if graphml:
            nx.write_graphml(graph, graphml)
    except OSError as exc:
        raise UsageError(f"{exc.filename or dot or graphml}: cannot write: {exc.strerror or exc}") from None
    return graph
