"""Service discovery: TTL leases, self-preservation and bounded caches; each bug flag is found."""

from __future__ import annotations

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.models import registry
from splitbrain.models.service.discovery import Registry


def run(faults=None, **params):
    extra = {} if faults is None else {"faults": faults}
    model = registry.build("discovery", {k: str(v) for k, v in params.items()}, **extra)
    return check(model, symmetry=model.has_symmetry)


def verdicts(result):
    return {p.name: p.holds for p in result.properties}


def test_correct_discovery_holds_with_every_action_class_taken():
    r = run()
    assert r.verdict == "ok" and r.complete
    assert verdicts(r) == {"CacheBounded": True, "NoWholesaleEviction": True, "LateInstanceExpired": True}
    assert r.coverage.never_taken == []


def test_a_lone_instance_that_crashes_is_never_expired_and_the_cache_bound_still_holds():
    # Eureka's trade-off: one late instance out of one is "most of them", so
    # self-preservation keeps it registered; the bound is on deregistration, so it holds.
    # (Two instances with crash=1 pass too, in about 11 s: `--faults crash=1`.)
    r = run(faults="crash=1", instances=1)
    assert r.complete
    assert verdicts(r) == {"CacheBounded": True, "NoWholesaleEviction": True, "LateInstanceExpired": False}


def test_self_preservation_keeps_every_registration_when_all_heartbeats_stop():
    # The registry's sweep alone, by hand: both leases are 2 ticks old with ttl 1.
    model = registry.build("discovery", {})
    sweep = model.actors[model.index["r"]]

    class Ctx:
        def now(self):
            return 2

        def set_timer(self, *a):
            pass

    state = Registry(frozenset({("i1", 0), ("i2", 0)}), frozenset())
    assert sweep.on_timer("r", state, "evict", Ctx()) == state  # both late: blame the network
    one_late = Registry(frozenset({("i1", 0), ("i2", 2)}), frozenset())
    assert sweep.on_timer("r", one_late, "evict", Ctx()).leases == {("i2", 2)}  # one late: expire it


# Shortest counterexamples at the defaults (ttl 1, cache age 1, clock up to 2), counted by hand:
# - cache_without_expiry: a fetch (timer, request, answer: 3), i1 leaves and its
#   cancel is delivered (2), two ticks (2), a request routed from the cache that
#   still lists i1, deregistered 2 > 1 ticks ago: 3 + 2 + 2 + 1 = 8;
# - evict_during_partition: no heartbeat arrives; two ticks make both leases
#   late and one sweep expires both: 3.
@pytest.mark.parametrize("flag, prop, length", [
    ("cache_without_expiry", "CacheBounded", 8),
    ("evict_during_partition", "NoWholesaleEviction", 3),
])
def test_each_flag_is_found_at_its_shortest_length(flag, prop, length):
    r = run(bug=flag)
    assert r.verdict == "violation"
    assert (r.counterexample.property, len(r.counterexample)) == (prop, length)


def test_every_flag_exits_1(capsys):
    for flag in registry.get("discovery").bugs:
        assert main(["check", "discovery", "-q", "-p", f"bug={flag}", "--trace-out", "/dev/null"]) == 1
    capsys.readouterr()
