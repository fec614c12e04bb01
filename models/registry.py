"""The models the command line knows by name, with their typed parameters.

Each built-in model module defines ``SPEC = ModelSpec(...)``; this registry
lists the modules. A model reference is one of

- a registered name (``paxos``), or a name the project config registers;
- ``path/to/file.py:ClassName``: the file is loaded by its path, with its
  folder on ``sys.path`` while it loads (so it can import its siblings);
- ``package.module:ClassName``: imported as usual, the current directory
  included.

A user's class needs no registration: its parameters are its constructor's
(typed by annotation or default: int, bool, str, float; one without a
default is required), its summary the first line of its docstring. Class
attributes ``bugs = {"flag": "what it breaks"}`` (the values its ``bug``
parameter takes), ``breaks = {"flag": ("Property", ...)}`` (the properties
each flag violates, as ``list`` shows) and ``symmetry = True`` (``check`` explores one state per
symmetry class by default) declare what built-in models declare in their
SPEC. The project config is ``[tool.splitbrain]`` in the nearest
pyproject.toml (see :func:`project_config`).

``build(ref, {"param": "text"})`` parses and checks the parameters and
raises :class:`UsageError` (one line, naming the problem) for bad input.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import tomllib
import types
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path
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
    "splitbrain.models.service.circuit_breaker",
    "splitbrain.models.service.retries",
    "splitbrain.models.service.load_balancer",
    "splitbrain.models.service.health_checks",
    "splitbrain.models.service.discovery",
    "splitbrain.models.service.autoscaler",
]


class UsageError(Exception):
    """A user mistake: unknown model, unknown or ill-typed parameter, bad file."""


@dataclass(frozen=True)
class Param:
    """One model parameter: its name, type, default and meaning (``required``: no default)."""

    name: str
    type: type
    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None
    required: bool = False

    def parse(self, text: Any, typed: bool = False) -> Any:
        """The parameter's value from command-line text (or an already typed value).

        With ``typed`` (values read from a trace file) text is accepted only
        for a str parameter: every value must already have its type.
        """
        value = text
        if isinstance(text, str) and not (typed and self.type is not str):
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
        elif not self._has_type(value):
            raise UsageError(f"parameter {self.name}={value!r}: expected {self.type.__name__}")
        if self.choices is not None and value not in self.choices:
            opts = ", ".join(str(c) for c in self.choices)
            raise UsageError(f"parameter {self.name}={value!r}: expected one of {opts}")
        return value

    def _has_type(self, value: Any) -> bool:
        if value is None:
            return self.default is None and not self.required
        if self.type is float:
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if self.type is int:
            return isinstance(value, int) and not isinstance(value, bool)
        if self.type in (bool, str):
            return isinstance(value, self.type)
        return True  # a parameter of another type: the model checks it


@dataclass(frozen=True)
class ModelSpec:
    """How to build a model by name from the command line."""

    name: str
    summary: str
    factory: Callable[..., Model]
    params: tuple[Param, ...] = ()
    bugs: dict[str, str] = field(default_factory=dict)  # flag -> what it breaks
    # flag -> the safety properties it violates at its own default bounds, where the
    # correct model (bug=none, same other parameters) passes
    breaks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    faults: tuple[str, ...] = ()  # fault kinds the model supports (actor models)
    # ``check`` explores one state per symmetry class unless told --no-symmetry (as a
    # TLC .cfg's SYMMETRY): for models whose properties treat symmetric nodes alike.
    symmetry: bool = False
    # where a user's model comes from ("path/file.py:Class" or "module:Class"); "" when built in
    origin: str = ""

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise UsageError(f"model {self.name} has no parameter {name!r} (parameters: {known})")

    def parse_params(self, raw: dict[str, Any], typed: bool = False) -> dict[str, Any]:
        """Typed values for ``raw``, every parameter present (defaults filled in).

        ``typed``: the values come from a trace and must already have their types.
        """
        values = {p.name: p.default for p in self.params if not p.required}
        for name, text in raw.items():
            values[name] = self.param(name).parse(text, typed)
        missing = [p.name for p in self.params if p.name not in values]
        if missing:
            raise UsageError(f"model {self.name} needs parameter {missing[0]} (-p {missing[0]}=VALUE)")
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


# -- the project config --------------------------------------------------------
ENGINES = ("bfs", "dfs", "hypothesis", "swarm")
CONFIG_KEYS = ("models", "engine", "faults", "trace_dir")


@dataclass(frozen=True)
class ProjectConfig:
    """``[tool.splitbrain]`` of a project's pyproject.toml (every field optional).

    ``models`` maps a name to a reference (``file.py:Class`` relative to the
    config's folder, or ``module:Class``); ``engine`` is the default engine of
    ``check``; ``faults`` the default ``--faults`` of models that support
    faults; ``trace_dir`` where counterexamples are written (relative to the
    config's folder).
    """

    path: Path | None = None
    models: dict[str, str] = field(default_factory=dict)
    engine: str | None = None
    faults: str | None = None
    trace_dir: Path | None = None

    @property
    def root(self) -> Path:
        """The folder relative paths in the config are taken from."""
        return self.path.parent if self.path else Path.cwd()


def find_pyproject(start: str | Path | None = None) -> Path | None:
    """The nearest pyproject.toml in ``start`` (default: the current directory) or above."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def project_config(start: str | Path | None = None, path: str | Path | None = None) -> ProjectConfig:
    """The ``[tool.splitbrain]`` table of ``path``, or of the nearest pyproject.toml from ``start``.

    A malformed file or table raises UsageError naming the file and the key.
    """
    file = Path(path) if path is not None else find_pyproject(start)
    if file is None or not file.is_file():
        return ProjectConfig()
    try:
        data = tomllib.loads(file.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{file}: cannot read the project config: {exc}") from None
    table = data.get("tool", {}).get("splitbrain") if isinstance(data.get("tool"), dict) else None
    if table is None:
        return ProjectConfig(path=file)
    where = f"{file}: [tool.splitbrain]"
    if not isinstance(table, dict):
        raise UsageError(f"{where} must be a table")
    unknown = sorted(set(table) - set(CONFIG_KEYS))
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (keys: {', '.join(CONFIG_KEYS)})")
    models = table.get("models", {})
    if not isinstance(models, dict) or not all(isinstance(v, str) and ":" in v for v in models.values()):
        raise UsageError(f'{where}: models must be a table of name = "file.py:Class" or "module:Class"')
    clash = sorted(set(models) & set(specs()))
    if clash:
        raise UsageError(f"{where}: model name {clash[0]!r} is a built-in model; choose another name")
    for key in ("engine", "faults", "trace_dir"):
        if key in table and not isinstance(table[key], str):
            raise UsageError(f"{where}: {key} must be a string")
    engine = table.get("engine")
    if engine is not None and engine not in ENGINES:
        raise UsageError(f"{where}: engine {engine!r} is not one of {', '.join(ENGINES)}")
    trace_dir = table.get("trace_dir")
    return ProjectConfig(
        path=file,
        models=dict(models),
        engine=engine,
        faults=table.get("faults"),
        trace_dir=file.parent / trace_dir if trace_dir is not None else None,
    )


# -- user models: classes from files and modules ---------------------------------
_loaded: dict[tuple[str, Path], ModelSpec] = {}
_TYPES = {"int": int, "bool": bool, "str": str, "float": float}


def is_reference(ref: str) -> bool:
    """Whether ``ref`` names a class (``file.py:Class``, ``module:Class``) rather than a registered model."""
    return ":" in ref


def _on_sys_path(folder: Path) -> Callable[[], None]:
    """Put ``folder`` first on sys.path; the function that takes it off again."""
    entry = str(folder)
    sys.path.insert(0, entry)

    def undo() -> None:
        if entry in sys.path:
            sys.path.remove(entry)
    return undo


def _import_file(path: Path, given: str) -> Any:
    """The module in the file at ``path``, loaded once per process."""
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    name = f"splitbrain_user_{''.join(c if c.isalnum() else '_' for c in path.stem)}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {given}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    undo = _on_sys_path(path.parent)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: any error is theirs to fix, in one line
        del sys.modules[name]
        raise UsageError(f"cannot load {given}: {type(exc).__name__}: {exc}") from None
    finally:
        undo()
    return module


def _import_module(name: str, base: Path) -> Any:
    undo = _on_sys_path(base)
    try:
        return importlib.import_module(name)
    except Exception as exc:  # ImportError, or any error raised while the module runs
        raise UsageError(f"cannot import {name}: {type(exc).__name__}: {exc}") from None
    finally:
        undo()


def _param_type(annotation: Any, default: Any) -> type | None:
    """int, bool, str or float for a constructor parameter; None when it is none of them."""
    if isinstance(annotation, str):  # an annotation get_type_hints could not evaluate
        parts = [p.strip() for p in annotation.replace("Optional[", "").rstrip("]").split("|")]
        parts = [p for p in parts if p != "None"]
        return _TYPES.get(parts[0]) if len(parts) == 1 else None
    if annotation in _TYPES.values():
        return annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args and len(args) == 1 and typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return _param_type(args[0], default)
    if annotation is inspect.Parameter.empty and default not in (None, inspect.Parameter.empty):
        return type(default) if type(default) in _TYPES.values() else None
    return None


def spec_for_class(cls: Any, origin: str, name: str | None = None) -> ModelSpec:
    """A ModelSpec for a user's Model subclass: parameters from its constructor (see the module docstring)."""
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise UsageError(f"{origin} is not a splitbrain Model subclass")
    module_spec = getattr(sys.modules.get(cls.__module__), "SPEC", None)
    if isinstance(module_spec, ModelSpec) and module_spec.factory is cls:
        return replace(module_spec, name=name or module_spec.name, origin=origin)
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # an annotation naming something not importable: fall back to its text
        hints = {}
    params = []
    signature = inspect.signature(cls.__init__)
    for p in list(signature.parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        typ = _param_type(hints.get(p.name, p.annotation), p.default)
        required = p.default is p.empty
        if typ is None:
            if required:
                raise UsageError(f"{origin}: parameter {p.name} needs a default or the type int, bool, str or float")
            continue  # not settable from the command line; the constructor's default applies
        params.append(Param(p.name, typ, None if required else p.default, required=required))
    bugs = getattr(cls, "bugs", {})
    if not isinstance(bugs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in bugs.items()):
        raise UsageError(f'{origin}: bugs must be a dict of flag -> what it breaks, e.g. {{"no_turn": "..."}}')
    breaks = getattr(cls, "breaks", {})
    if not isinstance(breaks, dict) or not all(
            k in bugs and isinstance(v, (tuple, list)) and all(isinstance(x, str) for x in v) for k, v in breaks.items()):
        raise UsageError(f'{origin}: breaks must be a dict of bug flag -> the properties it violates, '
                         f'e.g. {{"no_turn": ("MutualExclusion",)}}')
    symmetry = getattr(cls, "symmetry", False)
    if not isinstance(symmetry, bool):
        raise UsageError(f"{origin}: symmetry must be True or False")
    own_name = cls.__dict__.get("name")
    model_name = name or (own_name if isinstance(own_name, str) else cls.__name__)
    if model_name in specs():  # its traces would replay on the built-in model
        raise UsageError(f"{origin} is called {model_name!r}, the name of a built-in model: give it another name")
    doc = (cls.__doc__ or "").strip().splitlines()
    return ModelSpec(
        name=model_name,
        summary=doc[0] if doc else cls.__name__,
        factory=cls,
        params=tuple(params),
        bugs=dict(bugs),
        breaks={k: tuple(v) for k, v in breaks.items()},
        symmetry=symmetry,
        origin=origin,
    )


def load_reference(ref: str, base: str | Path | None = None, name: str | None = None) -> ModelSpec:
    """The spec of ``file.py:Class`` or ``module:Class``; relative files and modules are found from ``base``."""
    base = Path(base) if base is not None else Path.cwd()
    where, _, qualname = ref.rpartition(":")
    if not where or not qualname:
        raise UsageError(f"model {ref!r}: expected NAME, path/to/file.py:Class or package.module:Class")
    is_file = where.endswith(".py") or "/" in where or "\\" in where
    key = (qualname, (base / where).resolve() if is_file else Path(where))
    if key in _loaded and name is None:
        return _loaded[key]
    if is_file:
        path = key[1]
        if not path.is_file():
            raise UsageError(f"model {ref!r}: no such file {where}")
        module = _import_file(path, where)
    else:
        module = _import_module(where, base)
    obj: Any = module
    for part in qualname.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"model {ref!r}: {where} has no class {qualname!r}")
        obj = getattr(obj, part)
    spec = spec_for_class(obj, ref, name)
    if name is None:
        _loaded[key] = spec
    return spec


def origin_of(name: str) -> str:
    """The class reference a model called ``name`` was loaded from in this process, when it has no registered name."""
    for spec in _loaded.values():
        if spec.name == name and name not in specs():
            return spec.origin
    return ""


def get(name: str, config: ProjectConfig | None = None) -> ModelSpec:
    """The spec of model ``name``: registered, named by the project config, or a class reference.

    ``config`` defaults to the project config found from the current directory.
    UsageError names the known models when ``name`` is none of them.
    """
    table = specs()
    if name in table:
        return table[name]
    if is_reference(name):
        return load_reference(name)
    config = config if config is not None else project_config()
    if name in config.models:
        return load_reference(config.models[name], config.root, name=name)
    known = ", ".join(sorted(table) + sorted(config.models))
    raise UsageError(f"unknown model {name!r} (known: {known}; or give path/to/file.py:Class or module:Class)")


def build(name: str, raw_params: dict[str, Any] | None = None, *, config: ProjectConfig | None = None,
          typed: bool = False, **extra: Any) -> Model:
    """A model instance from its name or reference and parameters (text or typed values).

    ``typed``: the parameters come from a trace file and must already have their types.
    """
    spec = get(name, config)
    raw = dict(raw_params or {})
    for key in [k for k in extra if any(p.name == k for p in spec.params)]:
        value = extra.pop(key)  # a model that declares faults/network as parameters takes them as such
        if value is not None:
            raw[key] = value.spec() if hasattr(value, "spec") else value
    values = spec.parse_params(raw, typed)
    try:
        model = spec.factory(**values, **extra)
    except ValueError as exc:  # a model's own check of its parameters
        raise UsageError(f"model {spec.name}: {exc}") from None
    except Exception as exc:
        if not spec.origin:
            raise
        raise UsageError(f"model {spec.name}: the constructor raised {type(exc).__name__}: {exc}") from None
    model.name = spec.name
    model._params = values
    return model
