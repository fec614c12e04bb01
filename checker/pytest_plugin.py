"""The splitbrain pytest plugin: gate a test suite (and CI) on protocol properties.

Registered through the ``pytest11`` entry point, so installing splitbrain is
enough. It offers:

- the ``splitbrain_check`` fixture: ``splitbrain_check(model_or_name, **params)``
  checks a model (an instance, a registered name, a name from the project
  config, ``path/to/file.py:Class`` or ``module:Class``) and fails the test
  with the counterexample rendered as
  numbered steps (and the trace file to replay) when a property is violated;
  ``expect_violation="Prop"`` asserts instead that a known bug is still
  caught and that its trace replays. It returns the ``CheckResult``. A run
  that leaves something undecided (exit 3 on the command line) passes unless
  ``strict=True``, which also fails on a declared action class never taken.
- command-line options ``--splitbrain-engine bfs|dfs|hypothesis|swarm|simulate``
  (default: the ``splitbrain_engine`` ini value, else the project config's
  ``engine``, else bfs),
  ``--splitbrain-budget N`` (examples for hypothesis, walks for swarm and simulate;
  the exhaustive engines have no budget) and ``--splitbrain-trace-dir DIR``
  (ini ``splitbrain_trace_dir``, else the project config's ``trace_dir``;
  default ``splitbrain-traces`` under the rootdir). An engine named in the
  call wins over the command line. The project config is ``[tool.splitbrain]``
  in the rootdir's pyproject.toml.
- ``replay_folder(path)``: a test function, parametrised over the trace files
  in a folder, that asserts each one still reproduces (a regression corpus)::

      from splitbrain.checker.pytest_plugin import replay_folder
      test_known_bugs = replay_folder(Path(__file__).parent / "traces")

Each failing test writes its own trace file, ``TEST-MODEL-PROPERTY-HASH8.json``
(the test's name, and a hash of model, parameters, property and steps), and
its failure message names that file: two failing tests never share a file,
also under pytest-xdist.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import pytest

ENGINES = ("bfs", "dfs", "hypothesis", "swarm", "simulate")
DEFAULT_TRACE_DIR = "splitbrain-traces"
PROJECT = pytest.StashKey[Any]()  # the project config, read once per session


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("splitbrain", "splitbrain protocol checks")
    group.addoption("--splitbrain-engine", choices=ENGINES, default=None,
                    help="engine for splitbrain_check: bfs, dfs (exhaustive), hypothesis, swarm, simulate (sampled)")
    group.addoption("--splitbrain-budget", type=int, default=None, metavar="N",
                    help="sampled engines: Hypothesis examples, or walks for swarm and simulate")
    group.addoption("--splitbrain-trace-dir", default=None, metavar="DIR",
                    help=f"where counterexample traces are written (default: {DEFAULT_TRACE_DIR} under the rootdir)")
    parser.addini("splitbrain_engine", "default engine for splitbrain_check (bfs, dfs, hypothesis, swarm, simulate)",
                  default="")
    parser.addini("splitbrain_trace_dir", "where counterexample traces are written", default="")


def pytest_configure(config: pytest.Config) -> None:
    budget = config.getoption("splitbrain_budget")
    if budget is not None and budget < 1:
        raise pytest.UsageError("--splitbrain-budget must be >= 1")
    engine = config.getini("splitbrain_engine")
    if engine and engine not in ENGINES:
        raise pytest.UsageError(f"ini splitbrain_engine = {engine!r}: expected one of {', '.join(ENGINES)}")
    from splitbrain.models import registry

    try:
        config.stash[PROJECT] = registry.project_config(path=config.rootpath / "pyproject.toml")
    except registry.UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


def default_engine(config: pytest.Config) -> str:
    """--splitbrain-engine, else the ini value, else the project config's engine, else bfs."""
    project = config.stash.get(PROJECT, None)
    return (config.getoption("splitbrain_engine") or config.getini("splitbrain_engine")
            or (project.engine if project else None) or "bfs")


def pytest_report_header(config: pytest.Config) -> str | None:
    engine, budget = config.getoption("splitbrain_engine"), config.getoption("splitbrain_budget")
    if engine is None and budget is None:
        return None
    return f"splitbrain: engine {default_engine(config)}, budget {budget or 'default'}"


