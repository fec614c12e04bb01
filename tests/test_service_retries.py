"""Retries: idempotency keys and a retry budget keep retrying safe; each bug flag is found."""

from __future__ import annotations

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.models import registry


def run(faults=None, **params):
    extra = {} if faults is None else {"faults": faults}
    return check(registry.build("retries", {k: str(v) for k, v in params.items()}, **extra))


def verdicts(result):
    return {p.name: p.holds for p in result.properties}


def test_correct_retries_hold_with_a_lost_message_and_every_action_class_taken():
    r = run()  # default faults: loss=1
    assert r.verdict == "ok" and r.complete
    assert verdicts(r) == {"AtMostOnce": True, "AttemptsWithinBudget": True, "EveryRequestEnds": True,
                           "Retried": True}
    assert r.coverage.never_taken == []


def test_correct_retries_hold_under_duplication_and_a_server_crash():
    r = run(faults="loss=1,dup=1,crash=1,restart", requests=1)
    assert r.verdict == "ok", verdicts(r)


def test_a_lost_acknowledgement_is_retried_and_applied_once():
    # The behaviour the idempotency key exists for: the request is applied, its
    # acknowledgement is lost, the client retries and gets the stored answer.
    model = registry.build("retries", {"requests": "1"})
    w = next(iter(model.init_states()))
    def step(w, kind):
        return next(n for a, n in model.successors(w) if a[0] == kind)
    w = step(w, "deliver")   # the request is applied
    w = step(w, "drop")      # its acknowledgement is lost
    w = step(w, "timeout")   # the client retries
    w = step(w, "deliver")   # the retry reaches the server
    assert model.state_of(w, "s").applied == (("c", 1),)
    w = step(w, "deliver")   # the stored acknowledgement reaches the client
    assert w.history == (("invoke", "c", "request", 1), ("ok", "c", "request", 1))


# Shortest counterexamples, counted by hand (requests=2, attempts=3, budget=1):
# - no_idempotency_key: the timeout fires and the client retries, then both
#   attempts are delivered and applied: 1 + 2 = 3 steps;
# - no_budget: the first request deposits 1 token; two retries make 3 attempts
#   for 1 request, above (1 + 1) * 1 = 2: 2 steps.
@pytest.mark.parametrize("flag, prop, length", [
    ("no_idempotency_key", "AtMostOnce", 3),
    ("no_budget", "AttemptsWithinBudget", 2),
])
def test_each_flag_is_found_at_its_shortest_length(flag, prop, length):
    r = run(bug=flag)
    assert r.verdict == "violation"
    assert (r.counterexample.property, len(r.counterexample)) == (prop, length)


def test_an_empty_budget_never_retries():
    r = run(budget=0)
    assert r.complete
    assert verdicts(r) == {"AtMostOnce": True, "AttemptsWithinBudget": True, "EveryRequestEnds": True,
                           "Retried": False}


def test_every_flag_exits_1_and_the_correct_model_0(capsys):
    assert main(["check", "retries", "-q", "--strict"]) == 0
    for flag in registry.get("retries").bugs:
        assert main(["check", "retries", "-q", "-p", f"bug={flag}", "--trace-out", "/dev/null"]) == 1
    capsys.readouterr()
