"""A replicated register written by one client: the network-fault demonstration.

The client ``c`` writes the values 1, 2, ... in turn. It sends each write to
every replica (``r1``, ``r2``, ...) and counts the write as done (``ok``) once
``acks`` replicas have acknowledged it; then it sends the next one, so with
``acks`` below the number of replicas writes overlap in flight. A replica
applies every write it receives, in arrival order, and acknowledges it.
Replicas keep their data on disk (durable); the client keeps its progress.

The protocol trusts the network: it is correct on a reliable FIFO network
(the default) and every property holds there. Each fault breaks one:

- ``Convergence`` (at quiescence, every live replica holds the same value):
  broken by ``loss``, ``reorder``, ``partition`` and ``one-way`` with
  ``partition-drop``, and by ``--network unordered`` (writes overtake).
- ``AtMostOnce`` (no replica applies a write twice): broken by ``dup`` and by
  ``--network duplicating``.
- ``Durability`` (every acknowledged write is held by a live replica, or by the
  disk of a crashed one that will restart): broken by ``crash`` (crash-stop)
  with ``acks=1``; it holds with ``acks`` = all replicas, and with ``restart``.

Bug variants (``bug=...``), each breaking one property where the correct
protocol keeps it:

- ``send_to_ackers``: the client sends the next write only to the replicas
  that acknowledged the last one (breaks Convergence on a reliable network).
- ``relay_without_dedup``: a replica relays each write from the client to the
  other replicas, which apply it again (breaks AtMostOnce).
- ``volatile_log``: a replica keeps the writes it applied in memory only;
  default faults ``crash=1,restart`` (breaks Durability, which the correct
  protocol keeps under crash and restart).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from splitbrain.models.actors import Actor, ActorModel, Context, World
from splitbrain.models.faults import CRASH_FAULTS, NETWORK_FAULTS
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import always, sometimes

BUGS = {
    "send_to_ackers": "the client sends a write only to the replicas that acknowledged the last one",
    "relay_without_dedup": "a replica relays the client's writes to the others, which apply them again",
    "volatile_log": "a replica keeps its writes in memory only (default faults: crash=1,restart)",
}


class Replica(NamedTuple):
    value: int | None    # the last write applied
    applied: tuple       # every write applied, in order


class Client(NamedTuple):
    writing: int         # the write in progress (writes + 1: all done)
    acked: frozenset     # replicas that acknowledged it


class ReplicaActor(Actor):
    """Applies each write it receives and acknowledges it."""

    durable_fields = ("value", "applied")

    def __init__(self, replicas: tuple[str, ...] = (), bug: str = "none") -> None:
        self.replicas, self.bug = replicas, bug
        if bug == "volatile_log":
            self.durable_fields = ()  # (the bug: nothing is written to disk)

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Replica:
        return self.restore(Replica(None, ()), durable)

    def on_message(self, node_id: str, state: Replica, src: str, msg: tuple, ctx: Context) -> Replica:
        if msg[0] == "Write":
            ctx.send(src, ("Ack", msg[1]))
            if self.bug == "relay_without_dedup" and src == "c":  # (the bug: relayed copies are applied again)
                ctx.broadcast(("Write", msg[1]), to=[r for r in self.replicas if r != node_id])
            return Replica(msg[1], state.applied + (msg[1],))
        return state


class ClientActor(Actor):
    """Writes 1..writes in turn; a write is done after ``acks`` acknowledgements."""

    durable_fields = ("writing", "acked")

    def __init__(self, replicas: tuple[str, ...], writes: int, acks: int, bug: str = "none") -> None:
        self.replicas, self.writes, self.acks, self.bug = replicas, writes, acks, bug

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Client:
        if durable is not None:
            return self.restore(Client(1, frozenset()), durable)
        return self._write(1, ctx)

    def _write(self, k: int, ctx: Context, acked: frozenset = frozenset()) -> Client:
        if k <= self.writes:
            ctx.invoke("write", k)
            # (the bug send_to_ackers: only the replicas that acknowledged the last write)
            to = sorted(acked) if self.bug == "send_to_ackers" and acked else self.replicas
            ctx.broadcast(("Write", k), to=to)
        return Client(k, frozenset())

    def on_message(self, node_id: str, state: Client, src: str, msg: tuple, ctx: Context) -> Client:
        if msg[0] != "Ack" or msg[1] != state.writing:
            return state
        acked = state.acked | {src}
        if len(acked) < self.acks:
            return state._replace(acked=acked)
        ctx.ok("write", state.writing)
        return self._write(state.writing + 1, ctx, acked)


class Register(ActorModel):
    """One client, ``replicas`` replicas, ``writes`` writes, each done after ``acks`` acks."""

    def __init__(self, replicas: int = 2, writes: int = 2, acks: int = 1, max_in_flight: int = 8,
                 bug: str = "none", faults: Any = None, network: Any = None) -> None:
        if replicas < 1 or writes < 1:
            raise ValueError("need replicas >= 1 and writes >= 1")
        if not 1 <= acks <= replicas:
            raise ValueError(f"acks must be between 1 and replicas ({replicas})")
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        if faults is None and bug == "volatile_log":
            faults = "crash=1,restart"  # the bug shows only when a replica crashes and restarts
        self.replicas = tuple(f"r{i + 1}" for i in range(replicas))
        self.writes = writes
        nodes: dict[str, Actor] = {"c": ClientActor(self.replicas, writes, acks, bug)}
        replica = ReplicaActor(self.replicas, bug)
        nodes.update({r: replica for r in self.replicas})
        # A duplicating network redelivers forever: explore replicas applying one extra write at most.
        super().__init__(nodes, network=network or "fifo", faults=faults, max_in_flight=max_in_flight,
                         symmetry=[self.replicas], boundary=self.bounded)

    def bounded(self, w: World) -> bool:
        return all(len(s.applied) <= self.writes + 1 for r, s in self.live(w) if r != "c")

    def stored(self, w: World, r: str) -> tuple:
        """The writes replica ``r`` holds: in memory if up, on disk if it will restart."""
        state = self.state_of(w, r)
        if state is not None:
            return state.applied
        disk = w.disk[self.index[r]]
        return dict(disk)["applied"] if disk is not None else ()

    def convergence(self, w: World) -> bool:
        if not self.quiescent(w):
            return True
        return len({s.value for r, s in self.live(w) if r != "c"}) <= 1

    def at_most_once(self, w: World) -> bool:
        return all(len(set(s.applied)) == len(s.applied) for r, s in self.live(w) if r != "c")

    def durability(self, w: World) -> bool:
        done = [e[3] for e in w.history if e[0] == "ok"]
        return all(any(k in self.stored(w, r) for r in self.replicas) for k in done)

    def all_written(self, w: World) -> bool:
        return ("ok", "c", "write", self.writes) in w.history

    def properties(self):
        return [
            always("Convergence", self.convergence, "at quiescence every live replica holds the same value"),
            always("AtMostOnce", self.at_most_once, "no replica applies a write twice"),
            always("Durability", self.durability, "every acknowledged write survives on some replica"),
            sometimes("AllWritten", self.all_written, "the last write is acknowledged"),
        ]


SPEC = ModelSpec(
    name="demo-register",
    summary="a client writes to replicas over a FIFO network; each network fault breaks a property",
    factory=Register,
    params=(
        Param("replicas", int, 2, "number of replicas"),
        Param("writes", int, 2, "writes the client makes, one after another"),
        Param("acks", int, 1, "acknowledgements after which a write is done"),
        Param("max_in_flight", int, 8, "states with more messages in flight are not explored"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
    ),
    bugs=dict(BUGS),
    breaks={"send_to_ackers": ("Convergence",), "relay_without_dedup": ("AtMostOnce",),
            "volatile_log": ("Durability",)},
    faults=NETWORK_FAULTS + CRASH_FAULTS,
)
