"""Judging a recorded lasso: is it a fair counterexample to a liveness property?

A lasso is a path from an initial state into a cycle that repeats forever
(``loop_start`` is the index of the state the cycle returns to; when it is
the last state's index, that state stutters forever). ``judge_lasso``
decides it from the replayed states and actions alone, with the semantics of
``splitbrain.checker.liveness`` (TLC's fairness on action classes), so that
replaying a trace needs no engine. ``model`` is anything with the Model
methods ``successors`` and ``within_boundary``.
"""

from __future__ import annotations

from typing import Any, Hashable

from splitbrain.properties.kinds import (
    ALWAYS_EVENTUALLY, EVENTUALLY, Property, action_kind, after_faults_of, fairness_conditions,
)

def judge_lasso(model: Any, prop: Property, states: list[Any], actions: list[Any],
                loop_start: int | None) -> tuple[bool, str]:
    """Whether the replayed lasso (``states`` visited by ``actions``) is a fair counterexample to ``prop``.

    Checks that the cycle returns to the state at ``loop_start`` (or that the
    last state stutters: no action enabled), that it takes no fault action
    under an after-faults assumption, that the property fails along it, and
    that the cycle is fair.
    """
    n = len(actions)
    if loop_start is None or not isinstance(loop_start, int) or not 0 <= loop_start <= n:
        return False, f"{prop.name} is a {prop.kind} property: its trace must be a lasso with loop_start in 0..{n}"
    af = after_faults_of(prop)
    faults = af.fault_kinds(model) if af is not None else frozenset()
    last = states[n]
    if loop_start < n:
        if last != states[loop_start]:
            return False, f"the cycle does not return to the state after step {loop_start}"
        for i in range(loop_start, n):
            if action_kind(actions[i]) in faults:
                return False, f"step {i + 1}: the cycle takes fault action {actions[i]!r} although faults stop"
        positions = list(range(loop_start, n))
    else:
        for a, t in model.successors(last):
            if action_kind(a) not in faults and model.within_boundary(t):
                return False, f"the last state does not stutter: action {a!r} is enabled"
        positions = [n]
    failure = _failure(prop, states, loop_start)
    if failure is None:
        return False, f"{prop.name} does not fail along this lasso"
    unfair = _unfairness(model, prop, states, positions, loop_start < n)
    if unfair:
        return False, f"the cycle is not fair: {unfair}"
    steps = n - loop_start
    cycle = "the last state stutters forever" if loop_start == n else \
        f"the cycle of {steps} step{'s' if steps != 1 else ''} returns to the state after step {loop_start}"
    return True, f"{prop.name} fails on a fair lasso as recorded: {failure}; {cycle}"


def _failure(prop: Property, states: list[Any], loop_start: int) -> str | None:
    """How ``prop`` fails along the lasso, or None when it does not."""
    cond, target = prop.condition, prop.target
    n = len(states) - 1
    if prop.kind == EVENTUALLY:
        return None if any(cond(s) for s in states) else "the condition never holds"
    if prop.kind == ALWAYS_EVENTUALLY:
        return None if any(cond(states[i]) for i in range(loop_start, n + 1)) else "the condition never holds on the cycle"
    assert target is not None
    for i, s in enumerate(states):
        if cond(s) and not any(target(states[j]) for j in range(min(i, loop_start), n + 1)):
            return f"the condition holds after step {i} and the target never holds from then on"
    return None


def _unfairness(model: Any, prop: Property, states: list[Any], positions: list[int], has_steps: bool) -> str:
    """Which fairness condition the cycle through ``positions`` violates ("" when it is fair)."""
    fairs = fairness_conditions(prop)
    if not fairs:
        return ""
    enabled: list[set[tuple[int, Hashable]]] = []
    taken: set[tuple[int, Hashable]] = set()
    for i in positions:
        s = states[i]
        here: set[tuple[int, Hashable]] = set()
        nxt_state = states[i + 1] if has_steps else None
        for a, t in model.successors(s):
            if t == s:
                continue  # a stuttering step is no step of any class
            for k, f in enumerate(fairs):
                if f.matches(s, a, t):
                    here.add((k, f.instance(a)))
                    if has_steps and t == nxt_state:
                        taken.add((k, f.instance(a)))
        enabled.append(here)
    always_on = set.intersection(*enabled) if enabled else set()
    sometimes_on = set.union(*enabled) if enabled else set()
    for k, f in enumerate(fairs):
        pool = sometimes_on if f.strong else always_on
        for cond in sorted((c for c in pool if c[0] == k and c not in taken), key=repr):
            inst = "" if f.per is None else f" instance {cond[1]!r}"
            how = "enabled infinitely often" if f.strong else "enabled throughout"
            return f"{f}{inst} is {how} but never taken"
    return ""
