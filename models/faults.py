"""Which faults an actor model may suffer, and the partition shapes it explores.

A :class:`FaultConfig` says which faults are enabled and how often each may
happen in one behaviour (its budget). ``FaultConfig.parse`` reads the form the
command line takes (``--faults``)::

    partition=1,crash=1,restart,loss,dup,clock-skew=2,clock-jump=1,byzantine=1

=================  =====================================================================
item               meaning
=================  =====================================================================
``partition[=k]``  a ``("partition", groups)`` step splits the nodes (at most k times;
                   bare: no limit); ``("heal",)`` reconnects them
``shapes=a+b``     the partition shapes offered (default all): isolate, halves, bridge, ring
``one-way[=k]``    a ``("one_way", src, dst)`` step breaks the link src -> dst only
``partition-drop`` messages across a cut are lost, instead of waiting for the heal
``crash[=k]``      a ``("crash", n)`` step stops a node (crash-stop)
``restart``        a crashed node may ``("restart", n)`` from its durable state
                   (crash-recovery)
``loss[=k]``       a ``("drop", src, dst, msg)`` step loses a message in flight
``dup[=k]``        a ``("duplicate", src, dst, msg)`` step copies one
``reorder[=k]``    a ``("reorder", src, dst, msg)`` step lets a message overtake the
                   earlier ones on its FIFO channel (``--network fifo`` only)
``clock-skew=s``   each node's clock ticks on its own (``("tick", n)``), never more than
                   s ahead of the slowest (bare: 1); without it clocks tick together
``clock-jump=d``   a ``("clock_jump", n, delta)`` step moves a clock by 1..d either way
                   (bare: 1), at most ``clock-jumps`` times
``clock-jumps=k``  the budget of clock jumps (default 1)
``byzantine=k``    k nodes (bare: 1) are run by an adversary that sends any message of
                   the protocol's universe: ``("byzantine", n, dst, msg)``
``byzantine-msgs=m``  at most m adversary messages per behaviour (default: no limit)
``none``           no faults (also the empty string)
=================  =====================================================================

For budgets, a bare item means no limit. A mistake (unknown item, bad value,
a modifier without its fault) raises :class:`models.registry.UsageError` with
one line naming it.

Partitions are connectivity graphs (networkx): two nodes can exchange
messages when the graph has an edge between them. A partition's ``groups``
are the graph's maximal cliques, so "two nodes can talk" is "some group holds
both"; the shapes Jepsen users know are generated over all nodes:

- isolate: one node cut off from the rest, ``{n1} | {n2, n3}``;
- halves: a minority and a majority half, ``{n1, n2} | {n3, n4, n5}``;
- bridge: two halves that only one node reaches, ``{n1, n2, n3} | {n3, n4, n5}``;
- ring: each node reaches only its two neighbours (4 nodes or more);
- any topology a model gives as a ``networkx.Graph`` over its node ids.

A note on what partitions can break. Actor models are asynchronous: a message
may wait in flight arbitrarily long anyway, so a partition whose messages wait
for the heal only removes behaviours and can never be necessary for a safety
violation. Partitions matter when they lose messages (``partition-drop``), or
for liveness.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations, permutations
from typing import Iterable, Sequence

import networkx as nx

from splitbrain.models.registry import UsageError

SHAPES = ("isolate", "halves", "bridge", "ring")

# The fault kinds a model can declare in ``ModelSpec.faults``, as spelled in --faults.
FAULT_KINDS = ("partition", "one-way", "crash", "restart", "loss", "dup", "reorder",
               "clock-skew", "clock-jump", "byzantine")
NETWORK_FAULTS = ("partition", "one-way", "loss", "dup", "reorder")
CRASH_FAULTS = ("crash", "restart")
CLOCK_FAULTS = ("clock-skew", "clock-jump")

# Budgeted fault steps, in the order the actor model keeps their remaining budgets.
BUDGETS = ("partition", "one_way", "crash", "loss", "dup", "reorder", "clock_jump", "byzantine_msgs")

# item -> (field, kind): "budget" (bare = no limit), "size" (bare = 1), "flag" (no value),
# "count" (value required), "shapes".
_ITEMS = {
    "partition": ("partition", "budget"),
    "one-way": ("one_way", "budget"),
    "partition-drop": ("partition_drop", "flag"),
    "shapes": ("shapes", "shapes"),
    "crash": ("crash", "budget"),
    "restart": ("restart", "flag"),
    "loss": ("loss", "budget"),
    "dup": ("dup", "budget"),
    "reorder": ("reorder", "budget"),
    "clock-skew": ("clock_skew", "size"),
    "clock-jump": ("clock_jump", "size"),
    "clock-jumps": ("clock_jumps", "count"),
    "byzantine": ("byzantine", "size"),
    "byzantine-msgs": ("byzantine_msgs", "count"),
}


@dataclass(frozen=True)
class FaultConfig:
    """The faults enabled for one run, with their budgets.

    Budget fields: 0 disables the fault, k > 0 allows at most k such steps per
    behaviour, None allows any number.
    """

    partition: int | None = 0
    one_way: int | None = 0
    partition_drop: bool = False
    shapes: tuple[str, ...] = SHAPES
    crash: int | None = 0
    restart: bool = False
    loss: int | None = 0
    dup: int | None = 0
    reorder: int | None = 0
    clock_skew: int = 0
    clock_jump: int = 0
    clock_jumps: int | None = 1
    byzantine: int = 0
    byzantine_msgs: int | None = None

    def __post_init__(self) -> None:
        for name in ("partition", "one_way", "crash", "loss", "dup", "reorder", "clock_jumps", "byzantine_msgs"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise UsageError(f"fault {_item(name)}={value!r}: expected a non-negative integer")
        for name in ("clock_skew", "clock_jump", "byzantine"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise UsageError(f"fault {_item(name)}={value!r}: expected a non-negative integer")
        unknown = [s for s in self.shapes if s not in SHAPES]
        if unknown:
            raise UsageError(f"unknown partition shape {unknown[0]!r} (known: {', '.join(SHAPES)})")
        if self.restart and self.crash == 0:
            raise UsageError("fault restart needs crash (nothing can restart without a crash)")
        if self.partition_drop and self.partition == 0 and self.one_way == 0:
            raise UsageError("fault partition-drop needs partition or one-way")

    # -- reading and writing the --faults form ---------------------------------
    @classmethod
    def parse(cls, text: str | None) -> "FaultConfig":
        """The configuration written as ``text`` (see the module docstring)."""
        if text is None or text.strip() in ("", "none"):
            return cls()
        values: dict[str, object] = {}
        for raw in text.split(","):
            item = raw.strip()
            if not item:
                raise UsageError(f"--faults {text!r}: empty item (items are separated by single commas)")
            name, sep, value = (part.strip() for part in item.partition("="))
            if name not in _ITEMS:
                raise UsageError(f"unknown fault {name!r} (known: {', '.join(_ITEMS)})")
            field, kind = _ITEMS[name]
            if field in values:
                raise UsageError(f"fault {name} given twice")
            if kind == "flag":
                if sep:
                    raise UsageError(f"fault {name} takes no value (write just {name!r})")
                values[field] = True
            elif kind == "shapes":
                if not value:
                    raise UsageError("fault shapes needs a value, e.g. shapes=isolate+halves")
                values[field] = tuple(s.strip() for s in value.split("+"))
            elif not sep:
                if kind == "count":
                    raise UsageError(f"fault {name} needs a value, e.g. {name}=1")
                values[field] = None if kind == "budget" else 1
            else:
                try:
                    number = int(value)
                except ValueError:
                    number = -1
                if number < 0:
                    raise UsageError(f"fault {name}={value!r}: expected a non-negative integer")
                values[field] = number
        return cls(**values)  # type: ignore[arg-type]

    def spec(self) -> str:
        """This configuration in the --faults form ("none" for no faults); ``parse`` reads it back."""
        items = []
        default = FaultConfig()
        for name, (field, kind) in _ITEMS.items():
            value = getattr(self, field)
            if value == getattr(default, field):
                continue
            if kind == "flag":
                items.append(name)
            elif kind == "shapes":
                items.append(f"shapes={'+'.join(value)}")
            elif value is None:
                items.append(name)
            else:
                items.append(f"{name}={value}")
        return ",".join(items) or "none"

    __str__ = spec

    def kinds(self) -> set[str]:
        """The fault kinds (``FAULT_KINDS`` spelling) this configuration enables."""
        on = {
            "partition": self.partition != 0, "one-way": self.one_way != 0,
            "crash": self.crash != 0, "restart": self.restart,
            "loss": self.loss != 0, "dup": self.dup != 0, "reorder": self.reorder != 0,
            "clock-skew": self.clock_skew > 0, "clock-jump": self.clock_jump > 0 and self.clock_jumps != 0,
            "byzantine": self.byzantine > 0,
        }
        return {k for k, enabled in on.items() if enabled}

    def budgets(self) -> tuple[int | None, ...]:
        """The initial remaining budget of each step kind, in ``BUDGETS`` order."""
        jumps = self.clock_jumps if self.clock_jump else 0
        byz = self.byzantine_msgs if self.byzantine else 0
        return (self.partition, self.one_way, self.crash, self.loss, self.dup, self.reorder, jumps, byz)


def _item(field: str) -> str:
    for name, (f, _) in _ITEMS.items():
        if f == field:
            return name
    return field


def as_fault_config(faults: "FaultConfig | str | None") -> FaultConfig:
    """A FaultConfig from a FaultConfig, its --faults text, or None (no faults)."""
    if isinstance(faults, FaultConfig):
        return faults
    if faults is None or isinstance(faults, str):
        return FaultConfig.parse(faults)
    raise TypeError(f"faults must be a FaultConfig or its text, not {type(faults).__name__}")


# -- partitions ------------------------------------------------------------------

Groups = tuple[tuple[str, ...], ...]
Cut = frozenset  # of (src, dst) pairs that cannot exchange messages


def groups_of(graph: nx.Graph) -> Groups:
    """The partition's groups: the maximal cliques of its connectivity graph, sorted."""
    return tuple(sorted(tuple(sorted(c)) for c in nx.find_cliques(graph)))


