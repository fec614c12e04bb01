"""Partitioning schemes as checkable models (CLI name ``partitioner``).

A state is a pair (previous layout, current layout); an action changes the
layout: a node joins or leaves, or (for range, directory and composite) an
explicit split, merge or move. Keeping the previous layout in the state lets
minimal disruption be an ordinary invariant: a violation comes back as a
shortest trace ending with the change that moved a key it should not have.

Every key of a small key space is checked in every reachable layout:

- ``ExactlyOneOwner`` (``ExactlyRDistinctOwners`` with replicas > 1): every
  key has that many distinct owners, all live members;
- ``Deterministic``: rebuilding the layout (with the members listed in another
  order, where the scheme ignores order) gives the same owners;
- ``MinimalDisruption``: a join moves keys only to the new node, a leave only
  the leaving node's keys, an explicit step only one partition's keys to one
  node. It holds for ring, rendezvous, jump, range, directory and composite;
  for modulo the checker finds the counterexample;
- ``Coverage`` and ``RangeQueryContiguous`` (range and composite): the ranges
  cover the key space with no gap or overlap, and every range query visits a
  contiguous run of ranges;
- ``KeysMove`` (sometimes): some step moves a key, so the checks are not vacuous.

Modulo hashing is a scheme that does not claim minimal disruption (its
counterexample is in the corpus), not a bug. Bug variants of the ring
(``bug=...``, scheme ring only):

- ``seed_tokens_kept``: the ring is built from the seed members plus the
  joined nodes, so a seed node that leaves keeps its keys (breaks
  ExactlyOneOwner).
- ``tokens_by_position``: a node's tokens are hashed from its position in the
  member list rather than its name (breaks Deterministic and
  MinimalDisruption).

Nodes are named ``n0, n1, ...`` (the pool has ``nodes`` of them, ``start``
are members at first). Keys are ``k0, k1, ...`` for the hashed schemes, the
integers ``0..keys-1`` for range, and pairs ``(prefix, suffix)`` with four
prefixes for composite.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Callable, Iterator

from splitbrain.models.core import Model, format_action
from splitbrain.models.partitioning import (
    MEMBERSHIP_SCHEMES, REPLICATED_SCHEMES, SCHEMES, CompositePartitioner, DirectoryPartitioner,
    Partitioner, RangePartitioner, make,
)
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import Property, always, sometimes
from splitbrain.properties.partitioning import (
    all_queries, coverage_problem, determinism_problem, disruption_problem, moves, owner_problem,
    range_query_problem,
)

COMPOSITE_PREFIXES = 4
BUGS = {
    "seed_tokens_kept": "the ring keeps a seed node's tokens after it leaves (ring only)",
    "tokens_by_position": "ring tokens are hashed from a node's position in the member list (ring only)",
}


def node_name(i: int) -> str:
    return f"n{i}"


class PartitionModel(Model):
    """Common shape: states are (previous layout, layout); subclasses say what a layout is."""

    allow_deadlock = True
    order_free = True  # the layout does not depend on the order members are listed in
    bug = "none"  # a bug variant (set by the factory)

    def __init__(self, scheme: str, nodes: int, start: int) -> None:
        if not 1 <= start <= nodes:
            raise ValueError(f"start must be between 1 and nodes={nodes}")
        self.scheme = scheme
        self.pool = tuple(node_name(i) for i in range(nodes))
        self.first = self.pool[:start]
        self.keys: list[Any] = []
        self.resolved: dict[str, Any] = {}  # every parameter, defaults filled in (set by the factory)
        self._cache: dict[Any, Any] = {}

    # -- what a subclass defines ---------------------------------------------------
    @abstractmethod
    def build(self, layout: Any) -> Partitioner:
        """A fresh partitioner for ``layout``."""

    @abstractmethod
    def initial_layout(self) -> Any:
        """The layout at the start."""

    @abstractmethod
    def steps(self, layout: Any) -> Iterator[tuple[tuple, Any]]:
        """Each enabled action with the layout it leads to."""

    @abstractmethod
    def render_layout(self, layout: Any) -> dict[str, Any]:
        """A short JSON rendering of ``layout``."""

    def reordered(self, layout: Any) -> Any:
        """The same layout with its members listed in another order."""
        return layout

    # -- the Model protocol -----------------------------------------------------------
    def partitioner(self, layout: Any) -> Any:
        """The partitioner of ``layout``, cached along with the owners it has computed."""
        part = self._cache.get(layout)
        if part is None:
            part = self._cache[layout] = _Memo(self.build(layout))
        return part

    def init_states(self) -> list[tuple[Any, Any]]:
        layout = self.initial_layout()
        return [(layout, layout)]

    def successors(self, state: tuple[Any, Any]) -> Iterator[tuple[tuple, tuple[Any, Any]]]:
        _, layout = state
        for action, nxt in self.steps(layout):
            yield action, (layout, nxt)

    def properties(self) -> list[Property]:
        replicas = self.partitioner(self.initial_layout()).replicas
        owners_name = "ExactlyOneOwner" if replicas == 1 else "ExactlyRDistinctOwners"
        checks = [
            (owners_name, lambda layout: owner_problem(self.partitioner(layout), self.keys) is None,
             f"every key has exactly {replicas} distinct owner(s), all live members"),
            ("Deterministic", self._deterministic,
             "rebuilding a layout (members listed in another order) gives the same owners"),
        ] + self.layout_checks()
        props = [always(name, self._per_layout(pred), text) for name, pred, text in checks]
        props.insert(2, always(
            "MinimalDisruption", lambda s: self.disruption(s) is None,
            "a join moves keys only to the new node; a leave only the leaving node's keys; "
            "an explicit step only one partition's keys, to one node"))
        props.append(sometimes("KeysMove", lambda s: s[0] != s[1] and bool(
            moves(self.partitioner(s[0]), self.partitioner(s[1]), self.keys)),
            "some step moves a key (the checks are not vacuous)"))
        return props

    def layout_checks(self) -> list[tuple[str, Callable[[Any], bool], str]]:
        """(name, predicate on a layout, description) of the scheme's own invariants."""
        return []

    def _per_layout(self, pred: Callable[[Any], bool]) -> Callable[[tuple[Any, Any]], bool]:
        """``pred`` on a state's current layout, judged once per layout."""
        verdicts: dict[Any, bool] = {}

        def check(state: tuple[Any, Any]) -> bool:
            layout = state[1]
            found = verdicts.get(layout)
            if found is None:
                found = verdicts[layout] = pred(layout)
            return found

        return check

    def _deterministic(self, layout: Any) -> bool:
        other = self.reordered(layout) if self.order_free else layout
        builds: list[Callable[[], Any]] = [lambda: self.partitioner(layout), lambda: self.build(other)]
        return determinism_problem(builds, self.keys) is None

    def disruption(self, state: tuple[Any, Any]) -> str | None:
        """Why the last step broke minimal disruption (None when it did not)."""
        before, after = state
        return disruption_problem(self.partitioner(before), self.partitioner(after), self.keys)

    def render(self, state: tuple[Any, Any]) -> dict[str, Any]:
        return self.render_layout(state[1])

    def params(self) -> dict[str, Any]:
        """The parameters with the scheme's defaults filled in (what a trace records)."""
        return dict(self.resolved or super().params())

    def describe(self, state: tuple[Any, Any], action: tuple, next_state: tuple[Any, Any]) -> str:
        text = self.describe_step(action)
        moved = moves(self.partitioner(state[1]), self.partitioner(next_state[1]), self.keys)
        if not moved:
            return f"{text}; no key moves"
        shown = ", ".join(f"{_key(k)} {'+'.join(a) or '-'} -> {'+'.join(b) or '-'}" for k, a, b in moved[:6])
        more = f" and {len(moved) - 6} more" if len(moved) > 6 else ""
        problem = self.disruption(next_state)
        tail = f"  [MinimalDisruption violated: {problem}]" if problem else ""
        return f"{text}; {len(moved)} of {len(self.keys)} keys move: {shown}{more}{tail}"

    def describe_step(self, action: tuple) -> str:
        kind = action[0]
        if kind == "join":
            return f"{action[1]} joins"
        if kind == "leave":
            return f"{action[1]} leaves"
        return format_action(action)


