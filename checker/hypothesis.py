"""Any Model as a Hypothesis stateful test: Hypothesis generates, shrinks and remembers the runs.

``state_machine(model)`` builds a :class:`hypothesis.stateful.RuleBasedStateMachine`:

- an ``initialize`` rule picks an initial state (a draw among those within the
  model's boundary);
- one rule per action class (the model's ``action_classes()``, and the classes
  met in a short breadth-first look at the model, up to DISCOVER_STATES
  states), enabled when an action of that class leads somewhere new from the
  current state; the rule draws one of those actions
  (an index among them, sorted the same way in every process). When the look
  did not reach every state, a catch-all rule ``other_action`` takes actions
  of any class it did not see; where a fixed point (no step changes the
  state) may be met, ``restart`` begins a new path from an initial state;
- invariants: each ``always`` property on every state, the ``always_step``
  properties on every step enabled in a visited state (self-loops included),
  and ``Deadlock`` (no enabled action at all) unless the model allows it.
  ``sometimes`` witnesses reached are recorded for the coverage; one never
  reached is undecided, as in every sampled engine.

Every step is a Hypothesis draw, so Hypothesis's own machinery applies: its
generation (with its swarm testing of rules: each example switches off a random
subset of the rules), its shrinker (fewer and simpler steps), and its example
database, where a failing example is kept and replayed first by the next run
(``Phase.reuse``). Hypothesis chooses among the enabled classes first, then
among the class's actions, so a class with few actions is not drowned by one
with many.

Entry points:

- ``hypothesis_check(model, ...) -> CheckResult``: what ``splitbrain check
  --engine hypothesis`` runs; sampled verdicts as in ``splitbrain.checker.simulate``
  (never "holds"; an unreached ``sometimes`` property is undecided). The
  failing example Hypothesis shrank becomes a splitbrain trace, made
  1-minimal (steps removed while the violation remains); its note says what
  each stage did.
- ``profile(name)``: the settings of profile "ci", "dev" or "thorough", also
  registered with Hypothesis as ``splitbrain-ci``, ``splitbrain-dev`` and
  ``splitbrain-thorough``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections import deque
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis.control import current_build_context
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from splitbrain.checker.result import DEADLOCK, CheckResult
from splitbrain.checker.simulate import Mover, Tally, initial_states, sampled_result, shorten, trace_file_name
from splitbrain.models.core import Model
from splitbrain.properties.kinds import ALWAYS, ALWAYS_STEP
from splitbrain.traces.format import Trace, to_jsonable
from splitbrain.traces.render import render_trace
from splitbrain.traces.replay import make_trace

DEFAULT_MAX_STEPS = 50
DATABASE_DIR = ".hypothesis/examples"  # Hypothesis's own default folder
DISCOVER_STATES = 2000  # states looked at breadth-first to find the action classes that get a rule
PROFILES = ("ci", "dev", "thorough")
DEFAULT_PROFILE = "ci"  # of hypothesis_check and the pytest plugin; `splitbrain check` uses CLI_PROFILE
CLI_PROFILE = "dev"
# Examples per profile: "ci" keeps a 20-state model under a second, "dev" correct paxos 3/2/2 under five
# (the bench entries hypothesis-*); "thorough" is for a run left going.
EXAMPLES = {"ci": 50, "dev": 100, "thorough": 2000}

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
             HealthCheck.large_base_example]


def profile(name: str = DEFAULT_PROFILE, database: str | Path | None = None) -> settings:
    """The Hypothesis settings of profile ``name``.

    "ci": derandomized (the same examples on every run, so no example
    database), EXAMPLES["ci"] examples. "dev": random (or seeded), the example
    database in ``database`` (default DATABASE_DIR), EXAMPLES["dev"] examples.
    "thorough": as "dev" with EXAMPLES["thorough"] examples. All of them
    shrink a failure, have no deadline, and take DEFAULT_MAX_STEPS steps per
    example. ValueError for another name.
    """
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r} (profiles: {', '.join(PROFILES)})")
    common = dict(deadline=None, suppress_health_check=_SUPPRESS, report_multiple_bugs=False,
                  stateful_step_count=DEFAULT_MAX_STEPS, max_examples=EXAMPLES[name],
                  phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink))
    if name == "ci":
        return settings(derandomize=True, database=None, **common)
    db = DirectoryBasedExampleDatabase(str(database if database is not None else DATABASE_DIR))
    return settings(derandomize=False, database=db, **common)


for _name in PROFILES:
    settings.register_profile(f"splitbrain-{_name}", profile(_name))


class PropertyViolated(AssertionError):
    """A path from initial state ``init`` by ``actions`` violates ``property`` (or deadlocks).

    Its text is the path as a rendered splitbrain trace, built when shown.
    """

    def __init__(self, model: Model, prop: str, kind: str, init: int, actions: list[Any]):
        super().__init__(f"{prop} violated after {len(actions)} steps")
        self.model = model
        self.property = prop
        self.kind = kind
        self.init = init
        self.actions = actions
        self.path: Path | None = None  # the trace file written, if any

    def trace(self, note: str = "") -> Trace:
        """The violation as a splitbrain trace."""
        return make_trace(self.model, self.init, self.actions, self.property, self.kind, note=note)

    def __str__(self) -> str:
        text = f"{self.property} violated after {len(self.actions)} steps\n\n{render_trace(self.trace())}"
        if self.path is not None:
            text += f"\n\nTrace written to {self.path}; replay with: splitbrain replay {self.path}"
        return text


class ModelMachine(RuleBasedStateMachine):
    """Base of the machines :func:`state_machine` builds (one subclass per model)."""

    model: Model
    mover: Mover
    tally: Tally
    inits: list[tuple[int, Any]]
    rule_of: dict[str, str]  # action class -> the name of its rule
    trace_dir: Path | None  # where the final (shrunk) failing example is written as a trace

    def __init__(self) -> None:
        super().__init__()
        self.init = 0
        self.state: Any = None
        self.actions: list[Any] = []
        self.by_rule: dict[str, list[tuple[Any, Any]]] = {}  # rule name -> its steps from this state
        self.enabled = True
        self.step_violation: tuple[str, Any] | None = None  # (step property, action) violated from this state

    def _begin(self, index: int) -> None:
        self.tally.start()
        self.init, state = self.inits[index]
        self.actions = []
        self._arrive(state)

    def _arrive(self, state: Any) -> None:
        self.state = state
        self.tally.visit(state, self.init, self.actions)
        steps, self.enabled = self.mover.moves(state)
        self.step_violation = self.mover.violation
        by_rule: dict[str, list[tuple[Any, Any]]] = {}
        rule_of, classify = self.rule_of, self.model.action_class
        for step in steps:
            by_rule.setdefault(rule_of.get(classify(step[0]), "other_action"), []).append(step)
        self.by_rule = by_rule

    def _take(self, name: str, data: Any) -> None:
        steps = self.by_rule[name]
        action, nxt = steps[data.draw(_index(len(steps)), label=name) if len(steps) > 1 else 0]
        self.tally.take(action, nxt)
        self.actions = self.actions + [action]
        self._arrive(nxt)

    def _violation(self, prop: str, kind: str, actions: list[Any]) -> PropertyViolated:
        if self.tally.first_violation is None:
            self.tally.first_violation_run = self.tally.examples
            self.tally.first_violation = (prop, self.init, actions)
        exc = PropertyViolated(self.model, prop, kind, self.init, actions)
        if self.trace_dir is not None and current_build_context().is_final:  # Hypothesis's report of the failure
            trace = exc.trace(note="found by Hypothesis (splitbrain.hypothesis.state_machine)")
            exc.path = trace.save(self.trace_dir / trace_file_name(trace))
        return exc


@lru_cache(maxsize=None)
def _index(n: int) -> st.SearchStrategy[int]:
    """Which of ``n`` steps (sorted by ``action_key``) to take; shrinks towards the first."""
    return st.integers(0, n - 1)


_RESERVED = {"other_action", "restart", "start", "steps_hold", "no_deadlock", "model", "mover", "tally", "inits",
             "rule_of", "trace_dir", "TestCase", "init", "state", "actions", "by_rule", "enabled", "step_violation"}


def _identifier(text: str, taken: set[str]) -> str:
    """``text`` as a Python identifier not in ``taken`` (added to it) nor the name of a machine's attribute."""
    name = re.sub(r"\W+", "_", text).strip("_") or "action"
    if name[0].isdigit() or name in _RESERVED or hasattr(ModelMachine, name):
        name = "do_" + name
    base, n = name, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


