"""Actor systems: nodes that react to messages and timers, with every fault for free.

A protocol is written as :class:`Actor` s, one behaviour per kind of node.
An actor keeps no state of its own: its handlers take the node's (immutable)
state and return the new one, and ask a :class:`Context` for effects. A
handler depends on its arguments and ``ctx.now()`` alone (no randomness, no
counters kept elsewhere): the model remembers what each call did and replays
it when the same node state meets the same message or timer again.

- ``on_start(node_id, ctx, durable=None)``: the node's initial state. On a
  restart after a crash, ``durable`` is what ``durable(state)`` kept.
- ``on_message(node_id, state, src, msg, ctx)``: a message arrives.
- ``on_timer(node_id, state, timer, ctx)``: a timer the node set fires.
- ``ctx.send(dst, msg)``, ``ctx.broadcast(msg, to=None)``,
  ``ctx.set_timer(timer, delay)``, ``ctx.cancel_timer(timer)``, ``ctx.now()``
  (the node's local clock), and ``ctx.record(event)`` for client-visible events,
  with the shorthands ``ctx.invoke(op, value)``, ``ctx.ok(op, value)``,
  ``ctx.fail(op, value)``, ``ctx.info(op, value)`` recording
  ``("invoke", node_id, op, value)`` and so on (Jepsen's history events).

Messages are small tuples with a name first, ``("RequestVote", term, candidate)``,
built from strings, ints, bools, None and nested tuples (no sets or lists: a
trace stores them as JSON and replay must read back an equal message); timers
are strings or such tuples; node ids are strings. Clients are ordinary actors.

Durable state: list the fields of a NamedTuple (or frozen dataclass) state in
``durable_fields`` and rebuild with ``self.restore(fresh, durable)`` in
``on_start``; forgetting a field there is a one-line bug the checker finds
with ``--faults crash=1,restart``. A crash also loses the node's timers;
messages to a crashed node wait in flight for its restart.

:class:`ActorModel` turns named actors, a network (``splitbrain.models.network``) and a
fault configuration (``splitbrain.models.faults``) into a core ``Model``. Its state is a
:class:`World`; its actions, each one step of a trace, are::

    ("deliver", src, dst, msg)     ("timeout", node, timer)
    ("tick",)  or  ("tick", node)  (the second when clocks may skew)
    ("drop", src, dst, msg)        ("duplicate", src, dst, msg)     ("reorder", src, dst, msg)
    ("partition", groups)          ("one_way", src, dst)            ("heal",)
    ("crash", node)                ("restart", node)                ("clock_jump", node, delta)
    ("byzantine", node, dst, msg)  (an adversary's message, delivered)

Properties are predicates on the World; ``model.state_of(w, "n1")``,
``model.live(w)``, ``model.in_flight(w)``, ``model.quiescent(w)`` and
``w.history`` are what they usually read.

Worked example: a register that keeps the first value written. The server's
value is durable, so crashes do not lose it; forget to declare it durable and
a restarted server accepts a second value.

>>> from typing import NamedTuple
>>> from splitbrain.models.actors import Actor, ActorModel
>>> from splitbrain.properties.kinds import always
>>> from splitbrain.checker.explore import check
>>> class Stored(NamedTuple):
...     value: str | None
>>> class Server(Actor):
...     durable_fields = ("value",)                     # survives a crash
...     def on_start(self, node_id, ctx, durable=None):
...         return self.restore(Stored(value=None), durable)
...     def on_message(self, node_id, state, src, msg, ctx):
...         if msg[0] == "Write" and state.value is None:
...             state = state._replace(value=msg[1])
...         ctx.send(src, ("Written", state.value))       # reply with the kept value
...         return state
>>> class Client(Actor):
...     def on_start(self, node_id, ctx, durable=None):
...         ctx.set_timer("write")                        # writes at some moment
...         return "idle"
...     def on_timer(self, node_id, state, timer, ctx):
...         ctx.invoke("write", node_id)                  # each client writes its name
...         ctx.send("s", ("Write", node_id))
...         return "waiting"
...     def on_message(self, node_id, state, src, msg, ctx):
...         ctx.ok("write", msg[1])                       # ... and sees the kept value
...         return "done"
>>> def agreement(w):
...     return len({value for kind, _, _, value in w.history if kind == "ok"}) <= 1
>>> def register(server, faults=None):
...     return ActorModel({"s": server, "c1": Client(), "c2": Client()},
...                       [always("Agreement", agreement)], faults=faults,
...                       symmetry=[("c1", "c2")])
>>> check(register(Server(), "crash=1,restart")).verdict
'ok'
>>> class Forgetful(Server):
...     durable_fields = ()                              # the bug: nothing persisted
>>> result = check(register(Forgetful(), "crash=1,restart"))
>>> result.verdict, len(result.counterexample)
('violation', 8)
>>> [step for step in result.counterexample.steps if "crash" in step]
['s crashes (loses value, keeps nothing)']
>>> [check(register(Server(), "crash=1,restart"), symmetry=s).distinct_states for s in (False, True)]
[821, 412]

Symmetry: ``symmetry=[("n1", "n2", "n3"), ("v1", "v2")]`` declares groups of
interchangeable names. A group of node ids,
run by equal actors (same class and settings)
permutes the nodes; a group of other strings permutes values. ``canonical``
renames every occurrence of those strings in the World (inside node states,
messages, timers, history) and picks the least renaming, so states must be
built from tuples, NamedTuples, frozensets, frozen dataclasses, enums and
scalars. Declare a group only when the protocol and its properties treat its
names alike (no ``if node_id == "n1"``, no ordering of node ids). ``on_start``
runs node by node in the model's order, so events recorded there appear in
that order: record client invocations from a timer or a message instead (as
the example does), or symmetric states will rarely meet.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from enum import Enum
from itertools import combinations, groupby, permutations, product
from typing import Any, Callable, Hashable, Iterable, Iterator, Mapping, NamedTuple, Sequence

import networkx as nx

from splitbrain.models.core import Model, format_action
from splitbrain.models.faults import (BUDGETS, FaultConfig, as_fault_config, format_groups, one_way_links,
                           partition_options)
from splitbrain.models.network import Envelope, Network, make_network
from splitbrain.properties.kinds import Property
from splitbrain.traces.format import to_jsonable

_P, _OW, _CRASH, _LOSS, _DUP, _REORDER, _JUMP, _BYZ = range(len(BUDGETS))

TIMER_MODES = ("nondeterministic", "deadline")

# Handler calls remembered (node states and messages recur across many Worlds), and for symmetry
# the least renaming of each local part and the renamings of each value; past this many, all are forgotten.
REACTIONS_REMEMBERED = 200_000
RENAMINGS_REMEMBERED = 200_000


def _label(x: Any) -> str:
    """A message's or timer's name: its first element when it is a tuple, else the value itself."""
    if isinstance(x, tuple) and x:
        return str(x[0])
    return str(x)


class World(NamedTuple):
    """The global state of an actor system (one entry per node, in the model's node order).

    ``nodes``: each node's actor state (None while crashed, or Byzantine);
    ``timers``: each node's armed timers, a frozenset of ``(timer, deadline)``
    (deadline None with nondeterministic timers); ``net``: the messages in
    flight (owned by the model's Network); ``clocks``: each node's local clock;
    ``history``: the client-visible events recorded so far, in order;
    ``down``: crashed node ids; ``disk``: what each crashed node keeps for its
    restart; ``cut``: the directed links ``(src, dst)`` a partition breaks;
    ``byzantine``: the node ids the adversary runs; ``left``: the remaining
    fault budgets, in ``splitbrain.models.faults.BUDGETS`` order (None: no limit).
    """

    nodes: tuple
    timers: tuple
    net: Any
    clocks: tuple
    history: tuple
    down: frozenset
    disk: tuple
    cut: frozenset
    byzantine: frozenset
    left: tuple


class _Reaction(NamedTuple):
    """What one handler call did: the node's new state, its armed timers (None: unchanged),
    the envelopes it sent and the events it recorded."""

    state: Any
    armed: frozenset | None
    sends: tuple
    records: tuple


class Context:
    """What a handler may do: send, set and cancel timers, read its clock, record events.

    Effects take place when the handler returns, in the order asked.
    """

    __slots__ = ("node", "nodes", "_now", "_known", "_deadlines", "sends", "timer_ops", "records")

    def __init__(self, node: str, nodes: tuple[str, ...], now: int, known: Mapping[str, int],
                 deadlines: bool) -> None:
        self.node = node          # this node's id
        self.nodes = nodes        # every node id, in the model's order
        self._now = now
        self._known = known
        self._deadlines = deadlines
        self.sends: list[tuple[str, Hashable]] = []
        self.timer_ops: list[tuple[Hashable, int | None, bool]] = []
        self.records: list[tuple] = []

    def now(self) -> int:
        """This node's local clock."""
        return self._now

    def send(self, dst: str, msg: Hashable) -> None:
        """Send ``msg`` to node ``dst``."""
        if dst not in self._known:
            raise ValueError(f"{self.node} sends {format_action(msg)} to unknown node {dst!r}")
        self.sends.append((dst, msg))

    def broadcast(self, msg: Hashable, to: Iterable[str] | None = None) -> None:
        """Send ``msg`` to every other node (or to each node of ``to`` but this one)."""
        for dst in self.nodes if to is None else to:
            if dst != self.node:
                self.send(dst, msg)

    def set_timer(self, timer: Hashable, delay: int = 0) -> None:
        """Arm ``timer`` (re-arm it if armed) to fire ``delay`` ticks of this node's clock from now.

        With nondeterministic timers (the default) the delay is ignored: an
        armed timer may fire at any step.
        """
        self.timer_ops.append((timer, self._now + delay if self._deadlines else None, True))

    def cancel_timer(self, timer: Hashable) -> None:
        """Disarm ``timer`` (nothing happens if it is not armed)."""
        self.timer_ops.append((timer, None, False))

    def record(self, event: tuple) -> None:
        """Append a client-visible event (a small tuple) to the history."""
        self.records.append(event)

    def invoke(self, op: Hashable, value: Any = None) -> None:
        """Record ``("invoke", this node, op, value)``: a client starts an operation."""
        self.records.append(("invoke", self.node, op, value))

    def ok(self, op: Hashable, value: Any = None) -> None:
        """Record ``("ok", this node, op, value)``: the operation completed."""
        self.records.append(("ok", self.node, op, value))

    def fail(self, op: Hashable, value: Any = None) -> None:
        """Record ``("fail", this node, op, value)``: the operation certainly did not happen."""
        self.records.append(("fail", self.node, op, value))

    def info(self, op: Hashable, value: Any = None) -> None:
        """Record ``("info", this node, op, value)``: the outcome is unknown (e.g. a timeout)."""
        self.records.append(("info", self.node, op, value))


class Actor(ABC):
    """The behaviour of one kind of node. Subclass it; one instance may run many nodes."""

    # The fields of the node state that survive a crash (NamedTuple or dataclass states).
    durable_fields: tuple[str, ...] = ()
    # Coverage: the names of the messages this actor receives and of the timers it sets
    # (a timer's name is its first element when it is a tuple). None: not declared.
    message_types: tuple[str, ...] | None = None
    timer_names: tuple[str, ...] | None = None

    @abstractmethod
    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Any:
        """The node's state when it starts, or restarts from ``durable`` after a crash."""

    def on_message(self, node_id: str, state: Any, src: str, msg: Any, ctx: Context) -> Any:
        """The node's state after receiving ``msg`` from ``src`` (default: ignore it)."""
        return state

    def on_timer(self, node_id: str, state: Any, timer: Any, ctx: Context) -> Any:
        """The node's state after ``timer`` fires (default: ignore it)."""
        return state

    def durable(self, state: Any) -> Any:
        """The part of ``state`` kept across a crash (default: the ``durable_fields``).

        Returns ``((field, value), ...)`` for the declared fields, None when
        there are none (a restarted node starts afresh). Override it for
        another shape; ``on_start`` receives whatever it returns.
        """
        if not self.durable_fields:
            return None
        return tuple((f, getattr(state, f)) for f in self.durable_fields)

    def restore(self, fresh: Any, durable: Any) -> Any:
        """``fresh`` with the durable fields set from ``durable`` (``fresh`` itself if None)."""
        if durable is None:
            return fresh
        values = dict(durable)
        if dataclasses.is_dataclass(fresh):
            return dataclasses.replace(fresh, **values)
        return fresh._replace(**values)

    def byzantine_messages(self, node_id: str, nodes: tuple[str, ...]) -> Iterable[tuple[str, Any]]:
        """The ``(dst, msg)`` pairs a Byzantine ``node_id`` may send: the adversary's universe.

        Only nodes whose actor gives a non-empty universe can be Byzantine.
        """
        return ()

    def format_message(self, msg: Any) -> str:
        """``msg`` as a trace shows it (default: ``RequestVote(2, n1)``)."""
        return format_action(msg)

    def render(self, state: Any) -> Any:
        """A JSON-serialisable rendering of a node state (NamedTuple/dataclass: a dict)."""
        names = _field_names(state)
        if names:
            return {f: to_jsonable(getattr(state, f)) for f in names}
        return to_jsonable(state)


class ActorModel(Model[World, tuple]):
    """Named actors, a network and faults, explored as one model.

    ``nodes``: node id -> Actor (the same Actor may run many nodes).
    ``properties``: predicates on the World (or override ``properties()``).
    ``network``: "unordered" (default), "duplicating", "fifo", or a Network.
    ``faults``: a FaultConfig or its --faults text (default: none).
    ``max_in_flight``: states with more messages in flight are not explored.
    ``max_time``: clocks run from 0 to this (0: no clocks, no ticks).
    ``timers``: "nondeterministic" (an armed timer may fire at any step) or
    "deadline" (it fires once its node's clock reaches the deadline, and that
    clock does not tick past an expired timer).
    ``symmetry``: groups of interchangeable node ids or values (see the module docstring).
    ``topologies``: extra partition shapes, as networkx Graphs over node ids.
    ``boundary``: an extra state constraint (states failing it are not explored).

    A quiescent system (nothing left to do) is a normal end: deadlock is allowed.
    """

    allow_deadlock = True
    # Action kinds that are faults (for the liveness checker's after-faults assumption);
    # heal and restart are recoveries, not faults.
    fault_kinds = frozenset({"drop", "duplicate", "reorder", "partition", "one_way", "crash",
                             "clock_jump", "byzantine"})

    def __init__(
        self,
        nodes: Mapping[str, Actor],
        properties: Sequence[Property] = (),
        *,
        network: str | Network = "unordered",
        faults: FaultConfig | str | None = None,
        max_in_flight: int | None = None,
        max_time: int = 0,
        timers: str = "nondeterministic",
        symmetry: Sequence[Sequence[str]] = (),
        topologies: Sequence[nx.Graph] = (),
        boundary: Callable[[World], bool] | None = None,
    ) -> None:
        if not nodes:
            raise ValueError("an actor model needs at least one node")
        for nid, actor in nodes.items():
            if not isinstance(nid, str) or not isinstance(actor, Actor):
                raise ValueError(f"nodes map string ids to Actor instances, not {nid!r}: {actor!r}")
        if timers not in TIMER_MODES:
            raise ValueError(f"timers must be one of {', '.join(TIMER_MODES)}, not {timers!r}")
        self.node_ids: tuple[str, ...] = tuple(nodes)
        self.index = {nid: i for i, nid in enumerate(self.node_ids)}
        self._positions = range(len(self.node_ids))
        self.actors: tuple[Actor, ...] = tuple(nodes.values())
        self.network = make_network(network)
        self.faults = as_fault_config(faults)
        self.max_in_flight = max_in_flight
        self.max_time = max_time
        self.deadlines = timers == "deadline"
        self.boundary = boundary
        self._properties = tuple(properties)
        self._check_faults()
        cfg = self.faults
        self._universe = {nid: tuple(a.byzantine_messages(nid, self.node_ids))
                          for nid, a in zip(self.node_ids, self.actors)}
        self._candidates = tuple(nid for nid in self.node_ids if self._universe[nid])
        if cfg.byzantine > len(self._candidates):
            raise ValueError(f"byzantine={cfg.byzantine} but only {len(self._candidates)} nodes have a "
                             "Byzantine message universe (Actor.byzantine_messages)")
        self._groups = self._symmetry(symmetry)
        self._choices: dict[tuple, tuple] = {}           # symmetry: each local part met, with its least renaming
        self._renamed_values: dict[tuple, tuple] = {}    # (renaming number, value or its id) -> (value, renamed)
        self._erased_hashes: dict[Any, int] = {}         # value -> its signature (symmetric names erased)
        self._renaming_numbers: dict[tuple, list[tuple[int, dict[str, str]]]] = {}   # node order -> renamings
        self._delivered: dict[tuple, _Reaction] = {}    # remembered reactions to messages
        self._fired: dict[tuple, _Reaction] = {}        # ... and to timers
        self._interned: dict[Any, Any] = {}             # one copy of each node state and history
        self._timer_orders: dict[frozenset, tuple] = {}  # armed timers -> in the order they fire
        self._node_groups = [tuple(sorted(self.index[x] for x in g)) for g in self._groups if g[0] in self.index]
        self._value_maps = [{a: b for part in combo for a, b in part.items() if a != b}
                            for combo in product(*[[dict(zip(g, p)) for p in permutations(g)]
                                                   for g in self._groups if g[0] not in self.index])]
        self._erase = {name: "*" for g in self._groups for name in g}
        self.has_symmetry = any(len(g) > 1 for g in self._groups)
        if self.has_symmetry and topologies:
            topologies = [nx.relabel_nodes(g, m) for g in topologies for m, _ in self._all_renamings()]
        self._partitions = (partition_options(self.node_ids, cfg.shapes, topologies) if cfg.partition != 0 else [])
        self._links = one_way_links(self.node_ids) if cfg.one_way != 0 else []
        self._budgets = cfg.budgets()
        self._jumps = tuple(d for d in range(-cfg.clock_jump, cfg.clock_jump + 1) if d)
        self._faulty = any(b != 0 for b in self._budgets) or cfg.restart

    def _check_faults(self) -> None:
        cfg, kind = self.faults, self.network.kind
        if cfg.reorder != 0 and kind != "fifo":
            raise ValueError(f"fault reorder applies to a fifo network; a {kind} network reorders already")
        if cfg.dup != 0 and kind == "duplicating":
            raise ValueError("fault dup does not apply to a duplicating network: it duplicates already")
        if cfg.dup is None and self.max_in_flight is None:
            raise ValueError("fault dup without a budget needs max_in_flight (or write dup=K)")
        if (cfg.clock_skew or cfg.clock_jump) and self.max_time <= 0:
            raise ValueError("clock faults need clocks: this model has max_time 0")
        if self.deadlines and self.max_time <= 0:
            raise ValueError("deadline timers need clocks (max_time > 0)")

    def _symmetry(self, groups: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
        """The symmetry groups, checked: distinct strings, no overlap, node groups of equal actors."""
        named: set[str] = set()
        out = []
        for group in groups:
            group = tuple(group)
            if any(not isinstance(x, str) for x in group) or len(set(group)) != len(group):
                raise ValueError(f"a symmetry group is a sequence of distinct strings, not {group!r}")
            if named & set(group):
                raise ValueError(f"symmetry groups overlap: {', '.join(sorted(named & set(group)))}")
            named |= set(group)
            ids = [x for x in group if x in self.index]
            if ids and len(ids) != len(group):
                raise ValueError(f"symmetry group {group!r} mixes node ids and values")
            actors = [self.actors[self.index[x]] for x in ids]
            if any(type(a) is not type(actors[0]) or vars(a) != vars(actors[0]) for a in actors):
                raise ValueError(f"symmetric nodes {', '.join(ids)} must run equal actors (same class and settings)")
            if group:
                out.append(group)
        return out

    def _all_renamings(self) -> Iterator[tuple[dict[str, str], tuple[int, ...]]]:
        """Every renaming the groups allow: (name -> name, the old position of each new position)."""
        for combo in product(*[[dict(zip(g, p)) for p in permutations(g)] for g in self._groups]):
            mapping = {a: b for part in combo for a, b in part.items() if a != b}
            order = [0] * len(self.node_ids)
            for i, nid in enumerate(self.node_ids):
                order[self.index[mapping.get(nid, nid)]] = i
            yield mapping, tuple(order)

    # -- what properties read ------------------------------------------------------
    def properties(self) -> Sequence[Property]:
        return self._properties

    def state_of(self, w: World, node: str) -> Any:
        """Node ``node``'s actor state (None while it is crashed, or if it is Byzantine)."""
        return w.nodes[self.index[node]]

    def live(self, w: World) -> list[tuple[str, Any]]:
        """``(node id, state)`` of every honest node that is up."""
        return [(nid, state) for nid, state in zip(self.node_ids, w.nodes) if state is not None]

    def is_up(self, w: World, node: str) -> bool:
        """Whether ``node`` is running the protocol (not crashed, not Byzantine)."""
        return w.nodes[self.index[node]] is not None

    def clock(self, w: World, node: str) -> int:
        """Node ``node``'s local clock."""
        return w.clocks[self.index[node]]

    def in_flight(self, w: World) -> list[Envelope]:
        """Every message in flight, ``(src, dst, msg)``, once per copy."""
        return list(self.network.messages(w.net))

    def quiescent(self, w: World) -> bool:
        """Nothing in flight and no timer armed (never, on a duplicating network)."""
        return self.network.count(w.net) == 0 and not any(w.timers)

    def fault_budget(self, w: World) -> dict[str, int | None]:
        """The remaining budget of each fault (None: no limit)."""
        return dict(zip(BUDGETS, w.left))

    # -- initial states --------------------------------------------------------
    def init_states(self) -> Iterator[World]:
        """One initial World per choice of Byzantine nodes (just one without them)."""
        n = len(self.node_ids)
        k = self.faults.byzantine
        choices = [frozenset(c) for c in combinations(self._candidates, k)] if k else [frozenset()]
        for byz in choices:
            w = World((None,) * n, (frozenset(),) * n, self.network.empty(), (0,) * n, (),
                      frozenset(), (None,) * n, frozenset(), byz, self._budgets)
            for i, nid in enumerate(self.node_ids):
                if nid not in byz:
                    w = self._start(w, i, None, w.down, w.disk, w.left)
            yield w

    # -- steps -------------------------------------------------------------------
    def successors(self, w: World) -> Iterator[tuple[tuple, World]]:
        net_ops, net = self.network, w.net
        down, cut = w.down, w.cut
        for env in net_ops.deliverable(net):
            src, dst, msg = env
            if dst in down or (src, dst) in cut:
                continue
            yield ("deliver", src, dst, msg), self._deliver(w, net_ops.delivered(net, env), src, dst, msg, w.left)
        ids = self.node_ids
        for i, armed in enumerate(w.timers):
            if armed:
                clock = w.clocks[i]
                for timer, deadline in (self._in_order(armed) if len(armed) > 1 else armed):
                    if deadline is None or deadline <= clock:
                        yield ("timeout", ids[i], timer), self._timeout(w, i, timer, deadline)
        if self.max_time:
            yield from self._ticks(w)
        if self._faulty:
            yield from self._fault_steps(w)

    def _in_order(self, armed: frozenset) -> tuple:
        """A node's armed timers sorted by their text: one order in every process (remembered)."""
        found = self._timer_orders.get(armed)
        if found is None:
            if len(self._timer_orders) >= REACTIONS_REMEMBERED:
                self._timer_orders.clear()
            found = self._timer_orders[armed] = tuple(sorted(armed, key=repr))
        return found

    def _deliver(self, w: World, net: Any, src: str, dst: str, msg: Any, left: tuple) -> World:
        i = self.index[dst]
        key = (i, w.nodes[i], w.timers[i], w.clocks[i], src, msg)
        reaction = self._delivered.get(key)
        if reaction is None:
            reaction = remember(self._delivered, key,
                                 self._handle(i, w.nodes[i], w.timers[i], w.clocks[i], "message", (src, msg)))
        return self._commit(w, i, reaction, net, w.down, w.disk, left)

    def _timeout(self, w: World, i: int, timer: Any, deadline: int | None) -> World:
        key = (i, w.nodes[i], w.timers[i], w.clocks[i], timer, deadline)
        reaction = self._fired.get(key)
        if reaction is None:
            armed = w.timers[i] - {(timer, deadline)}   # the timer that fires is disarmed
            reaction = remember(self._fired, key, self._handle(i, w.nodes[i], armed, w.clocks[i], "timer", (timer,)))
        return self._commit(w, i, reaction, w.net, w.down, w.disk, w.left)

    def _start(self, w: World, i: int, durable: Any, down: frozenset, disk: tuple, left: tuple) -> World:
        reaction = self._handle(i, None, frozenset(), w.clocks[i], "start", () if durable is None else (durable,))
        return self._commit(w, i, reaction, w.net, down, disk, left)

    def _handle(self, i: int, state: Any, armed: frozenset, clock: int, event: str, args: tuple) -> _Reaction:
        """Run node i's handler for ``event`` ("start", "message" or "timer") and collect its effects."""
        nid, actor = self.node_ids[i], self.actors[i]
        ctx = Context(nid, self.node_ids, clock, self.index, self.deadlines)
        if event == "message":
            state = actor.on_message(nid, state, *args, ctx)
        elif event == "timer":
            state = actor.on_timer(nid, state, *args, ctx)
        else:
            state = actor.on_start(nid, ctx, *args)
        if state is None:
            raise TypeError(f"a handler of {type(actor).__name__} returned None for node "
                            f"{nid}: return the node's (possibly unchanged) state")
        new_armed = None if event == "message" else armed
        if ctx.timer_ops:
            table = dict(armed)
            for timer, deadline, arm in ctx.timer_ops:
                if arm:
                    table[timer] = deadline
                else:
                    table.pop(timer, None)
            new_armed = frozenset(table.items())
        return _Reaction(self._intern(state), new_armed, tuple([(nid, dst, msg) for dst, msg in ctx.sends]),
                         tuple(ctx.records))

    def _intern(self, x: Any) -> Any:
        """The one copy of ``x`` the model keeps: equal node states and histories become the same
        object (less memory, and comparisons that stop at identity)."""
        if len(self._interned) >= REACTIONS_REMEMBERED:
            self._interned.clear()
        return self._interned.setdefault(x, x)

    def _commit(self, w: World, i: int, reaction: _Reaction, net: Any, down: frozenset, disk: tuple,
                left: tuple) -> World:
        """The World after node i reacted with ``reaction`` (``net``: the messages in flight before its sends)."""
        state, armed, sends, records = reaction
        nodes = w.nodes[:i] + (state,) + w.nodes[i + 1:]
        timers = w.timers if armed is None else w.timers[:i] + (armed,) + w.timers[i + 1:]
        if sends:
            byz, cut = w.byzantine, w.cut
            if byz or (cut and self.faults.partition_drop):
                drop = self.faults.partition_drop
                sends = [env for env in sends if env[1] not in byz and not (drop and env[:2] in cut)]
            if sends:
                net = self.network.send(net, sends)
        history = self._intern(w.history + records) if records else w.history
        return World(nodes, timers, net, w.clocks, history, down, disk, w.cut, w.byzantine, left)

    def _expired(self, w: World, i: int) -> bool:
        clock = w.clocks[i]
        return any(d is not None and d <= clock for _, d in w.timers[i])

    def _ticks(self, w: World) -> Iterator[tuple[tuple, World]]:
        """Time passing: all clocks together, or (with clock skew) one clock at a time."""
        clocks, top = w.clocks, self.max_time
        skew = self.faults.clock_skew
        honest = self._positions if not w.byzantine else \
            [i for i, nid in enumerate(self.node_ids) if nid not in w.byzantine]
        if not skew:
            if max(clocks) < top and not (self.deadlines and any(self._expired(w, i) for i in honest)):
                yield ("tick",), World(w.nodes, w.timers, w.net, tuple([c + 1 for c in clocks]), w.history,
                                       w.down, w.disk, w.cut, w.byzantine, w.left)
            return
        low = min([clocks[i] for i in honest])
        for i in honest:
            c = clocks[i]
            if c < top and c + 1 - low <= skew and not (self.deadlines and self._expired(w, i)):
                ticked = clocks[:i] + (c + 1,) + clocks[i + 1:]
                yield ("tick", self.node_ids[i]), World(w.nodes, w.timers, w.net, ticked, w.history,
                                                        w.down, w.disk, w.cut, w.byzantine, w.left)

    def _fault_steps(self, w: World) -> Iterator[tuple[tuple, World]]:
        left, net_ops, net = w.left, self.network, w.net
        if left[_LOSS] != 0:
            spent = _spend(left, _LOSS)
            for env in net_ops.distinct(net):
                yield ("drop", *env), w._replace(net=net_ops.drop(net, env), left=spent)
        if left[_DUP] != 0:
            spent = _spend(left, _DUP)
            for env in net_ops.distinct(net):
                yield ("duplicate", *env), w._replace(net=net_ops.duplicate(net, env), left=spent)
        if left[_REORDER] != 0:
            spent = _spend(left, _REORDER)
            for env in net_ops.reorderable(net):
                yield ("reorder", *env), w._replace(net=net_ops.reorder(net, env), left=spent)
        if w.cut:
            yield ("heal",), w._replace(cut=frozenset())
        else:
            if left[_P] != 0:
                spent = _spend(left, _P)
                for groups, cut in self._partitions:
                    yield ("partition", groups), self._cut(w, cut, spent)
            if left[_OW] != 0:
                spent = _spend(left, _OW)
                for src, dst in self._links:
                    yield ("one_way", src, dst), self._cut(w, frozenset({(src, dst)}), spent)
        ids, nodes = self.node_ids, w.nodes
        if left[_CRASH] != 0:
            spent = _spend(left, _CRASH)
            restart = self.faults.restart
            for i, state in enumerate(nodes):
                if state is not None:
                    disk = w.disk[:i] + (self.actors[i].durable(state),) + w.disk[i + 1:] if restart else w.disk
                    yield ("crash", ids[i]), World(
                        nodes[:i] + (None,) + nodes[i + 1:], w.timers[:i] + (frozenset(),) + w.timers[i + 1:],
                        net, w.clocks, w.history, w.down | {ids[i]}, disk, w.cut, w.byzantine, spent)
        if self.faults.restart and w.down:
            for nid in sorted(w.down):
                i = self.index[nid]
                disk = w.disk[:i] + (None,) + w.disk[i + 1:]
                yield ("restart", nid), self._start(w, i, w.disk[i], w.down - {nid}, disk, left)
        if left[_JUMP] != 0:
            spent = _spend(left, _JUMP)
            for i, state in enumerate(nodes):
                if state is not None:
                    c = w.clocks[i]
                    for delta in self._jumps:
                        if 0 <= c + delta <= self.max_time:
                            clocks = w.clocks[:i] + (c + delta,) + w.clocks[i + 1:]
                            yield ("clock_jump", ids[i], delta), w._replace(clocks=clocks, left=spent)
        if w.byzantine and left[_BYZ] != 0:
            spent = _spend(left, _BYZ)
            for b in sorted(w.byzantine):
                for dst, msg in self._universe[b]:
                    if dst not in w.down and dst not in w.byzantine and (b, dst) not in w.cut:
                        yield ("byzantine", b, dst, msg), self._deliver(w, net, b, dst, msg, spent)

    # -- coverage ------------------------------------------------------------------
    def action_class(self, action: tuple) -> str:
        """A delivery by message type ("deliver RequestVote"), a timeout by timer name, a fault by its kind."""
        kind = action[0]
        if kind == "deliver":
            return f"deliver {_label(action[3])}"
        if kind == "timeout":
            return f"timeout {_label(action[2])}"
        return kind

    def action_classes(self) -> Sequence[str] | None:
        """The message and timer classes the actors declare, ticks, and the fault steps the faults enable."""
        messages: set[str] = set()
        timers: set[str] = set()
        for actor in self.actors:
            messages.update(actor.message_types or ())
            timers.update(actor.timer_names or ())
        cfg = self.faults
        faults = {
            "drop": cfg.loss != 0, "duplicate": cfg.dup != 0, "reorder": cfg.reorder != 0,
            "partition": cfg.partition != 0, "one_way": cfg.one_way != 0,
            "heal": cfg.partition != 0 or cfg.one_way != 0, "crash": cfg.crash != 0,
            "restart": cfg.restart and cfg.crash != 0, "clock_jump": bool(self._jumps) and cfg.clock_jumps != 0,
            "byzantine": cfg.byzantine > 0 and cfg.byzantine_msgs != 0,
        }
        classes = ([f"deliver {m}" for m in sorted(messages)] + [f"timeout {t}" for t in sorted(timers)]
                   + (["tick"] if self.max_time else []) + [k for k, on in faults.items() if on])
        return classes or None

    def _cut(self, w: World, cut: frozenset, left: tuple) -> World:
        net = w.net
        if self.faults.partition_drop:
            net = self.network.keep(net, lambda env: (env[0], env[1]) not in cut)
        return w._replace(cut=cut, net=net, left=left)

    def within_boundary(self, w: World) -> bool:
        if self.max_in_flight is not None and self.network.count(w.net) > self.max_in_flight:
            return False
        return self.boundary is None or self.boundary(w)

    # -- symmetry ----------------------------------------------------------------
    def canonical(self, w: World) -> World:
        """The least renaming of ``w`` over the declared symmetry groups.

        A World has a local part (each node's state, timers, clock and disk,
        and which nodes are down or Byzantine) and a shared part (messages in
        flight, history, cut links). Only renamings that sort each node group
        by a renaming-invariant signature of the nodes' local state are tried
        (usually one node order), each with every value renaming. The least is
        chosen by its renamed local part, then by its renamed shared part, each
        compared by hash, ties between unequal values broken by a full sort
        key. The choice is remembered for each local part: most Worlds share
        theirs with others and only rename their shared part.
        (Hashes of strings vary between processes, so the representative
        chosen may too; the classes do not.)
        """
        part = (w.nodes, w.timers, w.clocks, w.down, w.disk, w.byzantine)
        choice = self._choices.get(part)
        if choice is None:
            if len(self._choices) >= RENAMINGS_REMEMBERED:
                self._choices.clear()
            choice = self._choices[part] = self._choose(part)
        (nodes, timers, clocks, down, disk, byzantine), renamings = choice
        rename = self._renamed
        if len(renamings) == 1:
            number, mapping = renamings[0]
            if not mapping:
                return w                                  # w is its own representative
            net, history = rename(w.net, number, mapping), rename(w.history, number, mapping)
            cut = rename(w.cut, number, mapping) if w.cut else w.cut
        else:                                             # the local part alone does not decide
            best = best_score = None
            for number, mapping in renamings:
                net, history, cut = (rename(w.net, number, mapping), rename(w.history, number, mapping),
                                     rename(w.cut, number, mapping))
                if best is not None and net is best[0] and history is best[1] and cut is best[2]:
                    continue                              # (often: a renaming of values none of them holds)
                shared = (net, history, cut)
                score = hash(shared)
                if best is None or score < best_score or (score == best_score and shared != best
                                                          and _key(shared) < _key(best)):
                    best, best_score = shared, score
            net, history, cut = best
        return World(nodes, timers, net, clocks, history, down, disk, cut, byzantine, w.left)

    def _choose(self, part: tuple) -> tuple[tuple, list[tuple[int, dict[str, str]]]]:
        """The least renaming of a World's local part ``part``, and every renaming that gives it."""
        best = best_score = None
        renamings: list[tuple[int, dict[str, str]]] = []
        for order, number, mapping in self._renamings(part):
            local = self._rename_local(part, order, number, mapping)
            if best is not None and local == best:        # (cheap when the renaming changed nothing)
                renamings.append((number, mapping))
                continue
            score = hash(local)
            if best is None or score < best_score or (score == best_score and _key(local) < _key(best)):
                best, best_score, renamings = local, score, [(number, mapping)]
        return best, renamings

    def _renamings(self, part: tuple) -> list[tuple[tuple[int, ...], int, dict[str, str]]]:
        """The renamings that put each node group in order of signature, with every value renaming.

        Each is ``(order, number, mapping)``: the renamed World's node j is
        the World's node ``order[j]``; ``mapping`` renames the names in a value.
        """
        nodes, timers, clocks, down, disk, byzantine = part
        ids, erased = self.node_ids, self._erased
        orders = [list(self._positions)]
        for group in self._node_groups:
            if down or byzantine:
                sig = {i: (erased(nodes[i]), erased(timers[i]), clocks[i], erased(disk[i]), ids[i] in down,
                           ids[i] in byzantine) for i in group}
            else:
                sig = {i: (erased(nodes[i]), erased(timers[i]), clocks[i]) for i in group}
            ranked = sorted(group, key=sig.__getitem__)
            if len(set(sig.values())) == len(group):
                arrangements = [ranked]                  # the usual case: one order
            else:
                blocks = [list(b) for _, b in groupby(ranked, key=sig.__getitem__)]
                arrangements = [[i for block in combo for i in block]
                                for combo in product(*[permutations(b) for b in blocks])]
            extended = []
            for order in orders:
                for arrangement in arrangements:
                    order = order[:]
                    for new, old in zip(group, arrangement):
                        order[new] = old
                    extended.append(order)
            orders = extended
        found = []
        for order in orders:
            key = tuple(order)
            numbered = self._renaming_numbers.get(key)
            if numbered is None:
                moves = {ids[old]: ids[new] for new, old in enumerate(key) if old != new}
                numbered = self._renaming_numbers[key] = [(len(self._renaming_numbers) * len(self._value_maps) + v,
                                                           {**moves, **values})
                                                          for v, values in enumerate(self._value_maps)]
            found += [(key, number, mapping) for number, mapping in numbered]
        return found

    def _rename_local(self, part: tuple, order: tuple[int, ...], number: int, mapping: dict[str, str]) -> tuple:
        """The local part ``part`` renamed by ``mapping`` (renaming ``number``), node entries moved by ``order``."""
        nodes, timers, clocks, down, disk, byzantine = part
        rename = self._renamed
        if down:                                  # (only a crashed node keeps a disk)
            down, disk = rename(down, number, mapping), tuple([rename(disk[i], number, mapping) for i in order])
        return (tuple([rename(nodes[i], number, mapping) for i in order]),
                tuple([rename(timers[i], number, mapping) for i in order]), tuple([clocks[i] for i in order]),
                down, disk, rename(byzantine, number, mapping) if byzantine else byzantine)

    def _renamed(self, x: Any, number: int, mapping: dict[str, str]) -> Any:
        """``x`` renamed by ``mapping`` (renaming ``number``), remembered: values recur across Worlds.

        Frozensets (which keep their hash) are looked up by value, other values by identity (node
        states and histories are interned); an entry keeps its value, so its id is not reused.
        """
        if not mapping:
            return x
        key = (number, x if x.__class__ is frozenset else id(x))
        found = self._renamed_values.get(key)
        if found is None:
            if len(self._renamed_values) >= RENAMINGS_REMEMBERED:
                self._renamed_values.clear()
            y = _rename(x, mapping)
            found = self._renamed_values[key] = (x, x if y == x else y)   # (unchanged: x itself)
        return found[1]

    def _erased(self, x: Any) -> int:
        """The hash of ``x`` with every symmetric name erased: the same for every renaming of ``x``."""
        h = self._erased_hashes.get(x)
        if h is None:
            if len(self._erased_hashes) >= RENAMINGS_REMEMBERED:
                self._erased_hashes.clear()
            h = self._erased_hashes[x] = hash(_rename(x, self._erase))
        return h

    @staticmethod
    def _rename_world(w: World, m: dict[str, str], order: tuple[int, ...]) -> World:
        """``w`` with names renamed by ``m`` and node entries moved: new[j] = old[order[j]]."""
        def moved(entries: tuple) -> tuple:
            return tuple([_rename(entries[i], m) for i in order])
        return World(moved(w.nodes), moved(w.timers), _rename(w.net, m), tuple([w.clocks[i] for i in order]),
                     _rename(w.history, m), _rename(w.down, m), moved(w.disk), _rename(w.cut, m),
                     _rename(w.byzantine, m), w.left)

    # -- traces ------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """The model's parameters plus its faults and network, as text (replay rebuilds from them)."""
        return {**getattr(self, "_params", {}), "faults": self.faults.spec(), "network": self.network.kind}

    def render(self, w: World) -> Any:
        """The World as nested dicts: node states, timers, messages, clocks, history, faults."""
        nodes: dict[str, Any] = {}
        for i, nid in enumerate(self.node_ids):
            if nid in w.byzantine:
                nodes[nid] = "Byzantine"
            elif nid in w.down:
                disk = w.disk[i]
                nodes[nid] = "crashed" if disk is None else {"crashed": True, "keeps": to_jsonable(disk)}
            else:
                nodes[nid] = self.actors[i].render(w.nodes[i])
        out: dict[str, Any] = {"nodes": nodes}
        timers = {nid: sorted(_timer_text(t, d) for t, d in w.timers[i])
                  for i, nid in enumerate(self.node_ids) if w.timers[i]}
        if timers:
            out["timers"] = timers
        out["net"] = sorted(self._envelope_text(env) for env in self.network.messages(w.net))
        if self.max_time:
            out["clocks"] = dict(zip(self.node_ids, w.clocks))
        if w.history:
            out["history"] = to_jsonable(w.history)
        if w.cut:
            out["cut"] = sorted(f"{a} -> {b}" for a, b in w.cut)
        if self._faulty:
            out["faults left"] = {k: ("any" if v is None else v)
                                  for k, start, v in zip(BUDGETS, self._budgets, w.left) if start != 0}
        return out

    def _message_text(self, dst: str, msg: Any) -> str:
        return self.actors[self.index[dst]].format_message(msg)

    def _envelope_text(self, env: Envelope) -> str:
        src, dst, msg = env
        return f"{src} -> {dst}: {self._message_text(dst, msg)}"

    def describe(self, w: World, action: tuple, nxt: World) -> str:
        """One line per step, in protocol terms (and the events it records)."""
        kind = action[0]
        if kind in ("deliver", "drop", "duplicate", "reorder"):
            what = {"deliver": "delivered", "drop": "lost", "duplicate": "duplicated",
                    "reorder": "overtakes the earlier messages on its channel"}[kind]
            text = f"{self._envelope_text(action[1:])} {what}"
        elif kind == "byzantine":
            _, b, dst, msg = action
            text = f"{b} (Byzantine) -> {dst}: {self._message_text(dst, msg)} delivered"
        elif kind == "timeout":
            text = f"{action[1]}: timer {format_action(action[2])} fires"
        elif kind == "tick":
            if len(action) == 1:
                text = f"time passes: every clock reads {max(nxt.clocks)}" if len(set(nxt.clocks)) == 1 \
                    else "time passes: every clock advances by 1"
            else:
                text = f"{action[1]}'s clock advances to {self.clock(nxt, action[1])}"
        elif kind == "clock_jump":
            _, n, delta = action
            text = f"{n}'s clock jumps {delta:+d} to {self.clock(nxt, n)}"
        elif kind == "partition":
            text = f"partition {format_groups(action[1])}"
            lost = self.network.count(w.net) - self.network.count(nxt.net)
            if lost:
                text += f" ({lost} message{'s' if lost > 1 else ''} across the cut lost)"
        elif kind == "one_way":
            _, a, b = action
            text = f"link {a} -> {b} fails ({b} -> {a} still works)"
        elif kind == "heal":
            text = "the partition heals"
        elif kind == "crash":
            text = f"{action[1]} crashes {self._crash_note(w, action[1])}"
        elif kind == "restart":
            text = f"{action[1]} restarts" + (" from its durable state" if w.disk[self.index[action[1]]] is not None
                                              else " with a fresh state")
        else:
            text = format_action(action)
        new = nxt.history[len(w.history):]
        if new:
            text += "; records " + ", ".join(format_action(e) for e in new)
        return text

    def _crash_note(self, w: World, node: str) -> str:
        if not self.faults.restart:
            return "(crash-stop: it never comes back)"
        i = self.index[node]
        actor, state = self.actors[i], w.nodes[i]
        names = _field_names(state)
        if type(actor).durable is Actor.durable and names:
            kept = [f for f in names if f in actor.durable_fields]
            lost = [f for f in names if f not in actor.durable_fields]
            return f"(loses {', '.join(lost) or 'nothing'}, keeps {', '.join(kept) or 'nothing'})"
        return "(keeps only its durable state)" if actor.durable(state) is not None else "(loses all its state)"


def remember(memo: dict, key: Hashable, value: Any) -> Any:
    """``memo[key] = value``, first forgetting everything when ``memo`` is full (a bounded memo)."""
    if len(memo) >= REACTIONS_REMEMBERED:
        memo.clear()
    memo[key] = value
    return value


def _spend(left: tuple, k: int) -> tuple:
    budget = left[k]
    if budget is None:
        return left
    return left[:k] + (budget - 1,) + left[k + 1:]


def _field_names(state: Any) -> tuple[str, ...]:
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        return tuple(state._fields)
    if dataclasses.is_dataclass(state) and not isinstance(state, type):
        return tuple(f.name for f in dataclasses.fields(state))
    return ()


def _timer_text(timer: Any, deadline: int | None) -> str:
    return format_action(timer) + ("" if deadline is None else f" at {deadline}")


# -- renaming and ordering states, for symmetry ---------------------------------------

_PLAIN = frozenset({int, bool, float, type(None)})   # values without names, kept as they are


def _rename(x: Any, m: dict[str, str]) -> Any:
    """``x`` with every string in ``m`` replaced by its image (recursively)."""
    t = type(x)
    if t is str:
        return m.get(x, x)
    if t in _PLAIN:
        return x
    if t is tuple or t is frozenset:                      # (names and plain items inline: the hot case)
        return t([m.get(v, v) if v.__class__ is str else v if v.__class__ in _PLAIN else _rename(v, m)
                  for v in x]) if x else x
    if isinstance(x, Enum):
        return x
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return t._make([_rename(v, m) for v in x])
    if dataclasses.is_dataclass(x):
        return dataclasses.replace(x, **{f.name: _rename(getattr(x, f.name), m)
                                         for f in dataclasses.fields(x) if f.init})
    if isinstance(x, str):
        return t(m.get(x, x))
    if isinstance(x, (int, float)):
        return x
    raise TypeError(f"symmetry cannot rename inside a {t.__name__}: build states from tuples, "
                    "NamedTuples, frozensets, frozen dataclasses, enums and scalars")


def _key(x: Any) -> Any:
    """A sort key for ``x``: equal values have equal keys, and any two keys compare."""
    t = type(x)
    if t is str:
        return (3, x)
    if t is int or t is bool or t is float:
        return (2, x)
    if x is None:
        return (0,)
    if isinstance(x, tuple):
        return (4, tuple([_key(v) for v in x]))
    if isinstance(x, frozenset):
        return (5, tuple(sorted([_key(v) for v in x])))
    if isinstance(x, Enum):
        return (6, type(x).__name__, x.name)
    if isinstance(x, str):
        return (3, str(x))
    if isinstance(x, (int, float)):
        return (2, x)
    if dataclasses.is_dataclass(x):
        return (7, type(x).__name__, tuple(_key(getattr(x, f.name)) for f in dataclasses.fields(x)))
    raise TypeError(f"symmetry cannot order a {t.__name__}: build states from tuples, "
                    "NamedTuples, frozensets, frozen dataclasses, enums and scalars")
