"""Counterexamples as data: the versioned JSON trace format.

A trace records which model (name, factory and parameters) and faults it ran
with, the property it violates, the actions from an initial state, and a short
rendering of each state. Actions are stored as JSON arrays and read back as
tuples, so a replayed action compares equal to the one the model produced.

Format (version 1)::

    {"format": "splitbrain-trace", "version": 1,
     "model": "paxos", "factory": "splitbrain.models.paxos:Paxos", "params": {...},
     "property": "Consistency", "kind": "always",
     "init": 0,                      # index of the initial state, in init_states() order
     "actions": [[...], ...],
     "steps": ["one line per action", ...],
     "states": [rendering of state 0, state 1, ...],
     "loop_start": null}             # for a lasso: index of the state the cycle returns to
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "splitbrain-trace"
VERSION = 1


class TraceError(Exception):
    """A trace file that cannot be read: not JSON, wrong format, missing fields."""


@dataclass
class Trace:
    """A behaviour of a model that violates ``property`` (or witnesses it)."""

    model: str
    params: dict[str, Any]
    property: str
    kind: str
    actions: list[Any]
    states: list[Any]
    steps: list[str]
    factory: str = ""
    init: int = 0
    loop_start: int | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.actions)

    def to_json(self) -> dict[str, Any]:
        data = {"format": FORMAT, "version": VERSION}
        data.update(asdict(self))
        data["actions"] = [to_jsonable(a) for a in self.actions]
        data["params"] = to_jsonable(self.params)
        return data

    def save(self, path: str | Path) -> Path:
        """Write the trace as JSON (creating parent folders)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")
        return path


def to_jsonable(x: Any) -> Any:
    """Tuples to lists, frozensets to sorted lists, recursively."""
    if isinstance(x, (tuple, list)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, (frozenset, set)):
        return sorted((to_jsonable(v) for v in x), key=repr)
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    return x


def to_action(x: Any) -> Any:
    """A JSON value back as an action: lists become tuples, recursively."""
    if isinstance(x, list):
        return tuple(to_action(v) for v in x)
    return x


def load(path: str | Path) -> Trace:
    """Read a trace file; TraceError names what is wrong."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise TraceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TraceError(f"{path}: not a JSON trace: {exc}") from None
    return from_json(data, str(path))


def from_json(data: Any, where: str = "trace") -> Trace:
    """A Trace from its parsed JSON form; TraceError names what is wrong."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TraceError(f"{where}: not a splitbrain trace (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise TraceError(f"{where}: trace version {data.get('version')!r} is not supported (expected {VERSION})")
    required = {"model": str, "params": dict, "property": str, "kind": str, "actions": list}
    for key, typ in required.items():
        if not isinstance(data.get(key), typ):
            raise TraceError(f"{where}: field {key!r} missing or not a {typ.__name__}")
    return Trace(
        model=data["model"],
        params=data["params"],
        property=data["property"],
        kind=data["kind"],
        actions=[to_action(a) for a in data["actions"]],
        states=list(data.get("states") or []),
        steps=list(data.get("steps") or []),
        factory=str(data.get("factory") or ""),
        init=int(data.get("init") or 0),
        loop_start=data.get("loop_start"),
        note=str(data.get("note") or ""),
        extra=dict(data.get("extra") or {}),
    )