class Look(NamedTuple):
    """What a short breadth-first look at a model found."""

    classes: list[str]  # the declared action classes, then those taken
    complete: bool  # every reachable state was looked at
    fixed_point: bool  # some state looked at has no step that changes it


def look(model: Model, limit: int = DISCOVER_STATES) -> Look:
    """The action classes of ``model``: declared, and taken in its first ``limit`` states breadth-first."""
    classes = dict.fromkeys(model.action_classes() or ())
    mover = Mover(model)
    queue = deque(s for _, s in initial_states(model))
    seen = set(queue)
    fixed_point = False
    while queue and len(seen) < limit:
        steps = mover.moves(queue.popleft())[0]
        fixed_point = fixed_point or not steps
        for action, nxt in steps:
            classes.setdefault(model.action_class(action))
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return Look(list(classes), not queue, fixed_point)


def _class_rule(name: str) -> Callable[..., None]:
    def take(self: ModelMachine, data: Any) -> None:
        self._take(name, data)

    take.__name__ = take.__qualname__ = name
    return rule(data=st.data())(precondition(lambda self: name in self.by_rule)(take))


def _invariant(name: str, check: Callable[[ModelMachine], None]) -> Callable[..., None]:
    check.__name__ = check.__qualname__ = name
    return invariant()(check)


