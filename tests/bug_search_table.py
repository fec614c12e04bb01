"""Measure, for every bug flag of every registered model, BFS against a sampled engine.

For each ``(model, bug)`` this prints the shortest (BFS) counterexample's
length and time (with symmetry reduction where the model asks for it, as
``splitbrain check`` does), and what the sampled engine (``--engine swarm``,
the default, or ``hypothesis``) finds with its default budget: the property,
the walks or examples it used, the shortened trace's length, and the ratio of
the two lengths (the target is at most 2). Each entry runs in a child process
with a time limit, so one slow search cannot stall the table.

    python tests/bug_search_table.py                      # every bug flag, swarm
    python tests/bug_search_table.py raft paxos           # only these models
    python tests/bug_search_table.py --engine hypothesis  # the Hypothesis engine (profile ci)
    python tests/bug_search_table.py --timeout 900        # seconds per search

Exit code 0 when every bug was found by both engines within the bound, else 1.
This is a measurement script, not a test: its figures go into notes and the
expected lengths in tests/test_swarm.py and tests/test_hypothesis_engine.py.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from splitbrain.models import registry  # noqa: E402


def bug_flags(only: list[str]) -> list[tuple[str, str]]:
    """Every (model, bug) pair the registry declares, minus "none"."""
    out = []
    for name, spec in registry.specs().items():
        if only and name not in only:
            continue
        out += [(name, bug) for bug in spec.bugs]
    return out


def _run(engine: str, model: str, bug: str, queue: mp.Queue) -> None:
    from splitbrain.checker.explore import check
    from splitbrain.checker.hypothesis import hypothesis_check
    from splitbrain.checker.swarm import swarm_check
    start = time.perf_counter()
    m = registry.build(model, {"bug": bug})
    if engine == "bfs":
        r = check(m, fingerprint=True, symmetry=registry.get(model).symmetry)
    elif engine == "swarm":
        r = swarm_check(m)
    else:
        r = hypothesis_check(m)
    bad = [p.name for p in r.properties if p.holds is False]
    queue.put(dict(verdict=r.verdict, props=bad,
                   length=len(r.counterexample) if r.counterexample is not None else None,
                   examples=r.extra.get("examples", r.extra.get("walks")), states=r.distinct_states,
                   seconds=round(time.perf_counter() - start, 1)))


def measure(engine: str, model: str, bug: str, timeout: float) -> dict:
    """One search in a child process; {"verdict": "timeout"} when it runs out of time."""
    queue: mp.Queue = mp.Queue()
    proc = mp.Process(target=_run, args=(engine, model, bug, queue))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return dict(verdict="timeout", seconds=timeout)
    if queue.empty():
        return dict(verdict=f"crashed (exit {proc.exitcode})", seconds=0)
    return queue.get()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="only these models")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per search (default 600)")
    parser.add_argument("--engine", choices=["swarm", "hypothesis"], default="swarm",
                        help="the sampled engine to measure (default swarm)")
    args = parser.parse_args(argv)
    ok = True
    unit = "examples" if args.engine == "hypothesis" else "walks"
    print(f"{'model':<15} {'bug':<24} {'BFS len':>7} {'BFS s':>7} {'len':>7} {unit:>8} {'secs':>7} {'ratio':>5}  property")
    for model, bug in bug_flags(args.models):
        b = measure("bfs", model, bug, args.timeout)
        h = measure(args.engine, model, bug, args.timeout)
        bl, hl = b.get("length"), h.get("length")
        ratio = f"{hl / bl:.2f}" if bl and hl else "-"
        found = b["verdict"] == "violation" and h["verdict"] == "violation" and hl <= 2 * bl
        ok = ok and found
        print(f"{model:<15} {bug:<24} {bl if bl else b['verdict']:>7} {b['seconds']:>7} "
              f"{hl if hl else h['verdict']:>7} {h.get('examples', '-')!s:>8} {h['seconds']:>7} {ratio:>5}  "
              f"{','.join(h.get('props') or b.get('props') or [])}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
