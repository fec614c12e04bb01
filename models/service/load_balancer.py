"""A load balancer spreading requests over backends that come and go (nginx's upstream module).

The balancer ``lb`` receives requests from the clients ``x1, x2, ...`` (a
timer per client: a request may arrive at any moment) and routes each to
one of the backends ``b1, b2, ...`` it believes ready; a backend answers
(``Done``) and the balancer counts its active connections. A backend may
fail its readiness once (``flips``) and tells the balancer (``Health``), as
a health checker would. The ``algorithm``:

- ``rr``, round robin: the next ready backend after the last one picked;
- ``swrr``, nginx's smooth weighted round robin: every pick adds each
  ready backend's weight to its current weight, picks the largest and
  takes the total off the winner; weights 5,1,1 give a,a,b,a,c,a,a (the
  sequence nginx documents) instead of a,a,a,a,a,b,c. The scheduler is
  rebuilt (current weights zeroed) when the ready set changes;
- ``lc``, least connections: the ready backend with the fewest active
  connections (the first of them on a tie);
- ``iphash``: the client's address picks the backend, by rendezvous
  (highest random weight) hashing over the ready backends, so a client
  moves only when its own backend leaves;
- ``p2c``, power of two choices: a request samples two backends (the
  checker explores every pair) and goes to the ready one with fewer
  active connections.

``auto`` (the default) picks the algorithm a bug flag is about, else swrr.

Properties (each for the algorithms it concerns):

- ``NoRouteToUnready``: the balancer never routes to a backend it knows is not ready;
- ``WeightedShare`` (swrr): in every window of sum(weights) picks each backend
  gets exactly its weight, and no prefix of a window gives a backend more than
  ceil(n * weight / sum(weights)) of the n picks (smoothness);
- ``LeastConnections`` (lc): a pick never goes to a backend with more active
  connections than another eligible one, in the balancer's own count;
- ``MinimalRemap`` (iphash): a client is moved only when its backend left;
- ``LessLoadedOfTwo`` (p2c): a pick goes to the less loaded of the request's
  two choices (``stale_counts`` breaks it too, with ``-p algorithm=p2c``).

Bug flags:

- ``unhealthy_in_rotation``: the balancer keeps every backend in rotation,
  ready or not (breaks NoRouteToUnready);
- ``stale_counts``: least connections (or p2c) picks by a snapshot of the
  counts taken at the last refresh, not by its live table (breaks
  LeastConnections);
- ``bursty_wrr``: plain weighted round robin, each backend's picks in a burst
  (breaks WeightedShare);
- ``modulo_hash``: ip hash as the client's hash modulo the number of ready
  backends: when one leaves, clients of the others move (breaks MinimalRemap).
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from itertools import combinations
from typing import Any, Callable, NamedTuple

from splitbrain.models.actors import Actor, ActorModel, Context, World
from splitbrain.models.faults import CRASH_FAULTS
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import always, always_step, sometimes

ALGORITHMS = ("auto", "rr", "swrr", "lc", "iphash", "p2c")
BUGS = {
    "unhealthy_in_rotation": "the balancer keeps routing to backends it knows are not ready",
    "stale_counts": "least connections picks by counts from the last refresh, not its live table (algorithm lc)",
    "bursty_wrr": "plain weighted round robin: each backend's share comes in one burst (algorithm swrr)",
    "modulo_hash": "ip hash modulo the ready backends: one leaving moves the others' clients (algorithm iphash)",
}
FLAG_ALGORITHM = {"stale_counts": "lc", "modulo_hash": "iphash"}


def address_hash(*parts: str) -> int:
    """A stable hash of a client's address (and a backend's name): the same in every process."""
    return zlib.crc32("/".join(parts).encode())


def smooth_wrr(weights: tuple[int, ...], current: tuple[int, ...],
               eligible: tuple[bool, ...]) -> tuple[int, tuple[int, ...]]:
    """nginx's smooth weighted round robin: the index picked and the new current weights."""
    total = sum(w for w, ok in zip(weights, eligible) if ok)
    raised = [c + w if ok else c for c, w, ok in zip(current, weights, eligible)]
    best = max((i for i, ok in enumerate(eligible) if ok), key=lambda i: (raised[i], -i))
    raised[best] -= total
    return best, tuple(raised)