def state_machine(model: Model, *, check_deadlock: bool = True, trace_dir: str | Path | None = None,
                  tally: Tally | None = None, classes: Iterable[str] | None = None) -> type[ModelMachine]:
    """A RuleBasedStateMachine that runs ``model``: a rule per action class, its properties as invariants.

    Use it as any Hypothesis state machine, e.g. ``TestPaxos = state_machine(model).TestCase``
    in a test module, or with ``run_state_machine_as_test``. It runs with the
    settings profile loaded at the time (with no deadline and Hypothesis's
    slowness health checks off). A violation fails with the path rendered as a splitbrain trace;
    with ``trace_dir``, the failing example Hypothesis reports is also written there as a trace file.

    ``classes``: the action classes that get a rule (default: those :func:`look` finds).
    ``tally`` collects what the runs see (a fresh one if None). The class
    name carries a digest of the model and its parameters, so the example
    database keeps each model's failures apart.
    """
    inits = initial_states(model)
    if not inits:
        raise ValueError(f"model {model.name} has no initial state within its boundary")
    tally = tally if tally is not None else Tally(model, check_deadlock)
    seen = look(model)
    taken: set[str] = set()
    rule_of = {c: _identifier(c, taken) for c in (seen.classes if classes is None else classes)}
    body: dict[str, Any] = {name: _class_rule(name) for name in rule_of.values()}
    if not seen.complete or classes is not None:  # an action of a class not seen may come up
        body["other_action"] = _class_rule("other_action")

    @initialize(index=st.integers(0, len(inits) - 1))
    def start(self: ModelMachine, index: int) -> None:
        self.tally.examples += 1
        self._begin(index)

    @precondition(lambda self: not self.by_rule)
    @rule(index=st.integers(0, len(inits) - 1))
    def restart(self: ModelMachine, index: int) -> None:
        """At a fixed point (only stuttering steps left): begin a new path."""
        self._begin(index)

    if not seen.complete or seen.fixed_point:  # only where a fixed point may be met (fewer rules: faster draws)
        body["restart"] = restart

    for prop in tally.invariants:
        def holds(self: ModelMachine, prop: Any = prop) -> None:
            if not prop.condition(self.state):
                raise self._violation(prop.name, ALWAYS, list(self.actions))
        inv = _identifier(f"inv_{prop.name}", taken)
        body[inv] = _invariant(inv, holds)

    def steps_hold(self: ModelMachine) -> None:
        if self.step_violation is not None:
            name, action = self.step_violation
            raise self._violation(name, ALWAYS_STEP, self.actions + [action])

    def no_deadlock(self: ModelMachine) -> None:
        if not self.enabled:
            raise self._violation(DEADLOCK, ALWAYS, list(self.actions))

    if tally.step_invariants:
        body["steps_hold"] = _invariant("steps_hold", steps_hold)
    if tally.check_deadlock:
        body["no_deadlock"] = _invariant("no_deadlock", no_deadlock)
    name = re.sub(r"\W", "_", f"{model.name}_machine_{_digest(model, check_deadlock, sorted(rule_of))}")
    body.update({
        "model": model, "mover": Mover(model, tally.step_check()), "tally": tally, "inits": inits,
        "rule_of": rule_of, "trace_dir": Path(trace_dir) if trace_dir is not None else None, "start": start,
        "__module__": __name__, "__qualname__": name,
    })
    machine = type(name, (ModelMachine,), body)
    machine.TestCase.settings = settings(settings.default, deadline=None, suppress_health_check=_SUPPRESS)
    return machine