def cut_of(graph: nx.Graph) -> Cut:
    """The directed links the connectivity graph lacks."""
    nodes = list(graph.nodes)
    return frozenset((a, b) for a in nodes for b in nodes if a != b and not graph.has_edge(a, b))


def _graph(nodes: Sequence[str], groups: Iterable[Iterable[str]]) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(nodes)
    for group in groups:
        g.add_edges_from(combinations(list(group), 2))
    return g


def isolate(nodes: Sequence[str]) -> list[nx.Graph]:
    """One node cut off from all the others, for each node."""
    return [_graph(nodes, [(n,), [m for m in nodes if m != n]]) for n in nodes] if len(nodes) >= 2 else []


def halves(nodes: Sequence[str]) -> list[nx.Graph]:
    """A minority half cut off from the majority half (equal halves when even), every way."""
    k = len(nodes) // 2
    if k == 0:
        return []
    return [_graph(nodes, [small, [m for m in nodes if m not in small]]) for small in combinations(nodes, k)
            if 2 * k < len(nodes) or nodes[0] in small]  # equal halves: each split once


def bridges(nodes: Sequence[str]) -> list[nx.Graph]:
    """Two halves that cannot reach each other, both reaching one bridge node."""
    out = []
    if len(nodes) < 3:
        return out
    for bridge in nodes:
        rest = [m for m in nodes if m != bridge]
        for side in combinations(rest, len(rest) // 2):
            if 2 * len(side) == len(rest) and rest[0] not in side:
                continue  # equal sides: each split once
            other = [m for m in rest if m not in side]
            out.append(_graph(nodes, [(*side, bridge), (*other, bridge)]))
    return out


def rings(nodes: Sequence[str]) -> list[nx.Graph]:
    """Each node reaching only its two neighbours on a cycle, for every cycle (4+ nodes)."""
    if len(nodes) < 4:
        return []
    first, rest = nodes[0], nodes[1:]
    out = []
    for order in permutations(rest):
        if order[0] > order[-1]:  # each cycle once, not once per direction
            continue
        cycle = (first, *order)
        out.append(_graph(nodes, [(cycle[i], cycle[(i + 1) % len(cycle)]) for i in range(len(cycle))]))
    return out


_SHAPE_MAKERS = {"isolate": isolate, "halves": halves, "bridge": bridges, "ring": rings}


def partition_options(nodes: Sequence[str], shapes: Sequence[str] = SHAPES,
                      topologies: Sequence[nx.Graph] = ()) -> list[tuple[Groups, Cut]]:
    """Every distinct partition a ``partition`` step may make: ``(groups, cut)`` pairs.

    ``topologies`` are extra connectivity graphs over ``nodes``. Shapes that
    cut nothing, and repeats of an earlier cut, are left out.
    """
    graphs: list[nx.Graph] = []
    for shape in shapes:
        graphs.extend(_SHAPE_MAKERS[shape](list(nodes)))
    for topo in topologies:
        if isinstance(topo, nx.DiGraph):
            raise ValueError("a topology is an undirected networkx.Graph (one-way link loss is its own fault)")
        extra = set(topo.nodes) - set(nodes)
        if extra:
            raise ValueError(f"topology names unknown nodes: {', '.join(sorted(map(str, extra)))}")
        g = nx.Graph()
        g.add_nodes_from(nodes)
        g.add_edges_from(topo.edges)
        graphs.append(g)
    seen: set[Cut] = set()
    out = []
    for g in graphs:
        cut = cut_of(g)
        if cut and cut not in seen:
            seen.add(cut)
            out.append((groups_of(g), cut))
    return out


def one_way_links(nodes: Sequence[str]) -> list[tuple[str, str]]:
    """Every directed link ``(src, dst)`` a one-way fault may break."""
    return [(a, b) for a in nodes for b in nodes if a != b]


def format_groups(groups: Groups) -> str:
    """``(("n1",), ("n2", "n3"))`` as ``{n1} | {n2, n3}``."""
    return " | ".join("{" + ", ".join(g) + "}" for g in groups)
