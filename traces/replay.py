"""Re-executing recorded actions on a fresh model.

``make_trace`` turns a path found by a checker into a :class:`Trace`;
``replay`` re-runs a trace and says whether the recorded violation is
reproduced, or exactly where the model no longer matches the trace. A
liveness counterexample is a lasso: replay re-runs the stem and the cycle,
checks that the cycle returns to the state at ``loop_start`` (or that the last
state stutters, when ``loop_start`` is the last state), takes no fault under
an after-faults assumption, is fair, and that the property fails along it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from splitbrain.models.core import Model, format_action
from splitbrain.properties.kinds import ALWAYS, ALWAYS_STEP, LIVENESS_KINDS, SOMETIMES
from splitbrain.properties.lasso import judge_lasso
from splitbrain.traces.format import Trace, TraceError, to_jsonable


class Divergence(Exception):
    """The model does not follow the recorded actions at ``step`` (1-based)."""

    def __init__(self, step: int, message: str):
        super().__init__(message)
        self.step = step


def initial_state(model: Model, index: int) -> Any:
    """The ``index``-th initial state of ``model``."""
    for i, s in enumerate(model.init_states()):
        if i == index:
            return s
    raise Divergence(0, f"the model has no initial state number {index}")


def step(model: Model, state: Any, action: Any, number: int) -> Any:
    """The successor of ``state`` by ``action``; Divergence when it is not enabled."""
    for a, nxt in model.successors(state):
        if a == action:
            return nxt
    raise Divergence(number, f"step {number}: action {format_action(action)} is not enabled")


def execute(model: Model, init: int, actions: Sequence[Any]) -> list[Any]:
    """The states visited by ``actions`` from initial state ``init`` (len = actions + 1)."""
    states = [initial_state(model, init)]
    for i, action in enumerate(actions, 1):
        states.append(step(model, states[-1], action, i))
    return states


def make_trace(
    model: Model,
    init: int,
    actions: Sequence[Any],
    prop: str,
    kind: str,
    loop_start: int | None = None,
    note: str = "",
) -> Trace:
    """A Trace for ``actions`` from initial state ``init``, with renderings."""
    states = execute(model, init, actions)
    steps = [model.describe(states[i], a, states[i + 1]) for i, a in enumerate(actions)]
    claims = {p.name: p.description for p in model.properties() if p.description}
    trace = Trace(
        model=model.name,
        params=model.params(),
        property=prop,
        kind=kind,
        actions=list(actions),
        states=[to_jsonable(model.render(s)) for s in states],
        steps=steps,
        init=init,
        loop_start=loop_start,
        note=note,
        extra={"claim": claims[prop]} if prop in claims else {},
    )
    trace.made_from = model  # in memory only: replay(trace) uses it; a trace read from a file never has it
    return trace


def model_for(trace: Trace, model: str | None = None, config: Any = None) -> Model:
    """A fresh model for ``trace``, built with the trace's parameters.

    The model is the one the trace names, looked up in the registry or the
    project config (``config``, default: found from the current directory),
    or ``model`` (a name, ``file.py:Class`` or ``module:Class``) when given:
    nothing the trace says is ever imported. Parameters must have their types
    (UsageError otherwise).
    """
    from splitbrain.models import registry

    ref = model or trace.model
    if model is None:
        config = config if config is not None else registry.project_config()
        if trace.model not in registry.specs() and trace.model not in config.models:
            raise registry.UsageError(
                f"the trace's model {trace.model!r} is neither built in nor in the project config: "
                "replay with --model path/to/file.py:Class (or name it under [tool.splitbrain] models)")
    spec = registry.get(ref, config)
    params, extra = dict(trace.params), {}
    if spec.faults:  # actor models record their faults and network as params
        declared = {p.name for p in spec.params}
        extra = {k: params.pop(k) for k in ("faults", "network") if k in params and k not in declared}
        for key, value in extra.items():
            if not isinstance(value, str):
                raise registry.UsageError(f"parameter {key}={value!r}: expected str")
    return registry.build(ref, params, config=config, typed=True, **extra)


@dataclass
class ReplayReport:
    """The outcome of a replay: reproduced, or the first step that diverged."""

    reproduced: bool
    message: str
    step: int | None = None
    states: list[Any] | None = None


def _same(a: Any, b: Any) -> bool:
    return json.dumps(to_jsonable(a), sort_keys=True) == json.dumps(to_jsonable(b), sort_keys=True)


def replay(trace: Trace, model: Model | None = None) -> ReplayReport:
    """Re-execute ``trace`` and check that it reproduces its recorded property outcome.

    ``model`` defaults to the model a trace made in this process was made
    from, else to :func:`model_for`'s. A trace whose initial state index is
    out of range raises TraceError (the file was edited).
    """
    model = model or getattr(trace, "made_from", None) or model_for(trace)
    try:
        states = [initial_state(model, trace.init)]
    except Divergence as exc:
        raise TraceError(f"trace init {trace.init}: {exc}") from None
    if trace.states and not _same(model.render(states[0]), trace.states[0]):
        return ReplayReport(False, "the initial state differs from the trace's", 0)
    for i, action in enumerate(trace.actions, 1):
        try:
            states.append(step(model, states[-1], action, i))
        except Divergence as exc:
            return ReplayReport(False, str(exc), i, states)
        if i < len(trace.states) and not _same(model.render(states[-1]), trace.states[i]):
            return ReplayReport(
                False,
                f"step {i}: action {format_action(action)} leads to a different state than the trace records",
                i,
                states,
            )
    return _judge(model, trace, states)


def _judge(model: Model, trace: Trace, states: list[Any]) -> ReplayReport:
    final = states[-1]
    if trace.property == "Deadlock":
        if any(True for _ in model.successors(final)):
            return ReplayReport(False, "the last state is not a deadlock: actions are enabled", len(states) - 1, states)
        return ReplayReport(True, "deadlock reproduced", None, states)
    props = {p.name: p for p in model.properties()}
    prop = props.get(trace.property)
    if prop is None:
        return ReplayReport(False, f"the model has no property {trace.property!r}", None, states)
    if prop.kind == ALWAYS:
        if prop.condition(final):
            return ReplayReport(False, f"{prop.name} holds in the last state: the violation is not reproduced", len(states) - 1, states)
        return ReplayReport(True, f"{prop.name} violated at step {len(states) - 1}, as recorded", None, states)
    if prop.kind == SOMETIMES:
        if not prop.condition(final):
            return ReplayReport(False, f"{prop.name} is not reached in the last state", len(states) - 1, states)
        return ReplayReport(True, f"{prop.name} reached at step {len(states) - 1}, as recorded", None, states)
    if prop.kind == ALWAYS_STEP:
        if len(states) < 2:
            return ReplayReport(False, f"{prop.name} is a step property: its trace must end with a step", 0, states)
        if prop.condition(states[-2], trace.actions[-1], states[-1]):
            return ReplayReport(False, f"{prop.name} holds on the last step: the violation is not reproduced",
                                len(states) - 1, states)
        return ReplayReport(True, f"{prop.name} violated by step {len(states) - 1}, as recorded", None, states)
    if prop.kind in LIVENESS_KINDS:
        ok, message = judge_lasso(model, prop, states, list(trace.actions), trace.loop_start)
        return ReplayReport(ok, message, None, states)
    return ReplayReport(False, f"{prop.name} is a {prop.kind} property, which this trace format cannot judge", None, states)