class Checker:
    """What the ``splitbrain_check`` fixture returns: call it to check a model inside a test."""

    def __init__(self, engine: str, budget: int | None, trace_dir: Path, test_name: str = "", project: Any = None):
        self.engine = engine
        self.budget = budget
        self.trace_dir = trace_dir
        self.test_name = test_name  # the prefix of this test's trace files
        self.project = project

    def __call__(
        self,
        model_or_name: Any,
        *,
        engine: str | None = None,
        budget: int | None = None,
        max_depth: int | None = None,
        seed: int | None = None,
        expect_violation: str | None = None,
        strict: bool = False,
        **params: Any,
    ) -> Any:
        """Check a model; fail the test on a violation.

        ``model_or_name`` is a model instance, or a registered name, a name
        from the project config, ``path/to/file.py:Class`` or ``module:Class``
        built with ``params`` (typed as on the command line).

        For a registered actor model, ``faults="crash=1,loss"`` and
        ``network="fifo"`` choose its faults and network, as on the command line.
        ``max_depth`` bounds the exhaustive search, or the steps per run of
        the sampled engines. ``expect_violation`` names a property that must
        be violated (with a trace that replays); the test fails if it holds.
        ``strict``: also fail when the run leaves a property undecided (a
        depth bound cut behaviours, liveness not judged, a witness not
        reached), or a declared action class is never taken.
        """
        model = _model(model_or_name, params, self.project)
        engine = engine or self.engine
        if engine not in ENGINES:
            pytest.fail(f"splitbrain: unknown engine {engine!r} (engines: {', '.join(ENGINES)})", pytrace=False)
        result = run_engine(model, engine, budget or self.budget, max_depth, seed)
        if expect_violation is not None:
            _assert_caught(result, expect_violation, model)
        elif result.violated:
            pytest.fail(failure_message(result, self._save(result)), pytrace=False)
        elif strict:
            reasons = result.strict_failures() + [
                f"{p.kind} {p.name} undecided" + (f" ({p.note})" if p.note else "") for p in result.undecided
                if p.kind != "sometimes"]
            if reasons:
                params = ", ".join(f"{k}={v}" for k, v in result.params.items())
                pytest.fail(f"splitbrain: model {result.model} ({params}), engine {result.engine}, strict:\n  "
                            + "\n  ".join(reasons), pytrace=False)
        return result

    def _save(self, result: Any) -> Path | str | None:
        """Write this test's counterexample: its own file; the reason, as text, when writing fails."""
        trace = result.counterexample
        if trace is None:
            return None
        path = self.trace_dir / trace.file_name(prefix=self.test_name)
        try:
            return trace.save(path)
        except OSError as exc:
            return f"cannot write trace {path}: {exc.strerror or exc}"


def _model(model_or_name: Any, params: dict[str, Any], project: Any = None) -> Any:
    from splitbrain.models import registry

    if not isinstance(model_or_name, str):
        if params:
            pytest.fail("splitbrain: parameters go with a model name, not with a model instance", pytrace=False)
        return model_or_name
    try:
        # faults= and network= of actor models go to the factory, as --faults and --network do.
        own = {p.name for p in registry.get(model_or_name, project).params}
        extras = {k: params.pop(k) for k in ("faults", "network") if k in params and k not in own}
        return registry.build(model_or_name, params, config=project, **extras)
    except registry.UsageError as exc:
        message = f"splitbrain: {exc}"
    pytest.fail(message, pytrace=False)


def run_engine(model: Any, engine: str, budget: int | None, max_depth: int | None, seed: int | None) -> Any:
    """Run ``engine`` on ``model``; the CheckResult. Sampled engines use a fixed seed unless given one."""
    from splitbrain.checker.explore import check

    if engine in ("bfs", "dfs"):  # the exhaustive engines have no budget and no seed
        return check(model, engine, max_depth=max_depth)
    if engine == "simulate" and seed is None:
        seed = 0
    return check(model, engine, max_depth=max_depth, budget=budget, seed=seed)


