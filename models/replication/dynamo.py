"""Dynamo-style quorum replication with version vectors (DeCandia et al., SOSP 2007).

One key is stored on ``n`` replicas ``s1..sN``. A client sends each
operation to a coordinator (operation k of client c goes to replica
``(c + k) mod n``, so successive writes have different coordinators). As in
Dynamo, a put carries the context of the version it updates (the writer's
last acknowledged write); the coordinator stamps the value with a version
vector, the context with its own counter raised past any it has issued,
stores it and sends it to the other replicas; it acknowledges the client,
returning the new context, once ``w`` replicas (itself included) have stored
it. A replica keeps the version whose vector dominates and acknowledges every
store, even one it discards. A get asks every replica and answers with the
newest of the first ``r`` versions (its own included); read repair sends that
version to the replicas among them that answered with an older one. Clients
pause at least one tick of their clock between operations. With one writer
no two versions are concurrent, so siblings (Dynamo's reconciliation by the
client) do not arise.

What holds (single writer, ``r + w > n``), also under clock faults, since no
version is ordered by a clock: every read returns the latest write
acknowledged before the read began, or a write concurrent with it (a regular
register); no acknowledged write is lost. It is not linearizable: two reads
concurrent with a write may see new then old.

What breaks:

- ``r + w <= n`` (e.g. ``-p r=1 -p w=1``): a read quorum may miss the
  acknowledged write: a stale read. This is a configuration outside the
  claim, not a bug flag (its trace is in the corpus).
- ``-p bug=clock_skew``: versions are stamped ``(clock, node)`` by the
  coordinator's wall clock and the later stamp wins (last writer wins, as in
  Cassandra); its default faults are ``clock-skew=1`` alone. A later write
  is stamped by a coordinator whose clock is behind, every replica discards
  it as older, yet it is acknowledged: a lost update in 12 steps (and a
  stale read in 15). The correct protocol passes under the same faults
  (33,389 distinct states), and under ``clock-skew=1`` or ``clock-jump=2``
  added to the default faults (299,242 and 266,138 distinct states).

Default bounds: n=2, r=1, w=2; client c1 writes 1 then 2, client c2 reads;
clocks 0..3; faults: one lost message, one crash with restart; at most 5
messages in flight. Correct: 21,704 distinct states; ``-p w=1``: stale read
in 6 steps. Partitions and duplication are checked with one write and one
read (tests/test_replication.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from splitbrain.models.actors import Actor, Context, World
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.models.replication import ReplicatedModel, acknowledged_writes, client_names, parse_ops, record_reply
from splitbrain.properties.kinds import always, sometimes

BUGS = {"clock_skew": "last writer wins by the coordinators' wall clocks (default faults: clock-skew=1): "
                      "a later write stamped by a slow clock is discarded"}
DEFAULT_FAULTS = "loss=1,crash=1,restart"
SKEW_FAULTS = "clock-skew=1"  # the clock_skew bug's default faults: clock skew alone


class Replica(NamedTuple):
    version: Any         # the stored version: (version vector, value) (bug: ((clock, coordinator), value)), or None
    pending: tuple       # as coordinator: ((client, k, kind, payload, replies), ...)
    served: frozenset    # as coordinator: the puts (client, k) already stamped (a duplicate is not re-stamped)


class Client(NamedTuple):
    step: int            # the operation in progress (len(script): finished)
    waiting: bool
    context: Any = None  # the version vector of the client's last acknowledged write


class ReplicaActor(Actor):
    """A storage node, and the coordinator of the operations clients send it."""

    durable_fields = ("version", "served")

    def __init__(self, replicas: tuple[str, ...], r: int, w: int, wall_clock: bool = False) -> None:
        self.replicas, self.r, self.w, self.wall_clock = replicas, r, w, wall_clock

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Replica:
        return self.restore(Replica(None, (), frozenset()), durable)

    def _newer(self, a: Any, b: Any) -> Any:
        """Of two versions, the one to keep: ``a`` if it is newer than ``b``, else ``b``."""
        if b is None:
            return a
        if a is None:
            return b
        if self.wall_clock:  # (the bug clock_skew: the later wall-clock stamp wins)
            return a if a[0] > b[0] else b
        return a if dominates(a[0], b[0]) else b

    def stamp(self, node_id: str, context: Any, stored: Any, now: int) -> Any:
        """The stamp of a new version the coordinator ``node_id`` makes from the put's ``context``."""
        if self.wall_clock:
            return (now, node_id)
        i = self.replicas.index(node_id)
        vector = list(context or (0,) * len(self.replicas))
        issued = stored[0][i] if stored is not None else 0  # its counter only grows
        vector[i] = max(vector[i], issued) + 1
        return tuple(vector)

    def on_message(self, node_id: str, state: Replica, src: str, msg: tuple, ctx: Context) -> Replica:
        kind = msg[0]
        if kind == "Put":
            # Coordinate a put: stamp the value with the local clock, store it, send it to the others.
            if (src, msg[1]) in state.served:
                return state
            state = state._replace(served=state.served | {(src, msg[1])})
            version = (self.stamp(node_id, msg[3], state.version, ctx.now()), msg[2])
            state = state._replace(version=self._newer(version, state.version))
            entry = (src, msg[1], "put", version, (node_id,))
            ctx.broadcast(("Store", (src, msg[1]), version), to=self.replicas)
            return self._progress(state, state.pending + (entry,), ctx)
        if kind == "Get":
            # Coordinate a get: ask every replica, counting the own version as the first reply.
            entry = (src, msg[1], "get", None, ((node_id, state.version),))
            ctx.broadcast(("Fetch", (src, msg[1])), to=self.replicas)
            return self._progress(state, state.pending + (entry,), ctx)
        if kind == "Store":
            # Keep the newer version (the dominating vector); acknowledge either way.
            state = state._replace(version=self._newer(msg[2], state.version))
            if msg[1] is not None:
                ctx.send(src, ("Stored", msg[1]))
            return state
        if kind == "Fetch":
            # Answer a get with the stored version.
            ctx.send(src, ("Fetched", msg[1], state.version))
            return state
        if kind in ("Stored", "Fetched"):
            # A replica replied: count it towards the operation's quorum.
            (client, k), pending = msg[1], []
            for entry in state.pending:
                if entry[:2] == (client, k) and all(n != src for n, *_ in self._repliers(entry)):
                    reply = src if kind == "Stored" else (src, msg[2])
                    entry = entry[:4] + (entry[4] + (reply,),)
                pending.append(entry)
            return self._progress(state, tuple(pending), ctx)
        return state

    @staticmethod
    def _repliers(entry: tuple) -> list[tuple]:
        return [(x,) if isinstance(x, str) else x for x in entry[4]]

    def _progress(self, state: Replica, pending: tuple, ctx: Context) -> Replica:
        """Answer the operations whose quorum is complete; read-repair the stale replicas of a get."""
        left = []
        for client, k, kind, version, replies in pending:
            if kind == "put" and len(replies) >= self.w:
                ctx.send(client, ("Ack", k, version[0]))  # with the new context
            elif kind == "get" and len(replies) >= self.r:
                newest = None
                for _, v in replies:
                    newest = self._newer(v, newest)
                ctx.send(client, ("Value", k, None if newest is None else newest[1]))
                for node, v in replies:
                    if newest is not None and v != newest and node != ctx.node:
                        ctx.send(node, ("Store", None, newest))
                    elif newest is not None and v != newest:
                        state = state._replace(version=self._newer(newest, state.version))
            else:
                left.append((client, k, kind, version, replies))
        return state._replace(pending=tuple(left))


