"""Random simulation: many random walks through a model, reproducible by seed.

``simulate(model, runs, depth, seed)`` starts each walk in a random initial
state and takes up to ``depth`` random steps, judging every state it visits.
It does not shrink: a violation's trace is the walk that found it, cut at the
first violating state. The helpers here (choosing among enabled actions,
tallying what was seen, shortening a path) are shared with the Hypothesis
engine in ``splitbrain.checker.hypothesis``.

Verdicts (the same fields and exit codes as ``check``, judged on a sample):

- an ``always`` property violated in some visited state (an ``always_step``
  property on some step enabled in a visited state, self-loops included):
  ``holds`` False, with the trace; the verdict is "violation".
- a safety property never violated: never "holds": ``holds`` None with
  ``sampled`` set and a note naming the sample ("no violation in N random
  walks of up to D steps"); it does not make the run undecided.
- a ``sometimes`` property reached: ``holds`` True, with a witness trace.
- a ``sometimes`` property not reached: ``holds`` None (undecided), not a
  violation: sampling is incomplete, so not seeing a state proves nothing.
  The verdict is "undecided" (exit 3), as it is for any liveness property,
  which a sample cannot judge.
- a state with no enabled action at all is a ``Deadlock`` violation unless
  the model allows deadlock or ``check_deadlock`` is False, as in ``check``.

Coverage (``result.coverage``): per action class, the steps the walks took
and how many of them reached a state not visited before; per property, the
states (steps, for ``always_step``) it was judged on.

Walking rules: a step chooses uniformly among the enabled actions that change
the state and whose next state is within the model's boundary; stuttering
steps (no change) are never chosen, since they cannot lead anywhere new. When
only stuttering steps are left, the walk has reached a fixed point and ends.

Statistics: ``distinct_states`` counts distinct visited states (by hash),
``states_generated`` every visited state including repeats, ``depth`` the
longest walk in states (the initial state counting as 1).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import time
from typing import Any, Callable, Sequence

from splitbrain.checker.result import DEADLOCK, CheckResult, Coverage, fill_verdicts, peak_memory_mb
from splitbrain.models.core import Model
from splitbrain.properties.kinds import ALWAYS, ALWAYS_STEP, SOMETIMES
from splitbrain.traces.format import Trace, to_jsonable
from splitbrain.traces.replay import make_trace

# Action kinds treated as faults when a model declares no ``fault_kinds``
# (the fault steps of the actor layer: drop, duplicate, partition, ...).
DEFAULT_FAULT_KINDS = frozenset({
    "drop", "duplicate", "reorder", "partition", "one_way", "heal", "crash", "restart", "clock_jump",
    "byzantine",
})


# Swarm testing switches each eligible kind off in one walk out of SWARM_OFF_ODDS.
# Measured on the fault demos: one in four keeps most of the gain where faults
# crowd out progress, and costs little where a bug needs one particular fault
# (one in two made a single-fault bug up to 4x slower to find).
SWARM_OFF_ODDS = 4


# -- choosing steps -------------------------------------------------------------
def action_kind(action: Any) -> str:
    """The kind of an action: its first element (``"drop"`` for ``("drop", m)``)."""
    if isinstance(action, tuple) and action and isinstance(action[0], str):
        return action[0]
    return str(action)


def action_key(action: Any) -> str:
    """A sort key for actions that is the same in every process (no hash order)."""
    return json.dumps(to_jsonable(action), sort_keys=True, default=str)


def initial_states(model: Model) -> list[tuple[int, Any]]:
    """``(index, state)`` for each initial state within the model's boundary."""
    return [(i, s) for i, s in enumerate(model.init_states()) if model.within_boundary(s)]


StepCheck = Callable[[Any, Any, Any], "str | None"]


