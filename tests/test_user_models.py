"""The user's own model: by file or module reference, with the project config, from check to replay."""

from __future__ import annotations

import json
import textwrap
from collections import deque
from pathlib import Path

import pytest

import splitbrain
from splitbrain.checker.cli import main
from splitbrain.models import registry

USER_PROJECT = Path(__file__).resolve().parent / "data" / "userproject"
PETERSON = f"{USER_PROJECT / 'peterson.py'}:Peterson"
BUGGY = f"{USER_PROJECT / 'peterson.py'}:BuggyPeterson"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, err) -> str:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, (code, err)
    return lines[0]


def brute_force_count(model) -> int:
    """Reachable states by a plain breadth-first search over the model's successors."""
    seen = set(model.init_states())
    queue = deque(seen)
    while queue:
        for _, nxt in model.successors(queue.popleft()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return len(seen)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_check_a_model_given_by_file_path(capsys, workdir):
    code, out, err = run(capsys, "check", PETERSON, "--json")
    assert code == 0, err
    data = json.loads(out)
    spec = registry.get(PETERSON)
    assert data["model"] == "Peterson" and data["params"] == {"bug": "none"} and data["verdict"].startswith("ok")
    assert data["distinct_states"] == brute_force_count(spec.factory())


def test_a_bug_flag_a_trace_and_its_replay_with_model(capsys, workdir):
    code, out, err = run(capsys, "check", PETERSON, "-p", "bug=turn_to_self")
    assert code == 1
    assert "Peterson: counterexample to MutualExclusion (always), 6 steps" in out
    assert "  6. enter(1)\n       pc[1]: wait -> cs\n" in out  # a per-process list changes by position
    (trace,) = (workdir / "splitbrain-traces").glob("*.json")
    assert trace.name.startswith("Peterson-MutualExclusion-")
    assert f"replay with: splitbrain replay splitbrain-traces/{trace.name} --model {PETERSON}" in out
    code, out, err = run(capsys, "replay", trace, "--model", PETERSON)
    assert code == 0 and "reproduced: MutualExclusion violated at step 6" in out
    code, out, err = run(capsys, "replay", trace)  # the trace alone names no code to load
    assert "--model path/to/file.py:Class" in one_line_error(code, err)


def test_a_model_given_by_module_reference_from_the_current_directory(capsys, monkeypatch):
    monkeypatch.chdir(USER_PROJECT)
    code, out, err = run(capsys, "check", "peterson:BuggyPeterson", "--json", "--trace-out", "/dev/null/x.json")
    assert code == 1 and json.loads(out)["model"] == "BuggyPeterson"
    assert "cannot write trace" in err  # /dev/null is no folder: a warning, the verdict stays


def test_bug_flags_are_checked_and_listed(capsys, workdir):
    line = one_line_error(*run(capsys, "check", PETERSON, "-p", "bug=nosuch")[::2])
    assert "has no bug flag 'nosuch' (flags: turn_to_self)" in line
    code, out, err = run(capsys, "list", PETERSON)
    assert code == 0
    assert out.startswith("Peterson: Peterson's two-process mutual exclusion.")
    assert f"from {PETERSON}" in out and "-p bug=none" in out and "bug=turn_to_self: " in out


RING = """
    from splitbrain import Model, always


    class Ring(Model):
        '''Tokens on a ring of n places; a test model with typed parameters.'''

        bugs = {"skip": "a token jumps two places"}
        symmetry = True
        has_symmetry = True

        def __init__(self, n: int, scale: float = 1.0, fast: bool = False, label: str = "r", bug: str = "none"):
            if n < 2:
                raise ValueError("n must be at least 2")
            self.n, self.scale, self.fast, self.label, self.bug = n, scale, fast, label, bug

        def init_states(self):
            return [(0, 0)]

        def successors(self, state):
            a, b = state
            step = 2 if self.bug == "skip" else 1
            yield ("move", 0), ((a + step) % self.n, b)
            yield ("move", 1), (a, (b + step) % self.n)

        def canonical(self, state):
            return tuple(sorted(state))

        def properties(self):
            return [always("Apart", lambda s: True)]
"""


def test_parameters_are_typed_from_the_constructor(capsys, workdir):
    write(workdir / "ring.py", RING)
    assert "needs parameter n (-p n=VALUE)" in one_line_error(*run(capsys, "check", "ring.py:Ring")[::2])
    assert "n='x': expected int" in one_line_error(*run(capsys, "check", "ring.py:Ring", "-p", "n=x")[::2])
    assert "scale='big': expected float" in one_line_error(
        *run(capsys, "check", "ring.py:Ring", "-p", "n=3", "-p", "scale=big")[::2])
    assert "fast='maybe': expected bool" in one_line_error(
        *run(capsys, "check", "ring.py:Ring", "-p", "n=3", "-p", "fast=maybe")[::2])
    assert "has no parameter 'colour'" in one_line_error(
        *run(capsys, "check", "ring.py:Ring", "-p", "n=3", "-p", "colour=red")[::2])
    assert "model Ring: n must be at least 2" in one_line_error(*run(capsys, "check", "ring.py:Ring", "-p", "n=1")[::2])
    code, out, err = run(capsys, "check", "ring.py:Ring", "-p", "n=4", "-p", "fast=yes", "-p", "scale=2", "--json")
    data = json.loads(out)
    assert code == 0 and data["params"] == {"n": 4, "scale": 2.0, "fast": True, "label": "r", "bug": "none"}
    # symmetry = True: check explores one state per class by default: 10 unordered pairs of 4 places, not 16.
    assert data["symmetry"] is True and data["distinct_states"] == 10
    code, out, err = run(capsys, "check", "ring.py:Ring", "-p", "n=4", "--no-symmetry", "--json")
    assert json.loads(out)["distinct_states"] == 16
    code, out, err = run(capsys, "list", "ring.py:Ring")
    assert "-p n=REQUIRED" in out and "float" in out and "bug=skip: a token jumps two places" in out
    assert "one state per symmetry class" in out


@pytest.mark.parametrize("source,fragment", [
    ("import no_such_module\n", "cannot load broken.py: ModuleNotFoundError: No module named 'no_such_module'"),
    ("def f(:\n", "cannot load broken.py: SyntaxError"),
    ("class Other: pass\n", "is not a splitbrain Model subclass"),
    ("from splitbrain import Model\nclass Broken(Model):\n    def __init__(self):\n        raise RuntimeError('boom')\n"
     "    def init_states(self):\n        return [0]\n", "the constructor raised RuntimeError: boom"),
    ("from splitbrain import Model\nclass Broken(Model):\n    def __init__(self, graph: dict):\n        pass\n",
     "parameter graph needs a default or the type int, bool, str or float"),
    ("X = 1\n", "broken.py has no class 'Broken'"),
    ("from splitbrain import Model\nclass Broken(Model):\n    name = 'paxos'\n    def init_states(self):\n"
     "        return [0]\n", "is called 'paxos', the name of a built-in model"),
])
def test_a_broken_user_model_is_one_line_and_exit_2(capsys, workdir, source, fragment):
    (workdir / "broken.py").write_text(source.replace("class Other", "class Broken"))
    assert fragment in one_line_error(*run(capsys, "check", "broken.py:Broken")[::2])


def test_missing_files_classes_and_modules_are_one_line_and_exit_2(capsys, workdir):
    assert "no such file nothere.py" in one_line_error(*run(capsys, "check", "nothere.py:X")[::2])
    assert "cannot import no_such_pkg.mod" in one_line_error(*run(capsys, "check", "no_such_pkg.mod:X")[::2])
    assert "or give path/to/file.py:Class" in one_line_error(*run(capsys, "check", "nosuchmodel")[::2])


def test_the_project_config_names_models_and_sets_engine_faults_and_trace_dir(capsys, workdir, monkeypatch):
    write(workdir / "pyproject.toml", f"""
        [tool.splitbrain]
        models = {{ mutex = "{USER_PROJECT / 'peterson.py'}:BuggyPeterson", ring = "lib/ring.py:Ring" }}
        engine = "dfs"
        faults = "crash=1"
        trace_dir = "out"
    """)
    (workdir / "lib").mkdir()
    write(workdir / "lib" / "ring.py", RING)
    sub = workdir / "deeper"
    sub.mkdir()
    monkeypatch.chdir(sub)  # the config is found from the current directory upwards; paths are the config's
    code, out, err = run(capsys, "check", "mutex", "--json")
    data = json.loads(out)
    assert code == 1 and data["engine"] == "dfs" and data["model"] == "mutex"
    assert Path(data["trace"]).parent == workdir / "out"
    code, out, err = run(capsys, "replay", data["trace"])  # a configured name replays by itself
    assert code == 0 and "reproduced" in out
    code, out, err = run(capsys, "check", "ring", "-p", "n=3", "--engine", "bfs", "--json")
    assert code == 0 and json.loads(out)["engine"] == "bfs"  # the command line wins; faults only for actor models
    code, out, err = run(capsys, "list")
    assert "mutex: Peterson's algorithm with the turn given to oneself" in out and "ring: Tokens on a ring" in out
    # actor models get the configured faults unless --faults is given
    code, out, err = run(capsys, "check", "demo-register", "--json", "--max-depth", "3")
    assert "crash" in json.loads(out)["params"]["faults"]


@pytest.mark.parametrize("config,fragment", [
    ("[tool.splitbrain\n", "cannot read the project config"),
    ("[tool.splitbrain]\ncolour = 'red'\n", "unknown key 'colour'"),
    ("[tool.splitbrain]\nengine = 'magic'\n", "engine 'magic' is not one of bfs, dfs, hypothesis"),
    ("[tool.splitbrain]\nmodels = { a = 3 }\n", "models must be a table of name"),
    ("[tool.splitbrain]\nmodels = { paxos = 'x.py:X' }\n", "model name 'paxos' is a built-in model"),
    ("[tool.splitbrain]\ntrace_dir = 5\n", "trace_dir must be a string"),
])
def test_a_malformed_project_config_is_one_line_and_exit_2(capsys, workdir, config, fragment):
    (workdir / "pyproject.toml").write_text(config)
    line = one_line_error(*run(capsys, "check", PETERSON)[::2])
    assert fragment in line and "pyproject.toml" in line


def test_trace_files_never_overwrite_each_other_and_trace_out_takes_a_folder(capsys, workdir):
    run(capsys, "check", "paxos", "-p", "bug=minority_quorum", "-p", "acceptors=3")
    run(capsys, "check", "paxos", "-p", "bug=minority_quorum", "-p", "acceptors=4")
    run(capsys, "check", "paxos", "-p", "bug=minority_quorum", "-p", "acceptors=3")  # the same trace again
    names = sorted(p.name for p in (workdir / "splitbrain-traces").glob("*.json"))
    assert len(names) == 2 and all(n.startswith("paxos-Consistency-") for n in names)
    code, out, err = run(capsys, "check", PETERSON, "-p", "bug=turn_to_self", "--trace-out", "mine/", "--json")
    assert Path(json.loads(out)["trace"]).parent == Path("mine")
    code, out, err = run(capsys, "check", PETERSON, "-p", "bug=turn_to_self", "--trace-out", "mine", "--json")
    assert Path(json.loads(out)["trace"]).parent == Path("mine")  # an existing folder, without the slash
    code, out, err = run(capsys, "check", PETERSON, "-p", "bug=turn_to_self", "--trace-out", "one.json", "--json")
    assert json.loads(out)["trace"] == "one.json" and (workdir / "one.json").is_file()


def test_a_trace_that_cannot_be_written_is_still_printed(capsys, workdir):
    (workdir / "file").write_text("")
    code, out, err = run(capsys, "check", PETERSON, "-p", "bug=turn_to_self", "--trace-out", "file/x.json")
    assert code == 1  # the verdict's code
    assert "counterexample to MutualExclusion (always), 6 steps" in out and "6. enter(1)" in out
    assert "Trace written" not in out
    assert err.strip().startswith("splitbrain: warning: cannot write trace file/x.json") and len(err.strip().splitlines()) == 1


def test_progress_lines_on_stderr_also_when_it_is_not_a_terminal(capsys, workdir):
    code, out, err = run(capsys, "check", "twophase", "-p", "rms=4", "--progress", "0.000001", "--json")
    assert code == 0 and json.loads(out)["verdict"].startswith("ok")  # stdout stays one JSON object
    assert "distinct" in err and "states/s" in err
    code, out, err = run(capsys, "check", "twophase", "-p", "rms=4", "--progress", "0")
    assert err == "" and "distinct states" in out  # the final statistics are always printed
    code, out, err = run(capsys, "check", "twophase", "-p", "rms=4", "--progress", "0.000001", "--quiet")
    assert err == ""
    assert "--progress must be >= 0" in one_line_error(*run(capsys, "check", "twophase", "--progress", "-1")[::2])


def test_the_python_api_takes_every_engine_and_records_constructor_parameters():
    spec = registry.get(BUGGY)
    model = spec.factory()  # no registry, no _params: parameters come from the constructor call
    assert model.params() == {"bug": "turn_to_self"}
    for engine, options in [("bfs", {}), ("dfs", {}), ("hypothesis", {"budget": 200, "seed": 1}),
                            ("simulate", {"budget": 200, "seed": 1})]:
        r = splitbrain.check(model, engine=engine, **options)
        assert r.engine == engine and r.verdict == "violation" and r.params == {"bug": "turn_to_self"}
        assert str(r.counterexample).startswith("BuggyPeterson: counterexample to MutualExclusion (always)")
        assert "MutualExclusion: violated" in str(r) and "1. set_flag" in str(r)
    with pytest.raises(ValueError, match="budget and seed apply to the sampled engines"):
        splitbrain.check(model, engine="bfs", budget=10)
    with pytest.raises(ValueError, match="unknown engine"):
        splitbrain.check(model, engine="magic")


def test_simulate_and_the_replay_helpers_take_user_models(capsys, workdir):
    from splitbrain.checker.pytest_plugin import assert_replays

    code, out, err = run(capsys, "simulate", BUGGY, "--runs", "50", "--seed", "1", "--json", "--trace-out", "sim/")
    data = json.loads(out)
    assert code == 1 and data["engine"] == "simulate" and Path(data["trace"]).parent == Path("sim")
    assert_replays(data["trace"], model=BUGGY)
    with pytest.raises(pytest.fail.Exception, match="neither built in nor in the project config"):
        assert_replays(data["trace"])


def test_a_user_model_lists_its_properties_and_the_flags_that_break_them(capsys, workdir):
    write(workdir / "ring.py", RING.replace('symmetry = True', 'symmetry = True\n        breaks = {"skip": ("Apart",)}'))
    code, out, err = run(capsys, "list", "ring.py:Ring", "--json")
    assert code == 0 and json.loads(out)[0]["properties"] == []  # n has no default: no model to ask
    write(workdir / "ring2.py", RING.replace("n: int,", "n: int = 3,")
          .replace('symmetry = True', 'symmetry = True\n        breaks = {"skip": ("Apart",)}'))
    code, out, err = run(capsys, "list", "ring2.py:Ring", "--json")
    assert code == 0
    (entry,) = json.loads(out)
    assert entry["properties"] == [{"name": "Apart", "kind": "always", "broken_by": ["skip"]}]
    write(workdir / "ring3.py", RING.replace('symmetry = True', 'symmetry = True\n        breaks = {"nosuch": ("Apart",)}'))
    assert "breaks must be a dict of bug flag" in one_line_error(*run(capsys, "list", "ring3.py:Ring")[::2])
