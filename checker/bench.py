"""``splitbrain bench``: a fixed set of runs with their figures.

Each entry runs in a fresh child process, so its peak memory is its own.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from typing import Any, Callable

from splitbrain.checker.result import peak_memory_mb


def _model_entry(name: str, **params: Any) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        from splitbrain.checker.explore import check
        from splitbrain.models import registry

        model = registry.build(name, params)
        result = check(model, "bfs")
        return {
            "verdict": result.verdict,
            "distinct": result.distinct_states,
            "generated": result.states_generated,
            "depth": result.depth,
            "seconds": result.seconds,
            "distinct_per_s": result.states_per_second,
        }
    return run


def _bench_of(module: str) -> Callable[[], dict[str, Any]]:
    """``module.bench()`` (its first row, if it gives a list), imported only when the entry runs."""
    def run() -> dict[str, Any]:
        import importlib

        rows = importlib.import_module(module).bench()
        if isinstance(rows, dict):
            return rows
        return rows[0] if rows else {}
    return run


# (name, what to run, reference figure to compare with)
ENTRIES: list[tuple[str, Callable[[], dict[str, Any]], str]] = [
    ("twophase rms=7", _model_entry("twophase", rms=7), "TLC: 296,448 distinct, 7.3 s (1 worker)"),
    ("paxos acceptors=3 values=2 max_ballot=2", _model_entry("paxos", acceptors=3, values=2, max_ballot=2),
     "TLC: 185,369 distinct, 17.6 s (1 worker); target < 8 s"),
    ("paxoscommit rms=2 acceptors=3 max_ballot=1", _model_entry("paxoscommit", rms=2, acceptors=3, max_ballot=1),
     "TLC: 1,321,761 distinct, 152.7 s (1 worker); target < 60 s"),
    ("lincheck porcupine corpus", _bench_of("splitbrain.properties.consistency.bench"), "Porcupine (Go): 0.79 s for all 108 files"),
    ("partition keys=20000 n=4,16,64", _bench_of("splitbrain.models.partitioning.measure"),
     "theory: moved on join 1/(n+1) (ring, rendezvous, jump, directory), n/(n+1) (modulo); 0 stray moves"),
]


def _child(fn: Callable[[], dict[str, Any]], conn: Any) -> None:
    try:
        start = time.perf_counter()
        row = fn()
        row.setdefault("seconds", time.perf_counter() - start)
        row["peak_memory_mb"] = peak_memory_mb()
        conn.send(row)
    except Exception as exc:  # reported as the entry's error, the bench goes on
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


def run_entry(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one entry in a child process and return its figures."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn, child))
    proc.start()
    child.close()
    try:
        row = parent.recv()
    except EOFError:
        row = {"error": f"the benchmark process died (exit code {proc.exitcode})"}
    proc.join()
    return row


def run(only: list[str] | None = None, as_json: bool = False) -> int:
    """Run the benchmark entries (those matching ``only``) and print a table."""
    chosen = [e for e in ENTRIES if not only or any(o in e[0] for o in only)]
    if not chosen:
        from splitbrain.models.registry import UsageError

        raise UsageError(f"no benchmark entry matches {only}; entries: {', '.join(e[0] for e in ENTRIES)}")
    if not as_json:
        print(f"{'entry':<44} {'distinct':>10} {'generated':>11} {'seconds':>8} {'distinct/s':>11} {'peak MiB':>9}")
    failed = False
    for name, fn, reference in chosen:
        row = run_entry(fn)
        row["name"] = name
        row["reference"] = reference
        if as_json:
            print(json.dumps(row, default=str), flush=True)
            continue
        if "error" in row:
            failed = True
            print(f"{name:<44} error: {row['error']}", flush=True)
            continue
        distinct = row.get("distinct", row.get("files", ""))
        print(
            f"{name:<44} {distinct!s:>10} {row.get('generated', '')!s:>11} {row['seconds']:>8.2f} "
            f"{row.get('distinct_per_s', 0):>11,.0f} {row['peak_memory_mb']:>9,.0f}",
            flush=True,
        )
        extra = {k: v for k, v in row.items() if k not in
                 {"name", "reference", "distinct", "generated", "seconds", "distinct_per_s", "peak_memory_mb", "files"}}
        if extra:
            print("    " + ", ".join(f"{k}={v}" for k, v in extra.items()))
        print(f"    reference: {reference}")
    return 1 if failed else 0
