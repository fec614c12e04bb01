"""A circuit breaker in front of a flaky backend (Nygard, Release It!, "Circuit Breaker").

The client ``c`` calls the backend ``b`` through a breaker with three states:

- **closed**: calls pass; the breaker keeps the outcomes of the last
  ``window`` calls and trips to open when ``failures`` of them failed (a
  failure rate over a window, as resilience4j's count-based window);
- **open**: calls fail fast without reaching the backend; an open wait (a
  timer) moves the breaker to half-open;
- **half-open**: at most ``probes`` trial calls pass; a successful probe
  closes the breaker (a fresh window), a failed one opens it again and
  schedules the next open wait.

Each call carries the breaker state it was admitted in (``closed`` or
``probe``); a result of a call admitted in an earlier state no longer
counts. The backend is up, goes down once (a timer), and later recovers
for good (another timer). At most ``concurrency`` calls are outstanding.

Properties:

- ``NoCallWhileOpen``: no call is sent to the backend while the breaker is open;
- ``HalfOpenProbeLimit``: half-open admits at most ``probes`` probes;
- ``Recloses`` (liveness): once the backend has recovered the breaker closes
  again, given fair delivery, timers and restarts once crashes stop (a lasso
  counterexample otherwise).

Bug flags:

- ``unbounded_probes``: half-open lets every call through (breaks HalfOpenProbeLimit);
- ``retry_bypass``: a failed call is retried at once, around the breaker, even
  when that failure has just tripped it (breaks NoCallWhileOpen);
- ``stuck_open``: a failed probe re-opens the breaker without scheduling the
  next open wait, so it never leaves open (breaks Recloses, a lasso).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from splitbrain.models.actors import Actor, ActorModel, Context, World
from splitbrain.models.faults import CRASH_FAULTS
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import AFTER_FAULTS, WF, always, leads_to, sometimes

BUGS = {
    "unbounded_probes": "half-open lets every call through, not just the probes",
    "retry_bypass": "a failed call is retried at once around the breaker, even when it just tripped it",
    "stuck_open": "a failed probe re-opens the breaker without scheduling the next open wait",
}


class Breaker(NamedTuple):
    mode: str            # closed, open, half_open
    window: tuple        # closed: outcomes of the last calls, True for a failure, oldest first
    outstanding: int     # calls sent and not yet answered
    probes: int          # half-open: probes admitted in this half-open period


class Backend(NamedTuple):
    phase: str           # up, down, recovered


class ClientActor(Actor):
    """Calls the backend through the breaker."""

    message_types = ("Result",)
    timer_names = ("call", "open_wait")

    def __init__(self, window: int, failures: int, probes: int, concurrency: int, bug: str) -> None:
        self.window, self.failures, self.probes, self.concurrency, self.bug = (
            window, failures, probes, concurrency, bug)

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Breaker:
        ctx.set_timer("call")
        return Breaker("closed", (), 0, 0)

    def on_timer(self, node_id: str, state: Breaker, timer: Any, ctx: Context) -> Breaker:
        if timer == "open_wait":  # the open wait is over: let probes through
            return state._replace(mode="half_open", probes=0)
        ctx.set_timer("call")
        if state.outstanding >= self.concurrency or state.mode == "open":
            return state  # open: the call fails fast
        if state.mode == "closed":  # closed: the call passes
            ctx.send("b", ("Call", "closed"))
            return state._replace(outstanding=state.outstanding + 1)
        if state.probes < self.probes or self.bug == "unbounded_probes":  # half-open: a probe
            ctx.send("b", ("Call", "probe"))
            return state._replace(outstanding=state.outstanding + 1, probes=state.probes + 1)
        return state

    def on_message(self, node_id: str, state: Breaker, src: str, msg: tuple, ctx: Context) -> Breaker:
        _, admitted, ok = msg
        state = state._replace(outstanding=max(0, state.outstanding - 1))  # (0 after a restart)
        if admitted == "probe" and state.mode == "half_open":
            if ok:  # a probe succeeded: close with a fresh window
                return state._replace(mode="closed", window=(), probes=0)
            if self.bug != "stuck_open":
                ctx.set_timer("open_wait")
            return state._replace(mode="open", probes=0)  # a probe failed: open again
        if admitted != "closed" or state.mode != "closed":
            return state  # a result from an earlier state no longer counts
        window = (state.window + (not ok,))[-self.window:]
        if len(window) == self.window and sum(window) >= self.failures:  # too many failures: trip
            ctx.set_timer("open_wait")
            state = state._replace(mode="open", window=())
        else:
            state = state._replace(window=window)
        if not ok and self.bug == "retry_bypass":  # the retry does not ask the breaker
            ctx.send("b", ("Call", state.mode))
            state = state._replace(outstanding=state.outstanding + 1)
        return state


class BackendActor(Actor):
    """Answers each call: a failure while down. Goes down once, then recovers for good."""

    message_types = ("Call",)
    timer_names = ("fail", "recover")

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Backend:
        ctx.set_timer("fail")
        return Backend("up")

    def on_timer(self, node_id: str, state: Backend, timer: Any, ctx: Context) -> Backend:
        if timer == "fail":  # the backend goes down
            ctx.set_timer("recover")
            return Backend("down")
        return Backend("recovered")  # ... and comes back for good

    def on_message(self, node_id: str, state: Backend, src: str, msg: tuple, ctx: Context) -> Backend:
        ctx.send(src, ("Result", msg[1], state.phase != "down"))
        return state


class CircuitBreaker(ActorModel):
    """A client calling a backend through a circuit breaker."""

    def __init__(self, window: int = 2, failures: int = 2, probes: int = 1, concurrency: int = 2,
                 bug: str = "none", faults: Any = None, network: Any = None) -> None:
        if not 1 <= failures <= window or probes < 1 or concurrency < 1:
            raise ValueError("need 1 <= failures <= window, probes >= 1 and concurrency >= 1")
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        self.probe_limit = probes
        nodes: dict[str, Actor] = {"c": ClientActor(window, failures, probes, concurrency, bug),
                                   "b": BackendActor()}
        super().__init__(nodes, network=network or "unordered", faults=faults)

    def breaker(self, w: World) -> Breaker | None:
        return self.state_of(w, "c")

    def no_call_while_open(self, w: World) -> bool:
        return not any(dst == "b" and msg[1] == "open" for _, dst, msg in self.in_flight(w))

    def recovered(self, w: World) -> bool:
        backend = self.state_of(w, "b")
        return backend is not None and backend.phase == "recovered"

    def properties(self):
        def closed(w: World) -> bool:
            return self.breaker(w) is not None and self.breaker(w).mode == "closed"
        fair = [WF("delivery", "deliver", per=lambda a: a[1:]), WF("timers", "timeout", per=lambda a: a[1:]),
                WF("restart", "restart", per=lambda a: a[1]), AFTER_FAULTS]
        return [
            always("NoCallWhileOpen", self.no_call_while_open,
                   "no call is sent to the backend while the breaker is open"),
            always("HalfOpenProbeLimit",
                   lambda w: self.breaker(w) is None or self.breaker(w).probes <= self.probe_limit,
                   "half-open admits at most `probes` probes"),
            leads_to("Recloses", self.recovered, closed, fairness=fair,
                     description="after the backend recovers, the breaker closes again"),
            sometimes("Tripped", lambda w: self.breaker(w) is not None and self.breaker(w).mode == "open",
                      "the breaker opens"),
        ]


SPEC = ModelSpec(
    name="circuit-breaker",
    summary="Nygard's circuit breaker (closed, open, half-open) in front of a backend that fails and recovers",
    factory=CircuitBreaker,
    params=(
        Param("window", int, 2, "the closed state's window: outcomes of the last calls kept"),
        Param("failures", int, 2, "failures in the window that trip the breaker"),
        Param("probes", int, 1, "calls half-open lets through"),
        Param("concurrency", int, 2, "calls outstanding at most"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
    ),
    bugs=BUGS,
    breaks={"unbounded_probes": ("HalfOpenProbeLimit",), "retry_bypass": ("NoCallWhileOpen",)},
    faults=CRASH_FAULTS,
)
