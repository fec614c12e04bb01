"""The circuit breaker: the correct breaker keeps its promises; each bug flag is found."""

from __future__ import annotations

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.models import registry


def run(faults=None, **params):
    extra = {} if faults is None else {"faults": faults}
    return check(registry.build("circuit-breaker", {k: str(v) for k, v in params.items()}, **extra))


def verdicts(result):
    return {p.name: p.holds for p in result.properties}


def test_correct_breaker_holds_with_every_action_class_taken():
    r = run()
    assert r.verdict == "ok" and r.complete
    assert verdicts(r) == {"NoCallWhileOpen": True, "HalfOpenProbeLimit": True, "Recloses": True, "Tripped": True}
    assert r.coverage.never_taken == []


def test_correct_breaker_survives_a_crash_and_restart():
    r = run(faults="crash=1,restart")
    assert r.verdict == "ok", verdicts(r)


# Shortest counterexamples, counted by hand (window=2, failures=2, probes=1, concurrency=2):
# - unbounded_probes: 2 call timers, the backend fails, 2 calls and 2 failed results
#   (the breaker trips), the open wait, then 2 call timers admit 2 probes: 2+1+4+1+2 = 10;
# - retry_bypass: 1 call timer, the backend fails, the call and its failed result
#   (the bypassing retry goes out), the retry and its failed result trip the
#   breaker and the next retry goes out while open: 1+1+2+2 = 6;
# - stuck_open: the unbounded_probes prefix up to the open wait (8), one probe
#   sent, delivered and failed (3), the backend recovers (1), then the rejected
#   call timer loops forever: 8+3+1+1 = 13 steps, a lasso.
@pytest.mark.parametrize("flag, prop, length", [
    ("unbounded_probes", "HalfOpenProbeLimit", 10),
    ("retry_bypass", "NoCallWhileOpen", 6),
    ("stuck_open", "Recloses", 13),
])
def test_each_flag_is_found_at_its_shortest_length(flag, prop, length):
    r = run(bug=flag)
    assert r.verdict == "violation"
    assert r.counterexample.property == prop
    assert len(r.counterexample) == length


def test_stuck_open_is_a_lasso_whose_loop_stays_open():
    r = run(bug="stuck_open")
    trace = r.counterexample
    assert trace.loop_start is not None
    assert all(s["nodes"]["c"]["mode"] == "open" for s in trace.states[trace.loop_start:])
    assert trace.states[trace.loop_start]["nodes"]["b"]["phase"] == "recovered"


def test_every_flag_exits_1_and_the_correct_breaker_0(capsys):
    assert main(["check", "circuit-breaker", "-q", "--strict"]) == 0
    for flag in registry.get("circuit-breaker").bugs:
        assert main(["check", "circuit-breaker", "-q", "-p", f"bug={flag}", "--trace-out", "/dev/null"]) == 1
    capsys.readouterr()
