"""The command line: check, list, bench selection, and one clear line with exit 2 for mistakes."""

from __future__ import annotations

import json

import pytest

from splitbrain.checker.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_json_has_the_documented_fields(capsys, tmp_path):
    code, out, err = run(capsys, "check", "twophase", "-p", "rms=3", "--json")
    assert code == 0
    data = json.loads(out)
    for key in ("model", "params", "verdict", "distinct_states", "states_generated", "depth",
                "seconds", "properties", "trace"):
        assert key in data
    assert data["model"] == "twophase" and data["params"]["rms"] == 3
    assert (data["verdict"], data["distinct_states"], data["states_generated"], data["depth"]) == ("ok", 288, 1146, 11)
    assert all({"name", "kind", "holds"} <= set(p) for p in data["properties"])
    assert data["trace"] is None


def test_check_violation_writes_trace_and_exits_1(capsys, tmp_path):
    out_file = tmp_path / "cx.json"
    code, out, err = run(capsys, "check", "paxos", "-p", "bug=minority_quorum", "--json", "--trace-out", str(out_file))
    assert code == 1
    data = json.loads(out)
    assert data["verdict"] == "violation" and data["trace"] == str(out_file)
    assert out_file.exists()
    code, out, err = run(capsys, "replay", str(out_file))
    assert code == 0 and "reproduced" in out


def test_check_text_report(capsys):
    code, out, err = run(capsys, "check", "twophase", "-p", "rms=3", "--symmetry")
    assert code == 0
    assert "distinct states" in out and "Verdict: ok" in out and "symmetry" in out


@pytest.mark.parametrize("argv,fragment", [
    (["check", "nosuchmodel"], "unknown model 'nosuchmodel'"),
    (["check", "twophase", "-p", "rms=three"], "rms='three': expected int"),
    (["check", "twophase", "-p", "colour=red"], "has no parameter 'colour'"),
    (["check", "twophase", "-p", "rms"], "expected NAME=VALUE"),
    (["check", "paxos", "-p", "bug=nonsense"], "bug"),
    (["check", "twophase", "--engine", "magic"], "invalid choice"),
    (["check", "paxoscommit", "--symmetry"], "declares no symmetry"),
    (["frobnicate"], "invalid choice"),
])
def test_usage_errors_are_one_line_and_exit_2(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2
    err = err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0] and "Traceback" not in err[0]


def test_list_shows_models_params_and_bugs(capsys):
    code, out, err = run(capsys, "list")
    assert code == 0
    assert "paxos:" in out and "bug=ignore_highest_vote" in out and "-p rms=" in out
    code, out, err = run(capsys, "list", "--json")
    names = {m["name"] for m in json.loads(out)}
    assert {"twophase", "paxos", "paxoscommit"} <= names


def test_bench_rejects_unknown_entry(capsys):
    code, out, err = run(capsys, "bench", "--only", "nosuchentry")
    assert code == 2 and "no benchmark entry" in err


def test_bench_only_matches_whole_names_or_globs(capsys):
    from splitbrain.checker.bench import ENTRIES, select

    names = [e.name for e in ENTRIES]
    assert len(set(names)) == len(names) and all(" " not in n for n in names)
    assert [e.name for e in select(["paxos"])] == ["paxos"]  # not paxoscommit
    assert [e.name for e in select(["paxos*"])] == [n for n in names if n.startswith("paxos")]
    assert {"paxos", "paxoscommit", "paxos-fp"} <= {e.name for e in select(["paxos*"])}
    assert [e.name for e in select(["paxos", "twophase-7"])] == ["twophase-7", "paxos"]  # in the table's order
    code, out, err = run(capsys, "bench", "--only", "pax")  # a substring is no match
    err = err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "'pax'" in err[0] and "paxoscommit" in err[0]


def test_bench_mismatch_names_each_figure_not_reproduced():
    from splitbrain.checker.bench import ENTRIES, mismatches

    tlc = {"verdict": "ok", "distinct": 288, "generated": 1146, "depth": 11}  # TwoPhase rms=3, TLC
    assert mismatches({"verdict": "ok", "distinct": 288, "generated": 1146, "depth": 11}, tlc) == []
    wrong = mismatches({"verdict": "ok", "distinct": 287, "generated": 1146, "depth": 12}, tlc)
    assert wrong == ["distinct: got 287, expected 288", "depth: got 12, expected 11"]
    assert mismatches({"distinct": 1}, None) == []
    # the TLA+ mirrors' entries carry TLC's figures
    expected = {e.name: e.expect for e in ENTRIES}
    assert expected["twophase-7"]["distinct"] == 296448 and expected["paxoscommit"]["generated"] == 16959159
