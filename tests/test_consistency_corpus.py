"""Every verdict of the Porcupine corpus (tests/data/porcupine/EXPECTED.json) reproduced.

The histories and their verdicts are Porcupine's own test data (MIT licence,
tests/data/porcupine/LICENSE.porcupine; FORMAT.md says where each came from).
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from splitbrain.models.registry import UsageError
from splitbrain.properties.consistency.bench import CORPUS_DIR, bench, corpus
from splitbrain.properties.consistency.linearizability import check_linearizable
from splitbrain.properties.consistency.readers import read_history, read_porcupine_etcd

DATA = Path(__file__).resolve().parent / "data" / "porcupine"
CORPUS = corpus(DATA)


def test_corpus_has_all_108_verdicts():
    assert len(CORPUS) == 108
    kinds = collections.Counter((name.split("/")[0], ok) for name, ok in CORPUS)
    assert kinds == {("jepsen", True): 23, ("jepsen", False): 79, ("kv", True): 3, ("kv", False): 3}


@pytest.mark.parametrize("name,linearizable", CORPUS, ids=[name for name, _ in CORPUS])
def test_verdict_reproduced(name, linearizable):
    history, datatype, fmt = read_history(DATA / name)
    assert fmt == ("porcupine-etcd" if name.startswith("jepsen/") else "porcupine-kv")
    verdict = check_linearizable(history, datatype)
    assert verdict.ok is linearizable
    if not linearizable:
        assert "not linearizable" in verdict.explanation
        assert verdict.operations, "a violation names the operations involved"


def test_etcd_event_counts_match_format_md():
    """FORMAT.md's totals: how :fail and :info lines are read."""
    counts: collections.Counter[str] = collections.Counter()
    for path in sorted((DATA / "jepsen").glob("etcd_*.log")):
        if path.name == "etcd_095.log":
            continue
        for op in read_porcupine_etcd(path):
            counts[op.f] += 1
            counts["indeterminate"] += op.status == "info"
            counts["failed cas"] += op.f == "cas" and op.status == "ok" and op.result is False
            counts["timed-out read"] += op.f == "read" and op.status == "fail"
    assert counts == {"read": 2939, "write": 2748, "cas": 2836, "indeterminate": 1283,
                      "failed cas": 1748, "timed-out read": 17}


def test_the_file_without_a_verdict_is_an_empty_history():
    with pytest.raises(UsageError, match="etcd_095.log: empty history"):
        read_history(DATA / "jepsen" / "etcd_095.log")


def test_kv_partitioned_and_whole_store_agree_on_a_small_file():
    history, datatype, _ = read_history(DATA / "kv" / "c01-bad.txt")
    assert not check_linearizable(history, datatype, partition=False).ok
    history, datatype, _ = read_history(DATA / "kv" / "c01-ok.txt")
    assert check_linearizable(history, datatype, partition=False).ok


def test_readme_lincheck_command_on_a_corpus_file(capsys):
    """README: ``splitbrain lincheck c10-bad.txt --format porcupine-kv --json`` (exit 1: not linearizable)."""
    from splitbrain.checker.cli import main

    assert main(["lincheck", str(DATA / "kv" / "c10-bad.txt"), "--format", "porcupine-kv", "--json"]) == 1
    row = json.loads(capsys.readouterr().out)
    assert (row["format"], row["model"], row["consistency"], row["satisfied"]) == (
        "porcupine-kv", "kv", "linearizable", False)
    assert "not linearizable" in row["explanation"]


def test_the_bench_reads_the_copy_kept_with_the_tests():
    """The bench's corpus is tests/data/porcupine of the source checkout it runs from."""
    assert CORPUS_DIR.parts[-3:] == ("tests", "data", "porcupine")
    assert (CORPUS_DIR / "EXPECTED.json").read_bytes() == (DATA / "EXPECTED.json").read_bytes()


def test_bench_row():
    (row,) = bench()
    assert row["name"] == "lincheck porcupine corpus"
    assert row["files"] == 108
    assert row["mismatches"] == []
    assert row["slowest_file"] and 0 < row["slowest_seconds"] <= row["seconds"]
