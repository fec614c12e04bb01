"""Any Model as a Hypothesis stateful test: sampled search with short counterexamples.

``machine_class(model)`` builds a :class:`hypothesis.stateful.RuleBasedStateMachine`.
Its ``start`` rule picks an initial state; its ``step`` rule takes one enabled
action among those that change the state, sorted the same way in every
process. When only stuttering steps are left, the step begins a new walk, so
no step of the budget is wasted. Every ``always`` property is checked by an
invariant after each step, every ``always_step`` property on each step
enabled in a visited state (self-loops included); a state with no enabled
action at all is a ``Deadlock`` violation unless the model allows deadlock.

Guided search (``guided=True``, what ``hypothesis_check`` and
``model_test_case`` use): plain random walks rarely reach a bug that needs a
dozen well-placed steps (chain replication's stale read was not found in
30,000 walks). A guided walk prefers the actions that lead to states not seen
before in the run; after SEGMENT_STEPS steps it jumps to a state explored
earlier that still has an unseen successor (or, one time in FROM_START_ODDS,
to an initial state), and continues from there, never further than the
steps-per-example bound from an initial state. Its choices come from a
generator seeded by the run's seed and the number of steps taken so far, and
each example resumes the walk where the previous one stopped: Hypothesis
drives the run (examples, budget, profiles) but its draws, which it biases
towards constants found in whatever modules are loaded, do not steer it, so a
derandomized run takes the same steps in every environment. The run ends at
the first violation (Hypothesis neither replays nor shrinks it). Unguided
(``machine_class``'s default), each choice is its own draw, examples replay
exactly, and Hypothesis shrinks them towards fewer and earlier choices.

Swarm testing: each walk may switch off a random subset of the model's fault
kinds (its ``fault_kinds`` attribute, or the actor layer's fault actions such
as ``drop`` and ``crash``; every action kind for a model without faults), each
kind with odds of one in SWARM_OFF_ODDS, so that runs where some faults are
absent (and others therefore frequent) get found. A switched-off kind is still
taken when nothing else is enabled.

A failing walk is shortened in action space: steps are removed while the
violation remains (a 1-minimal trace), then up to RESAMPLE_WALKS random
walks shorter than it look for a different, shorter scenario (each one found
is shortened again). Unguided with the "dev" profile, Hypothesis shrinks the
walk first. The trace is written in the splitbrain format, so ``splitbrain
replay FILE`` reproduces it; with the "dev" profile it is also kept in the
example database and replayed first by the next run.

Entry points:

- ``hypothesis_check(model, ...) -> CheckResult``: what ``splitbrain check
  --engine hypothesis`` runs; verdicts as in ``splitbrain.checker.simulate`` (sampled:
  an unreached ``sometimes`` property is undecided, not a violation).
- ``model_test_case(model, ...)``: a ``unittest.TestCase`` subclass that
  pytest collects; it fails with the trace rendered as numbered steps.
- ``profile("ci")`` / ``profile("dev")``: the Hypothesis settings for CI and
  for local exploration, also registered with Hypothesis as ``splitbrain-ci``
  and ``splitbrain-dev``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
import unittest
from pathlib import Path
from typing import Any, Callable

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from splitbrain.checker.result import CheckResult
from splitbrain.checker.simulate import (
    SWARM_OFF_ODDS,
    Mover,
    Swarm,
    Tally,
    initial_states,
    resample_shorter,
    sampled_result,
    shorten,
    swarm_kinds,
    trace_file_name,
)
from splitbrain.models.core import Model
from splitbrain.traces.format import Trace, TraceError, from_json, to_jsonable
from splitbrain.traces.render import render_trace
from splitbrain.traces.replay import make_trace, replay

CI_EXAMPLES = 1000
DEV_EXAMPLES = 5000
DEFAULT_MAX_STEPS = 50
RESAMPLE_WALKS = 1000  # short random walks tried after a failure, looking for a shorter scenario
SEGMENT_STEPS = 15  # guided search: steps of one walk before it jumps to another explored state
FROM_START_ODDS = 4  # guided search: one jump in FROM_START_ODDS begins again at an initial state
FRONTIER_TRIES = 20  # guided search: explored states tried per jump, looking for one with unseen successors
DATABASE_DIR = ".hypothesis/examples"

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
             HealthCheck.large_base_example]


def profile(name: str = "ci") -> settings:
    """The Hypothesis settings of profile ``name``: "ci" or "dev".

    "ci": derandomized (the same examples on every run), no deadline, a fixed
    budget of CI_EXAMPLES, no example database, and no Hypothesis shrink
    phase: the failing run is shortened in action space instead (step
    removal, then shorter random walks), which on the paxos and fault demo
    bugs gave traces as short as BFS's at a small fraction of the cost of
    Hypothesis's shrinker. "dev": random, DEV_EXAMPLES, Hypothesis shrinking
    (of unguided runs), and the example database in DATABASE_DIR, so that a
    failure found once is replayed first on the next run.
    """
    common = dict(deadline=None, suppress_health_check=_SUPPRESS, report_multiple_bugs=False,
                  stateful_step_count=DEFAULT_MAX_STEPS, print_blob=False)
    if name == "ci":
        return settings(max_examples=CI_EXAMPLES, derandomize=True, database=None,
                        phases=(Phase.explicit, Phase.generate), **common)
    if name == "dev":
        return settings(max_examples=DEV_EXAMPLES, derandomize=False,
                        database=DirectoryBasedExampleDatabase(DATABASE_DIR),
                        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink), **common)
    raise ValueError(f"unknown profile {name!r} (profiles: ci, dev)")


settings.register_profile("splitbrain-ci", profile("ci"))
settings.register_profile("splitbrain-dev", profile("dev"))


class PropertyViolated(AssertionError):
    """A run reached a state violating ``property`` (or a deadlock)."""

    def __init__(self, prop: str, init: int, actions: list[Any]):
        super().__init__(f"{prop} violated after {len(actions)} steps")
        self.property = prop
        self.init = init
        self.actions = actions


class ModelMachine(RuleBasedStateMachine):
    """Base of the machines :func:`machine_class` builds (one subclass per model)."""

    model: Model
    mover: Mover
    tally: Tally
    swarm: bool
    kinds: frozenset[str] | None
    inits: list[tuple[int, Any]]
    guided: bool
    seed: int  # guided: mixed into every step's choices
    max_steps: int
    archive: list[tuple[int, tuple, Any]]  # guided: (init, path, state) of each state at its first visit
    resume: tuple | None  # guided: the walk in progress when an example ended

    def __init__(self) -> None:
        super().__init__()
        self.init = 0
        self.state: Any = None
        self.actions: list[Any] = []
        self.steps: list[tuple[Any, Any]] = []
        self.enabled = True
        self.chooser: Swarm | None = None
        self.segment = 0  # steps since the walk began or jumped
        self.step_violation: tuple[str, Any] | None = None  # (step property, action) violated from this state

    def _arrive(self, state: Any) -> None:
        self.state = state
        if self.guided and len(self.actions) < self.max_steps and hash(state) not in self.tally.seen:
            self.archive.append((self.init, tuple(self.actions), state))
        self.tally.visit(state, self.init, self.actions)
        self.steps, self.enabled = self.mover.moves(state)
        self.step_violation = self.mover.violation
        if self.guided:  # where the next example resumes
            type(self).resume = (self.init, self.actions, state, self.steps, self.enabled, self.segment,
                                 self.chooser)

    def _start(self, index: int) -> None:
        """Begin a walk in initial state number ``index`` (with a fresh swarm)."""
        self._begin(*self.inits[index], ())

    def _begin(self, init: int, state: Any, path: tuple) -> None:
        """Begin a walk (with a fresh swarm) at ``state``, reached by ``path`` from initial state ``init``."""
        self.tally.start()
        self.init, self.actions, self.segment = init, list(path), 0
        if self.swarm:
            self.chooser = Swarm(self.kinds)
        self._arrive(state)

    def _step(self, data: Any) -> None:
        """Take one enabled action; at a fixed point (only stuttering left), begin a new walk.

        Guided, a walk also ends after SEGMENT_STEPS steps or at ``max_steps``
        from its initial state, and the next one begins at an explored state
        (or, one time in FROM_START_ODDS, at an initial state); each step
        prefers the actions that lead to states not seen before.
        """
        if self.guided:
            # Not from Hypothesis's draws: it biases them towards constants found in the modules
            # loaded, and cuts the run into examples of varying length, so a guided run would
            # depend on what else was imported. Its steps depend only on how many came before.
            data.draw(st.booleans(), label="coin")  # gives Hypothesis a choice to vary; not used
            rng = random.Random(f"{self.seed}:{self.tally.generated}:{self.tally.runs}")
            pick = lambda n, label: rng.randrange(n)  # noqa: E731
        else:
            pick = lambda n, label: data.draw(st.integers(0, n - 1), label=label)  # noqa: E731
        steps = self.steps
        if not steps or (self.guided and (self.segment >= SEGMENT_STEPS or len(self.actions) >= self.max_steps)):
            self._jump(pick)
            return
        if self.chooser is not None:
            # Off on the top value, so that shrinking (towards 0) moves towards every kind switched on.
            steps = self.chooser.filter(
                steps, lambda kind: pick(SWARM_OFF_ODDS, f"switch off {kind}") == SWARM_OFF_ODDS - 1)
        if self.guided:
            seen = self.tally.seen
            steps = [m for m in steps if hash(m[1]) not in seen] or steps
        action, state = steps[pick(len(steps), "action")]
        self.tally.take(action, state)
        self.actions.append(action)
        self.segment += 1
        self._arrive(state)

    def _jump(self, pick: Callable[[int, str], int]) -> None:
        """Begin the next walk: at an explored state (guided) or at an initial state."""
        archive = self.archive
        if self.guided and archive and pick(FROM_START_ODDS, "jump") > 0:
            # To a state with a successor not seen yet; states without one are dropped on the way.
            for _ in range(FRONTIER_TRIES):
                i = pick(len(archive), "jump to")
                init, path, state = archive[i]
                if any(hash(nxt) not in self.tally.seen for _, nxt in self.mover.moves(state)[0]):
                    self._begin(init, state, path)
                    return
                archive[i] = archive[-1]
                archive.pop()
                if not archive:
                    break
        self._start(pick(len(self.inits), "restart in") if len(self.inits) > 1 else 0)

    def _check(self) -> None:
        bad = self.tally.violated(self.state, self.enabled)
        actions = list(self.actions)
        if bad is None and self.step_violation is not None:
            bad, action = self.step_violation  # the path to this state, and the violating step
            actions.append(action)
        if bad is not None:
            if self.tally.first_violation_run is None:
                self.tally.first_violation_run = self.tally.runs
                self.tally.first_violation = (bad, self.init, actions)
            if self.guided:
                raise FoundViolation()
            raise PropertyViolated(bad, self.init, actions)


class FoundViolation(BaseException):
    """A guided machine found a violation (in its tally): ends the search at once.

    Not an Exception, so that Hypothesis does not replay the example (a guided
    walk need not take the same steps again).
    """


def machine_class(model: Model, *, swarm: bool = True, check_deadlock: bool = True,
                  tally: Tally | None = None, guided: bool = False,
                  max_steps: int = DEFAULT_MAX_STEPS, seed: int = 0) -> type[ModelMachine]:
    """A RuleBasedStateMachine that runs ``model``, with its ``always`` properties as invariants.

    ``tally`` collects what the runs see (a fresh one if None). ``guided``:
    walks jump between explored states and prefer new ones (see the module
    docstring); paths stay within ``max_steps`` steps of an initial state.
    The class name carries a digest of the model and its parameters, so the
    example database keeps each model's failures apart.
    """
    inits = initial_states(model)
    if not inits:
        raise ValueError(f"model {model.name} has no initial state within its boundary")
    tally = tally if tally is not None else Tally(model, check_deadlock)

    @initialize(index=st.integers(0, len(inits) - 1))
    def start(self: ModelMachine, index: int) -> None:
        self.tally.examples += 1
        if self.guided and self.resume is not None:
            # Guided, an example resumes the walk where the last one stopped (the draw is
            # ignored), so the search takes the same steps however Hypothesis cuts it into examples.
            (self.init, self.actions, self.state, self.steps, self.enabled, self.segment,
             self.chooser) = self.resume
            return
        self._start(index)

    @rule(data=st.data())
    def step(self: ModelMachine, data: Any) -> None:
        self._step(data)

    @invariant()
    def properties_hold(self: ModelMachine) -> None:
        self._check()

    name = re.sub(r"\W", "_", f"{model.name}_machine_{_digest(model, swarm, check_deadlock, guided)}")
    return type(name, (ModelMachine,), {
        "model": model,
        "mover": Mover(model, tally.step_check()),
        "tally": tally,
        "swarm": swarm,
        "kinds": swarm_kinds(model) if swarm else None,
        "inits": inits,
        "guided": guided,
        "seed": seed,
        "max_steps": max_steps,
        "archive": [],
        "resume": None,
        "start": start,
        "step": step,
        "properties_hold": properties_hold,
        "__module__": __name__,
        "__qualname__": name,
    })


def _digest(model: Model, *options: Any) -> str:
    cls = type(model)
    text = json.dumps([model.name, cls.__module__, cls.__qualname__, to_jsonable(model.params()), options],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class Failure:
    """A failure found: its (shortened) trace, the failing walk's length, and the trace file."""

    def __init__(self, trace: Trace, walk_steps: int, path: Path | None):
        self.trace = trace
        self.walk_steps = walk_steps
        self.path = path

    def message(self) -> str:
        """The trace as numbered steps, and how to replay it."""
        text = render_trace(self.trace)
        if self.path is not None:
            text += f"\n\nTrace written to {self.path}; replay with: splitbrain replay {self.path}"
        return text


