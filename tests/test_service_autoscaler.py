"""The autoscaler: the HPA rule stays in bounds, does not flap and scales up; each bug flag is found."""

from __future__ import annotations

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.models import registry
from splitbrain.models.service.autoscaler import Hpa, HpaActor


def run(**params):
    return check(registry.build("autoscaler", {k: str(v) for k, v in params.items()}))


def verdicts(result):
    return {p.name: p.holds for p in result.properties}


@pytest.mark.parametrize("mode", ["reactive", "predictive", "scheduled"])
def test_correct_autoscaler_holds_with_every_action_class_taken(mode):
    r = run(mode=mode)
    assert r.verdict == "ok" and r.complete
    assert verdicts(r) == {"WithinBounds": True, "NoFlapping": True, "ScalesUpAfterStep": True, "Settles": True,
                           "ScaledUp": True}
    assert r.coverage.never_taken == []


def test_hpa_ratio_rule_tolerance_and_prediction_by_hand():
    hpa = HpaActor("reactive", target=2, tolerance=10, window=2, lo=1, hi=10, bug="none")
    # 5 replicas at target 2 carry 10; load 11 is 110 % of that: within 10 %, no change
    assert hpa.recommend(Hpa(5, (), None, (), False, 0, 0), 11) == 5
    # load 12 is 120 %: ceil(12 / 2) = 6 replicas; load 3 is 30 %: ceil(3 / 2) = 2
    assert hpa.recommend(Hpa(5, (), None, (), False, 0, 0), 12) == 6
    assert hpa.recommend(Hpa(5, (), None, (), False, 0, 0), 3) == 2
    predictive = HpaActor("predictive", target=1, tolerance=10, window=2, lo=1, hi=10, bug="none")
    # the load went 2 -> 4: the forecast is 2 * 4 - 2 = 6, above the reactive 4
    assert predictive.recommend(Hpa(2, (), 2, (), False, 0, 0), 4) == 6


def test_a_schedule_scales_up_without_any_change_of_load():
    flat = {"low": 1, "high": 1}
    assert verdicts(run(mode="reactive", **flat))["ScaledUp"] is False  # load 1 needs 1 replica
    r = run(mode="scheduled", **flat)
    assert r.verdict == "ok" and verdicts(r)["ScaledUp"] is True


def test_the_stabilisation_window_holds_scale_down_to_the_recent_highest():
    model = registry.build("autoscaler", {"window": "2"})
    hpa = model.actors[model.index["hpa"]]

    class Ctx:
        pass

    state = Hpa(3, (3,), 3, (1, 3, 0), True, 0, 0)
    after = hpa.on_message("hpa", state, "m", ("Load", 1), Ctx())
    assert after.replicas == 3 and after.recent == (3, 1)  # the window still holds 3
    after = hpa.on_message("hpa", after._replace(busy=True), "m", ("Load", 1), Ctx())
    assert after.replicas == 1  # two low recommendations: now it scales down


# Shortest counterexamples at the defaults (1..3 replicas, load 1 then 3), counted by hand:
# - overlapping_thresholds: the load steps up (1); three scrapes of 3 steps each
#   (timer, scrape, answer): 1 -> 2 (300 % > 100 %), 2 -> 3 (150 % > 100 %),
#   3 -> 2 (100 % < 150 %), a reversal under the same load: 1 + 9 = 10;
# - scale_in_during_outage: a scrape during the outage reads as zero load and
#   scales to 0 replicas: timer, outage, scrape, answer = 4.
@pytest.mark.parametrize("flag, prop, length", [
    ("overlapping_thresholds", "NoFlapping", 10),
    ("scale_in_during_outage", "WithinBounds", 4),
])
def test_each_flag_is_found_at_its_shortest_length(flag, prop, length):
    r = run(bug=flag)
    assert r.verdict == "violation"
    assert (r.counterexample.property, len(r.counterexample)) == (prop, length)


def test_overlapping_thresholds_oscillate_forever_as_a_lasso():
    r = check(registry.build("autoscaler", {"bug": "overlapping_thresholds"}), stop_at_first=False)
    assert verdicts(r)["Settles"] is False
    settles = next(p for p in r.properties if p.name == "Settles")
    assert settles.trace is not None and settles.trace.loop_start is not None
    replicas = [s["nodes"]["hpa"]["replicas"] for s in settles.trace.states[settles.trace.loop_start:]]
    assert {2, 3} <= set(replicas)  # the loop scales between 2 and 3 replicas


def test_every_flag_exits_1_and_the_correct_model_0(capsys):
    assert main(["check", "autoscaler", "-q", "--strict"]) == 0
    for flag in registry.get("autoscaler").bugs:
        assert main(["check", "autoscaler", "-q", "-p", f"bug={flag}", "--trace-out", "/dev/null"]) == 1
    capsys.readouterr()