class Mover:
    """The steps a walk may take in ``model``, in an order that is the same in every process.

    ``check_step(state, action, next_state)``, when given, judges every step
    enabled in a state the walk visits (self-loops included) and returns the
    name of a violated step property or None; the first violation ``moves``
    meets in the last state it was asked about is kept in ``violation`` as
    ``(property, action)``.
    """

    def __init__(self, model: Model, check_step: StepCheck | None = None):
        self.model = model
        self.bounded = type(model).within_boundary is not Model.within_boundary
        self.keys: dict[Any, str] = {}
        self.check_step = check_step
        self.violation: tuple[str, Any] | None = None

    def key(self, action: Any) -> str:
        k = self.keys.get(action)
        if k is None:
            if len(self.keys) > 100_000:  # bound the cache for models with very many distinct actions
                self.keys.clear()
            k = self.keys[action] = action_key(action)
        return k

    def moves(self, state: Any) -> tuple[list[tuple[Any, Any]], bool]:
        """The steps from ``state`` and whether any action is enabled there.

        The steps are the enabled actions that change the state and lead to a
        state within the boundary, sorted by :func:`action_key`.
        """
        enabled = False
        out = []
        within = self.model.within_boundary if self.bounded else None
        check = self.check_step
        self.violation = None
        for action, nxt in self.model.successors(state):
            enabled = True
            if within is not None and not within(nxt):
                continue
            if check is not None and self.violation is None:
                bad = check(state, action, nxt)
                if bad is not None:
                    self.violation = (bad, action)
            if nxt is state or nxt == state:
                continue
            out.append((action, nxt))
        key = self.key
        out.sort(key=lambda m: key(m[0]))
        return out, enabled


class Swarm:
    """Swarm testing: one run's choice of action kinds to switch off.

    ``eligible`` is the set of kinds that may be switched off (None: every
    kind). Whether a kind is off is decided the first time the run meets it.
    Switched-off kinds are left out of a step's choices unless nothing else
    is enabled, so a run never stops early because of the swarm.
    """

    def __init__(self, eligible: frozenset[str] | None):
        self.eligible = eligible
        self.off: dict[str, bool] = {}

    def filter(self, steps: list[tuple[Any, Any]], decide: Callable[[str], bool]) -> list[tuple[Any, Any]]:
        """The steps whose kind is switched on (all of them if that leaves none).

        ``decide(kind)`` says whether to switch off a kind met for the first time.
        """
        kept = []
        for step in steps:
            kind = action_kind(step[0])
            if self.eligible is not None and kind not in self.eligible:
                kept.append(step)
                continue
            if kind not in self.off:
                self.off[kind] = decide(kind)
            if not self.off[kind]:
                kept.append(step)
        return kept or steps


def swarm_kinds(model: Model) -> frozenset[str] | None:
    """The action kinds a swarm may switch off in ``model``; None means every kind.

    A model's ``fault_kinds`` attribute names its fault actions (every actor
    model has one, see ``ActorModel.fault_kinds``). A model without one has
    no faults, and the swarm ranges over all its action kinds.
    """
    declared = getattr(model, "fault_kinds", None)
    return frozenset(declared) if declared else None


