"""Safe replay: a trace file never decides what code runs, and every edited file is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from splitbrain.checker.cli import main

CORPUS = Path(__file__).resolve().parent.parent / "traces" / "corpus" / "paxos_minority_quorum__Consistency.json"
FIELDS = ["format", "version", "model", "params", "property", "kind", "init", "actions", "steps", "states",
          "loop_start", "note", "extra", "factory"]


@pytest.fixture
def original() -> dict:
    data = json.loads(CORPUS.read_text())
    data.pop("factory", None)
    return data


def replay_data(tmp_path, capsys, data, *extra):
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    code = main(["replay", "-q", str(path), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err):
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (code, err)
    assert lines[0].startswith("splitbrain: error: ") and "Traceback" not in err


def test_the_corpus_trace_reproduces_unedited(tmp_path, capsys, original):
    code, out, err = replay_data(tmp_path, capsys, original)
    assert code == 0 and "reproduced: Consistency violated at step 8" in out and err == ""


@pytest.mark.parametrize("field", FIELDS)
def test_a_trace_naming_os_system_in_any_field_runs_nothing(tmp_path, capsys, monkeypatch, original, field):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "ran"
    data = dict(original, params=dict(original["params"], command=f"touch {marker}"))
    data[field] = "os:system"
    code, out, err = replay_data(tmp_path, capsys, data)
    assert not marker.exists()
    assert_one_line_error(code, err)  # the unknown parameter 'command', when nothing else is wrong before it


def test_a_trace_naming_a_file_or_module_as_its_model_imports_nothing(tmp_path, capsys, monkeypatch, original):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "imported"
    (tmp_path / "evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    for model in ("evil.py:Paxos", "evil:Paxos", "os:system"):
        code, out, err = replay_data(tmp_path, capsys, dict(original, model=model))
        assert_one_line_error(code, err)
        assert "--model" in err  # says how to name the model explicitly
    assert not marker.exists()


def test_an_old_factory_field_is_ignored(tmp_path, capsys, monkeypatch, original):
    monkeypatch.chdir(tmp_path)
    code, out, err = replay_data(tmp_path, capsys, dict(original, factory="os:system"))
    assert code == 0 and "reproduced" in out


def wrong_values(field: str, original: dict) -> list:
    """Values of a type the field does not take (None stands for an absent optional field)."""
    candidates = [7, 1.5, True, "x", [], ["x"], {}, {"a": 1}, None]
    allowed = {
        "format": (), "version": (), "model": (str,), "params": (dict,), "property": (str,), "kind": (str,),
        "actions": (list,), "init": (int,), "loop_start": (int,), "steps": (list,), "states": (list,),
        "note": (str,), "extra": (dict,),
    }[field]
    optional = field in ("init", "loop_start", "steps", "states", "note", "extra")
    wrong = []
    for value in candidates:
        if value is None and optional:
            continue
        if isinstance(value, allowed) and not (isinstance(value, bool) and int in allowed):
            continue
        wrong.append(value)
    return wrong


@pytest.mark.parametrize("field", [f for f in FIELDS if f != "factory"])
def test_every_field_edited_to_a_wrong_type_is_one_line_and_exit_2(tmp_path, capsys, original, field):
    for value in wrong_values(field, original):
        code, out, err = replay_data(tmp_path, capsys, dict(original, **{field: value}))
        assert_one_line_error(code, err)


def test_edited_parameters_and_actions_are_one_line_and_exit_2(tmp_path, capsys, original):
    cases = []
    for name, value in original["params"].items():
        for wrong in ("3" if isinstance(value, int) else 3, 1.5, [value], {"v": value}, True):
            cases.append(dict(original, params=dict(original["params"], **{name: wrong})))
    cases.append(dict(original, params=dict(original["params"], nosuch=1)))  # unknown parameter
    cases.append(dict(original, model="nosuchmodel"))  # unknown model
    cases.append(dict(original, init=5))  # no such initial state
    cases.append(dict(original, init=-1))
    cases.append(dict(original, loop_start=99))
    for i in range(len(original["actions"])):
        for wrong in ("deliver", 5, {"a": 1}, [{"a": 1}]):
            actions = list(original["actions"])
            actions[i] = wrong
            cases.append(dict(original, actions=actions))
    for data in cases:
        code, out, err = replay_data(tmp_path, capsys, data)
        assert_one_line_error(code, err)


def test_a_well_formed_trace_that_no_longer_reproduces_is_exit_1_with_the_step(tmp_path, capsys, original):
    actions = list(original["actions"])
    actions[2] = ["nosuch", 1]
    code, out, err = replay_data(tmp_path, capsys, dict(original, actions=actions))
    assert code == 1 and "NOT reproduced: step 3: action nosuch(1) is not enabled" in out and err == ""
    code, out, err = replay_data(tmp_path, capsys, dict(original, property="Gone"))
    assert code == 1 and "the model has no property 'Gone'" in out


def test_replay_of_a_folder_goes_on_past_bad_files_and_exits_with_the_worst(tmp_path, capsys, original):
    folder = tmp_path / "traces"
    folder.mkdir()
    (folder / "a_good.json").write_text(json.dumps(original))
    (folder / "b_bad.json").write_text("{not json")
    (folder / "c_stale.json").write_text(json.dumps(dict(original, property="Gone")))
    code = main(["replay", str(folder)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "a_good.json: reproduced" in out and "c_stale.json: NOT reproduced" in out
    assert_one_line_error(code, err)
    assert "b_bad.json" in err
    (folder / "b_bad.json").unlink()
    assert main(["replay", str(folder)]) == 1


def test_replay_help_lists_the_exit_codes(capsys):
    assert main(["replay", "--help"]) == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out and "  2  a usage error" in out and "  1  a well-formed trace" in out
