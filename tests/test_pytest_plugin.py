"""The pytest plugin, exercised in inner pytest sessions (pytester), including one under xdist."""

from __future__ import annotations

import json
import re

import pytest

import splitbrain.checker.hypothesis  # noqa: F401  (imported once here rather than in every inner session)
from splitbrain.checker.explore import check
from splitbrain.checker.simulate import simulate
from splitbrain.models import registry
from splitbrain.traces.format import load
from splitbrain.traces.replay import model_for, replay

pytest_plugins = ["pytester"]

MODELS = '''
from splitbrain.models.core import Model
from splitbrain.properties.kinds import always, sometimes


class Buggy(Model):
    """A counter 0..n-1 with inc and reset; reaching ``bad`` is the bug (3 steps by default)."""

    name = "buggy"

    def __init__(self, n=6, bad=3):
        self.n, self.bad = n, bad

    def init_states(self):
        return [0]

    def successors(self, x):
        if x < self.n - 1:
            yield ("inc",), x + 1
        yield ("reset",), 0

    def properties(self):
        return [always("NotBad", lambda x: x != self.bad), sometimes("Top", lambda x: x == self.n - 1)]

    def render(self, x):
        return {"x": x}
'''


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """An inner project with a model module; not itself inside an xdist worker's environment."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(inner_models=MODELS)
    return pytester


def replays(path) -> bool:
    """Whether the trace file at ``path`` reproduces on inner_models' Buggy (imported from the current directory)."""
    trace = load(path)
    return replay(trace, model_for(trace, "inner_models:Buggy")).reproduced


def failure_sections(output: str) -> dict[str, str]:
    """Each failed test's section of pytest's report, by test name."""
    parts = re.split(r"\n_{3,} (\S+) _{3,}\n", output)
    return {name: re.split(r"\n(?:=|-){3,} ", text)[0] for name, text in zip(parts[1::2], parts[2::2])}


def assert_each_failure_names_its_own_trace(result, folder, count: int) -> None:
    """``count`` failures, each naming a different file in ``folder`` that holds the trace it shows."""
    sections = failure_sections(result.stdout.str())
    assert len(sections) == count
    files = set()
    for name, text in sections.items():
        (path,) = re.findall(r"Trace written to (\S+);", text)
        path = folder / path.rsplit("/", 1)[-1]
        files.add(path)
        trace = load(path)
        assert str(trace) in text.replace("\nE   ", "\n").replace("\nE  ", "\n")  # exactly the story shown
        assert path.name.startswith(re.sub(r"[^A-Za-z0-9_.=-]+", "_", name).strip("_") + "-buggy-NotBad-")
        assert replays(path)
    assert len(files) == count and set(folder.glob("*.json")) == files


def test_plugin_is_registered_by_entry_point(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("splitbrain")


def test_fixture_fails_with_numbered_steps_and_a_replayable_trace(project):
    project.makepyfile(inner_gate_test='''
from inner_models import Buggy

def test_protocol(splitbrain_check):
    splitbrain_check(Buggy())

def test_fixed(splitbrain_check):
    result = splitbrain_check(Buggy(bad=99))
    assert result.verdict == "ok" and result.engine == "bfs"
''')
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*splitbrain: model buggy (n=6, bad=3), engine bfs:*",
        "*always NotBad VIOLATED*",
        "*counterexample to NotBad (always), 3 steps*",
        "*1. inc*",
        "*2. inc*",
        "*3. inc*",
        "*NotBad is violated in the last state.*",
        "*Trace written to *splitbrain-traces*; replay with: splitbrain replay *",
    ])
    assert "splitbrain_check(Buggy())" not in result.stdout.str()  # no Python traceback, just the trace
    (path,) = (project.path / "splitbrain-traces").glob("*.json")
    assert path.name.startswith("test_protocol-buggy-NotBad-") and "gw" not in path.name
    assert replays(path)


TWO_FAILURES = '''
from inner_models import Buggy

def test_first(splitbrain_check):
    splitbrain_check(Buggy())

def test_second(splitbrain_check):
    splitbrain_check(Buggy())  # the same counterexample: still its own file

def test_other_bound(splitbrain_check):
    splitbrain_check(Buggy(bad=4))
'''


