"""``splitbrain bench --tlc``: TLC's output read right, the constants TLC gets equal to the mirrors'
parameters, and one clear line with exit 2 for each setup mistake.

TLC itself is not needed: its output is recorded in tests/data/tlc (README.md there says by which
command), and where a run is exercised a stand-in ``java`` on PATH prints a recorded output.
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path

import pytest

from splitbrain.checker import bench, tlc
from splitbrain.checker.cli import main
from splitbrain.models import registry
from splitbrain.models.registry import UsageError

DATA = Path(__file__).resolve().parent / "data" / "tlc"


def recorded(name: str) -> str:
    return (DATA / name).read_text()


# --- TLC's output -------------------------------------------------------------------------------------

def test_a_complete_run_gives_its_figures():
    # the figures TLC printed (twophase-7.out), equal to the reference README's TLC figures for 7 RMs
    run = tlc.parse_output(recorded("twophase-7.out"))
    assert (run.verdict, run.distinct, run.generated, run.depth) == ("ok", 296448, 2744706, 23)
    assert run.message is None and run.version == "2026.12.03.201559"
    # the progress line before it (with thousands separators) is not taken for the totals
    assert "1,063,926 states generated" in recorded("twophase-7.out")


def test_an_invariant_violation_is_a_violation_with_tlc_s_line():
    run = tlc.parse_output(recorded("violation.out"))
    assert (run.verdict, run.distinct, run.generated, run.depth) == ("violation", 233, 832, 8)
    assert run.message == "Error: Invariant NeverCommits is violated."


@pytest.mark.parametrize("name, message", [
    ("missing-module.out", "Cannot find source file for module Voting imported in module Paxos."),
    ("parse-error.out", 'TwoPhase.tla: Was expecting "Expression or Instance"; '
                        'Encountered "==" at line 138, column 11 and token "=="'),
    ("semantic-error.out", "Unknown operator: `Committed'. (line 3, col 27 to line 3, col 35 of module TwoPhaseUnknown)"),
    ("undefined-invariant.out", "Error: The invariant TypeOK specified in the configuration file "
                                "is not defined in the specification."),
])
def test_a_run_that_checked_nothing_is_an_error_with_the_reason(name, message):
    run = tlc.parse_output(recorded(name))
    assert (run.verdict, run.distinct, run.generated, run.depth) == ("error", None, None, None)
    assert run.message == message


# --- the constants TLC gets -----------------------------------------------------------------------------

def tla_value(text: str):
    """A TLA+ value of a .cfg: a name or number, or a set of them, nested (as frozensets)."""
    tokens = re.findall(r"[{},]|[A-Za-z0-9_]+", text)

    def value(i: int):
        if tokens[i] != "{":
            return (int(tokens[i]) if tokens[i].isdigit() else tokens[i]), i + 1
        items, i = [], i + 1
        while tokens[i] != "}":
            item, i = value(i)
            items.append(item)
            i += tokens[i] == ","
        return frozenset(items), i + 1

    result, end = value(0)
    assert end == len(tokens), text
    return result


def assignments(cfg: str) -> dict[str, object]:
    """``NAME = value`` and ``NAME <- Definition`` of a .cfg's CONSTANT(S) section."""
    found = {}
    for line in cfg.splitlines():
        if m := re.match(r"\s*(?:CONSTANTS?\s+)?(\w+)\s*(=|<-)\s*(.+)$", line):
            found[m.group(1)] = tla_value(m.group(3)) if m.group(2) == "=" else ("<-", m.group(3).strip())
    return found


def the_entry(name: str) -> bench.Entry:
    return next(e for e in bench.ENTRIES if e.name == name)


def test_the_entries_with_a_counterpart_are_the_three_mirrors_with_tlc_s_figures():
    mirrored = {e.name: e for e in bench.ENTRIES if e.tla is not None}
    assert set(mirrored) == {"twophase-7", "paxos", "paxoscommit"}
    for entry in mirrored.values():
        assert entry.description == entry.tla.model + " " + " ".join(f"{k}={v}" for k, v in entry.tla.params.items())
        assert set(entry.expect) == {"verdict", "distinct", "generated", "depth"}