# -- tallying a sample ------------------------------------------------------------
class Tally:
    """What a sampled search saw: counts, witnesses, and the first violation."""

    def __init__(self, model: Model, check_deadlock: bool = True):
        self.model = model
        props = list(model.properties())
        self.props = props
        self.invariants = [p for p in props if p.kind == ALWAYS]
        self.step_invariants = [p for p in props if p.kind == ALWAYS_STEP]
        self.pending = [p for p in props if p.kind == SOMETIMES]
        self.classify = model.action_class
        self.taken: dict[str, int] = {}  # action class -> steps taken
        self.new: dict[str, int] = {}  # action class -> steps taken to a state not visited before
        self.steps_judged = 0
        self.judged_at: dict[str, int] = {}  # witness -> states judged when it was reached
        self.check_deadlock = check_deadlock and not model.allow_deadlock
        self.found: dict[str, tuple[int, list[Any]]] = {}  # witness -> (init, actions)
        self.seen: set[int] = set()
        self.generated = 0
        self.depth = 0
        self.runs = 0  # walks from an initial state
        self.examples = 0  # Hypothesis examples (each holds one or more walks)
        self.first_violation_run: int | None = None
        self.first_violation: tuple[str, int, list[Any]] | None = None  # (property, init, actions)
        self.distinct: dict[int, Any] | None = None  # hash -> state, kept after remember_states()

    def remember_states(self) -> None:
        """Keep each distinct visited state from now on (in ``distinct``, keyed by hash)."""
        self.distinct = {}

    def start(self) -> None:
        """Count the start of a run (a walk from an initial state)."""
        self.runs += 1

    def visit(self, state: Any, init: int, actions: Sequence[Any]) -> None:
        """Count ``state`` (reached by ``actions`` from initial state ``init``) and note witnesses."""
        self.generated += 1
        h = hash(state)
        if self.distinct is not None and h not in self.seen:
            self.distinct[h] = state
        self.seen.add(h)
        if len(actions) + 1 > self.depth:
            self.depth = len(actions) + 1
        if self.pending:
            hit = [p for p in self.pending if p.condition(state)]
            for p in hit:
                self.found[p.name] = (init, list(actions))
                self.judged_at[p.name] = self.generated
            if hit:
                self.pending = [p for p in self.pending if p.name not in self.found]

    def take(self, action: Any, nxt: Any) -> None:
        """Count a step taken by a walk (before ``nxt`` is visited)."""
        c = self.classify(action)
        self.taken[c] = self.taken.get(c, 0) + 1
        if hash(nxt) not in self.seen:
            self.new[c] = self.new.get(c, 0) + 1

    def check_step(self, state: Any, action: Any, nxt: Any) -> str | None:
        """The name of the first ``always_step`` property this step violates, or None."""
        self.steps_judged += 1
        for p in self.step_invariants:
            if not p.condition(state, action, nxt):
                return p.name
        return None

    def step_check(self) -> StepCheck | None:
        """What a Mover judges each enabled step with (None: the model has no step properties)."""
        return self.check_step if self.step_invariants else None

    def coverage(self) -> Coverage:
        """What the walks exercised, per action class and per property."""
        # a sample judges no liveness property
        judged = Coverage.judged_counts(self.props, self.judged_at, self.generated, self.steps_judged, 0)
        return Coverage.build(self.model, self.taken, self.new, judged, {n: True for n in self.found})

    def violated(self, state: Any, enabled: bool) -> str | None:
        """The name of the first ``always`` property ``state`` violates, or ``Deadlock``, or None."""
        for p in self.invariants:
            if not p.condition(state):
                return p.name
        if self.check_deadlock and not enabled:
            return DEADLOCK
        return None

    def is_bad(self, name: str) -> Callable[..., bool]:
        """The test for a state violating property ``name`` (or reaching witness ``name``).

        For an ``always_step`` property, a test of a step ``(state, action, next_state)``.
        """
        if name == DEADLOCK:
            model = self.model
            return lambda s: next(iter(model.successors(s)), None) is None
        prop = next(p for p in self.props if p.name == name)
        if prop.kind == SOMETIMES:
            return prop.condition
        if prop.kind == ALWAYS_STEP:
            return lambda s, a, t: not prop.condition(s, a, t)
        return lambda s: not prop.condition(s)

    def on_step(self, name: str) -> bool:
        """Whether property ``name`` is judged on steps (its ``is_bad`` takes a step)."""
        return any(p.name == name and p.kind == ALWAYS_STEP for p in self.props)


# -- shortening a path --------------------------------------------------------------
def first_hit(model: Model, init: int, actions: Sequence[Any], bad: Callable[..., bool],
              step: bool = False) -> list[Any] | None:
    """The shortest prefix of ``actions`` that ends in a ``bad`` state (with ``step``: a bad step), or None.

    None also when some action is not enabled where it is taken, or a state
    leaves the model's boundary. With ``step``, ``bad(state, action, next)``
    judges each step instead of each state.
    """
    state = None
    for i, s in enumerate(model.init_states()):
        if i == init:
            state = s
            break
    if state is None or not model.within_boundary(state):
        return None
    if not step and bad(state):
        return []
    for n, action in enumerate(actions, 1):
        for a, nxt in model.successors(state):
            if a == action:
                break
        else:
            return None
        if not model.within_boundary(nxt):
            return None
        if bad(state, action, nxt) if step else bad(nxt):
            return list(actions[:n])
        state = nxt
    return None


