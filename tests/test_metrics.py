"""``simulate --metric``: per-walk measures, their mean and 95% confidence interval, and the usage errors."""

from __future__ import annotations

import json
import math
import random

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.simulate import mean_ci, metric_summary, simulate
from splitbrain.models import registry
from splitbrain.models.core import Model


class Climb(Model):
    """Climb from 0 to ``top`` one step at a time; with ``fork``, the first step may instead jump to the top."""

    name = "climb"
    allow_deadlock = True

    def __init__(self, top: int = 5, fork: bool = False):
        self.top, self.fork = top, fork

    def init_states(self):
        return [0]

    def actions(self, state):
        if state >= self.top:
            return []
        return ["up", "jump"] if self.fork and state == 0 else ["up"]

    def next_state(self, state, action):
        return self.top if action == "jump" else state + 1

    def properties(self):
        return []

    def metrics(self):
        return {"steps": lambda states, actions: len(actions), "states": lambda states, actions: len(states),
                "first": lambda states, actions: states[0], "last": lambda states, actions: states[-1]}


def test_mean_ci_matches_a_hand_computation():
    # 1..5: mean 3, squared deviations 4+1+0+1+4 = 10, s^2 = 10/4, s/sqrt(5) = sqrt(0.5).
    mean, half = mean_ci([1, 2, 3, 4, 5])
    assert mean == 3
    assert half == pytest.approx(1.96 * math.sqrt(0.5))
    assert mean_ci([7.0]) == (7.0, None)  # one value: no interval
    assert metric_summary([7.0])["ci95"] is None


def test_each_walk_is_measured_on_its_states_and_actions():
    r = simulate(Climb(top=5), runs=20, depth=10, seed=1, metrics=["steps", "states", "first", "last"])
    m = r.extra["metrics"]
    assert m["steps"] == {"runs": 20, "mean": 5, "ci95": [5, 5], "min": 5, "max": 5}
    assert m["states"]["mean"] == 6 and m["first"]["mean"] == 0 and m["last"]["mean"] == 5
    cut = simulate(Climb(top=5), runs=20, depth=3, seed=1, metrics=["steps", "last"]).extra["metrics"]
    assert cut["steps"]["mean"] == 3 and cut["last"]["mean"] == 3  # walks cut at the depth bound


def test_the_interval_of_a_two_valued_measure_matches_the_bernoulli_formula():
    # Each walk takes 1 step (jump) or 5 (up, up, ...), half of the walks each way.
    n = 400
    m = simulate(Climb(top=5, fork=True), runs=n, depth=10, seed=7, metrics=["steps"]).extra["metrics"]["steps"]
    p = (m["mean"] - 1) / 4  # the share of long walks
    assert 0.4 < p < 0.6 and {m["min"], m["max"]} == {1, 5}
    s = 4 * math.sqrt(p * (1 - p) * n / (n - 1))  # a Bernoulli(p) variable scaled by 4
    half = 1.96 * s / math.sqrt(n)
    assert m["ci95"] == pytest.approx([m["mean"] - half, m["mean"] + half])


def test_an_unknown_metric_is_a_value_error_in_the_engine():
    with pytest.raises(ValueError, match="steps"):
        simulate(Climb(), runs=1, depth=1, seed=0, metrics=["nope"])


def test_retries_without_budget_send_one_attempt_per_request():
    # budget 0: the client can never retry, so every walk has exactly one attempt per started request.
    model = registry.build("retries", {"budget": "0"})
    m = simulate(model, runs=50, depth=40, seed=2,
                 metrics=["attempts_per_request", "completion_ticks"]).extra["metrics"]
    assert m["attempts_per_request"]["min"] == m["attempts_per_request"]["max"] == 1.0
    # Each of the 2 requests takes one step at least to end (its timeout gives it up).
    assert m["completion_ticks"]["min"] >= 2


def test_retries_attempts_stay_within_the_budget():
    model = registry.build("retries", {"budget": "1", "attempts": "3", "requests": "2"})
    m = simulate(model, runs=100, depth=60, seed=3, metrics=["attempts", "attempts_per_request"]).extra["metrics"]
    assert 2 <= m["attempts"]["min"] and m["attempts"]["max"] <= 4  # (1 + budget) * requests
    assert m["attempts"]["max"] > 2  # some walk retried


def test_load_balancer_requests_per_backend_count_the_routing_steps():
    # One backend that never flips: every request the balancer handles goes to b1.
    model = registry.build("load-balancer", {"weights": "1", "flips": "0", "algorithm": "rr"})
    rng = random.Random(5)
    state = next(iter(model.init_states()))
    states, actions = [state], []
    for _ in range(30):
        steps = [(a, n) for a, n in model.successors(state) if model.within_boundary(n)]
        if not steps:
            break
        action, state = steps[rng.randrange(len(steps))]
        states.append(state)
        actions.append(action)
    routed = sum(1 for a in actions if a[:2] == ("timeout", "lb"))
    assert routed > 0
    assert model.metrics()["requests_b1"](states, actions) == routed


def test_cli_prints_the_metrics_after_the_verdict_and_in_json(capsys):
    args = ["simulate", "retries", "--runs", "30", "--depth", "40", "--seed", "4", "--metric", "attempts"]
    main(args)
    out = capsys.readouterr().out.splitlines()
    verdict = next(i for i, line in enumerate(out) if line.startswith("Verdict:"))
    assert any(line.split()[:2] == ["attempts", "30"] for line in out[verdict:])
    main(args + ["--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["metrics"]["attempts"]["runs"] == 30 and len(data["metrics"]["attempts"]["ci95"]) == 2


@pytest.mark.parametrize("model, listed", [("retries", "attempts, attempts_per_request, completion_ticks"),
                                           ("twophase", "declares no metrics")])
def test_an_undeclared_metric_is_a_one_line_usage_error(capsys, model, listed):
    code = main(["simulate", model, "--runs", "2", "--metric", "nope"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and listed in err and "nope" in err