def test_twophase_gets_the_mirror_s_resource_managers():
    part = the_entry("twophase-7").tla
    model = registry.build(part.model, part.params)
    cfg = part.files[part.config]
    assert assignments(cfg) == {"RM": frozenset(model.names)}
    assert model.names == tuple(f"r{i}" for i in range(1, 8))
    assert "SPECIFICATION TPSpec" in cfg and "INVARIANT TPTypeOK" in cfg
    assert (part.root, part.modules) == ("TwoPhase", ("TwoPhase.tla", "TCommit.tla"))


def test_paxos_gets_the_mirror_s_acceptors_values_quorums_and_ballots():
    part = the_entry("paxos").tla
    model = registry.build(part.model, part.params)
    given = assignments(part.files[part.config])
    assert given == {"Acceptor": frozenset(model.acceptor_names), "Value": frozenset(model.values),
                     "Quorum": frozenset(frozenset(q) for q in model.quorum_names), "None": "None",
                     "Ballot": ("<-", "SplitbrainBallot")}
    # 3 acceptors: the three pairs, by hand
    assert given["Quorum"] == {frozenset({"a1", "a2"}), frozenset({"a1", "a3"}), frozenset({"a2", "a3"})}
    wrapper = part.files["SplitbrainPaxos.tla"]
    assert "EXTENDS Paxos" in wrapper
    (ballots,) = re.findall(r"^SplitbrainBallot == 0\.\.(\d+)$", wrapper, re.MULTILINE)
    assert tuple(range(int(ballots) + 1)) == model.ballots == (0, 1, 2)
    assert part.root == "SplitbrainPaxos" and part.modules == ("Paxos.tla",)


def test_paxoscommit_gets_the_shipped_constants_which_are_the_mirror_s():
    part = the_entry("paxoscommit").tla
    model = registry.build(part.model, part.params)
    given = assignments(part.files[part.config])
    # PaxosCommit.cfg as shipped in tlaplus/Examples (32a32c7), copied by hand
    shipped = assignments("CONSTANTS\n  RM = {r1, r2}\n  Acceptor = {a1, a2, a3}\n"
                          "  Majority = {{a1, a2}, {a1, a3}, {a2, a3}}\n  Ballot = {0,1}\n")
    assert given == shipped
    assert given == {"RM": frozenset(model.rm_names), "Acceptor": frozenset(model.acceptor_names),
                     "Majority": frozenset(frozenset(m) for m in model.majority_names),
                     "Ballot": frozenset(model.ballots)}


def test_the_copy_of_paxos_stops_before_the_voting_instance_and_keeps_the_module_end():
    text = "---- MODULE Paxos ----\nSpec == Init\n\nvotes == 1\nV == INSTANCE Voting\nInv == V!Inv\n====\n"
    assert tlc.without_tail(text, "votes ==") == "---- MODULE Paxos ----\nSpec == Init\n\n====\n"
    assert tlc.without_tail(text, "V == INSTANCE Voting") == (
        "---- MODULE Paxos ----\nSpec == Init\n\nvotes == 1\n====\n")
    assert tlc.without_tail(text, "W == INSTANCE") is None


def fake_examples(root: Path, paxos_text: str = "---- MODULE Paxos ----\nV == INSTANCE Voting\n====\n") -> Path:
    """A directory shaped like a tlaplus/Examples checkout, with stand-ins for the modules."""
    for folder, modules in (("transaction_commit", ("TwoPhase", "TCommit", "PaxosCommit")), ("Paxos", ("Paxos",))):
        (root / "specifications" / folder).mkdir(parents=True)
        for module in modules:
            text = paxos_text if module == "Paxos" else f"---- MODULE {module} ----\n====\n"
            (root / "specifications" / folder / f"{module}.tla").write_text(text)
    return root