class ClientActor(Actor):
    """Runs its script; operation k goes to coordinator ``(client index + k) mod n``."""

    def __init__(self, scripts: dict[str, tuple], replicas: tuple[str, ...]) -> None:
        self.scripts, self.replicas = scripts, replicas
        self.order = {c: i for i, c in enumerate(scripts)}

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Client:
        if self.scripts[node_id]:
            ctx.set_timer("next", 0)
        return Client(0, False)

    def on_timer(self, node_id: str, state: Client, timer: Any, ctx: Context) -> Client:
        # Start the next operation at its coordinator.
        f, value = self.scripts[node_id][state.step]
        coordinator = self.replicas[(self.order[node_id] + state.step) % len(self.replicas)]
        ctx.invoke(f, value)
        ctx.send(coordinator, ("Put", state.step, value, state.context) if f == "write" else ("Get", state.step))
        return state._replace(waiting=True)

    def on_message(self, node_id: str, state: Client, src: str, msg: tuple, ctx: Context) -> Client:
        if not state.waiting or msg[1] != state.step:
            return state
        if not record_reply(self.scripts[node_id][state.step], msg, ctx):
            return state
        if state.step + 1 < len(self.scripts[node_id]):
            ctx.set_timer("next", 1)                    # pause a tick before the next operation
        context = msg[2] if msg[0] == "Ack" else state.context
        return Client(state.step + 1, False, context)


def dominates(a: tuple, b: tuple) -> bool:
    """Version vector ``a`` is newer than ``b``: at least as large everywhere, larger somewhere."""
    return a != b and all(x >= y for x, y in zip(a, b))


