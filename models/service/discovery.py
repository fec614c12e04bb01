"""Service discovery: a registry with TTL heartbeats and client-side caches (Netflix Eureka).

The instances ``i1, i2, ...`` are registered with the registry ``r`` and
renew their lease with heartbeats stamped with their send time. An
instance may leave once, cancelling its registration (Eureka's cancel).
The registry's eviction sweep (a timer) expires the instances whose last
heartbeat is more than ``ttl`` ticks old, with **self-preservation**: when
more than half of the registered instances are late at once, the registry
blames the network (a partition between it and them), not the instances,
and expires nobody. The client ``x`` fetches the registry into a cache
stamped with the registry's time, and routes requests only from a cache at
most ``cache_age`` ticks old; an older cache must be fetched again.

A global clock runs from 0 to ``max_time``; timers may fire at any moment,
so heartbeats can be arbitrarily late: to the registry a partition (or a
long pause) is exactly that, heartbeats that stop arriving. An instance
that dies silently is a crash (``--faults crash=1``). Defaults: 2
instances, ttl 1, cache age 1, clock up to 2, 2 messages in flight: the
correct model takes about 8,300 states.

Properties:

- ``CacheBounded``: the client never routes to an instance the registry
  deregistered (cancelled or expired) more than ``cache_age`` ticks ago; as
  expiry follows the last heartbeat by ``ttl``, an instance that dies
  silently is routed to for at most ``ttl`` plus ``cache_age`` plus one
  sweep after its last heartbeat;
- ``NoWholesaleEviction``: no sweep expires more than half of the
  instances registered (self-preservation): a partition that silences
  every instance expires none of them.

Bug flags:

- ``cache_without_expiry``: the client routes from its cache however old it
  is (breaks CacheBounded);
- ``evict_during_partition``: no self-preservation: when heartbeats stop
  arriving from every instance, the registry expires them all (breaks
  NoWholesaleEviction).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from splitbrain.models.actors import Actor, ActorModel, Context, World
from splitbrain.models.faults import CRASH_FAULTS, NETWORK_FAULTS
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import always_step, sometimes

BUGS = {
    "cache_without_expiry": "the client routes from its cache however old it is",
    "evict_during_partition": "no self-preservation: the registry expires every instance when all heartbeats stop",
}


class Registry(NamedTuple):
    leases: frozenset    # (instance, send time of its last heartbeat) for each registered instance
    gone: frozenset      # (instance, how, registry time) of each deregistration: how is cancel or expire


class Instance(NamedTuple):
    running: bool


class Cache(NamedTuple):
    instances: tuple      # the instances the last fetch returned
    fetched: int          # the registry's time of that answer (-1: never fetched)


class RegistryActor(Actor):
    """Keeps the leases; expires late instances, unless most are late at once."""

    message_types = ("Heartbeat", "Cancel", "Fetch")
    timer_names = ("evict",)

    def __init__(self, instances: tuple[str, ...], ttl: int, bug: str) -> None:
        self.instances, self.ttl, self.bug = instances, ttl, bug

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Registry:
        ctx.set_timer("evict")
        return Registry(frozenset((i, 0) for i in self.instances), frozenset())

    def on_timer(self, node_id: str, state: Registry, timer: Any, ctx: Context) -> Registry:
        ctx.set_timer("evict")  # the eviction sweep
        now = ctx.now()
        late = {i for i, beat in state.leases if now - beat > self.ttl}
        if not late or (2 * len(late) > len(state.leases) and self.bug != "evict_during_partition"):
            return state  # nobody late, or self-preservation: most are late, blame the network
        return Registry(frozenset(lease for lease in state.leases if lease[0] not in late),
                        state.gone | {(i, "expire", now) for i in late})

    def on_message(self, node_id: str, state: Registry, src: str, msg: tuple, ctx: Context) -> Registry:
        leases = dict(state.leases)
        if msg[0] == "Fetch":  # a client reads the registry
            ctx.send(src, ("Instances", tuple(sorted(leases)), ctx.now()))
            return state
        if src not in leases:
            return state  # no longer registered
        if msg[0] == "Cancel":  # the instance leaves
            del leases[src]
            return Registry(frozenset(leases.items()), state.gone | {(src, "cancel", ctx.now())})
        leases[src] = max(leases[src], msg[1])  # a heartbeat renews the lease
        return state._replace(leases=frozenset(leases.items()))


class InstanceActor(Actor):
    """Sends heartbeats while it runs; may leave once."""

    timer_names = ("heartbeat", "leave")

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Instance:
        ctx.set_timer("heartbeat")
        ctx.set_timer("leave")
        return Instance(True)

    def on_timer(self, node_id: str, state: Instance, timer: Any, ctx: Context) -> Instance:
        if timer == "leave":  # shut down, cancelling the registration
            ctx.cancel_timer("heartbeat")
            ctx.send("r", ("Cancel",))
            return Instance(False)
        ctx.set_timer("heartbeat")
        ctx.send("r", ("Heartbeat", ctx.now()))  # renew the lease
        return state


class ClientActor(Actor):
    """Routes from its cache while it is fresh; fetches the registry again."""

    message_types = ("Instances",)
    timer_names = ("fetch", "route")

    def __init__(self, cache_age: int, bug: str) -> None:
        self.cache_age, self.bug = cache_age, bug

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Cache:
        ctx.set_timer("fetch")
        ctx.set_timer("route")
        return Cache((), -1)

    def fresh(self, state: Cache, now: int) -> bool:
        return state.fetched >= 0 and (now - state.fetched <= self.cache_age or self.bug == "cache_without_expiry")

    def on_timer(self, node_id: str, state: Cache, timer: Any, ctx: Context) -> Cache:
        ctx.set_timer(timer)
        if timer == "fetch":
            ctx.send("r", ("Fetch",))  # refresh the cache
        return state  # "route": a request goes to a cached instance if the cache is fresh

    def on_message(self, node_id: str, state: Cache, src: str, msg: tuple, ctx: Context) -> Cache:
        _, instances, stamp = msg
        if stamp < state.fetched:
            return state  # an answer older than the cache
        return Cache(instances, stamp)


class Discovery(ActorModel):
    """A registry, ``instances`` instances and a client with a cache."""

    def __init__(self, instances: int = 2, ttl: int = 1, cache_age: int = 1, max_time: int = 2,
                 max_in_flight: int = 2, bug: str = "none", faults: Any = None, network: Any = None) -> None:
        if instances < 1 or ttl < 0 or cache_age < 0 or max_time < 1:
            raise ValueError("need instances >= 1, ttl >= 0, cache_age >= 0 and max_time >= 1")
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        self.instances = tuple(f"i{k + 1}" for k in range(instances))
        self.cache_age = cache_age
        self.client = ClientActor(cache_age, bug)
        nodes: dict[str, Actor] = {"r": RegistryActor(self.instances, ttl, bug), "x": self.client}
        instance = InstanceActor()
        nodes.update({i: instance for i in self.instances})
        super().__init__(nodes, network=network or "unordered", faults=faults, max_time=max_time,
                         max_in_flight=max_in_flight, symmetry=[self.instances])

    def cache_bounded(self, w: World, action: tuple, nxt: World) -> bool:
        cache, registry = self.state_of(w, "x"), self.state_of(w, "r")
        if action != ("timeout", "x", "route") or cache is None or registry is None:
            return True
        now = self.clock(w, "x")
        if not self.client.fresh(cache, now):
            return True  # no request is routed
        gone = {i: t for i, _, t in registry.gone}
        return all(now - gone[i] <= self.cache_age for i in cache.instances if i in gone)

    def no_wholesale_eviction(self, w: World, action: tuple, nxt: World) -> bool:
        before, after = self.state_of(w, "r"), self.state_of(nxt, "r")
        if before is None or after is None:
            return True
        expired = [g for g in after.gone - before.gone if g[1] == "expire"]
        return 2 * len(expired) <= len(before.leases)

    def properties(self):
        return [
            always_step("CacheBounded", self.cache_bounded,
                        "the client never routes to an instance deregistered more than cache_age ago"),
            always_step("NoWholesaleEviction", self.no_wholesale_eviction,
                        "no sweep expires more than half of the registered instances"),
            sometimes("LateInstanceExpired", lambda w: self.state_of(w, "r") is not None
                      and any(how == "expire" for _, how, _ in self.state_of(w, "r").gone),
                      "the registry expires a late instance"),
        ]


SPEC = ModelSpec(
    name="discovery",
    summary="Eureka-style service discovery: TTL heartbeats, self-preservation and client caches",
    factory=Discovery,
    params=(
        Param("instances", int, 2, "registered instances"),
        Param("ttl", int, 1, "ticks a lease lasts after its last heartbeat"),
        Param("cache_age", int, 1, "ticks the client may route from one fetch"),
        Param("max_time", int, 2, "the clock stops at this value"),
        Param("max_in_flight", int, 2, "states with more messages in flight are not explored"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
    ),
    bugs=BUGS,
    breaks={"cache_without_expiry": ("CacheBounded",), "evict_during_partition": ("NoWholesaleEviction",)},
    faults=NETWORK_FAULTS + CRASH_FAULTS,
    symmetry=True,
)
