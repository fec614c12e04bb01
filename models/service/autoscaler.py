"""A horizontal autoscaler: Kubernetes' HPA ratio rule, with a predictive variant.

Each period (a timer) the autoscaler ``hpa`` scrapes the metrics server
``m`` and, from the answer, recommends a number of replicas:

- **reactive** (the HPA rule): ``desired = ceil(replicas * utilization /
  target)``; with the load measured in replicas' worth of work, that is
  ``ceil(load / target)``; no change while the ratio ``utilization /
  target`` is within ``tolerance`` percent of 1;
- **predictive**: the larger of the reactive recommendation and one for the
  load extrapolated from the last two scrapes (``2 * load - previous``);
- **scheduled**: the larger of the reactive recommendation and a schedule's
  (``scheduled`` replicas during a peak that begins and ends once, a timer).

Scale-up is immediate; scale-down takes the highest recommendation of the
last ``window`` periods (the stabilisation window), and the result is
clamped to ``[min_replicas, max_replicas]``. When the metrics are
unavailable the autoscaler does nothing. The load steps up once (from
``low`` to ``high``) and the metrics server may have one outage.

Properties:

- ``WithinBounds``: replicas stay within ``[min_replicas, max_replicas]``;
- ``NoFlapping``: under constant load (and schedule) the autoscaler never
  reverses its last scaling step (up then down, or down then up, on the
  same inputs);
- ``ScalesUpAfterStep`` (liveness): after the load step, enough replicas
  for the high load (within the maximum) follow, given fair periods and
  delivery;
- ``Settles`` (liveness): after the load step, the autoscaler eventually
  lets two periods in a row pass without scaling.

Bug flags:

- ``overlapping_thresholds``: a threshold rule instead of the ratio, one
  replica at a time, scaling up above 100 % utilisation and down below
  150 %, with no stabilisation window: at a load between the two it
  oscillates (breaks NoFlapping);
- ``scale_in_during_outage``: missing metrics read as zero load and the
  scale-to-zero path skips the minimum (breaks WithinBounds).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from splitbrain.models.actors import Actor, ActorModel, Context, World
from splitbrain.models.faults import NETWORK_FAULTS
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import WF, always, always_step, leads_to, sometimes

MODES = ("reactive", "predictive", "scheduled")
BUGS = {
    "overlapping_thresholds": "threshold scaling with overlapping thresholds and no stabilisation: it oscillates",
    "scale_in_during_outage": "missing metrics read as zero load: it scales in below the minimum",
}


class Hpa(NamedTuple):
    replicas: int
    recent: tuple        # the recommendations of the last periods, newest last
    previous: int | None  # the load of the previous scrape (predictive)
    last: tuple          # (direction, load, floor) of the last scaling step; () before any
    busy: bool           # a scrape is outstanding
    quiet: int           # periods since the last scaling step (counted up to 2)
    floor: int           # scheduled: the schedule's replicas for the current phase (0: none)


class Metrics(NamedTuple):
    load: int
    stepped: bool        # the load step has happened
    outage: str          # before, during, after


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class HpaActor(Actor):
    """Scrapes the metrics each period and scales by the ratio rule."""

    message_types = ("Load",)

    def __init__(self, mode: str, target: int, tolerance: int, window: int, lo: int, hi: int, bug: str,
                 scheduled: int = 0) -> None:
        self.mode, self.target, self.tolerance, self.window = mode, target, tolerance, window
        self.lo, self.hi, self.bug, self.scheduled = lo, hi, bug, scheduled
        self.timer_names = ("sync", "schedule") if mode == "scheduled" else ("sync",)

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Hpa:
        ctx.set_timer("sync")
        if self.mode == "scheduled":
            ctx.set_timer("schedule")
        return Hpa(self.lo, (), None, (), False, 0, 0)

    def on_timer(self, node_id: str, state: Hpa, timer: Any, ctx: Context) -> Hpa:
        if timer == "schedule":  # the schedule's peak begins, and later ends
            if state.floor == 0:
                ctx.set_timer("schedule")
            return state._replace(floor=self.scheduled if state.floor == 0 else 0)
        ctx.set_timer("sync")
        if state.busy:
            return state
        ctx.send("m", ("Scrape",))  # a new period: read the metrics
        return state._replace(busy=True)

    def recommend(self, state: Hpa, load: int) -> int:
        """The reactive (or predictive) recommendation for ``load``."""
        ratio_pct = 100 * load // max(1, state.replicas * self.target)
        if abs(ratio_pct - 100) <= self.tolerance:
            desired = state.replicas  # within tolerance: no change
        else:
            desired = ceil_div(load, self.target)
        if self.mode == "predictive" and state.previous is not None:
            desired = max(desired, ceil_div(max(0, 2 * load - state.previous), self.target))
        return max(desired, state.floor)  # scheduled: never below the schedule

    def on_message(self, node_id: str, state: Hpa, src: str, msg: tuple, ctx: Context) -> Hpa:
        load = msg[1]
        state = state._replace(busy=False)
        if load is None and self.bug != "scale_in_during_outage":
            return self._scale(state, state.replicas, load)  # no metrics: do nothing
        if load is None:  # (the bug: idle, scale to zero, past the minimum)
            return self._scale(state, 0, 0)
        if self.bug == "overlapping_thresholds":  # up above 100 %, down below 150 %: they overlap
            step = 1 if load * 100 > 100 * state.replicas * self.target else (
                -1 if load * 100 < 150 * state.replicas * self.target else 0)
            desired = min(self.hi, max(self.lo, state.replicas + step))
            return self._scale(state._replace(previous=load), desired, load)
        recent = (state.recent + (self.recommend(state, load),))[-self.window:]
        desired = max(recent) if recent[-1] < state.replicas else recent[-1]  # stabilise scale-down only
        desired = min(self.hi, max(self.lo, desired))
        return self._scale(state._replace(recent=recent, previous=load), desired, load)

    def _scale(self, state: Hpa, desired: int, load: int | None) -> Hpa:
        if desired == state.replicas:
            return state._replace(quiet=min(2, state.quiet + 1))
        direction = 1 if desired > state.replicas else -1
        return state._replace(replicas=desired, last=(direction, load, state.floor), quiet=0)


class MetricsActor(Actor):
    """Reports the load; the load steps up once; the server may be out once."""

    message_types = ("Scrape",)
    timer_names = ("load_step", "outage")

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Metrics:
        ctx.set_timer("load_step")
        ctx.set_timer("outage")
        return Metrics(self.low, False, "before")

    def on_timer(self, node_id: str, state: Metrics, timer: Any, ctx: Context) -> Metrics:
        if timer == "load_step":  # the load steps up
            return state._replace(load=self.high, stepped=True)
        if state.outage == "before":  # the metrics server goes down ...
            ctx.set_timer("outage")
            return state._replace(outage="during")
        return state._replace(outage="after")  # ... and comes back

    def on_message(self, node_id: str, state: Metrics, src: str, msg: tuple, ctx: Context) -> Metrics:
        ctx.send(src, ("Load", None if state.outage == "during" else state.load))
        return state


class Autoscaler(ActorModel):
    """An autoscaler scaling on a metrics server's load."""

    def __init__(self, mode: str = "reactive", min_replicas: int = 1, max_replicas: int = 3, target: int = 1,
                 tolerance: int = 10, window: int = 2, low: int = 1, high: int = 3, scheduled: int = 2,
                 bug: str = "none",
                 faults: Any = None, network: Any = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
        if not 1 <= min_replicas <= max_replicas or target < 1 or window < 1 or not 0 <= low <= high:
            raise ValueError("need 1 <= min_replicas <= max_replicas, target >= 1, window >= 1, 0 <= low <= high")
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        self.lo, self.hi, self.target, self.high = min_replicas, max_replicas, target, high
        nodes: dict[str, Actor] = {
            "hpa": HpaActor(mode, target, tolerance, window, min_replicas, max_replicas, bug, scheduled),
            "m": MetricsActor(low, high)}
        super().__init__(nodes, network=network or "unordered", faults=faults)

    def hpa(self, w: World) -> Hpa | None:
        return self.state_of(w, "hpa")

    def no_flapping(self, w: World, action: tuple, nxt: World) -> bool:
        before, after = self.hpa(w), self.hpa(nxt)
        if before is None or after is None or after.replicas == before.replicas or not before.last:
            return True
        return not (before.last[0] == -after.last[0] and before.last[1:] == after.last[1:])

    def enough(self, w: World) -> bool:
        hpa = self.hpa(w)
        return hpa is not None and hpa.replicas >= min(self.hi, ceil_div(self.high, self.target))

    def stepped(self, w: World) -> bool:
        metrics = self.state_of(w, "m")
        return metrics is not None and metrics.stepped

    def properties(self):
        fair = [WF("delivery", "deliver", per=lambda a: a[1:]), WF("timers", "timeout", per=lambda a: a[1:])]
        return [
            always("WithinBounds", lambda w: self.hpa(w) is None or self.lo <= self.hpa(w).replicas <= self.hi,
                   "replicas stay within [min_replicas, max_replicas]"),
            always_step("NoFlapping", self.no_flapping,
                        "under constant load the autoscaler never reverses its last scaling step"),
            leads_to("ScalesUpAfterStep", self.stepped, self.enough, fairness=fair,
                     description="after the load step, enough replicas follow"),
            leads_to("Settles", self.stepped, lambda w: self.hpa(w) is not None and self.hpa(w).quiet >= 2,
                     fairness=fair, description="after the load step, two periods in a row pass without scaling"),
            sometimes("ScaledUp", lambda w: self.hpa(w) is not None and self.hpa(w).replicas > self.lo,
                      "the autoscaler scales up"),
        ]


SPEC = ModelSpec(
    name="autoscaler",
    summary="Kubernetes HPA's ratio rule with tolerance and a stabilisation window; predictive and scheduled",
    factory=Autoscaler,
    params=(
        Param("mode", str, "reactive", "reactive (the HPA rule), predictive or scheduled", choices=MODES),
        Param("min_replicas", int, 1, "the fewest replicas"),
        Param("max_replicas", int, 3, "the most replicas"),
        Param("target", int, 1, "the load one replica is meant to carry"),
        Param("tolerance", int, 10, "percent around a ratio of 1 within which nothing changes"),
        Param("window", int, 2, "periods of the scale-down stabilisation window"),
        Param("low", int, 1, "the load before the step"),
        Param("high", int, 3, "the load after the step"),
        Param("scheduled", int, 2, "scheduled: the replicas the schedule asks for at its peak"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
    ),
    bugs=BUGS,
    breaks={"overlapping_thresholds": ("NoFlapping",), "scale_in_during_outage": ("WithinBounds",)},
    faults=NETWORK_FAULTS,
)