def _digest(model: Model, *options: Any) -> str:
    cls = type(model)
    text = json.dumps([model.name, cls.__module__, cls.__qualname__, to_jsonable(model.params()), options],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class _Recording(ExampleDatabase):
    """An example database that counts the failing examples Hypothesis asked it for (its primary corpus)."""

    def __init__(self, db: ExampleDatabase):
        super().__init__()
        self.db = db
        self.primary: int | None = None  # entries of the first key fetched: the saved failures

    def fetch(self, key: bytes) -> Iterable[bytes]:
        values = list(self.db.fetch(key))
        if self.primary is None:
            self.primary = len(values)
        return values

    def save(self, key: bytes, value: bytes) -> None:
        self.db.save(key, value)

    def delete(self, key: bytes, value: bytes) -> None:
        self.db.delete(key, value)


def hypothesis_check(
    model: Model,
    *,
    budget: int | None = None,
    max_depth: int | None = None,
    seed: int | None = None,
    check_deadlock: bool = True,
    trace_dir: str | Path | None = None,
    profile_name: str = DEFAULT_PROFILE,
    database: str | Path | None = None,
) -> CheckResult:
    """Search ``model`` with Hypothesis: ``budget`` examples of at most ``max_depth`` steps each.

    ``budget`` None takes the profile's (EXAMPLES), ``max_depth`` None
    DEFAULT_MAX_STEPS. ``seed`` makes the examples reproducible; with the
    "dev" and "thorough" profiles and no seed, a fresh one is drawn and
    recorded (``extra["seed"]``). ``database`` is the example database folder
    (not used by "ci"): failures found are kept there and replayed first by
    the next run (``extra["from_database"]`` says whether the failure came
    from it).

    Returns a CheckResult with sampled verdicts. The failing example is the
    one Hypothesis shrank, as a trace; with ``trace_dir`` it is also written
    there (``extra["trace_file"]``). Ctrl-C ends the search cleanly (verdict
    "interrupted"). ValueError for an unknown profile or a budget below 1.
    """
    base = profile(profile_name, database)
    examples = base.max_examples if budget is None else budget
    steps = DEFAULT_MAX_STEPS if max_depth is None else max_depth
    if examples < 1 or steps < 1:
        raise ValueError("budget and max_depth must be >= 1")
    tally = Tally(model, check_deadlock)
    if not initial_states(model):
        return sampled_result(model, "hypothesis", tally, None, seconds=0.0, max_depth=steps,
                              sample="0 examples (no initial state within the boundary)")
    start = time.perf_counter()
    machine = state_machine(model, check_deadlock=check_deadlock, tally=tally)
    recording = _Recording(base.database) if base.database is not None else None
    config = settings(base, max_examples=examples, stateful_step_count=steps, verbosity=Verbosity.quiet,
                      database=recording)
    if seed is None and not base.derandomize:
        seed = random.SystemRandom().randrange(2**32)
    if seed is not None:
        config = settings(config, derandomize=False)
        machine = hypothesis.seed(seed)(machine)
    found: PropertyViolated | None = None
    interrupted = False
    try:
        run_state_machine_as_test(machine, settings=config)
    except PropertyViolated as exc:
        found = exc
    except KeyboardInterrupt:
        interrupted = True
    trace = None
    from_db = False
    if found is not None:
        from_db = bool(recording and recording.primary and (tally.first_violation_run or 0) <= recording.primary)
        trace = _failure_trace(found, tally, profile_name, seed, from_db)
    where = f"seed {seed}" if seed is not None else "derandomized"
    sample = (f"{tally.examples:,} Hypothesis examples of up to {steps} steps "
              f"(budget {examples:,}, profile {profile_name}, {where})")
    result = sampled_result(
        model, "hypothesis", tally, (trace.property, trace.init, trace.actions) if trace is not None else None,
        seconds=time.perf_counter() - start, max_depth=steps, sample=sample, interrupted=interrupted,
        trace_note=trace.note if trace is not None else "", shorten_witnesses=True,
    )
    result.extra.update({"examples": tally.examples, "runs": tally.runs, "max_examples": examples, "seed": seed,
                         "profile": profile_name})
    if base.database is not None:
        result.extra["database"] = str(base.database.path)
    if trace is not None:
        result.extra["from_database"] = from_db
        result.extra["found_after_examples"] = tally.first_violation_run
        result.extra["failing_example_steps"] = len(tally.first_violation[2]) if tally.first_violation else None
        if from_db:
            result.notes.append(f"the failure was replayed from the example database {base.database.path} "
                                "(found by an earlier run) before any new example")
        if trace_dir is not None:
            result.extra["trace_file"] = str(trace.save(Path(trace_dir) / trace_file_name(trace)))
    return result


def _failure_trace(exc: PropertyViolated, tally: Tally, profile_name: str, seed: int | None, from_db: bool) -> Trace:
    """The shrunk failure as a trace, made 1-minimal (steps removed while the violation remains)."""
    model = exc.model
    on_step = exc.kind == ALWAYS_STEP
    actions = shorten(model, exc.init, exc.actions, tally.is_bad(exc.property), on_step)
    first = tally.first_violation
    note = (f"found by the Hypothesis engine (profile {profile_name}"
            + (f", seed {seed}" if seed is not None else "") + ")"
            + ("; replayed from the example database" if from_db else "")
            + (f"; failing example of {len(first[2])} steps" if first else "")
            + f", shrunk by Hypothesis to {len(exc.actions)}"
            + (f", then to {len(actions)} by removing steps" if len(actions) < len(exc.actions) else ""))
    return make_trace(model, exc.init, actions, exc.property, exc.kind, note=note)
