"""Liveness, readiness and startup probes (Kubernetes' kubelet and the endpoints it feeds).

The kubelet ``k`` probes each instance ``p1, p2, ...`` once per period
(a timer), one probe outstanding per instance. An instance answers with its
two endpoints: **liveness** (the process is not hung) and **readiness** (it
is running and its dependency ``db`` is up). Time is counted in probe
periods: a starting instance needs ``boot`` periods before it answers
alive.

- The **startup probe** runs first: ``startup`` failures in a row and the
  instance is restarted; a success hands over to the other two probes.
- The **liveness probe**: ``failures`` failures in a row and the kubelet
  restarts the instance (a hung process).
- The **readiness probe**: ``failures`` failures in a row take the instance
  out of the endpoints (no more traffic), a success puts it back.

A request may arrive for any instance at any moment (a timer per instance);
the service routes it only if the endpoints hold that instance. The
dependency goes down once and comes back, and tells the instances on FIFO
channels (reordered reports would leave an instance believing a stale
status); an instance may hang once. Defaults: 2 instances booting in 2
periods, thresholds of 1 (liveness, readiness) and 2 (startup): the correct
kubelet takes about 15,000 states, 11 s with its liveness check.

Properties:

- ``NoTrafficToUnready``: no request is routed to an instance that has not
  passed a readiness probe since it (re)started;
- ``StartupBudget``: a starting instance is not restarted before ``startup``
  periods (its startup budget) have passed;
- ``RestartOnlyIfHung``: a running instance that is not hung is never
  restarted: when its dependency is down it leaves the endpoints instead;
- ``EventuallyReady`` (liveness): every instance is eventually in the
  endpoints, given fair probes and delivery.

The model assumes what the kubelet assumes of its node: no probe timeout is
modelled, so with faults it shows the limits of probing rather than
passing. A lost probe or answer stalls probing of that instance and a
crash-stop leaves it out for good (EventuallyReady fails); an instance that
crashes and restarts gets traffic and is restarted on stale counts until
probes catch up (``--faults crash=1,restart`` breaks NoTrafficToUnready and
StartupBudget); a duplicated answer is counted twice.

Bug flags:

- ``liveness_checks_dependency``: the liveness endpoint also checks the
  shared dependency: an outage restarts every instance at once (breaks
  RestartOnlyIfHung);
- ``no_startup_probe``: liveness probes run from the start; an instance
  slower to boot than ``failures`` periods is restarted again and again and
  is never ready (breaks StartupBudget; EventuallyReady fails with a lasso);
- ``ready_kept_on_restart``: a restarted instance stays in the endpoints and
  gets traffic while it boots (breaks NoTrafficToUnready).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

from splitbrain.models.actors import Actor, ActorModel, Context, World
from splitbrain.models.faults import CRASH_FAULTS, NETWORK_FAULTS
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import WF, always_step, eventually, sometimes

BUGS = {
    "liveness_checks_dependency": "the liveness probe checks the shared dependency: an outage restarts every instance",
    "no_startup_probe": "no startup probe: liveness kills a slow starter again and again (a restart loop)",
    "ready_kept_on_restart": "a restarted instance stays in the endpoints and gets traffic while it boots",
}


class Instance(NamedTuple):
    phase: str           # starting, running, hung
    progress: int        # starting: periods since it (re)started
    dep_up: bool         # what it last heard of its dependency
    can_hang: bool       # the one hang is still to come


class Probed(NamedTuple):
    """What the kubelet knows of one instance."""
    started: bool        # the startup probe has succeeded
    fails: int           # consecutive failures of the startup or liveness probe
    unready: int         # consecutive failures of the readiness probe
    ready: bool          # in the endpoints
    busy: bool           # a probe or a restart is outstanding


class Kubelet(NamedTuple):
    pods: frozenset      # (instance, Probed) for each instance

    def of(self, pod: str) -> Probed:
        return next(probed for p, probed in self.pods if p == pod)


class KubeletActor(Actor):
    """Probes every instance each period, restarts the dead ones and keeps the endpoints."""

    message_types = ("Status", "Restarted")
    timer_names = ("probe", "request")

    def __init__(self, pods: tuple[str, ...], failures: int, startup: int, bug: str) -> None:
        self.pods, self.failures, self.startup, self.bug = pods, failures, startup, bug

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Kubelet:
        for p in self.pods:
            ctx.set_timer(("probe", p))
            ctx.set_timer(("request", p))
        started = self.bug == "no_startup_probe"  # without a startup probe, liveness runs at once
        return Kubelet(frozenset((p, Probed(started, 0, 0, False, False)) for p in self.pods))

    def _set(self, state: Kubelet, pod: str, probed: Probed) -> Kubelet:
        return Kubelet(frozenset((p, probed if p == pod else old) for p, old in state.pods))

    def on_timer(self, node_id: str, state: Kubelet, timer: Any, ctx: Context) -> Kubelet:
        kind, pod = timer
        ctx.set_timer(timer)
        probed = state.of(pod)
        if kind == "request":  # a request for this instance: served only if it is in the endpoints
            return state
        if probed.busy:
            return state
        ctx.send(pod, ("Probe",))  # a new period: probe the instance
        return self._set(state, pod, probed._replace(busy=True))

    def on_message(self, node_id: str, state: Kubelet, src: str, msg: tuple, ctx: Context) -> Kubelet:
        probed = state.of(src)
        if msg[0] == "Restarted":  # the restarted instance starts over with its startup probe
            started = self.bug == "no_startup_probe"
            return self._set(state, src, Probed(started, 0, 0, probed.ready, False))
        _, alive, ready = msg
        fails = 0 if alive else probed.fails + 1
        limit = self.failures if probed.started else self.startup
        if fails >= limit:  # startup or liveness failed too often: restart the instance
            ctx.send(src, ("Restart",))
            keep = probed.ready and self.bug == "ready_kept_on_restart"
            return self._set(state, src, Probed(False, 0, 0, keep, True))
        started = probed.started or alive
        unready = 0 if ready or not started else min(probed.unready + 1, self.failures)  # once started:
        ready = started and (ready or probed.ready and unready < self.failures)  # in, or out after `failures`
        return self._set(state, src, Probed(started, fails, unready, ready, False))


class InstanceActor(Actor):
    """Boots, serves, answers probes from its liveness and readiness endpoints; may hang once."""

    message_types = ("Probe", "Restart", "Dependency")
    timer_names = ("hang",)

    def __init__(self, boot: int, bug: str) -> None:
        self.boot, self.bug = boot, bug

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Instance:
        ctx.set_timer("hang")
        return Instance("starting", 0, True, True)

    def on_timer(self, node_id: str, state: Instance, timer: Any, ctx: Context) -> Instance:
        if state.phase != "running":
            ctx.set_timer("hang")  # only a running process hangs
            return state
        return state._replace(phase="hung", can_hang=False)  # the process hangs

    def on_message(self, node_id: str, state: Instance, src: str, msg: tuple, ctx: Context) -> Instance:
        kind = msg[0]
        if kind == "Dependency":  # the dependency's status changes
            return state._replace(dep_up=msg[1])
        if kind == "Restart":  # restarted: boot again
            ctx.send(src, ("Restarted",))
            return state._replace(phase="starting", progress=0)
        if state.phase == "starting":  # a period passes while booting
            progress = state.progress + 1
            state = state._replace(phase="running" if progress >= self.boot else "starting",
                                   progress=min(progress, self.boot))
        alive = state.phase == "running" and (state.dep_up or self.bug != "liveness_checks_dependency")
        ctx.send(src, ("Status", alive, state.phase == "running" and state.dep_up))
        return state


class DependencyActor(Actor):
    """A shared dependency: goes down once, comes back, and tells the instances."""

    timer_names = ("outage", "restore")

    def __init__(self, pods: tuple[str, ...]) -> None:
        self.pods = pods

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> str:
        ctx.set_timer("outage")
        return "up"

    def on_timer(self, node_id: str, state: str, timer: Any, ctx: Context) -> str:
        up = timer == "restore"
        ctx.broadcast(("Dependency", up), to=self.pods)
        if not up:
            ctx.set_timer("restore")
        return "up" if up else "down"


class HealthChecks(ActorModel):
    """A kubelet probing ``instances`` instances that share a dependency."""

    def __init__(self, instances: int = 2, boot: int = 2, failures: int = 1, startup: int = 2,
                 max_in_flight: int = 4, bug: str = "none", faults: Any = None, network: Any = None) -> None:
        if instances < 1 or boot < 1 or failures < 1 or startup < 1:
            raise ValueError("need instances, boot, failures and startup >= 1")
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        self.pods = tuple(f"p{i + 1}" for i in range(instances))
        self.startup = startup
        nodes: dict[str, Actor] = {"k": KubeletActor(self.pods, failures, startup, bug)}
        instance = InstanceActor(boot, bug)
        nodes.update({p: instance for p in self.pods})
        nodes["db"] = DependencyActor(self.pods)
        super().__init__(nodes, network=network or "fifo", faults=faults, symmetry=[self.pods],
                         max_in_flight=max_in_flight)

    def sent(self, w: World, nxt: World, name: str) -> list[str]:
        """The instances the kubelet sent a ``name`` message to in this step."""
        def count(x: World) -> Counter:
            return Counter(dst for src, dst, msg in self.in_flight(x) if src == "k" and msg[0] == name)
        return list((count(nxt) - count(w)).elements())

    def no_traffic_to_unready(self, w: World, action: tuple, nxt: World) -> bool:
        if action[:2] != ("timeout", "k") or action[2][0] != "request":
            return True
        pod = action[2][1]  # a request routed to the instance when the endpoints hold it
        return not self.state_of(w, "k").of(pod).ready or self.phase(w, pod) != "starting"

    def phase(self, w: World, pod: str) -> str:
        state = self.state_of(w, pod)
        return "crashed" if state is None else state.phase

    def startup_budget(self, w: World, action: tuple, nxt: World) -> bool:
        return all(self.phase(w, p) != "starting" or self.state_of(w, p).progress >= self.startup
                   for p in self.sent(w, nxt, "Restart"))

    def restart_only_if_hung(self, w: World, action: tuple, nxt: World) -> bool:
        return all(self.phase(w, p) != "running" for p in self.sent(w, nxt, "Restart"))

    def all_ready(self, w: World) -> bool:
        kubelet = self.state_of(w, "k")
        return kubelet is not None and all(probed.ready for _, probed in kubelet.pods)

    def properties(self):
        fair = [WF("delivery", "deliver", per=lambda a: a[1:]), WF("timers", "timeout", per=lambda a: a[1:])]
        return [
            always_step("NoTrafficToUnready", self.no_traffic_to_unready,
                        "no request goes to an instance that has not passed readiness since it (re)started"),
            always_step("StartupBudget", self.startup_budget,
                        "a starting instance is not restarted within its startup budget"),
            always_step("RestartOnlyIfHung", self.restart_only_if_hung,
                        "a running instance that is not hung is never restarted"),
            eventually("EventuallyReady", self.all_ready, fairness=fair,
                       description="every instance is eventually in the endpoints"),
            sometimes("HungInstanceRestarted", lambda w: any(
                s.phase == "starting" and not s.can_hang for p, s in self.live(w) if p in self.pods),
                "a hung instance is restarted"),
        ]


SPEC = ModelSpec(
    name="health-checks",
    summary="Kubernetes liveness, readiness and startup probes over instances sharing a dependency",
    factory=HealthChecks,
    params=(
        Param("instances", int, 2, "instances probed"),
        Param("boot", int, 2, "probe periods an instance needs to start"),
        Param("failures", int, 1, "liveness failures in a row that restart an instance (readiness: that take it out)"),
        Param("startup", int, 2, "startup-probe failures in a row that restart an instance (the startup budget)"),
        Param("max_in_flight", int, 4, "states with more messages in flight are not explored"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
    ),
    bugs=BUGS,
    breaks={"liveness_checks_dependency": ("RestartOnlyIfHung",), "no_startup_probe": ("StartupBudget",),
            "ready_kept_on_restart": ("NoTrafficToUnready",)},
    faults=NETWORK_FAULTS + CRASH_FAULTS,
    symmetry=True,
)