def failure_message(result: Any, path: Path | str | None) -> str:
    """Which properties failed, the counterexample as numbered steps, and how to replay it."""
    from splitbrain.traces.render import render_trace

    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    lines = [f"splitbrain: model {result.model} ({params}), engine {result.engine}:"]
    for p in result.violated:
        what = "NOT REACHED" if p.kind == "sometimes" else "VIOLATED"
        lines.append(f"  {p.kind} {p.name} {what}" + (f" ({p.note})" if p.note else ""))
    if result.counterexample is not None:
        lines += ["", render_trace(result.counterexample)]
    if isinstance(path, str):
        lines += ["", f"splitbrain: warning: {path}"]
    elif path is not None:
        from splitbrain.checker.commands import replay_command

        lines += ["", f"Trace written to {path}; replay with: {replay_command(path, result.model)}"]
    return "\n".join(lines)


def _assert_caught(result: Any, name: str, model: Any) -> None:
    from splitbrain.traces.replay import replay

    try:
        prop = result.prop(name)
    except KeyError:
        known = ", ".join(p.name for p in result.properties)
        pytest.fail(f"splitbrain: model {result.model} has no property {name!r} (properties: {known})", pytrace=False)
    if prop.holds is not False:
        state = "holds" if prop.holds else "undecided"
        pytest.fail(f"splitbrain: expected {name} to be violated in model {result.model} "
                    f"(engine {result.engine}), but it {state}" + (f" ({prop.note})" if prop.note else ""),
                    pytrace=False)
    if prop.trace is not None:
        outcome = replay(prop.trace, model)
        if not outcome.reproduced:
            pytest.fail(f"splitbrain: the counterexample to {name} does not replay: {outcome.message}", pytrace=False)


@pytest.fixture
def splitbrain_check(request: pytest.FixtureRequest) -> Checker:
    """Check a model inside a test: ``splitbrain_check("paxos", acceptors=3)``; see :class:`Checker`."""
    config = request.config
    project = config.stash.get(PROJECT, None)
    trace_dir = Path(config.getoption("splitbrain_trace_dir") or config.getini("splitbrain_trace_dir")
                     or (project.trace_dir if project and project.trace_dir else DEFAULT_TRACE_DIR))
    if not trace_dir.is_absolute():
        trace_dir = config.rootpath / trace_dir
    test_name = re.sub(r"[^A-Za-z0-9_.=-]+", "_", request.node.name).strip("_")
    return Checker(default_engine(config), config.getoption("splitbrain_budget"), trace_dir, test_name, project)


def assert_replays(path: str | Path, model: str | None = None) -> None:
    """Fail the test unless the trace file at ``path`` reproduces its recorded outcome.

    ``model`` (a name, ``file.py:Class`` or ``module:Class``) is the model to
    replay on; default: the trace's model name, registered or in the project config.
    """
    from splitbrain.models.registry import UsageError
    from splitbrain.traces.format import TraceError, load
    from splitbrain.traces.render import render_trace
    from splitbrain.traces.replay import model_for, replay

    try:
        trace = load(path)
        outcome = replay(trace, model_for(trace, model))
    except (TraceError, UsageError) as exc:
        pytest.fail(f"splitbrain: {exc}", pytrace=False)
    if not outcome.reproduced:
        pytest.fail(f"{path}: NOT reproduced: {outcome.message}\n\n{render_trace(trace)}", pytrace=False)


def replay_folder(path: str | Path, pattern: str = "*.json", model: str | None = None) -> Callable[[Path], None]:
    """A test function, parametrised over the trace files in ``path``, asserting each reproduces.

    Bind it to a ``test_`` name in a test module. A relative ``path`` is
    taken from the current directory; ``Path(__file__).parent / "traces"``
    is the robust spelling. A folder that does not exist is an error at
    collection; an empty one gives a skipped test. ``model``: as for
    :func:`assert_replays`.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"replay_folder: {folder} is not a folder of trace files")
    files = sorted(folder.glob(pattern))

    @pytest.mark.parametrize("splitbrain_trace_file", files, ids=[f.name for f in files])
    def test_replay(splitbrain_trace_file: Path) -> None:
        assert_replays(splitbrain_trace_file, model)

    return test_replay
