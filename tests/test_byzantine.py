"""Byzantine agreement: bcastByz at TLC parity, OM(m), SM(m) and PBFT with an equivocating adversary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import splitbrain.models.byzantine.sm as sm_module
from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.models import registry
from splitbrain.models.byzantine.adversary import can_sign, subsets, traitor_sets
from splitbrain.models.registry import UsageError
from splitbrain.traces.format import load
from splitbrain.traces.replay import replay

CORPUS = Path(__file__).resolve().parents[1] / "traces" / "corpus"


def run(name: str, **params):
    return check(registry.build(name, params))


def holds(result, name: str):
    return next(p.holds for p in result.properties if p.name == name)


# -- the adversary ----------------------------------------------------------------

def test_traitor_sets_are_every_subset_up_to_t():
    sets = traitor_sets(range(4), 1)
    assert sets == [frozenset(), frozenset({0}), frozenset({1}), frozenset({2}), frozenset({3})]
    assert len(traitor_sets(range(4), 2)) == 1 + 4 + 6


def test_traitors_relay_but_cannot_forge_a_loyal_signature():
    traitors = {2}
    genuine = {("attack", (0,))}  # the loyal commander signed attack, and traitor 2 got it
    assert can_sign("attack", (0, 2), traitors, genuine)
    assert not can_sign("retreat", (0, 2), traitors, genuine)
    # A traitor commander's signature is the traitors' to give.
    assert can_sign("retreat", (0, 2), {0, 2}, set())


def test_subsets_include_none_and_all():
    assert subsets({"a", "b"}) == [frozenset(), frozenset({"a"}), frozenset({"b"}), frozenset({"a", "b"})]


# -- bcastByz: TLC parity ------------------------------------------------------------

def test_bcastbyz_counts_equal_tlc():
    r = run("bcastbyz", n=4, t=1, f=1, init="any")
    assert (r.verdict, r.distinct_states, r.states_generated, r.depth) == ("ok", 14_424, 227_344, 7)
    assert holds(r, "TypeOK") and holds(r, "FCConstraints") and holds(r, "CorrectAccepts")


def test_bcastbyz_nobcast_counts_equal_tlc_for_its_cfg():
    # bcastByzNoBcast.cfg has N = 10, T = 3, F = 2: 45 initial states and one stuttering step each.
    r = run("bcastbyz", n=10, t=3, f=2, init="nobcast")
    assert (r.verdict, r.distinct_states, r.states_generated, r.depth) == ("ok", 45, 90, 1)
    assert holds(r, "Unforg")


def test_bcastbyz_nobcast_with_four_processes_holds_unforg():
    r = run("bcastbyz", n=4, t=1, f=1, init="nobcast")
    assert (r.verdict, r.distinct_states, r.states_generated, r.depth) == ("ok", 4, 8, 1)
    assert holds(r, "Unforg")


def test_bcastbyz_n3_t1_breaks_unforgeability():
    r = run("bcastbyz", n=3, t=1, f=1, init="nobcast")
    assert r.verdict == "violation" and holds(r, "Unforg") is False
    trace = r.counterexample
    assert len(trace) == 2
    assert "(Byzantine)" in trace.steps[0] and "sends ECHO" in trace.steps[0]
    assert "accepts" in trace.steps[-1]


def test_bcastbyz_rejects_f_above_t():
    with pytest.raises(UsageError, match="T >= F"):
        registry.build("bcastbyz", {"f": "2"})


# -- OM(m) ---------------------------------------------------------------------------

def test_om_four_generals_one_traitor_agree():
    r = run("om", n=4, m=1)
    assert r.verdict == "ok" and r.complete
    assert holds(r, "IC1") and holds(r, "IC2") and holds(r, "AllDecided")


def test_om_three_generals_one_traitor_fail_with_the_traitors_lie():
    r = run("om", n=3, m=1)
    assert r.verdict == "violation" and holds(r, "IC2") is False
    steps = r.counterexample.steps
    lies = [s for s in steps if "(traitor) tells" in s]
    assert lies and "a lie" in lies[-1]
    assert re.search(r"L\d decides retreat", steps[-1])


def test_om_traitor_commander_may_say_different_things():
    # Every strategy is explored: a state where the traitor commander told L1 and L2 different orders.
    model = registry.build("om", {"n": "3", "m": "1"})
    told, visited = set(), set()
    frontier = [w for w in model.init_states() if "C" in w.byzantine]
    while frontier:
        w = frontier.pop()
        if w in visited:
            continue
        visited.add(w)
        told.add(tuple(sorted((j, dict(s.heard).get(("C",))) for j, s in model.live(w) if j != "C")))
        frontier.extend(nxt for a, nxt in model.successors(w) if a[0] == "byzantine")
    assert (("L1", "attack"), ("L2", "retreat")) in told


# -- SM(m) ---------------------------------------------------------------------------

def test_sm_three_generals_one_traitor_agree():
    r = run("sm", n=3, m=1)
    assert r.verdict == "ok" and holds(r, "IC1") and holds(r, "IC2") and holds(r, "AllDecided")


def test_sm_four_generals_two_traitors_agree():
    r = run("sm", n=4, m=2)
    assert r.verdict == "ok" and holds(r, "IC1") and holds(r, "IC2")


def test_sm_needs_unforgeable_signatures(monkeypatch):
    monkeypatch.setattr(sm_module, "can_sign", lambda *args: True)
    r = run("sm", n=3, m=1)
    assert r.verdict == "violation" and holds(r, "IC2") is False


# -- PBFT ----------------------------------------------------------------------------

def test_pbft_defaults_hold_through_a_view_change(capsys):
    code = main(["check", "pbft", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["verdict"] == "ok"
    verdicts = {p["name"]: p["holds"] for p in data["properties"]}
    assert verdicts == {"Agreement": True, "Executed": True, "ExecutedAfterViewChange": True}


def test_pbft_small_quorum_is_found_with_defaults(capsys, tmp_path):
    out = tmp_path / "cx.json"
    code = main(["check", "pbft", "-p", "bug=small_quorum", "--json", "--trace-out", str(out)])
    assert code == 1 and json.loads(capsys.readouterr().out)["verdict"] == "violation"
    trace = load(out)
    assert trace.property == "Agreement"
    told = [s for s in trace.steps if "(Byzantine primary) tells" in s]
    assert {re.search(r"PRE-PREPARE\(v0, n1, (\w)\)", s).group(1) for s in told} == {"a", "b"}


def test_pbft_new_primary_must_keep_prepared_requests():
    r = run("pbft", bug="forget_prepared")
    assert r.verdict == "violation" and holds(r, "Agreement") is False
    assert any("NEW-VIEW" in s for s in r.counterexample.steps)


# -- the corpus ----------------------------------------------------------------------

@pytest.mark.parametrize("name, prop", [
    ("bcastbyz_n3_t1", "Unforg"),
    ("om_n3_m1", "IC2"),
    ("pbft_small_quorum__Agreement", "Agreement"),
    ("pbft_forget_prepared__Agreement", "Agreement"),
])
def test_byzantine_corpus_traces_replay(name, prop):
    trace = load(CORPUS / f"{name}.json")
    assert trace.property == prop
    report = replay(trace)
    assert report.reproduced, report.message


# -- the mutants' counterexamples show the mistake ---------------------------------------

def test_om_trust_commander_lets_a_traitor_commander_split_the_lieutenants():
    trace = load(CORPUS / "om_trust_commander__IC1.json")
    decided = dict(re.findall(r"(L\d) decides (\w+)", " ".join(trace.steps)))
    assert all(s.startswith("C (traitor)") for s in trace.steps if s.startswith("C "))
    assert set(decided.values()) == {"attack", "retreat"}  # each obeyed what C told it alone


def test_om_majority_without_direct_lets_one_traitor_overrule_a_loyal_commander():
    trace = load(CORPUS / "om_majority_without_direct__IC2.json")
    assert trace.steps[0] == "C orders attack" and "L3 decides retreat" in trace.steps[-1]
    assert "(traitor)" in trace.steps[-1]  # one relayed lie ties the relayed values: RETREAT


def test_sm_unchecked_signatures_accepts_an_order_the_loyal_commander_never_signed():
    trace = load(CORPUS / "sm_unchecked_signatures__IC2.json")
    assert "C sends L2 attack:C (round 0)" in trace.steps
    assert any(s.startswith("L1 (traitor) sends L2 retreat:C:L1") for s in trace.steps)
    assert trace.steps[-1] == "L2 decides retreat (V = {attack, retreat})"


def test_sm_no_relay_leaves_loyal_lieutenants_with_different_orders():
    trace = load(CORPUS / "sm_no_relay__IC1.json")
    assert "L1 sends nothing to L2 (round 1)" in trace.steps and "L2 sends nothing to L1 (round 1)" in trace.steps
    assert {"L1 decides retreat (V = {})", "L2 decides attack (V = {attack})"} <= set(trace.steps)
