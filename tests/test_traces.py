"""Trace files: JSON round trip, replay, divergence reports, rendering, bad files."""

from __future__ import annotations

import json

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from toys import Counter
from splitbrain.traces.format import TraceError, load
from splitbrain.traces.render import render_trace
from splitbrain.traces.replay import replay


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
    assert data["factory"] == "toys:Counter"


def test_replay_reproduces(trace_file):
    report = replay(load(trace_file))
    assert report.reproduced
    assert "violated at step 3" in report.message


def test_replay_names_step_whose_action_is_not_enabled(trace_file):
    data = json.loads(trace_file.read_text())
    data["actions"][1] = ["jump", 3]
    trace_file.write_text(json.dumps(data))
    report = replay(load(trace_file))
    assert not report.reproduced and report.step == 2
    assert "step 2: action jump(3) is not enabled" in report.message


def test_replay_names_step_whose_state_differs(trace_file):
    data = json.loads(trace_file.read_text())
    data["states"][2] = {"x": 5}
    trace_file.write_text(json.dumps(data))
    report = replay(load(trace_file))
    assert not report.reproduced and report.step == 2
    assert "different state" in report.message


def test_replay_fails_when_model_no_longer_violates(trace_file):
    data = json.loads(trace_file.read_text())
    data["params"]["bad"] = 4
    data["states"] = []
    trace_file.write_text(json.dumps(data))
    report = replay(load(trace_file))
    assert not report.reproduced
    assert "holds in the last state" in report.message


def test_rendering_is_numbered_steps_with_changes(trace_file):
    text = render_trace(load(trace_file))
    assert "counterexample to NotBad (always), 3 steps" in text
    assert "  1. inc()" in text and "x: 0 -> 1" in text and "  3. inc()" in text


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
    assert main(["replay", str(trace_file)]) == 0
    assert "reproduced" in capsys.readouterr().out
    data = json.loads(trace_file.read_text())
    data["actions"][0] = ["reset"]
    data["states"] = []
    diverged = tmp_path / "diverged.json"
    diverged.write_text(json.dumps(data))
    assert main(["replay", "-q", str(diverged)]) == 1
    assert "NOT reproduced" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["replay", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.json" in err[0]
    assert main(["replay", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
