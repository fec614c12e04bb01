"""Primary-backup replication with views and fencing (Alsberg & Day; Oki & Liskov's views).

The replicas ``p1, ..., pN`` pass through views 1..N. In view ``v`` the
primary is ``p<v>`` and the backups are the replicas after it; when a backup
suspects the primary (a timeout that may fire at any moment, so suspicion may
be wrong), the next replica in line starts view ``v + 1``, dropping the old
primary. Clients send each request to every replica; the primary of the
view a replica is in serves it, the others keep it for when they take over.

The primary orders a write into its log and sends the whole log,
``Replicate(view, log, round)``, to every backup of its view; it acknowledges the
write once each backup has acknowledged that round in that view. A read is
confirmed the same way before the primary answers (a primary may not know it
has been replaced). A backup adopts the log of a newer view wholesale, a
longer log of its own view, and acknowledges. Fencing: a backup ignores
``Replicate`` from a view older than its own, so a replaced primary can no
longer complete anything. View and log are durable; pending requests are not.

Properties: the client history is linearizable (register semantics); every
acknowledged write is in the log of every replica of the newest view.

Bug ``no_fencing``: backups do not compare views. After a (false) suspicion
the old primary keeps serving (split brain): the new primary accepts its
``Replicate``, overwrites its log with the old primary's and acknowledges,
losing the writes it acknowledged in the new view.

Bug ``read_without_confirm``: the primary answers a read from its log at
once, without confirming with its backups that it is still primary; a
replaced primary returns a stale value (breaks Linearizable; default
``ops=w1;r``, since a history of writes alone is always linearizable).

Default bounds: 2 replicas (one failover), clients c1 and c2 write 1 and 2;
faults: one lost message, one crash with restart; at most 6 messages in
flight. Correct: 43,506 distinct states; ``no_fencing``: found in 7 steps.
Crash-stop of the last replica of the last view loses data by definition,
so crashes here come with restart. Reads, partitions and duplication are
checked with a write and a read (tests/test_replication.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from splitbrain.models.actors import Actor, Context, World
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.models.replication import REPLICA_FAULTS, ClientActor, ReplicatedModel, acknowledged_writes, client_events
from splitbrain.properties.consistency.property import history_property
from splitbrain.properties.kinds import always, sometimes

# Default faults: one lost message and one crash with restart (a partition that loses messages
# is one more way to lose them; with it on the default check takes 90 676 states instead of 43 506).
DEFAULT_FAULTS = "loss=1,crash=1,restart"
BUGS = {"no_fencing": "backups accept a replaced primary's log: split brain loses acknowledged writes",
        "read_without_confirm": "the primary answers reads without confirming it is still primary (default ops=w1;r)"}


class Replica(NamedTuple):
    view: int            # the view this replica is in
    log: tuple           # the writes it holds, in order: ((client, k, value), ...)
    pending: tuple       # as primary: requests awaiting confirmation ((client, k, f, length, round), ...)
    acked: tuple         # as primary: ((backup, latest round it acknowledged in this view), ...)
    round: int           # as primary: replication rounds sent in this view
    queued: tuple        # as backup: requests kept for a takeover ((client, k, f, value), ...)


class ReplicaActor(Actor):
    """A replica: primary of its view, or a backup of it."""

    durable_fields = ("view", "log", "round")   # rounds stay fresh across a restart

    def __init__(self, replicas: tuple[str, ...], no_fencing: bool, read_without_confirm: bool = False) -> None:
        self.replicas, self.no_fencing, self.read_without_confirm = replicas, no_fencing, read_without_confirm

    def primary(self, view: int) -> str:
        return self.replicas[view - 1]

    def backups(self, view: int) -> tuple[str, ...]:
        return self.replicas[view:]

    def _arm_takeover(self, me: str, view: int, ctx: Context) -> None:
        if view < len(self.replicas) and self.primary(view + 1) == me:
            ctx.set_timer("takeover")

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Replica:
        state = self.restore(Replica(view=1, log=(), pending=(), acked=(), round=0, queued=()), durable)
        self._arm_takeover(node_id, state.view, ctx)
        return state

    def on_timer(self, node_id: str, state: Replica, timer: Any, ctx: Context) -> Replica:
        # Suspecting the primary, the next replica in line starts the next view and serves what it kept.
        if state.view >= len(self.replicas) or self.primary(state.view + 1) != node_id:
            return state
        queued = state.queued
        state = Replica(state.view + 1, state.log, pending=(), acked=(), round=0, queued=())
        self._arm_takeover(node_id, state.view, ctx)
        for client, k, f, value in queued:
            state = self._serve(node_id, state, client, k, f, value, ctx)
        return state

    def on_message(self, node_id: str, state: Replica, src: str, msg: tuple, ctx: Context) -> Replica:
        kind = msg[0]
        if kind in ("Write", "Read"):
            f, k = ("write", msg[1]) if kind == "Write" else ("read", msg[1])
            value = msg[2] if kind == "Write" else None
            if self.primary(state.view) == node_id:
                return self._serve(node_id, state, src, k, f, value, ctx)
            # Not the primary: keep the request in case this replica takes over.
            entry = (src, k, f, value)
            return state if entry in state.queued else state._replace(queued=state.queued + (entry,))
        if kind == "Replicate":
            return self._replicate(node_id, state, src, msg[1], msg[2], msg[3], ctx)
        if kind == "Ack":
            return self._acked(node_id, state, src, msg[1], msg[2], ctx)
        return state

    def _serve(self, me: str, state: Replica, client: str, k: int, f: str, value: Any,
               ctx: Context) -> Replica:
        """The primary orders a write into its log (a read at the end) and asks the backups to confirm."""
        if any(p[0] == client and p[1] == k for p in state.pending):
            return state
        if f == "read" and self.read_without_confirm:  # (the bug: no confirmation round)
            ctx.send(client, ("Value", k, state.log[-1][2] if state.log else None))
            return state
        log = state.log
        if f == "write" and (client, k, value) not in log:
            log = log + ((client, k, value),)
        length = log.index((client, k, value)) + 1 if f == "write" else len(log)
        rnd = state.round + 1
        state = state._replace(log=log, pending=state.pending + ((client, k, f, length, rnd),), round=rnd)
        ctx.broadcast(("Replicate", state.view, log, rnd), to=self.backups(state.view))
        return self._complete(me, state, ctx)

    def _replicate(self, me: str, state: Replica, src: str, view: int, log: tuple, rnd: int,
                   ctx: Context) -> Replica:
        """A backup takes the primary's log and acknowledges it (fencing: never an older view's)."""
        if view < state.view and not self.no_fencing:
            return state
        if view != state.view or len(log) > len(state.log):
            if view > state.view:
                self._arm_takeover(me, view, ctx)
            state = state._replace(view=max(view, state.view), log=log)
        ctx.send(src, ("Ack", view, rnd))
        return state

    def _acked(self, me: str, state: Replica, src: str, view: int, rnd: int, ctx: Context) -> Replica:
        """The primary records a backup's acknowledgement and answers what every backup confirmed."""
        if view != state.view or self.primary(view) != me:
            return state
        acked = dict(state.acked)
        if acked.get(src, 0) >= rnd:
            return state
        acked[src] = rnd
        return self._complete(me, state._replace(acked=tuple(sorted(acked.items()))), ctx)

    def _complete(self, me: str, state: Replica, ctx: Context) -> Replica:
        acked = dict(state.acked)
        confirmed = min((acked.get(b, 0) for b in self.backups(state.view)), default=state.round)
        done = [p for p in state.pending if p[4] <= confirmed]
        if not done:
            return state
        for client, k, f, length, _ in done:
            if f == "write":
                ctx.send(client, ("Ack", k))
            else:
                ctx.send(client, ("Value", k, state.log[length - 1][2] if length else None))
        return state._replace(pending=tuple(p for p in state.pending if p not in done))