def run_machine(machine: type[ModelMachine], config: settings, trace_dir: str | Path | None = None,
                polish: bool = True) -> Failure | None:
    """Run the machine under ``config``; the failure found (shortened, and saved in ``trace_dir``), or None.

    ``polish`` False keeps the failing walk as Hypothesis left it (for measuring).
    A guided walk depends on what earlier walks explored, so a failing example
    need not fail again when Hypothesis replays it: a guided machine ends the
    run at its first failure (no Hypothesis replay or shrinking; the failure is
    shortened in action space), and keeps the failure as a trace in the
    profile's example database, where the next run replays it first.
    """
    saved = _saved_failure(machine, config, trace_dir)
    if saved is not None:
        return saved
    try:
        run_state_machine_as_test(machine, settings=config)
    except (PropertyViolated, FoundViolation, Flaky) as exc:
        # A guided run that ends at a violation may end an example earlier than one with the same
        # draws did before, which Hypothesis reports as flaky data generation: the violation stands.
        found = machine.tally.first_violation
        if isinstance(exc, PropertyViolated):
            found = (exc.property, exc.init, exc.actions)
        elif found is None or not machine.guided:
            raise
        shrunk = not machine.guided and Phase.shrink in config.phases
        failure = _failure(machine, PropertyViolated(*found), trace_dir, polish, shrunk)
        if machine.guided and config.database is not None:
            config.database.save(_trace_key(machine), json.dumps(failure.trace.to_json()).encode())
        return failure
    return None