class Balancer(NamedTuple):
    ready: frozenset     # the backends the balancer believes ready
    conns: tuple         # active connections per backend (requests routed, not yet done)
    seen: tuple          # stale_counts: the counts at the last refresh
    cursor: int          # rr: the last backend picked; bursty_wrr: the position in the expanded list
    current: tuple       # swrr: each backend's current weight
    window: tuple        # swrr: the picks of the current window
    assigned: tuple      # iphash: (client, backend) of each client's last request


class Backend(NamedTuple):
    ready: bool
    flips: int           # readiness changes left


class BalancerActor(Actor):
    """Routes each request by the algorithm, over the backends it believes ready."""

    message_types = ("Done", "Health")

    def __init__(self, backends: tuple[str, ...], weights: tuple[int, ...], clients: tuple[str, ...],
                 algorithm: str, bug: str) -> None:
        self.backends, self.weights, self.clients = backends, weights, clients
        self.algorithm, self.bug = algorithm, bug
        self.timer_names = ("request", "refresh") if bug == "stale_counts" else ("request",)
        self.expanded = tuple(i for i, w in enumerate(weights) for _ in range(w))  # plain WRR's list

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Balancer:
        for client in self.clients:
            if self.algorithm == "p2c":  # a request comes with its two random choices: every pair
                for a, b in combinations(range(len(self.backends)), 2):
                    ctx.set_timer(("request", client, self.backends[a], self.backends[b]))
            else:
                ctx.set_timer(("request", client))
        if self.bug == "stale_counts":
            ctx.set_timer("refresh")
        zeros = (0,) * len(self.backends)
        return Balancer(frozenset(self.backends), zeros, zeros, -1, zeros, (), ())

    def eligible(self, state: Balancer) -> tuple[bool, ...]:
        if self.bug == "unhealthy_in_rotation":
            return (True,) * len(self.backends)
        return tuple(b in state.ready for b in self.backends)

    def on_timer(self, node_id: str, state: Balancer, timer: Any, ctx: Context) -> Balancer:
        if timer == "refresh":  # stale_counts: a new snapshot of the counts
            ctx.set_timer("refresh")
            return state._replace(seen=state.conns)
        client = timer[1]
        ctx.set_timer(timer)
        eligible = self.eligible(state)
        if not any(eligible):
            return state  # nowhere to route: the request is refused
        if self.algorithm == "p2c":  # only the two choices count
            eligible = tuple(ok and b in timer[2:] for b, ok in zip(self.backends, eligible))
            if not any(eligible):
                return state
        i, state = self.pick(state, client, eligible)
        ctx.send(self.backends[i], ("Request", client))  # route the request
        conns = state.conns[:i] + (state.conns[i] + 1,) + state.conns[i + 1:]
        return state._replace(conns=conns)

    def pick(self, state: Balancer, client: str, eligible: tuple[bool, ...]) -> tuple[int, Balancer]:
        """The backend for this request, and the balancer's state after choosing it."""
        n = len(self.backends)
        if self.algorithm == "rr":  # the next eligible one after the last pick
            i = next((state.cursor + k) % n for k in range(1, n + 1) if eligible[(state.cursor + k) % n])
            return i, state._replace(cursor=i)
        if self.algorithm in ("lc", "p2c"):  # the fewest connections (stale_counts: as last refreshed)
            counts = state.seen if self.bug == "stale_counts" else state.conns
            i = min((k for k in range(n) if eligible[k]), key=lambda k: (counts[k], k))
            return i, state
        if self.algorithm == "iphash":
            up = [k for k in range(n) if eligible[k]]
            if self.bug == "modulo_hash":  # the client's hash modulo the ready backends
                i = up[address_hash(client) % len(up)]
            else:  # rendezvous: the highest hash of (client, backend)
                i = max(up, key=lambda k: address_hash(client, self.backends[k]))
            assigned = tuple(sorted({**dict(state.assigned), client: self.backends[i]}.items()))
            return i, state._replace(assigned=assigned)
        window = () if len(state.window) == sum(self.weights[k] for k in range(n) if eligible[k]) else state.window
        if self.bug == "bursty_wrr":  # plain WRR: the next eligible entry of the expanded list
            m = len(self.expanded)
            positions = [(state.cursor + k) % m for k in range(1, m + 1)]
            pos = next(p for p in positions if eligible[self.expanded[p]])
            i = self.expanded[pos]
            return i, state._replace(cursor=pos, window=window + (self.backends[i],))
        i, current = smooth_wrr(self.weights, state.current, eligible)  # nginx's smooth WRR
        return i, state._replace(current=current, window=window + (self.backends[i],))

    def on_message(self, node_id: str, state: Balancer, src: str, msg: tuple, ctx: Context) -> Balancer:
        if msg[0] == "Done":  # a request finished: one connection fewer
            i = self.backends.index(src)
            return state._replace(conns=state.conns[:i] + (state.conns[i] - 1,) + state.conns[i + 1:])
        ready = state.ready | {src} if msg[1] else state.ready - {src}  # a health report
        zeros = (0,) * len(self.backends)
        return state._replace(ready=ready, current=zeros, window=(), cursor=-1)  # rebuild the rotation


