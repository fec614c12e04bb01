"""Shard migration: moving a key range between nodes while a client keeps writing.

Nodes: the coordinator ``m`` (it holds the range's configuration, the epoch
and the owner), the source shard ``a`` (owner at epoch 1), the target shard
``b``, and a client ``c``. The client writes the values 1..``writes`` in turn
and then reads, each time at the node it believes owns the range; a node that
no longer owns the range answers ``Moved`` (the client follows it), a node
that does not serve yet answers ``Busy`` (the client asks again).

The migration, as MongoDB moves a chunk:

1. copy: ``m`` asks ``a`` for a snapshot; ``a`` sends its data to ``b`` and
   keeps serving writes; ``b`` reports ``Copied``;
2. fence and catch-up: ``m`` sends ``a`` the next epoch (2) and the new owner.
   ``a`` stops serving (from now on it answers ``Moved``) and sends ``b`` its
   final data, which holds every write it ever accepted; ``b`` reports
   ``CaughtUp``;
3. cut-over: ``m`` records (epoch 2, owner ``b``) and tells ``b`` to serve;
4. serve: ``b`` accepts reads and writes at epoch 2.

Shards keep their data, epoch and serving flag on disk, and ``m`` its
configuration, so a crash with restart loses nothing. (There is no
replication: a crash-stop of the owner, ``--faults crash=1`` without
``restart``, loses its writes, and the checker says so.) Writes are applied
once however often they arrive, and the target installs the final data once,
so duplicated messages are harmless too.

Properties:

- ``NoLostWrites``: every acknowledged write is held by the owner the
  coordinator's configuration names (in memory, or on disk while it is down);
- ``SingleOwnerPerEpoch``: no two nodes accept writes for the range in the
  same epoch at the same time;
- ``ReadLatest``: a read returns the last write acknowledged before it began;
- ``Migrated`` (sometimes): the range moved and the client finished.

Bug flags:

- ``cutover_before_catchup``: ``m`` cuts over as soon as the copy is done,
  without the fence and catch-up; a write ``a`` acknowledged after its
  snapshot never reaches ``b`` (``NoLostWrites``).
- ``no_epoch_fence``: ``m`` has ``a`` send its data without fencing it and
  hands ``b`` the range in the same epoch, telling ``a`` to stop only
  afterwards; until that message gets through (a partition can hold it back
  indefinitely), ``a`` and ``b`` both accept writes in epoch 1
  (``SingleOwnerPerEpoch``).

Default faults: ``crash=1,restart,partition=1,partition-drop`` (one crash
with recovery, one partition that loses the messages across it); the correct
protocol passes under them (about 20,000 states) and each bug is found under
them, as it is with no faults at all: the bugs need only an unlucky order of
deliveries, which a slow link or a partition produces.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from splitbrain.models.actors import Actor, ActorModel, Context, World
from splitbrain.models.faults import CRASH_FAULTS, NETWORK_FAULTS, as_fault_config
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import Property, always, sometimes

BUGS = {
    "cutover_before_catchup": "the coordinator cuts over right after the copy: a write the source "
                              "acknowledged after its snapshot is lost",
    "no_epoch_fence": "the target serves in the same epoch while the source is told to stop only "
                      "afterwards: two owners accept writes in one epoch",
}
DEFAULT_FAULTS = "crash=1,restart,partition=1,partition-drop"

COORDINATOR, SOURCE, TARGET, CLIENT = "m", "a", "b", "c"


class Shard(NamedTuple):
    epoch: int           # the latest epoch of the range this node knows
    serving: bool        # accepts reads and writes for the range (at ``epoch``)
    owner: str | None    # who owns the range at ``epoch`` (where to redirect clients)
    data: tuple          # the writes applied, in order (the value is the last)
    synced: bool         # target: holds the source's final data (a late snapshot must not overwrite it)


class Coordinator(NamedTuple):
    phase: str           # copying, catching_up, done
    epoch: int           # the configuration: the range's epoch ...
    owner: str           # ... and its owner


class Client(NamedTuple):
    op: int              # the operation in progress: writes 1..W, then the read (W + 1), W + 2 when done
    target: str          # the node the client believes owns the range


class ShardActor(Actor):
    """Serves the range while it owns it; copies it out and hands it over when told."""

    durable_fields = ("epoch", "serving", "owner", "data", "synced")

    @staticmethod
    def fresh(node_id: str) -> Shard:
        """The state a shard starts in: the source owns the range at epoch 1."""
        first = node_id == SOURCE
        return Shard(1 if first else 0, first, SOURCE if first else None, (), False)

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Shard:
        return self.restore(self.fresh(node_id), durable)

    def on_message(self, node_id: str, s: Shard, src: str, msg: tuple, ctx: Context) -> Shard:
        kind = msg[0]
        if kind in ("Write", "Read"):
            if not s.serving:
                ctx.send(src, ("Moved", s.owner) if s.owner not in (None, node_id) else ("Busy",))
                return s
            if kind == "Read":
                ctx.send(src, ("ReadOk", s.data[-1] if s.data else 0))
                return s
            v = msg[1]
            ctx.send(src, ("WriteOk", v))
            if v in s.data:                      # a retried write: applied once
                return s
            ctx.record(("accept", node_id, s.epoch, v))
            return s._replace(data=s.data + (v,))
        if kind == "Copy":                       # source: snapshot to the target, keep serving
            ctx.send(msg[1], ("Snapshot", s.data))
        elif kind == "Fence":                    # source: stop serving, send the final data
            _, epoch, to = msg
            ctx.send(to, ("CatchUp", s.data))
            return s._replace(epoch=epoch, serving=False, owner=to)
        elif kind == "Sync":                     # (no_epoch_fence) source: send data, keep serving
            ctx.send(msg[1], ("CatchUp", s.data))
        elif kind == "Release":                  # (bugs) source: stop serving now
            _, epoch, to = msg
            return s._replace(epoch=max(epoch, s.epoch), serving=False, owner=to)
        elif kind == "Snapshot":                 # target: install the copy
            ctx.send(COORDINATOR, ("Copied",))
            return s if s.synced else s._replace(data=msg[1])
        elif kind == "CatchUp":                  # target: install the final data (once: a copy of it
            ctx.send(COORDINATOR, ("CaughtUp",))  # arriving late must not undo writes served since)
            return s if s.synced else s._replace(data=msg[1], synced=True)
        elif kind == "Serve":                    # target: own the range from now on
            return s._replace(epoch=msg[1], serving=True, owner=node_id)
        return s

    def format_message(self, msg: Any) -> str:
        if msg[0] in ("Snapshot", "CatchUp"):
            return f"{msg[0]}(data={list(msg[1])})"
        return super().format_message(msg)


class CoordinatorActor(Actor):
    """Moves the range from the source to the target: copy, fence and catch-up, cut-over."""

    durable_fields = ("phase", "epoch", "owner")

    def __init__(self, bug: str) -> None:
        self.bug = bug

    @staticmethod
    def fresh(node_id: str) -> Coordinator:
        """The configuration at the start: the source owns the range at epoch 1."""
        return Coordinator("copying", 1, SOURCE)

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Coordinator:
        if durable is not None:
            return self.restore(self.fresh(node_id), durable)
        ctx.send(SOURCE, ("Copy", TARGET))
        return self.fresh(node_id)

    def on_message(self, node_id: str, s: Coordinator, src: str, msg: tuple, ctx: Context) -> Coordinator:
        if msg == ("Copied",) and s.phase == "copying":
            if self.bug == "cutover_before_catchup":
                return self.cut_over(s.epoch + 1, ctx)
            if self.bug == "no_epoch_fence":
                ctx.send(SOURCE, ("Sync", TARGET))
            else:
                ctx.send(SOURCE, ("Fence", s.epoch + 1, TARGET))
            return s._replace(phase="catching_up")
        if msg == ("CaughtUp",) and s.phase == "catching_up":
            if self.bug == "no_epoch_fence":
                return self.cut_over(s.epoch, ctx)
            ctx.send(TARGET, ("Serve", s.epoch + 1))
            return Coordinator("done", s.epoch + 1, TARGET)
        return s

    def cut_over(self, epoch: int, ctx: Context) -> Coordinator:
        """(bugs) Hand the range to the target, and only then tell the source to stop."""
        ctx.send(TARGET, ("Serve", epoch))
        ctx.send(SOURCE, ("Release", epoch, TARGET))
        return Coordinator("done", epoch, TARGET)


class ClientActor(Actor):
    """Writes 1..writes in turn, then reads; follows Moved, retries on Busy."""

    durable_fields = ("op", "target")

    def __init__(self, writes: int) -> None:
        self.writes = writes

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Client:
        if durable is not None:
            return self.restore(Client(1, SOURCE), durable)
        return self.begin(Client(1, SOURCE), ctx)

    def begin(self, s: Client, ctx: Context) -> Client:
        """Invoke operation ``s.op`` (if any is left) and send it."""
        if s.op <= self.writes:
            ctx.invoke("write", s.op)
        elif s.op == self.writes + 1:
            ctx.invoke("read")
        return self.send(s, ctx)

    def send(self, s: Client, ctx: Context) -> Client:
        if s.op <= self.writes:
            ctx.send(s.target, ("Write", s.op))
        elif s.op == self.writes + 1:
            ctx.send(s.target, ("Read",))
        return s

    def on_message(self, node_id: str, s: Client, src: str, msg: tuple, ctx: Context) -> Client:
        kind = msg[0]
        if src != s.target:
            return s
        if kind == "WriteOk" and msg[1] == s.op:
            ctx.ok("write", s.op)
            return self.begin(s._replace(op=s.op + 1), ctx)
        if kind == "ReadOk" and s.op == self.writes + 1:
            ctx.ok("read", msg[1])
            return s._replace(op=s.op + 1)
        if kind == "Moved":
            return self.send(s._replace(target=msg[1]), ctx)
        if kind == "Busy":
            return self.send(s, ctx)
        return s


class Migration(ActorModel):
    """The shard-migration protocol (see the module docstring)."""

    def __init__(self, writes: int = 2, bug: str = "none", faults: Any = None, network: Any = None) -> None:
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        if writes < 1:
            raise ValueError("writes must be at least 1")
        self.bug, self.writes = bug, writes
        shard = ShardActor()
        nodes: dict[str, Actor] = {COORDINATOR: CoordinatorActor(bug), SOURCE: shard, TARGET: shard,
                                   CLIENT: ClientActor(writes)}
        cfg = as_fault_config(DEFAULT_FAULTS if faults in (None, "default") else faults)
        super().__init__(nodes, network=network or "unordered", faults=cfg)

    def params(self) -> dict[str, Any]:
        return {"writes": self.writes, "bug": self.bug, "faults": self.faults.spec(), "network": self.network.kind}

    # -- what the properties read -------------------------------------------------
    def stored(self, w: World, node: str) -> Any:
        """Shard or coordinator ``node``'s state: in memory if it is up, as a restart
        from its disk will restore it if it is down; None if it crashed for good."""
        state = self.state_of(w, node)
        if state is None:
            disk = w.disk[self.index[node]]
            if disk is None:
                return None
            actor = self.actors[self.index[node]]
            state = actor.restore(actor.fresh(node), disk)
        return state

    def acknowledged(self, w: World) -> list[int]:
        return [e[3] for e in w.history if e[0] == "ok" and e[2] == "write"]

    def no_lost_writes(self, w: World) -> bool:
        coordinator = self.stored(w, COORDINATOR)
        # The configuration names the owner; had the coordinator crashed for good, any shard may.
        holders = [coordinator.owner] if coordinator is not None else [SOURCE, TARGET]
        kept = set()
        for node in holders:
            state = self.stored(w, node)
            if state is not None:
                kept.update(state.data)
        return all(v in kept for v in self.acknowledged(w))

    def single_owner_per_epoch(self, w: World) -> bool:
        epochs = [s.epoch for s in (self.stored(w, n) for n in (SOURCE, TARGET)) if s is not None and s.serving]
        return len(epochs) == len(set(epochs))

    def read_latest(self, w: World) -> bool:
        last = 0
        started: int | None = None
        for kind, _, op, value in w.history:
            if op == "write" and kind == "ok":
                last = value
            elif op == "read" and kind == "invoke":
                started = last
            elif op == "read" and kind == "ok" and value != started:
                return False
        return True

    def migrated(self, w: World) -> bool:
        coord, client = self.stored(w, COORDINATOR), self.state_of(w, CLIENT)
        return coord is not None and coord.phase == "done" and client is not None and client.op == self.writes + 2

    def properties(self) -> list[Property]:
        return [
            always("NoLostWrites", self.no_lost_writes,
                   "every acknowledged write is held by the owner the configuration names"),
            always("SingleOwnerPerEpoch", self.single_owner_per_epoch,
                   "no two nodes accept writes for the range in the same epoch at once"),
            always("ReadLatest", self.read_latest, "a read returns the last write acknowledged before it"),
            sometimes("Migrated", self.migrated, "the range moved to the target and the client finished"),
        ]


SPEC = ModelSpec(
    name="migration",
    summary=f"moving a key range between shards while a client writes (default faults: {DEFAULT_FAULTS})",
    factory=Migration,
    params=(
        Param("writes", int, 2, "writes the client makes (then it reads)"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
    ),
    bugs=BUGS,
    breaks={"cutover_before_catchup": ("NoLostWrites", "ReadLatest"),
            "no_epoch_fence": ("NoLostWrites", "SingleOwnerPerEpoch", "ReadLatest")},
    faults=NETWORK_FAULTS + CRASH_FAULTS,
)