def shorten(model: Model, init: int, actions: Sequence[Any], bad: Callable[..., bool],
            step: bool = False) -> list[Any]:
    """``actions`` with steps removed while the path still ends in a ``bad`` state (``step``: a bad step).

    The result is 1-minimal: leaving out any single remaining step loses the
    bad state (or makes a later step impossible).
    """
    best = first_hit(model, init, actions, bad, step)
    if best is None:
        return list(actions)
    changed = True
    while changed:
        changed = False
        i = len(best) - 1
        while i >= 0:
            shorter = first_hit(model, init, best[:i] + best[i + 1:], bad, step)
            if shorter is not None:
                best = shorter
                changed = True
            i = min(i - 1, len(best) - 1)
    return best


def resample_shorter(model: Model, init: int, actions: Sequence[Any], bad: Callable[..., bool],
                     walks: int, seed: int = 0, step: bool = False) -> tuple[int, list[Any]]:
    """A shorter path to a ``bad`` state, found by random walks shorter than ``actions``, or the path given.

    Deleting steps cannot turn one scenario into a different, shorter one (a
    different message lost, a different partition); short random walks can.
    Each walk is at most one step shorter than the best path so far, and each
    one that reaches a ``bad`` state is shortened by :func:`shorten` and
    becomes the new best. Deterministic for a given ``seed``.
    """
    rng = random.Random(seed)
    mover = Mover(model)
    inits = initial_states(model)
    best_init, best = init, list(actions)
    for _ in range(walks if inits else 0):
        if not best:
            break
        start, state = inits[rng.randrange(len(inits))]
        path: list[Any] = []
        while len(path) < len(best) - 1:
            steps, _ = mover.moves(state)
            if not steps:
                break
            action, nxt = steps[rng.randrange(len(steps))]
            path.append(action)
            hit = bad(state, action, nxt) if step else bad(nxt)
            state = nxt
            if hit:
                best_init, best = start, shorten(model, start, path, bad, step)
                break
    return best_init, best


# -- results ------------------------------------------------------------------------
def sampled_result(
    model: Model,
    engine: str,
    tally: Tally,
    violation: tuple[str, int, list[Any]] | None,
    *,
    seconds: float,
    max_depth: int,
    sample: str,
    interrupted: bool = False,
    trace_note: str = "",
    shorten_witnesses: bool = False,
) -> CheckResult:
    """A CheckResult for a sampled search (see the module docstring for the verdicts).

    ``violation`` is ``(property, init, actions)``; ``sample`` says what was
    sampled, e.g. "200 runs of up to 50 steps".
    """
    result = CheckResult(model=model.name, params=model.params(), engine=engine, max_depth=max_depth)
    result.seconds = seconds
    result.distinct_states = len(tally.seen)
    result.states_generated = tally.generated
    result.depth = tally.depth
    result.peak_memory_mb = peak_memory_mb()
    result.complete = False
    violated, reached = {}, {}
    if violation is not None:
        name, init, actions = violation
        kind = next((p.kind for p in tally.props if p.name == name), ALWAYS)
        violated[name] = make_trace(model, init, actions, name, kind, note=trace_note)
    for name, (init, actions) in tally.found.items():
        if shorten_witnesses:
            actions = shorten(model, init, actions, next(p for p in tally.props if p.name == name).condition)
        reached[name] = make_trace(model, init, actions, name, SOMETIMES)
    fill_verdicts(result, tally.props, violated=violated, reached=reached, liveness={},
                  ended_early=interrupted or violation is not None, interrupted=interrupted,
                  scope=f"in {sample}", sampled=True)
    result.notes.append(f"sampled search: {sample}; {tally.runs:,} walks from an initial state")
    result.extra["sample"] = sample
    result.coverage = tally.coverage()
    return result


