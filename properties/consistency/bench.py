"""The linearizability benchmark: the whole Porcupine corpus, timed.

Porcupine (Go) checks these 108 histories in 0.79 s on the reference machine
(../shared/reference/README.md). The corpus is the copy kept with the tests,
``tests/data/porcupine`` in a source checkout (MIT licence,
``LICENSE.porcupine`` beside it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from splitbrain.properties.consistency.linearizability import check_linearizable
from splitbrain.properties.consistency.readers import read_history

# properties/consistency/bench.py -> the repository's root is two folders up.
CORPUS_DIR = Path(__file__).resolve().parents[2] / "tests" / "data" / "porcupine"


def corpus(root: Path = CORPUS_DIR) -> list[tuple[str, bool]]:
    """Every history with a verdict in ``root``/EXPECTED.json: (relative path, linearizable)."""
    expected_file = root / "EXPECTED.json"
    if not expected_file.exists():
        raise FileNotFoundError(f"no Porcupine corpus at {root} (the benchmark runs from a source checkout)")
    expected = json.loads(expected_file.read_text())
    return [(name, entry["linearizable"]) for name, entry in sorted(expected.items())]


def bench(root: Path = CORPUS_DIR) -> list[dict[str, Any]]:
    """Read and check every history of the corpus; one row with the figures.

    ``seconds`` is the wall time of reading and checking all files,
    ``cpu_seconds`` the processor time this process spent on it (the two
    differ when the machine is busy with other work); ``mismatches`` lists
    the files whose verdict differs from EXPECTED.json (empty when all are
    reproduced).
    """
    files = corpus(root)
    slowest, slowest_seconds = "", 0.0
    mismatches = []
    start = time.perf_counter()
    cpu_start = time.process_time()
    for name, linearizable in files:
        t0 = time.perf_counter()
        history, datatype, _ = read_history(root / name)
        verdict = check_linearizable(history, datatype)
        took = time.perf_counter() - t0
        if took > slowest_seconds:
            slowest, slowest_seconds = name, took
        if verdict.ok != linearizable:
            mismatches.append(name)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    return [{
        "name": "lincheck porcupine corpus",
        "files": len(files),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "slowest_file": slowest,
        "slowest_seconds": round(slowest_seconds, 3),
        "mismatches": mismatches,
    }]
