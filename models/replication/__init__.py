"""Replication protocols judged by what their clients observe.

Each model is an actor system (``splitbrain.models.actors``) with client actors that
record their operations in ``World.history`` as ``("invoke", client, op,
value)`` / ``("ok", client, op, value)``; the consistency checkers
(``splitbrain.properties.consistency``) judge that history.

- ``chain``: chain replication (van Renesse & Schneider, OSDI 2004);
- ``primary_backup``: primary-backup with views and fencing;
- ``dynamo``: Dynamo-style N/R/W quorums with last-writer-wins timestamps;
- ``crdt``: state-based CRDTs (G-counter, PN-counter, OR-set).

This package holds what they share: the client actor and the adapter from
the actor history to the consistency checkers' events.
"""

from __future__ import annotations

from typing import Any, Hashable, NamedTuple, Sequence

from splitbrain.models.actors import Actor, ActorModel, Context, World

# The default faults of the replicated-register models: one partition isolating a
# node (losing the messages across it), one lost message, one crash with restart.
# Duplication is checked with smaller scripts (tests/test_replication.py): with
# it on by default the state spaces grow tenfold.
DEFAULT_FAULTS = "partition=1,shapes=isolate,partition-drop,loss=1,crash=1,restart"
# The fault kinds these models accept on the command line.
REPLICA_FAULTS = ("partition", "one-way", "loss", "dup", "crash", "restart")


def client_events(w: World) -> tuple:
    """The World's client history as consistency-checker events ``(process, type, f, value)``."""
    return tuple((e[1], e[0], e[2], e[3]) for e in w.history)


def acknowledged_writes(w: World) -> list[tuple[str, Any]]:
    """``(client, value)`` of every write a client saw acknowledged."""
    return [(e[1], e[3]) for e in w.history if e[0] == "ok" and e[2] == "write"]


def parse_ops(text: str) -> tuple[tuple[tuple[str, Any], ...], ...]:
    """Client scripts from text: clients separated by ``;``, operations by ``,``.

    ``"w1;r,r"``: client c1 writes 1, client c2 reads twice. Each client's
    written values must be distinct from every other write.
    """
    scripts = []
    for part in text.split(";"):
        ops: list[tuple[str, Any]] = []
        for item in part.split(","):
            item = item.strip()
            if item == "r":
                ops.append(("read", None))
            elif item.startswith("w") and item[1:].isdigit():
                ops.append(("write", int(item[1:])))
            else:
                raise ValueError(f"client operation {item!r}: expected r or wN (e.g. w1)")
        scripts.append(tuple(ops))
    values = [v for ops in scripts for f, v in ops if f == "write"]
    if len(set(values)) != len(values):
        raise ValueError("written values must be distinct (the checker tells writes apart by value)")
    return tuple(scripts)


class ClientState(NamedTuple):
    step: int            # index of the operation in progress (len(script): finished)
    waiting: bool        # an operation is outstanding


class ClientActor(Actor):
    """Runs a script of reads and writes, one at a time, against the service.

    Requests are ``("Write", k, value)`` and ``("Read", k)`` (k: the
    operation's index in the script), sent to every node of ``entry``; replies
    are ``("Ack", k)`` and ``("Value", k, value)``. A reply to an earlier
    operation (a duplicate, or a late second answer) is ignored. The client
    starts its first operation when its ``start`` timer fires, and each next
    one as soon as the previous completes.
    """

    def __init__(self, scripts: dict[str, tuple], entry: Sequence[str]) -> None:
        self.scripts = scripts
        self.entry = tuple(entry)

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> ClientState:
        if self.scripts[node_id]:
            ctx.set_timer("start")
        return ClientState(0, False)

    def _issue(self, node_id: str, k: int, ctx: Context) -> ClientState:
        script = self.scripts[node_id]
        if k >= len(script):
            return ClientState(k, False)
        f, value = script[k]
        ctx.invoke(f, value)                                   # the client starts operation k
        msg = ("Write", k, value) if f == "write" else ("Read", k)
        for dst in self.entry:
            ctx.send(dst, msg)
        return ClientState(k, True)

    def on_timer(self, node_id: str, state: ClientState, timer: Any, ctx: Context) -> ClientState:
        return self._issue(node_id, 0, ctx)

    def on_message(self, node_id: str, state: ClientState, src: str, msg: tuple, ctx: Context) -> ClientState:
        if not state.waiting or msg[1] != state.step:
            return state                                       # a reply to an earlier operation
        if not record_reply(self.scripts[node_id][state.step], msg, ctx):
            return state
        return self._issue(node_id, state.step + 1, ctx)


def record_reply(op: tuple, msg: tuple, ctx: Context) -> bool:
    """Whether ``msg`` completes the client operation ``op`` = (f, value); records the completion."""
    f, value = op
    if msg[0] == "Ack" and f == "write":
        ctx.ok("write", value)                                 # the write is acknowledged
    elif msg[0] == "Value" and f == "read":
        ctx.ok("read", msg[2])                                 # the read returns a value
    else:
        return False
    return True


def client_names(scripts: Sequence[Hashable]) -> tuple[str, ...]:
    """``c1, c2, ...`` for the given scripts."""
    return tuple(f"c{i + 1}" for i in range(len(scripts)))


class ReplicatedModel(ActorModel):
    """An actor model in which only the replicas (``self.replicas``) crash, not clients or services."""

    replicas: tuple[str, ...] = ()

    def name_nodes(self, prefix: str, replicas: int, ops: str, bug: str, bugs: Any) -> list:
        """Check the common parameters, name replicas ``prefix1..`` and the clients; the clients' scripts."""
        if replicas < 1:
            raise ValueError("need replicas >= 1")
        if bug not in ("none", *bugs):
            raise ValueError(f"unknown bug {bug!r}")
        scripts = parse_ops(ops)
        self.replicas = tuple(f"{prefix}{i + 1}" for i in range(replicas))
        self.clients = client_names(scripts)
        return scripts

    def successors(self, w: World):
        for action, nxt in super().successors(w):
            if action[0] != "crash" or action[1] in self.replicas:
                yield action, nxt