def params_digest(model: Model) -> str:
    """Six hex digits identifying the model class and its parameters."""
    cls = type(model)
    text = json.dumps([model.name, cls.__module__, cls.__qualname__, to_jsonable(model.params())],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:6]


# -- the simulator ------------------------------------------------------------------
def simulate(
    model: Model,
    runs: int,
    depth: int,
    seed: int | None = None,
    *,
    check_deadlock: bool = True,
    swarm: bool = False,
    metrics: Sequence[str] = (),
) -> CheckResult:
    """Take ``runs`` random walks of up to ``depth`` steps and judge the properties on what they visit.

    ``metrics`` names measures from ``model.metrics()`` to compute on each
    walk; their mean and 95% confidence interval (:func:`mean_ci`) go in
    ``extra["metrics"]`` (an unknown name raises ValueError).

    The same ``seed`` gives the same walks (None: a fresh seed, recorded in
    the result's ``extra["seed"]`` and notes). With ``swarm``, each run
    switches off each fault kind (each action kind, for a model without
    faults) with odds of one in SWARM_OFF_ODDS. Stops at the first
    violation. Ctrl-C ends the search cleanly (verdict "interrupted").
    """
    measures = simulation_measures(model, runs, depth, metrics)
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    tally = Tally(model, check_deadlock)
    start = time.perf_counter()
    violation, values, interrupted = take_walks(model, tally, runs, depth, random.Random(seed),
                                                swarm=swarm, measures=measures)
    return simulation_result(model, tally, violation, values, seed=seed, depth=depth,
                             seconds=time.perf_counter() - start, interrupted=interrupted)


def simulation_measures(model: Model, runs: int, depth: int, metrics: Sequence[str]) -> dict[str, Callable[..., float]]:
    """The measures ``metrics`` names, by name (ValueError for a negative bound or an unknown metric)."""
    if runs < 0 or depth < 0:
        raise ValueError("runs and depth must be >= 0")
    declared = model.metrics() if metrics else {}
    unknown = [m for m in metrics if m not in declared]
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r}: {metric_choices(model)}")
    return {name: declared[name] for name in metrics}


def simulation_result(model: Model, tally: Tally, violation: tuple[str, int, list[Any]] | None,
                      values: dict[str, list[float]], *, seed: int, depth: int, seconds: float,
                      interrupted: bool, note: str = "") -> CheckResult:
    """The CheckResult of random walks counted in ``tally`` (``values``: each metric's value per walk)."""
    result = sampled_result(
        model, "simulate", tally, violation, seconds=seconds, max_depth=depth,
        sample=f"{tally.runs:,} random walks of up to {depth} steps (seed {seed})", interrupted=interrupted,
        trace_note=f"found by random simulation, seed {seed}{note}",
    )
    result.extra.update({"seed": seed, "runs": tally.runs})
    if values:
        result.extra["metrics"] = {name: metric_summary(v) for name, v in values.items()}
    return result


def take_walks(model: Model, tally: Tally, runs: int, depth: int, rng: random.Random, *, swarm: bool = False,
               measures: dict[str, Callable[..., float]] | None = None,
               ) -> tuple[tuple[str, int, list[Any]] | None, dict[str, list[float]], bool]:
    """Up to ``runs`` random walks of up to ``depth`` steps, counted in ``tally``: what :func:`simulate` takes.

    Returns the first violation as ``(property, init, actions)`` (the walks
    stop there) or None, each measure's value per walk (``measures`` maps a
    metric's name to its function), and whether Ctrl-C ended the walks.
    """
    measures = measures or {}
    values: dict[str, list[float]] = {name: [] for name in measures}
    inits = initial_states(model)
    mover = Mover(model, tally.step_check())
    kinds = swarm_kinds(model) if swarm else None
    violation: tuple[str, int, list[Any]] | None = None
    try:
        for _ in range(runs if inits else 0):
            states: list[Any] | None = [] if measures else None
            actions: list[Any] = []
            violation = _walk(mover, tally, inits, depth, rng, swarm, kinds, states, actions)
            if states is not None:
                for name, measure in measures.items():
                    values[name].append(float(measure(states, actions[:len(states) - 1])))
            if violation is not None:
                break
    except KeyboardInterrupt:
        return violation, values, True
    return violation, values, False


