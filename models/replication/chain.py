"""Chain replication (van Renesse & Schneider, OSDI 2004).

The replicas form a chain ``r1 -> r2 -> ... -> rN``. A write enters at the
head, which orders it and forwards it down the chain; the tail acknowledges it
to the client once it holds it, so an acknowledged write is held by every
replica. A read is answered by the tail alone, from what it holds. Every
replica's log is a prefix of its predecessor's (the paper's Update
Propagation Invariant), which is why the tail's answers are linearizable.

The master (the paper's fault-tolerant configuration service, not itself
failing here) routes client requests to the head and the tail and rebuilds
the chain when a replica crashes: the failure detector is perfect, as the
paper assumes (fail-stop servers), modelled as a ``Crashed(n)`` notice the
master receives after ``n`` actually crashed. The master removes ``n`` and
announces ``Config(epoch, chain)``; a replica that gains a new successor sends
it its log (the paper's resend of the Sent list), and a replica that becomes
the tail acknowledges what it holds. A replica that restarts after a crash
stays out of the chain (it would rejoin as a new tail after a state transfer,
which is not modelled).

Messages carry the sender's configuration: a replica that has not yet heard
the master's announcement adopts it from any newer message.

Properties: the client history is linearizable (register semantics);
every acknowledged write is held by a live replica of the current chain.

Bug ``read_from_head``: the master sends reads to the head. The head holds
writes the rest of the chain has not received; when it crashes they are
gone, and a later read at the new head returns an older value: a stale read.

Bug ``ack_at_head``: the head acknowledges a write as soon as it orders it,
before the tail holds it; when the head crashes the acknowledged write is
gone (breaks NoLostWrite).

Default bounds (``splitbrain check chain``): 2 replicas, client c1 writes 1,
client c2 reads twice; faults: one partition isolating a node (losing the
messages across it), one lost message, one crash with restart; at most 6
messages in flight. Correct: 66,179 distinct states; ``read_from_head``:
found in 12 steps. Duplication and 3-replica chains are checked with one
read (tests/test_replication.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from splitbrain.models.actors import Actor, Context, World
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.models.replication import (DEFAULT_FAULTS, REPLICA_FAULTS, ClientActor, ReplicatedModel, acknowledged_writes,
                                client_events)
from splitbrain.properties.consistency.property import history_property
from splitbrain.properties.kinds import always, sometimes

BUGS = {"read_from_head": "reads are served by the head, not the tail: a stale read after the head crashes",
        "ack_at_head": "the head acknowledges a write before the tail holds it: lost when the head crashes"}


class Replica(NamedTuple):
    epoch: int           # the configuration this replica knows
    chain: tuple         # ... its chain, head first
    log: tuple           # the writes it holds, in the head's order: ((client, k, value), ...)
    retired: bool        # restarted after a crash: out of the chain for good


class Master(NamedTuple):
    epoch: int
    chain: tuple


def _successor(chain: tuple, me: str) -> str | None:
    i = chain.index(me)
    return chain[i + 1] if i + 1 < len(chain) else None


def _predecessor(chain: tuple, me: str) -> str | None:
    i = chain.index(me)
    return chain[i - 1] if i > 0 else None


class ReplicaActor(Actor):
    """One server of the chain: head, middle or tail depending on the configuration."""

    durable_fields = ("epoch", "chain", "log")

    def __init__(self, replicas: tuple[str, ...], ack_at_head: bool = False) -> None:
        self.replicas, self.ack_at_head = replicas, ack_at_head

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Replica:
        fresh = Replica(1, self.replicas, (), False)
        if durable is not None:                              # back from a crash: out of the chain
            return self.restore(fresh, durable)._replace(retired=True)
        return fresh

    def _adopt(self, me: str, state: Replica, epoch: int, chain: tuple, ctx: Context) -> Replica:
        """Move to a newer configuration: resend the log to a new successor; a new tail acks."""
        if epoch <= state.epoch or me not in chain:
            return state
        old_next, old_tail = _successor(state.chain, me), state.chain[-1] == me
        state = state._replace(epoch=epoch, chain=chain)
        new_next = _successor(chain, me)
        if new_next is not None and new_next != old_next:
            ctx.send(new_next, ("Forward", epoch, chain, state.log))
        if new_next is None and not old_tail:
            for client, k, _ in state.log:
                ctx.send(client, ("Ack", k))
        return state

    def _propagate(self, me: str, state: Replica, new: tuple, ctx: Context) -> None:
        """Pass the log down the chain, or, at the tail, acknowledge the new writes."""
        nxt = _successor(state.chain, me)
        if nxt is not None:
            ctx.send(nxt, ("Forward", state.epoch, state.chain, state.log))
        else:
            for client, k, _ in new:
                ctx.send(client, ("Ack", k))

    def on_message(self, node_id: str, state: Replica, src: str, msg: tuple, ctx: Context) -> Replica:
        if state.retired:
            return state
        kind = msg[0]
        state = self._adopt(node_id, state, msg[1], msg[2], ctx)
        if kind == "Config":
            return state
        if kind == "Write":
            # The head orders the write after everything it holds and sends it down the chain.
            _, _, _, client, k, value = msg
            entry = (client, k, value)
            if state.chain[0] != node_id or entry in state.log:
                return state
            state = state._replace(log=state.log + (entry,))
            if self.ack_at_head:
                ctx.send(client, ("Ack", k))  # (the bug: acknowledged before the tail holds it)
            self._propagate(node_id, state, (entry,), ctx)
            return state
        if kind == "Forward":
            # A successor takes a longer log from its predecessor (logs are prefixes down the chain).
            log = msg[3]
            if (node_id not in state.chain or _predecessor(state.chain, node_id) != src
                    or len(log) <= len(state.log) or log[:len(state.log)] != state.log):
                return state
            new = log[len(state.log):]
            state = state._replace(log=log)
            self._propagate(node_id, state, new, ctx)
            return state
        if kind == "Read":
            # The tail answers from what it holds (with the bug, whoever the master asked answers).
            _, _, _, client, k = msg
            value = state.log[-1][2] if state.log else None
            ctx.send(client, ("Value", k, value))
        return state


class MasterActor(Actor):
    """The configuration service: routes requests and removes crashed replicas from the chain."""

    def __init__(self, replicas: tuple[str, ...], read_from_head: bool) -> None:
        self.replicas, self.read_from_head = replicas, read_from_head

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Master:
        return Master(1, self.replicas)

    def on_message(self, node_id: str, state: Master, src: str, msg: tuple, ctx: Context) -> Master:
        kind = msg[0]
        if kind == "Crashed":
            # The failure detector reports a crash: drop the replica from the chain and announce it.
            gone = msg[1]
            if gone not in state.chain or len(state.chain) == 1:
                return state
            state = Master(state.epoch + 1, tuple(r for r in state.chain if r != gone))
            for r in state.chain:
                ctx.send(r, ("Config", state.epoch, state.chain))
            return state
        if kind == "Write":
            # Writes go to the head.
            ctx.send(state.chain[0], ("Write", state.epoch, state.chain, src, msg[1], msg[2]))
        elif kind == "Read":
            # Reads go to the tail (the bug: to the head).
            target = state.chain[0] if self.read_from_head else state.chain[-1]
            ctx.send(target, ("Read", state.epoch, state.chain, src, msg[1]))
        return state


class Chain(ReplicatedModel):
    """Chain replication of one register: ``replicas`` servers, clients running ``ops``."""

    def __init__(self, replicas: int = 2, ops: str = "w1;r,r", bug: str = "none",
                 max_in_flight: int = 6, faults: Any = None, network: Any = None) -> None:
        scripts = self.name_nodes("r", replicas, ops, bug, BUGS)
        nodes: dict[str, Actor] = {"master": MasterActor(self.replicas, bug == "read_from_head")}
        replica = ReplicaActor(self.replicas, bug == "ack_at_head")
        nodes.update({r: replica for r in self.replicas})
        client = ClientActor(dict(zip(self.clients, scripts)), ("master",))
        nodes.update({c: client for c in self.clients})
        super().__init__(nodes, network=network or "unordered",
                         faults=DEFAULT_FAULTS if faults is None else faults,
                         max_in_flight=max_in_flight)

    def successors(self, w: World):
        """The actor steps; the master hears of each crash (a perfect failure detector)."""
        for action, nxt in super().successors(w):
            if action[0] == "crash":
                notice = [("master", "master", ("Crashed", action[1]))]
                nxt = nxt._replace(net=self.network.send(nxt.net, notice))
            yield action, nxt

    def holders(self, w: World, client: str, value: Any) -> list[str]:
        """The live replicas of the master's chain that hold ``client``'s write of ``value``."""
        chain = self.state_of(w, "master").chain
        return [r for r in chain if (s := self.state_of(w, r)) is not None and not s.retired
                and any(e[0] == client and e[2] == value for e in s.log)]

    def no_lost_write(self, w: World) -> bool:
        return all(self.holders(w, c, v) for c, v in acknowledged_writes(w))

    def properties(self):
        return [
            history_property("Linearizable", client_events, "register"),
            always("NoLostWrite", self.no_lost_write,
                   "every acknowledged write is held by a live replica of the current chain"),
            sometimes("WriteAcknowledged", lambda w: bool(acknowledged_writes(w)), "some write is acknowledged"),
            sometimes("ReadSeesWrite", lambda w: any(e[0] == "ok" and e[2] == "read" and e[3] is not None
                                                     for e in w.history), "some read returns a written value"),
            sometimes("Reconfigured", lambda w: self.state_of(w, "master").epoch > 1,
                      "the master removes a crashed replica from the chain"),
        ]


SPEC = ModelSpec(
    name="chain",
    summary="chain replication: writes at the head, reads at the tail, reconfiguration on crash",
    factory=Chain,
    params=(
        Param("replicas", int, 2, "servers in the chain"),
        Param("ops", str, "w1;r,r", "client scripts: clients split by ';', operations r or wN by ','"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
        Param("max_in_flight", int, 6, "states with more messages in flight are not explored"),
    ),
    bugs=BUGS,
    breaks={"read_from_head": ("Linearizable",), "ack_at_head": ("Linearizable", "NoLostWrite")},
    faults=REPLICA_FAULTS,
)
