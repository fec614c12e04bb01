"""Trace files: JSON round trip, replay, divergence reports, rendering, names, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from toys import Counter
from splitbrain.traces.format import TraceError, load
from splitbrain.traces.render import render_trace
from splitbrain.traces.replay import model_for, replay

COUNTER = f"{Path(__file__).parent / 'toys.py'}:Counter"  # the model the traces replay on


def replay_counter(path):
    trace = load(path)
    return replay(trace, model_for(trace, COUNTER))


@pytest.fixture
def trace_file(tmp_path):
    r = check(Counter(n=6))
    path = r.counterexample.save(tmp_path / "counter.json")
    return path


def test_round_trip_keeps_actions_as_tuples(trace_file):
    t = load(trace_file)
    assert t.model == "counter" and t.property == "NotBad" and t.kind == "always"
    assert t.actions == [("inc",), ("inc",), ("inc",)]
    assert t.states == [{"x": 0}, {"x": 1}, {"x": 2}, {"x": 3}]
    data = json.loads(trace_file.read_text())
    assert data["format"] == "splitbrain-trace" and data["version"] == 1
    assert "factory" not in data  # a trace names its model, never code to import
    assert data["params"] == {"n": 6, "wrap": True, "reset": True, "jump": False, "bad": 3, "goal": 4,
                              "allow_deadlock": False}


def test_replay_reproduces(trace_file):
    report = replay_counter(trace_file)
    assert report.reproduced
    assert "violated at step 3" in report.message


def test_replay_names_step_whose_action_is_not_enabled(trace_file):
    data = json.loads(trace_file.read_text())
    data["actions"][1] = ["jump", 3]
    trace_file.write_text(json.dumps(data))
    report = replay_counter(trace_file)
    assert not report.reproduced and report.step == 2
    assert "step 2: action jump(3) is not enabled" in report.message


def test_replay_names_step_whose_state_differs(trace_file):
    data = json.loads(trace_file.read_text())
    data["states"][2] = {"x": 5}
    trace_file.write_text(json.dumps(data))
    report = replay_counter(trace_file)
    assert not report.reproduced and report.step == 2
    assert "different state" in report.message


def test_replay_fails_when_model_no_longer_violates(trace_file):
    data = json.loads(trace_file.read_text())
    data["params"]["bad"] = 4
    data["states"] = []
    trace_file.write_text(json.dumps(data))
    report = replay_counter(trace_file)
    assert not report.reproduced
    assert "holds in the last state" in report.message


def test_rendering_is_numbered_steps_with_changes(trace_file):
    text = render_trace(load(trace_file))
    assert "counterexample to NotBad (always), 3 steps" in text
    assert "  1. inc()" in text and "x: 0 -> 1" in text and "  3. inc()" in text
    assert str(load(trace_file)) == text  # str(trace) is the story the CLI prints


def test_default_file_names_differ_by_params_property_and_steps():
    a = check(Counter(n=6)).counterexample
    again = check(Counter(n=6)).counterexample
    other_params = check(Counter(n=7)).counterexample
    other_steps = check(Counter(n=6, jump=True)).counterexample  # jump(3) reaches bad in one step
    assert a.file_name() == again.file_name()  # identical traces may share a file
    assert a.file_name().startswith("counter-NotBad-") and len(a.file_name()) == len("counter-NotBad-12345678.json")
    assert len({a.file_name(), other_params.file_name(), other_steps.file_name()}) == 3
    assert a.file_name(prefix="test_x").startswith("test_x-counter-NotBad-")


def test_params_are_recorded_from_the_constructor_without_params_attribute():
    class Plain(Counter):
        def __init__(self, n: int = 6, bad: int = 3):
            super().__init__(n=n, bad=bad)
            del self._params

    trace = check(Plain(7, bad=2)).counterexample
    assert trace.params == {"n": 7, "bad": 2}
    assert replay(trace, Plain(**trace.params)).reproduced


@pytest.mark.parametrize("content,fragment", [
    ("not json", "not a JSON trace"),
    ('{"format": "other"}', "not a splitbrain trace"),
    ('{"format": "splitbrain-trace", "version": 99}', "version 99"),
    ('{"format": "splitbrain-trace", "version": 1, "model": "x"}', "field 'params'"),
])
def test_bad_files_raise_trace_error(tmp_path, content, fragment):
    f = tmp_path / "bad.json"
    f.write_text(content)
    with pytest.raises(TraceError, match=fragment):
        load(f)


def test_cli_replay_exit_codes(trace_file, tmp_path, capsys):
    assert main(["replay", str(trace_file), "--model", COUNTER]) == 0
    assert "reproduced" in capsys.readouterr().out
    data = json.loads(trace_file.read_text())
    data["actions"][0] = ["reset"]
    data["states"] = []
    diverged = tmp_path / "diverged.json"
    diverged.write_text(json.dumps(data))
    assert main(["replay", "-q", str(diverged), "--model", COUNTER]) == 1
    assert "NOT reproduced" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["replay", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.json" in err[0]
    assert main(["replay", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