def metric_choices(model: Model) -> str:
    """A phrase listing the metrics ``model`` declares, for an error message."""
    names = sorted(model.metrics())
    if not names:
        return f"model {model.name!r} declares no metrics"
    return f"model {model.name!r} declares {', '.join(names)}"


CI_Z = 1.96  # the normal distribution's 97.5% quantile: a two-sided 95% interval


def mean_ci(values: Sequence[float]) -> tuple[float, float | None]:
    """The mean and the half-width of its 95% confidence interval, 1.96 * s / sqrt(n).

    A normal approximation, with ``s`` the sample standard deviation (n - 1
    in the denominator); the half-width is None for fewer than two values.
    NaN for the mean of no values.
    """
    n = len(values)
    if n == 0:
        return float("nan"), None
    mean = sum(values) / n
    if n < 2:
        return mean, None
    s = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5
    return mean, CI_Z * s / n ** 0.5


def metric_summary(values: Sequence[float]) -> dict[str, Any]:
    """``{"runs", "mean", "ci95": [low, high] or None, "min", "max"}`` for one metric's per-walk values."""
    mean, half = mean_ci(values)
    return {"runs": len(values), "mean": mean,
            "ci95": None if half is None else [mean - half, mean + half],
            "min": min(values, default=None), "max": max(values, default=None)}


def visit(mover: Mover, tally: Tally, state: Any, init: int, actions: list[Any]) -> tuple[Any, list[tuple[Any, Any]]]:
    """A walk arrives at ``state``: the violation there as ``(property, init, actions)`` (None if none), and the steps on."""
    tally.visit(state, init, actions)
    steps, enabled = mover.moves(state)
    bad = tally.violated(state, enabled)
    if bad is not None:
        return (bad, init, actions), steps
    if mover.violation is not None:
        name, action = mover.violation
        return (name, init, actions + [action]), steps
    return None, steps


def _walk(mover: Mover, tally: Tally, inits: list[tuple[int, Any]], depth: int,
          rng: random.Random, swarm: bool, kinds: frozenset[str] | None,
          states: list[Any] | None = None, actions: list[Any] | None = None) -> tuple[str, int, list[Any]] | None:
    """One random walk; the violation it found, if any.

    The walk's states are appended to ``states`` and its steps to ``actions``
    when these lists are given.
    """
    tally.start()
    init, state = inits[rng.randrange(len(inits))]
    actions = [] if actions is None else actions
    chooser = Swarm(kinds) if swarm else None
    while True:
        if states is not None:
            states.append(state)
        found, steps = visit(mover, tally, state, init, actions)
        if found is not None:
            return found
        if not steps or len(actions) >= depth:
            return None
        if chooser is not None:
            steps = chooser.filter(steps, lambda kind: rng.randrange(SWARM_OFF_ODDS) == 0)
        action, state = steps[rng.randrange(len(steps))]
        tally.take(action, state)
        actions.append(action)


def trace_file_name(trace: Trace, prefix: str = "") -> str:
    """``[prefix-]MODEL-PROPERTY-PARAMS[-WORKER].json``: distinct per model, parameters and xdist worker."""
    params = json.dumps(to_jsonable(trace.params), sort_keys=True, default=str)
    digest = hashlib.sha256(f"{trace.model}|{params}".encode()).hexdigest()[:6]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    parts = [prefix, trace.model, trace.property, digest, worker]
    name = "-".join(p for p in parts if p)
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", name) + ".json"