class Dynamo(ReplicatedModel):
    """``n`` replicas of one key, reads of ``r`` and writes of ``w`` replies; clients run ``ops``."""

    def __init__(self, n: int = 2, r: int = 1, w: int = 2, ops: str = "w1,w2;r", bug: str = "none",
                 max_time: int = 3, max_in_flight: int = 5, faults: Any = None, network: Any = None) -> None:
        if n < 1 or not (1 <= r <= n and 1 <= w <= n):
            raise ValueError("need n >= 1 and 1 <= r, w <= n")
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        scripts = parse_ops(ops)
        if sum(any(f == "write" for f, _ in s) for s in scripts) > 1:
            raise ValueError("one client writes (the properties judge a single writer)")
        self.n, self.r, self.w, self.bug = n, r, w, bug
        self.replicas = tuple(f"s{i + 1}" for i in range(n))
        self.clients = client_names(scripts)
        replica = ReplicaActor(self.replicas, r, w, wall_clock=bug == "clock_skew")
        nodes: dict[str, Actor] = {s: replica for s in self.replicas}
        client = ClientActor(dict(zip(self.clients, scripts)), self.replicas)
        nodes.update({c: client for c in self.clients})
        if faults is None:
            faults = SKEW_FAULTS if bug == "clock_skew" else DEFAULT_FAULTS
        self.writes = [v for s in scripts for f, v in s if f == "write"]
        super().__init__(nodes, network=network or "unordered", faults=faults, max_in_flight=max_in_flight,
                         max_time=max_time, timers="deadline")

    def stored(self, w: World, s: str) -> Any:
        state = self.state_of(w, s)
        if state is not None:
            return state.version
        disk = w.disk[self.index[s]]
        return dict(disk)["version"] if disk is not None else None

    def no_lost_write(self, w: World) -> bool:
        """The latest acknowledged write, or a later one, is stored on some replica."""
        acked = [v for _, v in acknowledged_writes(w)]
        if not acked:
            return True
        later = set(self.writes[self.writes.index(acked[-1]):])
        return any((v := self.stored(w, s)) is not None and v[1] in later for s in self.replicas)

    def reads_see_latest(self, w: World) -> bool:
        """Each read returns the latest write acknowledged before it began, or a concurrent write."""
        acked_at, invoked_at, started = {}, {}, {}
        for i, (kind, client, f, value) in enumerate(w.history):
            if f == "write":
                if kind == "invoke":
                    invoked_at[value] = i
                elif kind == "ok":
                    acked_at[value] = i
            elif kind == "invoke":
                started[client] = (i, self._latest(acked_at, i))
            elif kind == "ok":
                begin, before = started[client]
                concurrent = {v for v, at in invoked_at.items() if acked_at.get(v, i + 1) > begin}
                if value != before and value not in concurrent:
                    return False
        return True

    def _latest(self, acked_at: dict, i: int) -> Any:
        done = [v for v, at in acked_at.items() if at < i]
        return max(done, key=self.writes.index) if done else None

    def describe(self, w: World, action: tuple, nxt: World) -> str:
        """The actor step, plus the version a replica silently discards by last-writer-wins."""
        text = super().describe(w, action, nxt)
        if self.bug == "clock_skew" and action[0] == "deliver" and action[3][0] == "Store":
            node, (ts, value) = action[2], action[3][2]
            kept = self.state_of(nxt, node).version
            if kept is not None and kept[0] > ts:
                text += (f"; {node} keeps {kept[1]} (stamped {kept[0][1]}'s clock {kept[0][0]}) and silently "
                         f"discards {value} (stamped {ts[1]}'s clock {ts[0]}): last writer wins by the clocks")
        return text

    def properties(self):
        return [
            always("ReadsSeeLatestAck", self.reads_see_latest,
                   "a read returns the latest write acknowledged before it began, or a concurrent one"),
            always("NoLostWrite", self.no_lost_write,
                   "the latest acknowledged write (or a later one) is stored on some replica"),
            sometimes("ReadSeesWrite", lambda w: any(e[0] == "ok" and e[2] == "read" and e[3] is not None
                                                     for e in w.history), "some read returns a written value"),
            sometimes("AllWritesAcknowledged", lambda w: len(acknowledged_writes(w)) == len(self.writes),
                      "every write is acknowledged"),
        ]


SPEC = ModelSpec(
    name="dynamo",
    summary="Dynamo-style N/R/W quorums with version vectors and read repair",
    factory=Dynamo,
    params=(
        Param("n", int, 2, "replicas of the key"),
        Param("r", int, 1, "replies a read waits for"),
        Param("w", int, 2, "replies a write waits for"),
        Param("ops", str, "w1,w2;r", "client scripts (one writer): clients split by ';', r or wN by ','"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
        Param("max_time", int, 3, "clocks stop at this value"),
        Param("max_in_flight", int, 5, "states with more messages in flight are not explored"),
    ),
    bugs=BUGS,
    breaks={"clock_skew": ("ReadsSeeLatestAck", "NoLostWrite")},
    faults=("partition", "one-way", "loss", "dup", "crash", "restart", "clock-skew", "clock-jump"),
)