def _trace_key(machine: type[ModelMachine]) -> bytes:
    """Where the example database keeps a guided machine's failures (as trace JSON)."""
    return b"splitbrain-trace:" + machine.__name__.encode()


def _saved_failure(machine: type[ModelMachine], config: settings, trace_dir: str | Path | None) -> Failure | None:
    """A failure kept in the example database that the model still reproduces; forgets the others."""
    db = config.database
    if db is None or not machine.guided or Phase.reuse not in config.phases:
        return None
    key = _trace_key(machine)
    for value in list(db.fetch(key)):
        try:
            trace = from_json(json.loads(value))
            reproduced = replay(trace, machine.model).reproduced
        except (ValueError, TraceError):
            reproduced = False
        if not reproduced:
            db.delete(key, value)  # fixed since, or unreadable
            continue
        trace.note = (trace.note + "; " if trace.note else "") + "replayed from the example database"
        path = trace.save(Path(trace_dir) / trace_file_name(trace)) if trace_dir is not None else None
        return Failure(trace, len(trace), path)
    return None


def _failure(machine: type[ModelMachine], exc: PropertyViolated, trace_dir: str | Path | None,
             polish: bool, shrunk: bool) -> Failure:
    model, tally = machine.model, machine.tally
    init, actions = exc.init, exc.actions
    on_step = tally.on_step(exc.property)
    if polish:
        bad = tally.is_bad(exc.property)
        init, actions = resample_shorter(model, init, shorten(model, init, actions, bad, on_step), bad,
                                         RESAMPLE_WALKS, step=on_step)
    note = (f"found by the Hypothesis engine; failing walk of {len(exc.actions)} steps"
            + (" (shrunk by Hypothesis)" if shrunk else "")
            + (f", shortened to {len(actions)}" if polish else ""))
    trace = make_trace(model, init, actions, exc.property, "always_step" if on_step else "always", note=note)
    path = None
    if trace_dir is not None:
        path = trace.save(Path(trace_dir) / trace_file_name(trace))
    return Failure(trace, len(exc.actions), path)