def test_each_failing_test_names_its_own_trace_file(project):
    project.makepyfile(inner_two_test=TWO_FAILURES)
    result = project.runpytest()
    result.assert_outcomes(failed=3)
    assert_each_failure_names_its_own_trace(result, project.path / "splitbrain-traces", 3)


def test_user_models_by_reference_and_the_project_config(project):
    project.makefile(".toml", pyproject='''
[tool.splitbrain]
models = { counter = "inner_models.py:Buggy" }
engine = "dfs"
trace_dir = "found"
''')
    project.makepyfile(inner_config_test='''
def test_by_config_name(splitbrain_check):
    result = splitbrain_check("counter", bad=99)
    assert result.engine == "dfs" and result.model == "counter" and result.params == {"n": 6, "bad": 99}

def test_by_module_reference(splitbrain_check):
    splitbrain_check("inner_models:Buggy", bad="4")

def test_bad_parameter(splitbrain_check):
    splitbrain_check("inner_models.py:Buggy", colour=1)
''')
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*model buggy has no parameter 'colour'*"])  # the class's own name
    (path,) = (project.path / "found").glob("*.json")
    assert path.name.startswith("test_by_module_reference-buggy-NotBad-")
    assert load(path).params == {"n": 6, "bad": 4}
    assert replays(path)


def test_a_malformed_project_config_is_a_usage_error(project):
    project.makefile(".toml", pyproject="[tool.splitbrain]\nengine = 3\n")
    project.makepyfile(inner_engine_test=ENGINE_TEST)
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*[[]tool.splitbrain[]]: engine must be a string*"])


def test_expect_violation_and_models_by_name(project):
    project.makepyfile(inner_bugs_test='''
def test_bug_still_caught(splitbrain_check):
    result = splitbrain_check("paxos", bug="minority_quorum", engine="simulate", expect_violation="Consistency")
    assert result.engine == "simulate"

def test_actor_model_with_faults(splitbrain_check):
    splitbrain_check("demo-register", faults="loss", expect_violation="Convergence")
    splitbrain_check("demo-register", network="fifo")  # no faults: every property holds

def test_expectation_fails_when_the_property_holds(splitbrain_check):
    splitbrain_check("twophase", rms=2, expect_violation="TCConsistent")

def test_unknown_parameter(splitbrain_check):
    splitbrain_check("paxos", nosuch=1)
''')
    result = project.runpytest()
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*expected TCConsistent to be violated in model twophase (engine bfs), but it holds*",
        "*splitbrain: model paxos has no parameter 'nosuch'*",
    ])
    assert not (project.path / "splitbrain-traces").exists()  # expected violations write no trace files


ENGINE_TEST = '''
from inner_models import Buggy

def test_engine(splitbrain_check, pytestconfig):
    result = splitbrain_check(Buggy(bad=99), max_depth=12)
    expected = pytestconfig.getoption("splitbrain_engine") or pytestconfig.getini("splitbrain_engine") or "bfs"
    assert result.engine == expected
    budget = pytestconfig.getoption("splitbrain_budget")
    if result.engine == "hypothesis":
        assert result.extra["max_examples"] == budget and result.max_depth == 12
    if result.engine == "simulate":
        assert result.extra["runs"] == budget and result.max_depth == 12

def test_pinned_engine_wins(splitbrain_check):
    assert splitbrain_check(Buggy(bad=99), engine="dfs").engine == "dfs"
'''


def test_engine_and_budget_from_the_command_line_and_ini(project):
    project.makepyfile(inner_engine_test=ENGINE_TEST)
    project.runpytest().assert_outcomes(passed=2)
    result = project.runpytest("--splitbrain-engine", "hypothesis", "--splitbrain-budget", "7")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["splitbrain: engine hypothesis, budget 7"])
    project.runpytest("--splitbrain-engine", "simulate", "--splitbrain-budget", "9").assert_outcomes(passed=2)
    project.makeini("[pytest]\nsplitbrain_engine = simulate\n")
    project.runpytest("--splitbrain-budget", "5").assert_outcomes(passed=2)


