"""Every verdict of the Porcupine corpus (../shared/data/porcupine/EXPECTED.json) reproduced."""

from __future__ import annotations

import collections

import pytest

from splitbrain.models.registry import UsageError
from splitbrain.properties.consistency.bench import bench, corpus, corpus_dir
from splitbrain.properties.consistency.linearizability import check_linearizable
from splitbrain.properties.consistency.readers import read_history, read_porcupine_etcd

pytestmark = pytest.mark.skipif(not (corpus_dir() / "EXPECTED.json").exists(),
                                reason="the Porcupine corpus is not next to the repository")

CORPUS = corpus() if (corpus_dir() / "EXPECTED.json").exists() else []


def test_corpus_has_all_108_verdicts():
    assert len(CORPUS) == 108
    kinds = collections.Counter((name.split("/")[0], ok) for name, ok in CORPUS)
    assert kinds == {("jepsen", True): 23, ("jepsen", False): 79, ("kv", True): 3, ("kv", False): 3}


@pytest.mark.parametrize("name,linearizable", CORPUS, ids=[name for name, _ in CORPUS])
def test_verdict_reproduced(name, linearizable):
    history, datatype, fmt = read_history(corpus_dir() / name)
    assert fmt == ("porcupine-etcd" if name.startswith("jepsen/") else "porcupine-kv")
    verdict = check_linearizable(history, datatype)
    assert verdict.ok is linearizable
    if not linearizable:
        assert "not linearizable" in verdict.explanation
        assert verdict.operations, "a violation names the operations involved"


def test_etcd_event_counts_match_format_md():
    """FORMAT.md's totals: how :fail and :info lines are read."""
    counts: collections.Counter[str] = collections.Counter()
    for path in sorted((corpus_dir() / "jepsen").glob("etcd_*.log")):
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
        read_history(corpus_dir() / "jepsen" / "etcd_095.log")


def test_kv_partitioned_and_whole_store_agree_on_a_small_file():
    history, datatype, _ = read_history(corpus_dir() / "kv" / "c01-bad.txt")
    assert not check_linearizable(history, datatype, partition=False).ok
    history, datatype, _ = read_history(corpus_dir() / "kv" / "c01-ok.txt")
    assert check_linearizable(history, datatype, partition=False).ok


def test_bench_row(monkeypatch):
    monkeypatch.setenv("SPLITBRAIN_PORCUPINE_DATA", str(corpus_dir()))
    (row,) = bench()
    assert row["name"] == "lincheck porcupine corpus"
    assert row["files"] == 108
    assert row["mismatches"] == []
    assert row["slowest_file"] and 0 < row["slowest_seconds"] <= row["seconds"]