def hypothesis_check(
    model: Model,
    max_examples: int | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    seed: int | None = None,
    trace_dir: str | Path | None = None,
    *,
    profile_name: str = "ci",
    swarm: bool = True,
    check_deadlock: bool = True,
    polish: bool = True,
    guided: bool = True,
) -> CheckResult:
    """Search ``model`` with Hypothesis: ``max_examples`` runs of up to ``max_steps`` steps.

    ``max_examples`` None takes the profile's budget (CI_EXAMPLES for "ci",
    DEV_EXAMPLES for "dev").

    Returns a CheckResult like ``check``'s (sampled verdicts, see
    ``splitbrain.checker.simulate``). A violation's run is shortened (see the module
    docstring); with ``trace_dir`` its trace is also written there (the path
    is in ``result.extra["trace_file"]``).
    ``seed`` picks a different deterministic sample than the default one.
    Ctrl-C ends the search cleanly (verdict "interrupted").
    """
    base = profile(profile_name)
    max_examples = base.max_examples if max_examples is None else max_examples
    if max_examples < 1 or max_steps < 1:
        raise ValueError("max_examples and max_steps must be >= 1")
    tally = Tally(model, check_deadlock)
    if not initial_states(model):
        return sampled_result(model, "hypothesis", tally, None, seconds=0.0, max_depth=max_steps,
                              sample="0 runs (no initial state within the boundary)")
    machine = machine_class(model, swarm=swarm, check_deadlock=check_deadlock, tally=tally, guided=guided,
                            max_steps=max_steps, seed=0 if seed is None else seed)
    config = settings(base, max_examples=max_examples, stateful_step_count=max_steps, verbosity=Verbosity.quiet)
    if seed is not None:
        config = settings(config, derandomize=False)
        machine = hypothesis.seed(seed)(machine)
    start = time.perf_counter()
    failure, interrupted = None, False
    try:
        failure = run_machine(machine, config, trace_dir, polish)
    except KeyboardInterrupt:
        interrupted = True
    violation = (failure.trace.property, failure.trace.init, failure.trace.actions) if failure else None
    result = sampled_result(
        model, "hypothesis", tally, violation, seconds=time.perf_counter() - start, max_depth=max_steps,
        sample=f"{tally.examples:,} Hypothesis examples of {max_steps} steps (budget {max_examples:,})",
        interrupted=interrupted, trace_note=failure.trace.note if failure else "", shorten_witnesses=True,
    )
    result.extra.update({"runs": tally.runs, "examples": tally.examples, "max_examples": max_examples, "seed": seed})
    if failure is not None:
        result.extra["found_after_runs"] = tally.first_violation_run
        result.extra["failing_walk_steps"] = failure.walk_steps
        if failure.path is not None:
            result.extra["trace_file"] = str(failure.path)
    return result


def model_test_case(
    model: Model,
    *,
    profile_name: str = "ci",
    max_examples: int | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    trace_dir: str | Path | None = "splitbrain-traces",
    swarm: bool = True,
    check_deadlock: bool = True,
    guided: bool = True,
) -> type[unittest.TestCase]:
    """A unittest TestCase (collected by pytest) that fails when the model violates an ``always`` property.

    Assign it to a name starting with ``Test`` in a test module::

        TestPaxos = model_test_case(registry.build("paxos"))

    The failure message is the shrunk trace as numbered steps, and the trace
    file written to ``trace_dir``.
    """
    machine = machine_class(model, swarm=swarm, check_deadlock=check_deadlock, guided=guided, max_steps=max_steps)
    config = settings(profile(profile_name), stateful_step_count=max_steps,
                      **({"max_examples": max_examples} if max_examples else {}))

    def runTest(self: unittest.TestCase) -> None:
        failure = run_machine(machine, config, trace_dir)
        if failure is not None:
            raise AssertionError(failure.message())

    name = "Test_" + re.sub(r"\W", "_", model.name)
    return type(name, (unittest.TestCase,), {"runTest": runTest, "machine": machine, "settings": config,
                                              "__module__": __name__})