def test_prepare_copies_the_modules_cuts_paxos_and_writes_our_files(tmp_path):
    examples = fake_examples(tmp_path / "Examples",
                             "---- MODULE Paxos ----\nSpec == 1\nV == INSTANCE Voting\nInv == V!Inv\n=====\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    part = tlc.paxos(3, 2, 2)
    tlc.prepare(part, examples, run_dir)
    assert sorted(p.name for p in run_dir.iterdir()) == ["Paxos.tla", "SplitbrainPaxos.cfg", "SplitbrainPaxos.tla"]
    assert (run_dir / "Paxos.tla").read_text() == "---- MODULE Paxos ----\nSpec == 1\n=====\n"
    assert (run_dir / "SplitbrainPaxos.cfg").read_text() == part.files["SplitbrainPaxos.cfg"]


def test_a_paxos_without_the_voting_instance_is_a_usage_error(tmp_path, monkeypatch, capsys):
    examples = fake_examples(tmp_path / "Examples", "---- MODULE Paxos ----\nSpec == 1\n====\n")
    with pytest.raises(UsageError, match="has no line starting 'V == INSTANCE Voting'"):
        tlc.prepare(tlc.paxos(3, 2, 2), examples, tmp_path)
    jar, _ = fake_tlc(tmp_path, monkeypatch, "twophase-7.out")
    code = main(["bench", "--tlc", str(jar), "--tla-examples", str(examples), "paxos"])
    assert_one_line(code, *capsys.readouterr(), "Paxos.tla has no line starting 'V == INSTANCE Voting'")


# --- running TLC, with a stand-in java that prints a recorded output --------------------------------------

def fake_tlc(tmp_path: Path, monkeypatch, output: str | None) -> tuple[Path, Path]:
    """A ``java`` on PATH that records its arguments and working directory and prints ``output`` (a
    file of tests/data/tlc), and a jar that has TLC's main class; (the jar, the record)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "java-called"
    if output is not None:
        java = bin_dir / "java"
        java.write_text(f"#!{sys.executable}\nimport pathlib, sys\n"
                        f"listing = sorted(p.name for p in pathlib.Path().glob('*.[tc][lf][ag]'))\n"
                        f"pathlib.Path({str(record)!r}).write_text(' '.join(sys.argv[1:]) + '\\n' + '\\n'.join(listing))\n"
                        f"print(pathlib.Path({str(DATA / output)!r}).read_text())\n")
        java.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    jar = tmp_path / "tla2tools.jar"
    with zipfile.ZipFile(jar, "w") as z:
        z.writestr("tlc2/TLC.class", b"")
    return jar, record


def test_run_gives_java_the_reference_flags_a_fresh_metadir_and_our_configuration(tmp_path, monkeypatch):
    jar, record = fake_tlc(tmp_path, monkeypatch, "twophase-7.out")
    setup = tlc.Tlc(jar, fake_examples(tmp_path / "Examples"), workers=2)
    row = tlc.run(setup, tlc.twophase(7))
    assert (row["verdict"], row["distinct"], row["generated"], row["depth"], row["workers"]) == (
        "ok", 296448, 2744706, 23, 2)
    args, *listing = record.read_text().splitlines()
    argv = args.split()
    assert argv[:4] == ["-XX:+UseParallelGC", "-cp", str(jar.resolve()), "tlc2.TLC"]
    assert argv[4:6] == ["-workers", "2"] and argv[-3:] == ["-config", "SplitbrainTwoPhase.cfg", "TwoPhase.tla"]
    metadir = Path(argv[argv.index("-metadir") + 1])
    assert metadir.name == "meta" and not metadir.parent.exists()  # in the run's directory, removed after
    assert listing == ["SplitbrainTwoPhase.cfg", "TCommit.tla", "TwoPhase.tla"]


def test_bench_with_tlc_prints_tlc_s_figures_and_the_ratio(tmp_path, monkeypatch, capsys):
    jar, _ = fake_tlc(tmp_path, monkeypatch, "twophase-3.out")
    part = tlc.twophase(3)
    entry = bench.Entry("twophase-3", "twophase rms=3", bench._model_entry("twophase", rms=3), "TLC: 288 distinct",
                        {"verdict": "ok", "distinct": 288, "generated": 1146, "depth": 11}, part)
    monkeypatch.setattr(bench, "ENTRIES", [entry, bench.Entry("other", "no counterpart", lambda: {}, "-")])
    examples = fake_examples(tmp_path / "Examples")
    assert main(["bench", "--tlc", str(jar), "--tla-examples", str(examples)]) == 0
    out = capsys.readouterr().out
    assert "TLC s" in out.splitlines()[0] and "other" not in out  # without ENTRY: the entries with a counterpart
    assert "TLC: 288 distinct, 1,146 generated, depth 11" in out and "MISMATCH" not in out
    assert main(["bench", "--json", "--tlc", str(jar), "--tla-examples", str(examples), "twophase-3"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["tlc"]["distinct"], row["tlc"]["generated"], row["tlc"]["depth"]) == (288, 1146, 11)
    assert row["tlc_ratio"] == round(row["tlc"]["seconds"] / row["seconds"], 2) and row["mismatches"] == []


def test_bench_with_tlc_fails_when_tlc_s_figures_differ_from_ours(tmp_path, monkeypatch, capsys):
    jar, _ = fake_tlc(tmp_path, monkeypatch, "twophase-7.out")  # TLC's 7 RMs against our 3
    entry = bench.Entry("twophase-3", "twophase rms=3", bench._model_entry("twophase", rms=3), "-", None,
                        tlc.twophase(3))
    monkeypatch.setattr(bench, "ENTRIES", [entry])
    assert main(["bench", "--tlc", str(jar), "--tla-examples", str(fake_examples(tmp_path / "Examples"))]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH: TLC distinct: TLC 296448, ours 288; TLC generated: TLC 2744706, ours 1146; " \
           "TLC depth: TLC 23, ours 11" in out


# --- setup mistakes: one line, exit 2 ------------------------------------------------------------------

def bench_tlc(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["bench", *argv, "twophase-7"])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(code: int, out: str, err: str, text: str) -> None:
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("splitbrain: error: ") and text in err, err


def test_no_java_on_path(tmp_path, monkeypatch, capsys):
    jar, _ = fake_tlc(tmp_path, monkeypatch, None)
    assert_one_line(*bench_tlc(capsys, "--tlc", str(jar), "--tla-examples", str(tmp_path)), "needs java on PATH")


def test_a_missing_jar(tmp_path, monkeypatch, capsys):
    fake_tlc(tmp_path, monkeypatch, "twophase-7.out")
    assert_one_line(*bench_tlc(capsys, "--tlc", str(tmp_path / "nope.jar")), "no TLC jar at")


@pytest.mark.parametrize("content", [b"not a zip", None])
def test_a_file_that_is_not_a_tlc_jar(tmp_path, monkeypatch, capsys, content):
    fake_tlc(tmp_path, monkeypatch, "twophase-7.out")
    other = tmp_path / "other.jar"
    if content is None:
        with zipfile.ZipFile(other, "w") as z:
            z.writestr("org/example/Main.class", b"")
    else:
        other.write_bytes(content)
    assert_one_line(*bench_tlc(capsys, "--tlc", str(other)), "is not a TLC jar")


def test_no_examples_checkout(tmp_path, monkeypatch, capsys):
    jar, _ = fake_tlc(tmp_path, monkeypatch, "twophase-7.out")
    assert_one_line(*bench_tlc(capsys, "--tlc", str(jar), "--tla-examples", str(tmp_path / "Examples")),
                    "no tlaplus/Examples checkout at")


def test_an_examples_directory_without_the_specification(tmp_path, monkeypatch, capsys):
    jar, _ = fake_tlc(tmp_path, monkeypatch, "twophase-7.out")
    (tmp_path / "Examples").mkdir()
    assert_one_line(*bench_tlc(capsys, "--tlc", str(jar), "--tla-examples", str(tmp_path / "Examples")),
                    "has no specifications/transaction_commit/TwoPhase.tla")


def test_no_tlc_workers(tmp_path, monkeypatch, capsys):
    jar, _ = fake_tlc(tmp_path, monkeypatch, "twophase-7.out")
    assert_one_line(*bench_tlc(capsys, "--tlc", str(jar), "--tla-examples", str(fake_examples(tmp_path / "E")),
                               "--tlc-workers", "0"), "--tlc-workers must be at least 1")


@pytest.mark.parametrize("output, reason", [
    ("parse-error.out", 'Encountered "==" at line 138, column 11'),
    ("missing-module.out", "Cannot find source file for module Voting"),
    ("undefined-invariant.out", "The invariant TypeOK specified in the configuration file is not defined"),
])
def test_tlc_checking_nothing(tmp_path, monkeypatch, capsys, output, reason):
    jar, _ = fake_tlc(tmp_path, monkeypatch, output)
    code, out, err = bench_tlc(capsys, "--tlc", str(jar), "--tla-examples", str(fake_examples(tmp_path / "E")))
    assert_one_line(code, out.split("\n", 1)[1], err, "TLC did not check TwoPhase.tla, RM = 7 values: ")
    assert reason in err