class BackendActor(Actor):
    """Serves requests; may fail its readiness check and report it."""

    message_types = ("Request",)
    timer_names = ("flip",)

    def __init__(self, flips: int) -> None:
        self.flips = flips

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Backend:
        if self.flips:
            ctx.set_timer("flip")
        return Backend(True, self.flips)

    def on_timer(self, node_id: str, state: Backend, timer: Any, ctx: Context) -> Backend:
        ctx.send("lb", ("Health", not state.ready))  # readiness changes; the balancer is told
        if state.flips > 1:
            ctx.set_timer("flip")
        return Backend(not state.ready, state.flips - 1)

    def on_message(self, node_id: str, state: Backend, src: str, msg: tuple, ctx: Context) -> Backend:
        ctx.send(src, ("Done", msg[1]))  # serve the request
        return state


class LoadBalancer(ActorModel):
    """A balancer, ``clients`` clients and one backend per weight."""

    def __init__(self, algorithm: str = "auto", weights: str = "5,1,1", clients: int = 2, flips: int = 1,
                 max_in_flight: int = 3, bug: str = "none", faults: Any = None, network: Any = None) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {algorithm!r} (one of {', '.join(ALGORITHMS)})")
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        try:
            self.weights = tuple(int(w) for w in weights.split(","))
        except ValueError:
            raise ValueError(f"weights {weights!r}: expected positive integers separated by commas") from None
        if not self.weights or min(self.weights) < 1 or clients < 1 or flips < 0:
            raise ValueError("need positive weights, clients >= 1 and flips >= 0")
        if algorithm == "auto":
            algorithm = FLAG_ALGORITHM.get(bug, "swrr")
        self.algorithm = algorithm
        self.backends = tuple(f"b{i + 1}" for i in range(len(self.weights)))
        clients_ = tuple(f"x{i + 1}" for i in range(clients))
        nodes: dict[str, Actor] = {"lb": BalancerActor(self.backends, self.weights, clients_, algorithm, bug)}
        backend = BackendActor(flips)
        nodes.update({b: backend for b in self.backends})
        super().__init__(nodes, network=network or "unordered", faults=faults, max_in_flight=max_in_flight)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "algorithm": self.algorithm}  # auto, resolved

    def routed(self, w: World, nxt: World) -> list[str]:
        """The backends the balancer routed a request to in the step from ``w`` to ``nxt``."""
        def requests(x: World) -> Counter:
            return Counter(dst for src, dst, msg in self.in_flight(x) if src == "lb" and msg[0] == "Request")
        return list((requests(nxt) - requests(w)).elements())

    def balancer(self, w: World) -> Balancer | None:
        return self.state_of(w, "lb")

    def no_route_to_unready(self, w: World, action: tuple, nxt: World) -> bool:
        lb = self.balancer(w)
        return lb is None or action[:2] != ("timeout", "lb") or all(b in lb.ready for b in self.routed(w, nxt))

    def least_connections(self, w: World, action: tuple, nxt: World) -> bool:
        lb = self.balancer(w)
        if lb is None or action[:2] != ("timeout", "lb"):
            return True
        fewest = min((c for b, c in zip(self.backends, lb.conns) if b in lb.ready), default=0)
        return all(lb.conns[self.backends.index(b)] <= fewest for b in self.routed(w, nxt))

    def less_loaded_of_two(self, w: World, action: tuple, nxt: World) -> bool:
        lb = self.balancer(w)
        if lb is None or action[:2] != ("timeout", "lb") or len(action[2]) != 4:
            return True
        choices = [b for b in action[2][2:] if b in lb.ready]
        fewest = min((lb.conns[self.backends.index(b)] for b in choices), default=0)
        return all(lb.conns[self.backends.index(b)] <= fewest for b in self.routed(w, nxt))

    def weighted_share(self, w: World) -> bool:
        lb = self.balancer(w)
        if lb is None:
            return True
        ready = [k for k, b in enumerate(self.backends) if b in lb.ready]
        total, n, picks = sum(self.weights[k] for k in ready), len(lb.window), Counter(lb.window)
        return all(picks[self.backends[k]] <= math.ceil(n * self.weights[k] / total) for k in ready)

    def minimal_remap(self, w: World, action: tuple, nxt: World) -> bool:
        before, after = self.balancer(w), self.balancer(nxt)
        if before is None or after is None:
            return True
        old = dict(before.assigned)
        return all(old.get(c, b) == b or old[c] not in before.ready for c, b in after.assigned)

    def metrics(self) -> dict[str, Callable[[list[World], list[Any]], float]]:
        """Per-walk measures for ``simulate --metric``: requests per backend, peak connections."""
        def requests_to(backend: str) -> Callable[[list[World], list[Any]], float]:
            return lambda states, actions: sum(self.routed(w, nxt).count(backend)
                                               for w, a, nxt in zip(states, actions, states[1:])
                                               if a[:2] == ("timeout", "lb"))
        measures = {f"requests_{b}": requests_to(b) for b in self.backends}
        measures["peak_connections"] = lambda states, actions: max(
            (max(lb.conns) for lb in map(self.balancer, states) if lb is not None), default=0)
        return measures

    def properties(self):
        props = [always_step("NoRouteToUnready", self.no_route_to_unready,
                             "the balancer never routes to a backend it knows is not ready")]
        if self.algorithm == "swrr":
            props.append(always("WeightedShare", self.weighted_share,
                                "each window of sum(weights) picks gives every backend its weight, smoothly"))
        if self.algorithm == "lc":
            props.append(always_step("LeastConnections", self.least_connections,
                                     "no pick goes to a backend with more connections than another eligible one"))
        if self.algorithm == "p2c":
            props.append(always_step("LessLoadedOfTwo", self.less_loaded_of_two,
                                     "a pick goes to the less loaded of the request's two choices"))
        if self.algorithm == "iphash":
            props.append(always_step("MinimalRemap", self.minimal_remap,
                                     "a client moves to another backend only when its own left"))
        props.append(sometimes("BackendLeft", lambda w: self.balancer(w) is not None
                               and len(self.balancer(w).ready) < len(self.backends),
                               "the balancer takes a backend out of rotation"))
        return props


SPEC = ModelSpec(
    name="load-balancer",
    summary="round robin, nginx's smooth WRR, least connections, ip hash, two choices, over flapping backends",
    factory=LoadBalancer,
    params=(
        Param("algorithm", str, "auto", "rr, swrr, lc, iphash, p2c (auto: the bug flag's, else swrr)",
              choices=ALGORITHMS),
        Param("weights", str, "5,1,1", "one weight per backend (swrr and its bug)"),
        Param("clients", int, 2, "clients sending requests"),
        Param("flips", int, 1, "readiness changes per backend"),
        Param("max_in_flight", int, 3, "states with more messages in flight are not explored"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
    ),
    bugs=BUGS,
    breaks={"unhealthy_in_rotation": ("NoRouteToUnready",), "stale_counts": ("LeastConnections",),
            "bursty_wrr": ("WeightedShare",), "modulo_hash": ("MinimalRemap",)},
    faults=CRASH_FAULTS,
)
