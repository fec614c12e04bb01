"""The models the command line knows by name, with their typed parameters.

Each model module defines ``SPEC = ModelSpec(...)``; this registry lists the
modules. ``build(name, {"param": "text"})`` parses and checks the parameters and
raises :class:`UsageError` (one line, naming the problem) for bad input.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from splitbrain.models.core import Model

# One line per model module; each defines SPEC.
MODULES = [
    "splitbrain.models.twophase",
    "splitbrain.models.paxos",
    "splitbrain.models.paxoscommit",
    "splitbrain.models.raft.raft",
    "splitbrain.models.byzantine.bcastbyz",
    "splitbrain.models.byzantine.om",
    "splitbrain.models.byzantine.sm",
    "splitbrain.models.byzantine.pbft",
    "splitbrain.models.partitioning.model",
    "splitbrain.models.partitioning.migration",
    "splitbrain.models.examples.register",
    "splitbrain.models.examples.lease",
    "splitbrain.models.replication.chain",
    "splitbrain.models.replication.primary_backup",
    "splitbrain.models.replication.crdt",
    "splitbrain.models.replication.dynamo",
]


class UsageError(Exception):
    """A user mistake: unknown model, unknown or ill-typed parameter, bad file."""


@dataclass(frozen=True)
class Param:
    """One model parameter: its name, type, default and meaning."""

    name: str
    type: type
    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None

    def parse(self, text: Any) -> Any:
        """The parameter's value from command-line text (or an already typed value)."""
        value = text
        if isinstance(text, str):
            try:
                if self.type is bool:
                    low = text.strip().lower()
                    if low not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError(text)
                    value = low in ("true", "1", "yes")
                elif self.type is int:
                    value = int(text)
                else:
                    value = self.type(text)
            except ValueError:
                raise UsageError(
                    f"parameter {self.name}={text!r}: expected {self.type.__name__}"
                ) from None
        elif self.type is int and (not isinstance(value, int) or isinstance(value, bool)):
            raise UsageError(f"parameter {self.name}={value!r}: expected int")
        if self.choices is not None and value not in self.choices:
            opts = ", ".join(str(c) for c in self.choices)
            raise UsageError(f"parameter {self.name}={value!r}: expected one of {opts}")
        return value


@dataclass(frozen=True)
class ModelSpec:
    """How to build a model by name from the command line."""

    name: str
    summary: str
    factory: Callable[..., Model]
    params: tuple[Param, ...] = ()
    bugs: dict[str, str] = field(default_factory=dict)  # flag -> what it breaks
    faults: tuple[str, ...] = ()  # fault kinds the model supports (actor models)
    # ``check`` explores one state per symmetry class unless told --no-symmetry (as a
    # TLC .cfg's SYMMETRY): for models whose properties treat symmetric nodes alike.
    symmetry: bool = False

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise UsageError(f"model {self.name} has no parameter {name!r} (parameters: {known})")

    def parse_params(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Typed values for ``raw``, every parameter present (defaults filled in)."""
        values = {p.name: p.default for p in self.params}
        for name, text in raw.items():
            values[name] = self.param(name).parse(text)
        if "bug" in values and self.bugs:
            bug = values["bug"]
            if bug not in (None, "", "none") and bug not in self.bugs:
                raise UsageError(
                    f"model {self.name} has no bug flag {bug!r} (flags: {', '.join(self.bugs)})"
                )
        return values


_specs: dict[str, ModelSpec] | None = None


def specs() -> dict[str, ModelSpec]:
    """Every registered model, by name."""
    global _specs
    if _specs is None:
        found: dict[str, ModelSpec] = {}
        for mod in MODULES:
            spec = importlib.import_module(mod).SPEC
            found[spec.name] = spec
        _specs = found
    return _specs


def get(name: str) -> ModelSpec:
    """The spec of model ``name``, or a UsageError naming the known models."""
    table = specs()
    if name not in table:
        raise UsageError(f"unknown model {name!r} (known: {', '.join(sorted(table))})")
    return table[name]


def build(name: str, raw_params: dict[str, Any] | None = None, **extra: Any) -> Model:
    """A model instance from its name and parameters (text or typed values)."""
    spec = get(name)
    raw = dict(raw_params or {})
    for key in [k for k in extra if any(p.name == k for p in spec.params)]:
        value = extra.pop(key)  # a model that declares faults/network as parameters takes them as such
        if value is not None:
            raw[key] = value.spec() if hasattr(value, "spec") else value
    values = spec.parse_params(raw)
    try:
        model = spec.factory(**values, **extra)
    except ValueError as exc:  # a model's own check of its parameters
        raise UsageError(f"model {name}: {exc}") from None
    model.name = spec.name
    model._params = values
    return model
