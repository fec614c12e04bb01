"""Health checks: the kubelet's probes keep their promises; each bug flag is found."""

from __future__ import annotations

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.models import registry


def run(stop_at_first=True, **params):
    model = registry.build("health-checks", {k: str(v) for k, v in params.items()})
    return check(model, stop_at_first=stop_at_first)


def verdicts(result):
    return {p.name: p.holds for p in result.properties}


def test_correct_kubelet_holds_with_every_action_class_taken():
    # One instance keeps this test fast; the default two instances pass too
    # (`splitbrain check health-checks`, about 15,000 states and 11 s).
    r = run(instances=1)
    assert r.verdict == "ok" and r.complete
    assert verdicts(r) == {"NoTrafficToUnready": True, "StartupBudget": True, "RestartOnlyIfHung": True,
                           "EventuallyReady": True, "HungInstanceRestarted": True}
    assert r.coverage.never_taken == []


def test_a_slow_starter_within_its_startup_budget_is_never_restarted():
    # boot 3 periods, startup budget 3: two failed startup probes, then alive
    r = run(instances=1, boot=3, startup=3)
    assert verdicts(r)["StartupBudget"] is True and verdicts(r)["EventuallyReady"] is True


# Shortest counterexamples at the defaults (boot 2, failures 1, startup 2), counted by hand:
# - no_startup_probe: probe timer, the probe (1 period of 2: not alive), the failed
#   answer restarts it at once, within its startup budget: 3 steps;
# - liveness_checks_dependency: the outage and its report to p1 (2), then two
#   startup probes of 3 steps each; the second finds p1 running but the
#   dependency down, and restarts it: 2 + 3 + 3 = 8;
# - ready_kept_on_restart: two probes bring p1 up and ready (6), it hangs (1),
#   a probe restarts it (3), the restart is delivered (1), a request for p1
#   is routed to it while it boots (1): 12.
@pytest.mark.parametrize("flag, prop, length", [
    ("no_startup_probe", "StartupBudget", 3),
    ("liveness_checks_dependency", "RestartOnlyIfHung", 8),
    ("ready_kept_on_restart", "NoTrafficToUnready", 12),
])
def test_each_flag_is_found_at_its_shortest_length(flag, prop, length):
    r = run(bug=flag)
    assert r.verdict == "violation"
    assert (r.counterexample.property, len(r.counterexample)) == (prop, length)


def test_without_a_startup_probe_a_slow_starter_loops_and_is_never_ready():
    r = run(stop_at_first=False, instances=1, bug="no_startup_probe")
    assert verdicts(r)["EventuallyReady"] is False
    assert verdicts(r)["HungInstanceRestarted"] is False  # it never even runs long enough to hang


def test_a_dependency_outage_restarts_every_instance_at_once():
    # A breadth-first search of its own: with the bug, a state is reachable where the
    # dependency is down and both instances, neither ever hung, are being restarted.
    model = registry.build("health-checks", {"bug": "liveness_checks_dependency"})

    def both_restarting(w):
        restarts = {dst for src, dst, msg in model.in_flight(w) if msg == ("Restart",)}
        return (model.state_of(w, "db") == "down" and restarts == {"p1", "p2"}
                and all(model.state_of(w, p).can_hang for p in ("p1", "p2")))

    seen = set(model.init_states())
    frontier = list(seen)
    while frontier and not any(both_restarting(w) for w in frontier):
        frontier = [n for w in frontier for _, n in model.successors(w) if n not in seen]
        frontier = list(dict.fromkeys(frontier))
        seen.update(frontier)
    assert any(both_restarting(w) for w in frontier)


def test_every_flag_exits_1(capsys):
    for flag in registry.get("health-checks").bugs:
        assert main(["check", "health-checks", "-q", "-p", f"bug={flag}", "--trace-out", "/dev/null"]) == 1
    capsys.readouterr()
