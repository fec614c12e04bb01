"""The load balancer: each algorithm keeps its promises over flapping backends; each bug flag is found."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.models import registry
from splitbrain.models.service.load_balancer import address_hash, smooth_wrr


def run(**params):
    return check(registry.build("load-balancer", {k: str(v) for k, v in params.items()}))


def verdicts(result):
    return {p.name: p.holds for p in result.properties}


def swrr_sequence(weights, picks, eligible=None):
    eligible = eligible or (True,) * len(weights)
    current, out = (0,) * len(weights), []
    for _ in range(picks):
        i, current = smooth_wrr(weights, current, eligible)
        out.append("abcdefg"[i])
    return "".join(out)


def test_smooth_wrr_gives_nginx_documented_sequence():
    # nginx's commit introducing smooth weighted round robin: weights 5,1,1 give a,a,b,a,c,a,a
    assert swrr_sequence((5, 1, 1), 14) == "aabacaa" * 2


@pytest.mark.parametrize("weights", [(5, 1, 1), (3, 1, 1), (2, 1), (4, 3, 2), (1, 1, 1)])
def test_smooth_wrr_windows_are_exact_and_smooth_by_brute_force(weights):
    total = sum(weights)
    seq = swrr_sequence(weights, 3 * total)
    for start in range(0, len(seq), total):
        window = seq[start:start + total]
        assert Counter(window) == {"abcdefg"[i]: w for i, w in enumerate(weights)}
        for n in range(1, total + 1):
            counts = Counter(window[:n])
            assert all(counts["abcdefg"[i]] <= math.ceil(n * w / total) for i, w in enumerate(weights))


def test_rendezvous_hashing_moves_only_the_clients_of_the_backend_that_left():
    backends = ["b1", "b2", "b3", "b4"]
    clients = [f"10.0.0.{i}" for i in range(200)]
    def owner(c, bs):
        return max(bs, key=lambda b: address_hash(c, b))
    for gone in backends:
        rest = [b for b in backends if b != gone]
        moved = [c for c in clients if owner(c, backends) != owner(c, rest)]
        assert all(owner(c, backends) == gone for c in moved)


@pytest.mark.parametrize("algorithm, props", [
    ("rr", {"NoRouteToUnready"}),
    ("lc", {"NoRouteToUnready", "LeastConnections"}),
    ("iphash", {"NoRouteToUnready", "MinimalRemap"}),
    ("p2c", {"NoRouteToUnready", "LessLoadedOfTwo"}),
])
def test_correct_algorithms_hold_with_every_action_class_taken(algorithm, props):
    r = run(algorithm=algorithm)
    assert r.verdict == "ok" and r.complete
    assert verdicts(r) == {**{p: True for p in props}, "BackendLeft": True}
    assert r.coverage.never_taken == []


def test_correct_swrr_holds_and_bursty_wrr_fails_at_the_same_weights():
    # weights 3,1,1: the default 5,1,1 passes too (`splitbrain check load-balancer`), in about 4 s
    r = run(weights="3,1,1")
    assert r.verdict == "ok" and verdicts(r)["WeightedShare"] is True and r.coverage.never_taken == []
    bad = run(weights="3,1,1", bug="bursty_wrr")
    # plain WRR picks a,a,a: after 3 picks a has 3 > ceil(3 * 3 / 5) = 2 (hand count: 3 requests)
    assert bad.counterexample.property == "WeightedShare" and len(bad.counterexample) == 3


# Shortest counterexamples at the defaults (weights 5,1,1, 2 clients, at most 3 messages
# in flight), counted by hand:
# - unhealthy_in_rotation: a backend flips, its Health report is delivered, a
#   request is routed to it anyway: 3 steps;
# - stale_counts: two requests; the snapshot still says 0 connections everywhere,
#   so both go to b1 while b2 has none: 2 steps;
# - bursty_wrr: plain WRR picks a,a,a,a; after 4 picks a has 4 > ceil(4 * 5 / 7) = 3;
#   only 3 messages fit in flight, so one request and its Done are delivered: 4 + 2 = 6;
# - modulo_hash: x1 (crc32 % 3 = 0) goes to b1; b2 leaves and says so; x1's
#   crc32 % 2 = 1 now picks b3 though b1 is ready: 4 steps.
@pytest.mark.parametrize("flag, prop, length", [
    ("unhealthy_in_rotation", "NoRouteToUnready", 3),
    ("stale_counts", "LeastConnections", 2),
    ("bursty_wrr", "WeightedShare", 6),
    ("modulo_hash", "MinimalRemap", 4),
])
def test_each_flag_is_found_at_its_shortest_length(flag, prop, length):
    r = run(bug=flag)
    assert r.verdict == "violation"
    assert (r.counterexample.property, len(r.counterexample)) == (prop, length)


def test_stale_counts_also_break_power_of_two_choices():
    # two requests sampling (b1, b2): the snapshot says 0 everywhere, both go to b1
    r = run(algorithm="p2c", bug="stale_counts")
    assert (r.counterexample.property, len(r.counterexample)) == ("LessLoadedOfTwo", 2)
    assert r.counterexample.actions[0][2][2:] == r.counterexample.actions[1][2][2:]


def test_every_flag_exits_1(capsys):
    for flag in registry.get("load-balancer").bugs:
        assert main(["check", "load-balancer", "-q", "-p", f"bug={flag}", "--trace-out", "/dev/null"]) == 1
    assert main(["check", "load-balancer", "-p", "algorithm=fastest"]) == 2
    capsys.readouterr()
