"""Counterexamples as data: the versioned JSON trace format.

A trace records which model (by name) and parameters it ran with, the
property it violates, the actions from an initial state, and a short
rendering of each state. Actions are stored as JSON arrays and read back as
tuples, so a replayed action compares equal to the one the model produced.

A trace names its model but never the code to run: replay finds the model by
that name in the registry or the project config, or is told ``--model
file.py:Class``. The ``factory`` field older files carry is ignored.

Format (version 1)::

    {"format": "splitbrain-trace", "version": 1,
     "model": "paxos", "params": {...},
     "property": "Consistency", "kind": "always",
     "init": 0,                      # index of the initial state, in init_states() order
     "actions": [[...], ...],
     "steps": ["one line per action", ...],
     "states": [rendering of state 0, state 1, ...],
     "loop_start": null,             # for a lasso: index of the state the cycle returns to
     "note": "", "extra": {...}}
"""
from __future__ import annotations

import hashlib
import json
import os
import re
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
        """Write the trace as JSON (creating parent folders); the file appears whole or not at all."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_json(), indent=1, default=str) + "\n"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(text)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def digest(self) -> str:
        """A short sha256 of model, parameters, property and actions: equal traces, equal digests."""
        key = json.dumps([self.model, to_jsonable(self.params), self.property, to_jsonable(self.actions)],
                         sort_keys=True, default=str)
        return hashlib.sha256(key.encode()).hexdigest()[:8]

    def file_name(self, prefix: str = "") -> str:
        """``[PREFIX-]MODEL-PROPERTY-HASH8.json``: traces that differ never share a name."""
        name = "-".join(p for p in (prefix, self.model, self.property, self.digest()) if p)
        return re.sub(r"[^A-Za-z0-9_.=-]+", "_", name) + ".json"

    def __str__(self) -> str:
        """The numbered story ``splitbrain check`` prints."""
        from splitbrain.traces.render import render_trace

        return render_trace(self)


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
    """A Trace from its parsed JSON form; TraceError names the first field that is wrong.

    Every field is checked for its type, so that an edited file is reported
    here, in one line, and never reaches the model. ``factory`` is ignored.
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TraceError(f"{where}: not a splitbrain trace (no \"format\": \"{FORMAT}\")")
    version = data.get("version")
    if version != VERSION or isinstance(version, bool):
        raise TraceError(f"{where}: trace version {version!r} is not supported (expected {VERSION})")
    required = {"model": str, "params": dict, "property": str, "kind": str, "actions": list}
    for key, typ in required.items():
        if not isinstance(data.get(key), typ):
            raise TraceError(f"{where}: field {key!r} missing or not a {_type_name(typ)}")
    optional = {"states": list, "steps": list, "init": int, "loop_start": int, "note": str, "extra": dict}
    for key, typ in optional.items():
        value = data.get(key)
        if value is not None and (not isinstance(value, typ) or isinstance(value, bool)):
            raise TraceError(f"{where}: field {key!r} is not a {_type_name(typ)}")
    if not data["model"]:
        raise TraceError(f"{where}: field 'model' is empty")
    for i, action in enumerate(data["actions"], 1):
        if not isinstance(action, list) or not _plain(action):
            raise TraceError(f"{where}: action {i} is not a list of numbers, strings and lists")
    if not all(isinstance(s, str) for s in data.get("steps") or []):
        raise TraceError(f"{where}: field 'steps' is not a list of strings")
    init, loop_start = data.get("init") or 0, data.get("loop_start")
    if init < 0:
        raise TraceError(f"{where}: field 'init' is negative")
    if loop_start is not None and not 0 <= loop_start <= len(data["actions"]):
        raise TraceError(f"{where}: field 'loop_start' {loop_start} is not a state of the trace")
    return Trace(
        model=data["model"],
        params=data["params"],
        property=data["property"],
        kind=data["kind"],
        actions=[to_action(a) for a in data["actions"]],
        states=list(data.get("states") or []),
        steps=list(data.get("steps") or []),
        init=init,
        loop_start=loop_start,
        note=data.get("note") or "",
        extra=dict(data.get("extra") or {}),
    )


def _type_name(typ: type) -> str:
    return {dict: "JSON object", list: "list", str: "string", int: "integer"}.get(typ, typ.__name__)


def _plain(value: Any) -> bool:
    """Whether ``value`` is made only of numbers, strings, booleans, null and lists (an action's shape)."""
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))
