"""The splitbrain pytest plugin: gate a test suite (and CI) on protocol properties.

Registered through the ``pytest11`` entry point, so installing splitbrain is
enough. It offers:

- the ``splitbrain_check`` fixture: ``splitbrain_check(model_or_name, **params)``
  checks a model and fails the test with the counterexample rendered as
  numbered steps (and the trace file to replay) when a property is violated;
  ``expect_violation="Prop"`` asserts instead that a known bug is still
  caught and that its trace replays. It returns the ``CheckResult``.
- command-line options ``--splitbrain-engine bfs|dfs|hypothesis|simulate``
  (default: the ``splitbrain_engine`` ini value, else bfs),
  ``--splitbrain-budget N`` (examples for hypothesis, walks for simulate;
  the exhaustive engines have no budget) and ``--splitbrain-trace-dir DIR``
  (ini ``splitbrain_trace_dir``; default ``splitbrain-traces`` under the
  rootdir). An engine named in the call wins over the command line.
- ``replay_folder(path)``: a test function, parametrised over the trace files
  in a folder, that asserts each one still reproduces (a regression corpus)::

      from splitbrain.checker.pytest_plugin import replay_folder
      test_known_bugs = replay_folder(Path(__file__).parent / "traces")

Under pytest-xdist each worker writes trace files whose names carry its id
(``...-gw0.json``), so workers never overwrite each other's traces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

ENGINES = ("bfs", "dfs", "hypothesis", "simulate")
DEFAULT_TRACE_DIR = "splitbrain-traces"
SIMULATE_RUNS = 1000
SIMULATE_DEPTH = 100


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("splitbrain", "splitbrain protocol checks")
    group.addoption("--splitbrain-engine", choices=ENGINES, default=None,
                    help="engine for splitbrain_check: bfs, dfs (exhaustive), hypothesis, simulate (sampled)")
    group.addoption("--splitbrain-budget", type=int, default=None, metavar="N",
                    help="sampled engines: Hypothesis examples, or random walks for simulate")
    group.addoption("--splitbrain-trace-dir", default=None, metavar="DIR",
                    help=f"where counterexample traces are written (default: {DEFAULT_TRACE_DIR} under the rootdir)")
    parser.addini("splitbrain_engine", "default engine for splitbrain_check (bfs, dfs, hypothesis, simulate)",
                  default="bfs")
    parser.addini("splitbrain_trace_dir", "where counterexample traces are written", default=DEFAULT_TRACE_DIR)


def pytest_configure(config: pytest.Config) -> None:
    budget = config.getoption("splitbrain_budget")
    if budget is not None and budget < 1:
        raise pytest.UsageError("--splitbrain-budget must be >= 1")
    engine = config.getini("splitbrain_engine")
    if engine not in ENGINES:
        raise pytest.UsageError(f"ini splitbrain_engine = {engine!r}: expected one of {', '.join(ENGINES)}")


def pytest_report_header(config: pytest.Config) -> str | None:
    engine, budget = config.getoption("splitbrain_engine"), config.getoption("splitbrain_budget")
    if engine is None and budget is None:
        return None
    return f"splitbrain: engine {engine or config.getini('splitbrain_engine')}, budget {budget or 'default'}"


class Checker:
    """What the ``splitbrain_check`` fixture returns: call it to check a model inside a test."""

    def __init__(self, engine: str, budget: int | None, trace_dir: Path):
        self.engine = engine
        self.budget = budget
        self.trace_dir = trace_dir

    def __call__(
        self,
        model_or_name: Any,
        *,
        engine: str | None = None,
        budget: int | None = None,
        max_depth: int | None = None,
        seed: int | None = None,
        expect_violation: str | None = None,
        **params: Any,
    ) -> Any:
        """Check a model (an instance, or a registered name with ``params``); fail the test on a violation.

        For a registered actor model, ``faults="crash=1,loss"`` and
        ``network="fifo"`` choose its faults and network, as on the command line.
        ``max_depth`` bounds the exhaustive search, or the steps per run of
        the sampled engines. ``expect_violation`` names a property that must
        be violated (with a trace that replays); the test fails if it holds.
        """
        model = _model(model_or_name, params)
        engine = engine or self.engine
        if engine not in ENGINES:
            pytest.fail(f"splitbrain: unknown engine {engine!r} (engines: {', '.join(ENGINES)})", pytrace=False)
        result = run_engine(model, engine, budget or self.budget, max_depth, seed)
        if expect_violation is not None:
            _assert_caught(result, expect_violation)
        elif result.violated:
            pytest.fail(failure_message(result, self._save(result)), pytrace=False)
        return result

    def _save(self, result: Any) -> Path | None:
        from splitbrain.checker.simulate import trace_file_name

        trace = result.counterexample
        if trace is None:
            return None
        return trace.save(self.trace_dir / trace_file_name(trace))


def _model(model_or_name: Any, params: dict[str, Any]) -> Any:
    from splitbrain.models import registry

    if not isinstance(model_or_name, str):
        if params:
            pytest.fail("splitbrain: parameters go with a model name, not with a model instance", pytrace=False)
        return model_or_name
    try:
        # faults= and network= of actor models go to the factory, as --faults and --network do.
        own = {p.name for p in registry.get(model_or_name).params}
        extras = {k: params.pop(k) for k in ("faults", "network") if k in params and k not in own}
        return registry.build(model_or_name, params, **extras)
    except registry.UsageError as exc:
        pytest.fail(f"splitbrain: {exc}", pytrace=False)


def run_engine(model: Any, engine: str, budget: int | None, max_depth: int | None, seed: int | None) -> Any:
    """Run ``engine`` on ``model``; the CheckResult. Sampled engines use a fixed seed unless given one."""
    if engine == "hypothesis":
        from splitbrain.checker.hypothesis import DEFAULT_MAX_STEPS, hypothesis_check

        return hypothesis_check(model, max_examples=budget, max_steps=max_depth or DEFAULT_MAX_STEPS, seed=seed)
    if engine == "simulate":
        from splitbrain.checker.simulate import simulate

        return simulate(model, budget or SIMULATE_RUNS, max_depth or SIMULATE_DEPTH, 0 if seed is None else seed)
    from splitbrain.checker.explore import check

    return check(model, engine, max_depth=max_depth)


def failure_message(result: Any, path: Path | None) -> str:
    """Which properties failed, the counterexample as numbered steps, and how to replay it."""
    from splitbrain.traces.render import render_trace

    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    lines = [f"splitbrain: model {result.model} ({params}), engine {result.engine}:"]
    for p in result.violated:
        what = "NOT REACHED" if p.kind == "sometimes" else "VIOLATED"
        lines.append(f"  {p.kind} {p.name} {what}" + (f" ({p.note})" if p.note else ""))
    if result.counterexample is not None:
        lines += ["", render_trace(result.counterexample)]
    if path is not None:
        lines += ["", f"Trace written to {path}; replay with: splitbrain replay {path}"]
    return "\n".join(lines)


def _assert_caught(result: Any, name: str) -> None:
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
        outcome = replay(prop.trace)
        if not outcome.reproduced:
            pytest.fail(f"splitbrain: the counterexample to {name} does not replay: {outcome.message}", pytrace=False)


@pytest.fixture
def splitbrain_check(request: pytest.FixtureRequest) -> Checker:
    """Check a model inside a test: ``splitbrain_check("paxos", acceptors=3)``; see :class:`Checker`."""
    config = request.config
    engine = config.getoption("splitbrain_engine") or config.getini("splitbrain_engine")
    trace_dir = Path(config.getoption("splitbrain_trace_dir") or config.getini("splitbrain_trace_dir"))
    if not trace_dir.is_absolute():
        trace_dir = config.rootpath / trace_dir
    return Checker(engine, config.getoption("splitbrain_budget"), trace_dir)


def assert_replays(path: str | Path) -> None:
    """Fail the test unless the trace file at ``path`` reproduces its recorded outcome."""
    from splitbrain.models.registry import UsageError
    from splitbrain.traces.format import TraceError, load
    from splitbrain.traces.render import render_trace
    from splitbrain.traces.replay import replay

    try:
        trace = load(path)
        outcome = replay(trace)
    except (TraceError, UsageError) as exc:
        pytest.fail(f"splitbrain: {exc}", pytrace=False)
    if not outcome.reproduced:
        pytest.fail(f"{path}: NOT reproduced: {outcome.message}\n\n{render_trace(trace)}", pytrace=False)


def replay_folder(path: str | Path, pattern: str = "*.json") -> Callable[[Path], None]:
    """A test function, parametrised over the trace files in ``path``, asserting each reproduces.

    Bind it to a ``test_`` name in a test module. A relative ``path`` is
    taken from the current directory; ``Path(__file__).parent / "traces"``
    is the robust spelling. A folder that does not exist is an error at
    collection; an empty one gives a skipped test.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"replay_folder: {folder} is not a folder of trace files")
    files = sorted(folder.glob(pattern))

    @pytest.mark.parametrize("splitbrain_trace_file", files, ids=[f.name for f in files])
    def test_replay(splitbrain_trace_file: Path) -> None:
        assert_replays(splitbrain_trace_file)

    return test_replay