class PrimaryBackup(ReplicatedModel):
    """Primary-backup replication of one register: ``replicas`` replicas, clients running ``ops``."""

    def __init__(self, replicas: int = 2, ops: str | None = None, bug: str = "none",
                 max_in_flight: int = 6, faults: Any = None, network: Any = None) -> None:
        if ops is None:
            ops = "w1;r" if bug == "read_without_confirm" else "w1;w2"
        self.ops = ops
        scripts = self.name_nodes("p", replicas, ops, bug, BUGS)
        replica = ReplicaActor(self.replicas, bug == "no_fencing", bug == "read_without_confirm")
        nodes: dict[str, Actor] = {r: replica for r in self.replicas}
        client = ClientActor(dict(zip(self.clients, scripts)), self.replicas)
        nodes.update({c: client for c in self.clients})
        super().__init__(nodes, network=network or "unordered",
                         faults=DEFAULT_FAULTS if faults is None else faults,
                         max_in_flight=max_in_flight)

    def params(self) -> dict[str, Any]:
        """The parameters, with ``ops`` resolved (its default depends on the bug)."""
        return {**super().params(), "ops": self.ops}

    def stored(self, w: World, r: str) -> tuple[int, tuple]:
        """Replica ``r``'s view and log: in memory, or on disk while it is crashed."""
        state = self.state_of(w, r)
        if state is not None:
            return state.view, state.log
        disk = w.disk[self.index[r]]
        return (dict(disk)["view"], dict(disk)["log"]) if disk is not None else (0, ())

    def no_lost_write(self, w: World) -> bool:
        stored = [self.stored(w, r) for r in self.replicas]
        newest = max(view for view, _ in stored)
        logs = [log for view, log in stored if view == newest]
        return all(any(e[0] == c and e[2] == v for e in log)
                   for c, v in acknowledged_writes(w) for log in logs)

    def describe(self, w: World, action: tuple, nxt: World) -> str:
        """The actor step, plus any write a replica's log loses in it."""
        text = super().describe(w, action, nxt)
        for r in self.replicas:
            before, after = self.state_of(w, r), self.state_of(nxt, r)
            if before is not None and after is not None:
                lost = [f"write {v} of {c}" for c, _, v in before.log if (c, _, v) not in after.log]
                if lost:
                    text += f"; {r} replaces its log with view {action[3][1]}'s, dropping {', '.join(lost)}" \
                        if action[0] == "deliver" else f"; {r} drops {', '.join(lost)}"
        return text

    def properties(self):
        return [
            history_property("Linearizable", client_events, "register"),
            always("NoLostWrite", self.no_lost_write,
                   "every acknowledged write is in the log of every replica of the newest view"),
            sometimes("WriteAcknowledged", lambda w: bool(acknowledged_writes(w)), "some write is acknowledged"),
            sometimes("AcknowledgedAfterViewChange",
                      lambda w: bool(acknowledged_writes(w)) and max(self.stored(w, r)[0] for r in self.replicas) > 1,
                      "a write is acknowledged and a backup has taken over"),
        ]


SPEC = ModelSpec(
    name="primary_backup",
    summary="primary-backup with views and fencing: the primary replicates to every backup before acking",
    factory=PrimaryBackup,
    params=(
        Param("replicas", int, 2, "replicas; view v's primary is p<v>, its backups the replicas after it"),
        Param("ops", str, None, "client scripts: clients split by ';', operations r or wN by ',' "
              "(default w1;w2; w1;r for bug=read_without_confirm)"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
        Param("max_in_flight", int, 6, "states with more messages in flight are not explored"),
    ),
    bugs=BUGS,
    breaks={"no_fencing": ("NoLostWrite",), "read_without_confirm": ("Linearizable",)},
    faults=REPLICA_FAULTS,
)
