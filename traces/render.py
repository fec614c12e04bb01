"""Text rendering of a trace: numbered steps, the action, and what changed."""

from __future__ import annotations

import json
from typing import Any

from splitbrain.traces.format import Trace


def _short(value: Any, width: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= width else text[: width - 3] + "..."


def changes(before: Any, after: Any) -> list[str]:
    """What differs between two state renderings, one line per changed field."""
    if isinstance(before, dict) and isinstance(after, dict):
        lines = []
        for key in list(before) + [k for k in after if k not in before]:
            old, new = before.get(key), after.get(key)
            if old == new:
                continue
            if isinstance(old, dict) and isinstance(new, dict):
                lines.extend(f"{key}.{line}" for line in changes(old, new))
            elif isinstance(old, list) and isinstance(new, list) and _few_positions(old, new):
                lines.extend(f"{key}[{i}]: {_short(a, 60)} -> {_short(b, 60)}"
                             for i, (a, b) in enumerate(zip(old, new)) if a != b)
            elif isinstance(old, list) and isinstance(new, list) and len(old) + len(new) > 2:
                lines.append(f"{key}: {_list_change(old, new)}")
            else:
                lines.append(f"{key}: {_short(old, 60)} -> {_short(new, 60)}")
        return lines
    if before == after:
        return []
    return [f"{_short(before, 60)} -> {_short(after, 60)}"]


def _few_positions(old: list, new: list) -> bool:
    """Whether a list kept its length and changed at one or two positions (one entry per process, say)."""
    return len(old) == len(new) and sum(a != b for a, b in zip(old, new)) <= 2


def _list_change(old: list, new: list) -> str:
    """A long list's change as the items it gained and lost (sets and message bags)."""
    olds = [json.dumps(x, sort_keys=True) for x in old]
    news = [json.dumps(x, sort_keys=True) for x in new]
    added = [x for x in news if x not in olds]
    removed = [x for x in olds if x not in news]
    parts = [f"+ {_short(x, 80)}" for x in added] + [f"- {_short(x, 80)}" for x in removed]
    return ", ".join(parts) if parts else f"same items, {len(new)} in all, reordered or repeated"


def render_trace(trace: Trace, color: bool = False) -> str:
    """The trace as numbered steps a person can follow."""
    bold = (lambda s: f"\033[1m{s}\033[0m") if color else (lambda s: s)
    red = (lambda s: f"\033[31m{s}\033[0m") if color else (lambda s: s)
    what = "witness for" if trace.kind == "sometimes" else "counterexample to"
    out = [bold(f"{trace.model}: {what} {trace.property} ({trace.kind}), {len(trace)} steps")]
    if trace.params:
        out.append("  params: " + ", ".join(f"{k}={v}" for k, v in trace.params.items()))
    if trace.note:
        out.append(f"  {trace.note}")
    states = trace.states
    if states:
        out.append(f"  0. initial state: {_short(states[0], 200)}")
    for i, action in enumerate(trace.actions, 1):
        desc = trace.steps[i - 1] if i - 1 < len(trace.steps) else str(action)
        marker = ""
        if trace.loop_start is not None and i - 1 == trace.loop_start:
            marker = "   <- cycle starts here"
        out.append(f"  {i}. {desc}{marker}")
        if i < len(states):
            for line in changes(states[i - 1], states[i]):
                out.append(f"       {line}")
    if trace.loop_start is not None:
        out.append(f"  ... then back to the state after step {trace.loop_start}: the cycle repeats forever")
    claim = trace.extra.get("claim")
    if trace.kind == "always":
        out.append(red(f"  {trace.property} is violated in the last state"
                       + (f": it says {claim}." if claim else ".")))
    elif claim:
        out.append(f"  {trace.property}: {claim}.")
    return "\n".join(out)