class _Memo:
    """A partitioner that remembers the owners it has computed (the model checks
    the same few keys in many states)."""

    def __init__(self, part: Partitioner) -> None:
        self.part = part
        self.memo: dict[Any, tuple] = {}

    def owners(self, key: Any) -> tuple:
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = self.part.owners(key)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.part, name)


def _key(k: Any) -> str:
    return str(k) if not isinstance(k, tuple) else f"({k[0]},{k[1]})"


class MembershipModel(PartitionModel):
    """modulo, ring, rendezvous, jump: the layout is the tuple of members."""

    def __init__(self, scheme: str, nodes: int, keys: int, replicas: int, vnodes: int, start: int) -> None:
        super().__init__(scheme, nodes, start)
        if replicas > start:
            raise ValueError(f"replicas={replicas} needs start >= {replicas}")
        self.replicas = replicas
        self.vnodes = vnodes
        self.keys = [f"k{i}" for i in range(keys)]
        self.order_free = scheme != "jump"  # jump's members are its buckets, in join order
        self.build(self.first)  # reject bad parameter combinations up front

    def build(self, layout: tuple[str, ...]) -> Partitioner:
        if self.bug == "seed_tokens_kept":  # (the bug: seed nodes stay on the ring)
            ring = make(self.scheme, sorted(set(layout) | set(self.first)), replicas=self.replicas, vnodes=self.vnodes)
            return _MappedRing(ring, layout, {n: n for n in ring.nodes})
        if self.bug == "tokens_by_position":  # (the bug: tokens follow the list position)
            ring = make(self.scheme, [f"#{i}" for i in range(len(layout))], replicas=self.replicas, vnodes=self.vnodes)
            return _MappedRing(ring, layout, {f"#{i}": n for i, n in enumerate(layout)})
        return make(self.scheme, layout, replicas=self.replicas, vnodes=self.vnodes)

    def initial_layout(self) -> tuple[str, ...]:
        return self.first

    def reordered(self, layout: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(reversed(layout))

    def steps(self, members: tuple[str, ...]) -> Iterator[tuple[tuple, tuple[str, ...]]]:
        if self.scheme == "jump":
            # Jump hash grows and shrinks at the last bucket only.
            if len(members) < len(self.pool):
                node = self.pool[len(members)]
                yield ("join", node), members + (node,)
            if len(members) > 1:
                yield ("leave", members[-1]), members[:-1]
            return
        for node in self.pool:
            if node not in members:
                yield ("join", node), tuple(sorted(members + (node,), key=self.pool.index))
        if len(members) > self.replicas:
            for node in members:
                yield ("leave", node), tuple(n for n in members if n != node)

    def render_layout(self, members: tuple[str, ...]) -> dict[str, Any]:
        part = self.partitioner(members)
        return {"members": list(members), "owners": {k: "+".join(part.owners(k)) for k in self.keys}}


class _MappedRing:
    """A bug variant's ring: ``ring``'s owners renamed by ``names``; ``nodes`` the live members."""

    def __init__(self, ring: Partitioner, members: tuple[str, ...], names: dict[str, str]) -> None:
        self.ring, self.nodes, self.names = ring, tuple(members), names
        self.replicas = ring.replicas

    def owners(self, key: Any) -> tuple:
        return tuple(self.names[n] for n in self.ring.owners(key))


class RangeModel(PartitionModel):
    """range: the layout is (members, ranges); steps split, merge, move, join, leave."""

    def __init__(self, nodes: int, keys: int, start: int, parts: int) -> None:
        super().__init__("range", nodes, start)
        if keys < start:
            raise ValueError(f"keys={keys} is too small for {start} ranges")
        if parts < start:
            raise ValueError(f"parts must be at least start={start}")
        self.space = keys
        self.max_parts = parts
        self.keys = list(range(keys))
        self.queries = all_queries(keys)

    def build(self, layout: tuple) -> RangePartitioner:
        members, parts = layout
        return RangePartitioner(self.space, parts, members)

    def initial_layout(self) -> tuple:
        part = RangePartitioner.even(self.space, self.first)
        return (part.nodes, part.parts)

    def reordered(self, layout: tuple) -> tuple:
        return (tuple(reversed(layout[0])), tuple(reversed(layout[1])))

    def steps(self, layout: tuple) -> Iterator[tuple[tuple, tuple]]:
        part = self.partitioner(layout)
        for action, nxt in range_steps(part, self.max_parts):
            yield action, (nxt.nodes, nxt.parts)
        for action, nxt in join_leave_steps(part, self.pool):
            if len(nxt.parts) <= self.max_parts:
                yield action, (nxt.nodes, nxt.parts)

    def layout_checks(self) -> list[tuple[str, Callable[[Any], bool], str]]:
        return [
            ("Coverage", lambda layout: coverage_problem(layout[1], self.space) is None,
             "the ranges cover the key space with no gap or overlap"),
            ("RangeQueryContiguous",
             lambda layout: range_query_problem(self.partitioner(layout), self.queries) is None,
             "every range query visits a contiguous run of ranges, the run query() names"),
        ]

    def render_layout(self, layout: tuple) -> dict[str, Any]:
        members, parts = layout
        return {"members": list(members), "ranges": [f"[{lo},{hi}) {o}" for lo, hi, o in parts]}

    def describe_step(self, action: tuple) -> str:
        return describe_range_step(action, "")


def range_steps(part: RangePartitioner, max_parts: int,
                group: int | None = None) -> Iterator[tuple[tuple, RangePartitioner]]:
    """The explicit steps enabled in a range layout (actions tagged with ``group`` if given)."""
    tag = () if group is None else (group,)
    n = len(part.parts)
    if n < max_parts:
        for i, (lo, hi, _) in enumerate(part.parts):
            for at in range(lo + 1, hi):
                for to in part.nodes:
                    yield ("split", *tag, i, at, to), part.split(i, at, to)
    for i in range(n - 1):
        yield ("merge", *tag, i), part.merge(i)
    for i, (_, _, owner) in enumerate(part.parts):
        for to in part.nodes:
            if to != owner:
                yield ("move", *tag, i, to), part.move(i, to)


def describe_range_step(action: tuple, prefix: str) -> str:
    kind = action[0]
    if kind == "split":
        i, at, to = action[-3:]
        return f"{prefix}split range {i} at {at}: keys from {at} up go to {to}"
    if kind == "merge":
        i = action[-1]
        return f"{prefix}range {i} absorbs range {i + 1}"
    if kind == "move":
        i, to = action[-2:]
        return f"{prefix}range {i} moves to {to}"
    if kind == "join":
        return f"{action[1]} joins and takes the upper half of the widest range"
    if kind == "leave":
        return f"{action[1]} leaves; its ranges merge into their neighbours"
    return format_action(action)


class DirectoryModel(PartitionModel):
    """directory: the layout is (members, shard table); steps move, join, leave."""

    def __init__(self, nodes: int, keys: int, start: int, shards: int) -> None:
        super().__init__("directory", nodes, start)
        if shards < 1:
            raise ValueError("shards must be at least 1")
        self.keys = [f"k{i}" for i in range(keys)]
        self.shards = shards

    def build(self, layout: tuple) -> DirectoryPartitioner:
        members, table = layout
        return DirectoryPartitioner(table, members)

    def initial_layout(self) -> tuple:
        part = DirectoryPartitioner.round_robin(self.shards, self.first)
        return (part.nodes, part.table)

    def reordered(self, layout: tuple) -> tuple:
        return (tuple(reversed(layout[0])), layout[1])

    def steps(self, layout: tuple) -> Iterator[tuple[tuple, tuple]]:
        part = self.partitioner(layout)
        for shard, owner in enumerate(part.table):
            for to in part.nodes:
                if to != owner:
                    nxt = part.move(shard, to)
                    yield ("move", shard, to), (nxt.nodes, nxt.table)
        for action, nxt in join_leave_steps(part, self.pool):
            yield action, (nxt.nodes, nxt.table)

    def render_layout(self, layout: tuple) -> dict[str, Any]:
        part = self.partitioner(layout)
        return {
            "members": list(layout[0]),
            "table": [f"s{s} {o}" for s, o in enumerate(layout[1])],
            "owners": {k: f"s{part.shard_of(k)} {part.owner(k)}" for k in self.keys},
        }

    def describe_step(self, action: tuple) -> str:
        if action[0] == "move":
            return f"shard s{action[1]} moves to {action[2]}"
        if action[0] == "join":
            return f"{action[1]} joins and takes shards from the most loaded nodes"
        if action[0] == "leave":
            return f"{action[1]} leaves; its shards go to the least loaded nodes"
        return format_action(action)


def join_leave_steps(part: Partitioner, pool: tuple[str, ...]) -> Iterator[tuple[tuple, Partitioner]]:
    """``join`` of each pool node outside ``part``, ``leave`` of each member, where the scheme allows it."""
    for node in pool:
        if node not in part.nodes:
            try:
                yield ("join", node), part.join(node)
            except ValueError:  # e.g. no range wide enough to split
                pass
    for node in part.nodes:
        try:
            yield ("leave", node), part.leave(node)
        except ValueError:  # e.g. the last member of a group
            pass


class CompositeModel(PartitionModel):
    """composite: the layout is one (members, ranges) per group."""

    def __init__(self, nodes: int, keys: int, start: int, groups: int, parts: int) -> None:
        super().__init__("composite", nodes, start)
        if groups < 1 or start < groups:
            raise ValueError(f"groups must be between 1 and start={start}")
        if keys < 1:
            raise ValueError("keys must be at least 1")
        self.space = keys
        self.groups = groups
        self.max_parts = parts
        self.keys = [(p, s) for p in range(COMPOSITE_PREFIXES) for s in range(keys)]
        self.queries = all_queries(keys)

    def build(self, layout: tuple) -> CompositePartitioner:
        return CompositePartitioner([RangePartitioner(self.space, parts, members) for members, parts in layout])

    def initial_layout(self) -> tuple:
        part = CompositePartitioner.even(self.space, self.first, self.groups)
        return tuple(_range_layout(group) for group in part.groups)

    def reordered(self, layout: tuple) -> tuple:
        return tuple((tuple(reversed(members)), parts) for members, parts in layout)

    def steps(self, layout: tuple) -> Iterator[tuple[tuple, tuple]]:
        part = self.partitioner(layout)
        for g, group in enumerate(part.groups):
            for action, nxt in range_steps(group, self.max_parts, group=g):
                yield action, _replace(layout, g, _range_layout(nxt))
        for action, nxt in join_leave_steps(part, self.pool):
            if all(len(grp.parts) <= self.max_parts for grp in nxt.groups):
                yield action, tuple(_range_layout(grp) for grp in nxt.groups)

    def layout_checks(self) -> list[tuple[str, Callable[[Any], bool], str]]:
        def coverage(layout: tuple) -> bool:
            return all(coverage_problem(parts, self.space) is None for _, parts in layout)

        def contiguous(layout: tuple) -> bool:
            part = self.partitioner(layout)
            return all(range_query_problem(g, self.queries) is None for g in part.groups)

        return [
            ("Coverage", coverage, "in every group, the ranges cover the suffix space with no gap or overlap"),
            ("RangeQueryContiguous", contiguous,
             "a query for one prefix and a suffix range visits a contiguous run of its group's ranges"),
        ]

    def render_layout(self, layout: tuple) -> dict[str, Any]:
        part = self.partitioner(layout)
        return {
            "groups": [{"members": list(m), "ranges": [f"[{lo},{hi}) {o}" for lo, hi, o in p]} for m, p in layout],
            "prefix_group": {str(p): part.group_of(p) for p in range(COMPOSITE_PREFIXES)},
        }

    def describe_step(self, action: tuple) -> str:
        if action[0] in ("split", "merge", "move"):
            return describe_range_step(action, f"group {action[1]}: ")
        if action[0] == "join":
            return f"{action[1]} joins the smallest group and takes the upper half of its widest range"
        return describe_range_step(action, "")


def _range_layout(part: RangePartitioner) -> tuple:
    return (part.nodes, part.parts)


def _replace(layout: tuple, index: int, value: Any) -> tuple:
    return layout[:index] + (value,) + layout[index + 1:]


# Defaults per scheme: small enough that an exhaustive check takes seconds.
DEFAULTS: dict[str, dict[str, int]] = {
    "membership": {"nodes": 5, "keys": 16, "start": 2},
    "range": {"nodes": 3, "keys": 6, "start": 2, "parts": 3},
    "directory": {"nodes": 3, "keys": 8, "start": 2, "shards": 4},
    "composite": {"nodes": 3, "keys": 4, "start": 2, "groups": 2, "parts": 3},
}


def partitioner_model(
    scheme: str = "ring", nodes: int | None = None, keys: int | None = None, replicas: int = 1,
    vnodes: int = 4, start: int | None = None, shards: int | None = None, groups: int | None = None,
    parts: int | None = None, bug: str = "none",
) -> PartitionModel:
    """The model of ``scheme``; a parameter left None takes the scheme's default
    (parameters of other schemes are ignored)."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}")
    if bug != "none" and scheme != "ring":
        raise ValueError(f"bug {bug} applies to scheme ring only")
    kind = "membership" if scheme in MEMBERSHIP_SCHEMES else scheme
    given = {"nodes": nodes, "keys": keys, "start": start, "shards": shards, "groups": groups, "parts": parts}
    v = {name: DEFAULTS[kind].get(name) if value is None else value for name, value in given.items()}
    if start is None:
        v["start"] = max(v["start"], replicas)
    if v["nodes"] < 1 or v["keys"] < 1:
        raise ValueError("nodes and keys must be at least 1")
    if replicas != 1 and scheme not in REPLICATED_SCHEMES:
        raise ValueError(f"scheme {scheme} does not replicate: replicas must be 1")
    model: PartitionModel
    if kind == "membership":
        model = MembershipModel(scheme, v["nodes"], v["keys"], replicas, vnodes, v["start"])
    elif scheme == "range":
        model = RangeModel(v["nodes"], v["keys"], v["start"], v["parts"])
    elif scheme == "directory":
        model = DirectoryModel(v["nodes"], v["keys"], v["start"], v["shards"])
    else:
        model = CompositeModel(v["nodes"], v["keys"], v["start"], v["groups"], v["parts"])
    # The values this scheme uses (a trace records them; None would not parse back).
    model.bug = bug
    model.resolved = {"scheme": scheme, "replicas": replicas, "vnodes": vnodes,
                      **{name: value for name, value in v.items() if value is not None}, "bug": bug}
    return model


SPEC = ModelSpec(
    name="partitioner",
    summary="data partitioning schemes: owners, determinism, minimal disruption, range coverage",
    factory=partitioner_model,
    params=(
        Param("scheme", str, "ring", "partitioning scheme", choices=SCHEMES),
        Param("nodes", int, None, "nodes in the pool, n0, n1, ... (default 5; range/directory/composite 3)"),
        Param("keys", int, None, "keys checked (default 16); range: the key space 0..keys-1 (default 6); "
              "directory: default 8; composite: suffixes 0..keys-1 for each of 4 prefixes (default 4)"),
        Param("replicas", int, 1, "owners per key (modulo, ring, rendezvous)"),
        Param("vnodes", int, 4, "ring tokens per node (ring)"),
        Param("start", int, None, "members at the start (default 2, or replicas if more)"),
        Param("shards", int, None, "directory shards (default 4)"),
        Param("groups", int, None, "node groups (composite, default 2)"),
        Param("parts", int, None, "most ranges in a layout, or per group (range, composite; default 3)"),
        Param("bug", str, "none", "a deliberate bug (scheme ring)", choices=("none", *BUGS)),
    ),
    bugs=dict(BUGS),
    breaks={"seed_tokens_kept": ("ExactlyOneOwner",),
            "tokens_by_position": ("Deterministic", "MinimalDisruption")},
)
