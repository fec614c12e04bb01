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

import importlib
import json
from dataclasses import dataclass
from typing import Any, Sequence

from splitbrain.models.core import Model, format_action
from splitbrain.properties.kinds import ALWAYS, LIVENESS_KINDS, SOMETIMES
from splitbrain.traces.format import Trace, to_jsonable


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
    cls = type(model)
    claims = {p.name: p.description for p in model.properties() if p.description}
    return Trace(
        model=model.name,
        params=model.params(),
        property=prop,
        kind=kind,
        actions=list(actions),
        states=[to_jsonable(model.render(s)) for s in states],
        steps=steps,
        factory=f"{cls.__module__}:{cls.__qualname__}",
        init=init,
        loop_start=loop_start,
        note=note,
        extra={"claim": claims[prop]} if prop in claims else {},
    )


def model_for(trace: Trace) -> Model:
    """A fresh model built from the trace's model name (or factory) and parameters."""
    from splitbrain.models import registry

    if trace.model in registry.specs():
        params, extra = dict(trace.params), {}
        spec = registry.get(trace.model)
        if spec.faults:  # actor models record their faults and network as params
            declared = {p.name for p in spec.params}
            extra = {k: params.pop(k) for k in ("faults", "network") if k in params and k not in declared}
        return registry.build(trace.model, params, **extra)
    if trace.factory and ":" in trace.factory:
        mod, _, qual = trace.factory.partition(":")
        try:
            obj: Any = importlib.import_module(mod)
            for part in qual.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError):
            raise registry.UsageError(
                f"trace names model {trace.model!r} with factory {trace.factory!r}, which cannot be imported"
            ) from None
        model = obj(**trace.params)
        model.name = trace.model
        model._params = dict(trace.params)
        return model
    raise registry.UsageError(f"unknown model {trace.model!r} in trace")


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
    """Re-execute ``trace`` and check that it reproduces its recorded property outcome."""
    model = model or model_for(trace)
    try:
        states = [initial_state(model, trace.init)]
    except Divergence as exc:
        return ReplayReport(False, str(exc), 0)
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
    if prop.kind in LIVENESS_KINDS:
        from splitbrain.checker.liveness import judge_lasso

        ok, message = judge_lasso(model, prop, states, list(trace.actions), trace.loop_start)
        return ReplayReport(ok, message, None, states)
    return ReplayReport(False, f"{prop.name} is a {prop.kind} property, which this trace format cannot judge", None, states)