def test_bad_options_are_usage_errors(project):
    project.makepyfile(inner_engine_test=ENGINE_TEST)
    result = project.runpytest("--splitbrain-budget", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--splitbrain-budget must be >= 1*"])
    result = project.runpytest("--splitbrain-engine", "smt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    project.makeini("[pytest]\nsplitbrain_engine = fast\n")
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*splitbrain_engine = 'fast'*"])


def test_replay_folder_makes_one_test_per_trace_file(project):
    corpus = project.mkdir("corpus")
    violation = simulate(registry.build("paxos", {"bug": "minority_quorum"}), 300, 40, seed=1).counterexample
    violation.save(corpus / "paxos-minority.json")
    witness = check(registry.build("twophase", {"rms": 2})).prop("AllCommitted").trace
    witness.save(corpus / "twophase-witness.json")
    stale = json.loads((corpus / "paxos-minority.json").read_text())
    stale["actions"] = stale["actions"][:-1]
    stale["states"] = stale["states"][:-1]
    (corpus / "stale.json").write_text(json.dumps(stale))
    project.makepyfile(inner_corpus_test='''
from pathlib import Path
from splitbrain.checker.pytest_plugin import replay_folder

test_known_bugs = replay_folder(Path(__file__).parent / "corpus")
''')
    result = project.runpytest("-v")
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert "test_known_bugs[paxos-minority.json] PASSED" in out
    assert "test_known_bugs[twophase-witness.json] PASSED" in out
    assert "test_known_bugs[stale.json] FAILED" in out
    assert "stale.json: NOT reproduced: Consistency holds in the last state" in out
    project.makepyfile(inner_corpus_test='''
from splitbrain.checker.pytest_plugin import replay_folder

test_known_bugs = replay_folder("no/such/folder")
''')
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error
    result.stdout.fnmatch_lines(["*replay_folder: no/such/folder is not a folder of trace files*"])


def test_state_machine_test_case_is_collected_and_fails_readably(project):
    project.makepyfile(inner_case_test='''
from hypothesis import settings
from inner_models import Buggy
from splitbrain.hypothesis import state_machine

settings.load_profile("splitbrain-ci")
TestBuggy = state_machine(Buggy(), trace_dir="splitbrain-traces").TestCase
TestFixed = state_machine(Buggy(bad=99)).TestCase
''')
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*NotBad violated after 3 steps*", "*counterexample to NotBad (always), 3 steps*",
                                 "*1. inc*", "*splitbrain replay*"])
    (path,) = (project.path / "splitbrain-traces").glob("*.json")
    assert replays(path)


def test_xdist_splits_the_tests_and_each_failing_test_names_its_own_trace_file(project):
    project.makepyfile(inner_many_test='''
import pytest
from inner_models import Buggy

@pytest.mark.parametrize("i", range(4))
@pytest.mark.parametrize("engine", ["bfs", "simulate"])
def test_gate(splitbrain_check, engine, i):
    splitbrain_check(Buggy(), engine=engine)
''')
    project.makepyfile(inner_two_test=TWO_FAILURES)
    result = project.runpytest("-n", "2", "-v", "-p", "no:benchmark")
    result.assert_outcomes(failed=11)
    out = result.stdout.str()
    assert "[gw0]" in out and "[gw1]" in out  # both workers ran tests
    assert_each_failure_names_its_own_trace(result, project.path / "splitbrain-traces", 11)


def test_project_own_gate_on_paxos(splitbrain_check):
    # The project's own suite uses the plugin: the correct model passes, each bug is still caught.
    splitbrain_check("paxos", acceptors=2, values=1, max_ballot=1)
    # The swarm engine stops at the first property violated: disagreement itself for minority_quorum,
    # a conjunct of Inv (Msg2aSafe) first for vote_below_promise.
    for bug, prop in (("minority_quorum", "Consistency"), ("vote_below_promise", "Msg2aSafe")):
        assert bug in registry.get("paxos").bugs
        splitbrain_check("paxos", bug=bug, engine="swarm", expect_violation=prop)
