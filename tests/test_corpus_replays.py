"""Every trace in the corpus replays and reproduces its recorded violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from splitbrain.traces.format import load
from splitbrain.traces.replay import replay

CORPUS = Path(__file__).resolve().parents[1] / "traces" / "corpus"
FILES = sorted(CORPUS.glob("*.json"))


def test_corpus_is_not_empty():
    assert FILES, f"no traces in {CORPUS}"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_corpus_trace_replays(path):
    trace = load(path)
    report = replay(trace)
    assert report.reproduced, f"{path.name}: {report.message}"
    # one description per step (a violation in an initial state has none)
    assert len(trace.steps) == len(trace.actions) and len(trace.states) == len(trace.actions) + 1
