"""A lock service with time leases: the clock, crash and Byzantine demonstration.

The server ``s`` grants the lock to one client at a time for ``lease`` ticks
of its own clock. A client (``c1``, ``c2``) asks once, retrying a tick after
each refusal. A request carries the local time it was sent and the grant
echoes it: the client counts its lease from then, on its own clock, so that
with perfect clocks its lease ends no later than the server's (and a grant
that arrives late, or answers a request made before a crash, is already
expired). The server grants the lock again only once its clock is past the
expiry. Timers fire at their deadlines and clocks run from 0 to ``max_time``.

``MutualExclusion`` (no two honest clients hold a lease their own clock says
is valid) holds without faults, and breaks with:

- ``clock-skew=2``: the server's clock runs ahead of the holder's;
- ``clock-jump=2``: a clock steps forward (server) or back (holder);
- ``crash=1,restart`` with ``bug=volatile_lease``: the server keeps its lease
  table in memory only, and forgets it in a crash (crash-stop, or a durable
  table, is safe);
- ``byzantine=1``: a Byzantine server grants the lock to both clients.
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

from splitbrain.models.actors import Actor, ActorModel, Context, World
from splitbrain.models.faults import CLOCK_FAULTS, CRASH_FAULTS
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import always, sometimes

BUGS = {"volatile_lease": "the server keeps its lease table in memory only, lost in a crash "
                          "(default faults: crash=1,restart)"}


class Server(NamedTuple):
    holder: str | None   # the client holding the lease
    expiry: int          # the last tick of the lease, on the server's clock


class Client(NamedTuple):
    phase: str           # idle, waiting, holding, done
    expiry: int          # while holding: the lease is valid while the local clock is below this


class ServerActor(Actor):
    """Grants the lease when it is free, or held by the asker, or expired."""

    durable_fields = ("holder", "expiry")

    def __init__(self, lease: int, clients: tuple[str, ...], max_time: int, volatile: bool = False) -> None:
        self.lease, self.clients, self.max_time = lease, clients, max_time
        if volatile:
            self.durable_fields = ()

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Server:
        return self.restore(Server(None, 0), durable)

    def on_message(self, node_id: str, state: Server, src: str, msg: tuple, ctx: Context) -> Server:
        if msg[0] != "Acquire":
            return state
        now = ctx.now()
        if state.holder in (None, src) or now > state.expiry:
            ctx.send(src, ("Grant", msg[1]))
            return Server(src, now + self.lease)
        ctx.send(src, ("Deny",))
        return state

    def byzantine_messages(self, node_id: str, nodes: tuple[str, ...]) -> Iterable[tuple[str, Any]]:
        grants = [("Grant", t) for t in range(self.max_time + 1)]
        return [(c, m) for c in self.clients for m in [*grants, ("Deny",)]]


class ClientActor(Actor):
    """Asks for the lease once (retrying after a refusal) and holds it until it expires."""

    def __init__(self, lease: int, server: str, max_time: int) -> None:
        self.lease, self.server, self.max_time = lease, server, max_time

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Client:
        ctx.set_timer("acquire", 0)
        return Client("idle", 0)

    def on_timer(self, node_id: str, state: Client, timer: Any, ctx: Context) -> Client:
        if timer == "acquire":
            ctx.send(self.server, ("Acquire", ctx.now()))
            return Client("waiting", 0)
        return state._replace(phase="done")  # "release": the lease is over

    def on_message(self, node_id: str, state: Client, src: str, msg: tuple, ctx: Context) -> Client:
        if src != self.server or state.phase != "waiting":
            return state
        if msg[0] == "Grant":
            expiry = msg[1] + self.lease
            ctx.set_timer("release", expiry - ctx.now())
            return state._replace(phase="holding", expiry=expiry)
        ctx.set_timer("acquire", 1)
        return state._replace(phase="idle")

    def byzantine_messages(self, node_id: str, nodes: tuple[str, ...]) -> Iterable[tuple[str, Any]]:
        return [(self.server, ("Acquire", t)) for t in range(self.max_time + 1)]


class Lease(ActorModel):
    """A server and ``clients`` clients; leases last ``lease`` ticks; clocks stop at ``max_time``."""

    def __init__(self, clients: int = 2, lease: int = 2, max_time: int = 4, bug: str = "none",
                 faults: Any = None, network: Any = None) -> None:
        if clients < 1 or lease < 1 or max_time < 1:
            raise ValueError("need clients >= 1, lease >= 1 and max_time >= 1")
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        if faults is None and bug == "volatile_lease":
            faults = "crash=1,restart"    # the bug shows only when the server crashes and restarts
        self.clients = tuple(f"c{i + 1}" for i in range(clients))
        nodes: dict[str, Actor] = {"s": ServerActor(lease, self.clients, max_time, bug == "volatile_lease")}
        client = ClientActor(lease, "s", max_time)
        nodes.update({c: client for c in self.clients})
        super().__init__(nodes, network=network or "unordered", faults=faults, max_time=max_time,
                         timers="deadline", symmetry=[self.clients])

    def holders(self, w: World) -> list[str]:
        """The honest, live clients whose own clock says their lease is valid."""
        return [c for c, s in self.live(w)
                if c != "s" and s.phase == "holding" and self.clock(w, c) < s.expiry]

    def properties(self):
        return [
            always("MutualExclusion", lambda w: len(self.holders(w)) <= 1,
                   "no two clients hold a valid lease at once"),
            sometimes("LeaseHeld", lambda w: len(self.holders(w)) == 1, "some client holds the lease"),
        ]


SPEC = ModelSpec(
    name="demo-lease",
    summary="a lock server grants time leases; clock faults, crashes and a Byzantine server break it",
    factory=Lease,
    params=(
        Param("clients", int, 2, "number of clients"),
        Param("lease", int, 2, "lease length, in ticks"),
        Param("max_time", int, 4, "clocks stop at this value"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
    ),
    bugs=BUGS,
    breaks={"volatile_lease": ("MutualExclusion",)},
    faults=("partition", "one-way", "loss", "dup") + CRASH_FAULTS + CLOCK_FAULTS + ("byzantine",),
)
