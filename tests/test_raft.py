"""Raft at honest bounds: each bug flag breaks what it claims, where the correct model passes.

Every (bug flag, property) pair in ``BREAKS`` has its shortest BFS
counterexample in ``traces/corpus/raft_<flag>__<Property>.json``, found at the
flag's default bounds; replaying it proves the violation is reachable there.
The lengths are regression figures (this model's own BFS output, symmetry on).
The correct model's passes at the quick flags' bounds run here; the long runs
(the correct model at figure8's, no_prev_check's, stale_lease_read's and
membership_one_step's defaults, and BFS re-finding those flags) are
``splitbrain bench`` entries (checker/bench.py).
"""

from __future__ import annotations

import json
import re

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.models import registry
from splitbrain.models.raft.raft import COMMON, DEFAULTS, LEADER, Raft
from splitbrain.properties.consensus import election_safety, leader_append_only
from splitbrain.traces.format import load
from splitbrain.traces.replay import execute, replay
from tests.test_corpus_replays import CORPUS

PAPER = ("ElectionSafety", "LeaderAppendOnly", "LogMatching", "LeaderCompleteness", "StateMachineSafety")

# bug flag -> {property it breaks at the flag's defaults: shortest counterexample length}
# (regression figures: BFS with symmetry, `splitbrain check raft -p bug=F --keep-going`)
BREAKS = {
    "no_log_check": {"LeaderCompleteness": 12, "StateMachineSafety": 15},
    "volatile_vote": {"ElectionSafety": 10, "LogMatching": 12, "StateMachineSafety": 18},
    "double_vote": {"ElectionSafety": 8},
    "leader_overwrite": {"LeaderAppendOnly": 6, "LogMatching": 8, "LeaderCompleteness": 13,
                         "StateMachineSafety": 11},
    "no_prev_check": {"LogMatching": 19, "LeaderCompleteness": 20, "StateMachineSafety": 18},
    "figure8": {"LeaderCompleteness": 28, "StateMachineSafety": 33},
    "stale_lease_read": {"NoStaleReads": 18},
    # BFS at these defaults: 1,449,808 states, 4 min (the bench entry raft-find-membership_one_step)
    "membership_one_step": {"LeaderCompleteness": 25},
}
PAIRS = [(flag, prop) for flag, props in BREAKS.items() for prop in props]
# Flags whose defaults the default suite checks (BFS finds them and the correct model passes
# in a few seconds); the others are bench entries.
QUICK = ("no_log_check", "volatile_vote", "leader_overwrite", "double_vote")


def bounds_of(bug: str) -> dict:
    """The bounds and faults ``-p bug=NAME`` alone resolves to."""
    params = dict(registry.build("raft", {"bug": bug}).params())
    params.pop("bug")
    return params


def test_every_paper_property_is_broken_by_some_flag():
    broken = {prop for props in BREAKS.values() for prop in props}
    assert set(PAPER) <= broken
    assert {flag: set(props) for flag, props in registry.get("raft").breaks.items()} == \
        {flag: set(props) for flag, props in BREAKS.items()}


# Flags whose defaults keep one client value and one entry: four terms (figure8), clocks
# (stale_lease_read) or four servers (membership_one_step) make more too slow to search.
SMALL = {"figure8", "stale_lease_read", "membership_one_step"}


def test_defaults_give_every_property_room_to_fail():
    # Two client values and two log entries for the correct model and the other flags.
    for bug in DEFAULTS:
        bounds = {**COMMON, **DEFAULTS[bug]}
        roomy = bounds["client_values"] >= 2 and bounds["max_log"] >= 2
        assert roomy == (bug not in SMALL), bug


@pytest.mark.parametrize("flag,prop", PAIRS)
def test_corpus_holds_the_shortest_counterexample_of_each_claimed_pair(flag, prop):
    trace = load(CORPUS / f"raft_{flag}__{prop}.json")
    assert trace.params["bug"] == flag and trace.property == prop and len(trace) == BREAKS[flag][prop]
    assert {k: v for k, v in trace.params.items() if k != "bug"} == bounds_of(flag)
    assert replay(trace).reproduced


def test_every_raft_corpus_trace_is_a_claimed_pair():
    names = {p.stem for p in CORPUS.glob("raft_*.json")}
    assert names == {f"raft_{flag}__{prop}" for flag, prop in PAIRS}


@pytest.mark.parametrize("bug", QUICK)
def test_quick_flag_is_found_with_its_shortest_counterexample(bug):
    found = check(registry.build("raft", {"bug": bug}), symmetry=True)
    assert found.verdict == "violation"
    first = found.violated[0]
    assert BREAKS[bug][first.name] == len(first.trace) == min(BREAKS[bug].values())


def test_correct_model_passes_at_the_default_bounds_taking_every_action():
    # The bounds of no_log_check, leader_overwrite and double_vote too: each of the paper's
    # five properties is broken by one of those three, or by no_prev_check (LogMatching too).
    assert bounds_of("no_log_check") == bounds_of("leader_overwrite") == bounds_of("double_vote") == bounds_of("none")
    at_defaults = {p for f in ("no_log_check", "leader_overwrite", "double_vote") for p in BREAKS[f]}
    assert set(PAPER) <= at_defaults
    r = check(registry.build("raft", {}), symmetry=True)
    assert r.verdict == "ok" and r.complete
    assert {p.name for p in r.properties} >= set(PAPER)
    assert all(p.holds for p in r.properties)  # every witness reached too
    assert not r.coverage.never_taken


def test_correct_model_passes_at_volatile_vote_bounds():
    r = check(registry.build("raft", {**bounds_of("volatile_vote"), "bug": "none"}), symmetry=True)
    assert r.verdict == "ok" and r.complete
    assert all(p.holds for p in r.properties)


# -- Leader Append-Only, a step invariant ---------------------------------------------

def test_leader_append_only_judges_a_leader_of_the_same_term_before_and_after():
    a, b, c = (1, "v1"), (1, "v2"), (2, "v1")
    assert leader_append_only([("n1", 1, (a,))], [("n1", 1, (a, b))])
    assert not leader_append_only([("n1", 1, (a,))], [("n1", 1, (b,))])        # overwritten
    assert not leader_append_only([("n1", 1, (a, b))], [("n1", 1, (a,))])      # deleted
    assert leader_append_only([("n1", 1, (a, b))], [("n1", 2, (c,))])          # a new term: a new leader
    assert leader_append_only([("n1", 1, (a, b))], [])                         # stepped down


def test_leader_overwrite_breaks_leader_append_only_on_its_last_step_only():
    trace = load(CORPUS / "raft_leader_overwrite__LeaderAppendOnly.json")
    model = registry.build("raft", trace.params)
    prop = next(p for p in model.properties() if p.name == "LeaderAppendOnly")
    assert prop.kind == "always_step"
    states = execute(model, trace.init, trace.actions)
    verdicts = [prop.condition(s, a, t) for s, a, t in zip(states, trace.actions, states[1:])]
    assert verdicts == [True] * (len(verdicts) - 1) + [False]
    assert "overwrites its uncommitted entry" in trace.steps[-1]


# -- Election Safety counts every election ------------------------------------------------

def take(model: Raft, w, *wanted: tuple) -> object:
    """``w`` after the successors whose actions begin with each of ``wanted``, in turn."""
    for prefix in wanted:
        w = next(nxt for action, nxt in model.successors(w) if action[:len(prefix)] == prefix)
    return w


def test_election_safety_remembers_a_crashed_leader():
    model = Raft(max_term=1, faults="crash=1")
    w = next(iter(model.init_states()))
    w = take(model, w, ("timeout", "n1", "ElectionTimeout"), ("timeout", "n1", ("RequestVote", "n2")),
             ("deliver", "n1", "n2"), ("deliver", "n2", "n1"))
    assert model.state_of(w, "n1").role == LEADER
    w = take(model, w, ("crash", "n1"))
    assert not any(s.role == LEADER for _, s in model.servers(w))
    assert model.elected(w) == [("n1", 1)]
    assert not election_safety(model.elected(w) + [("n2", 1)])
    assert election_safety(model.elected(w) + [("n2", 2)])


# -- bounds that prune nothing a fault or the protocol produces --------------------------

def action_counts(result) -> dict[str, tuple[int, int]]:
    return {row.name: (row.taken, row.new_states) for row in result.coverage.actions}


def test_dup_fault_really_duplicates_at_one_message_in_flight():
    small = {"max_term": 1, "max_log": 1, "client_values": 1}
    r = check(registry.build("raft", {**small, "faults": "dup=1"}), symmetry=True)
    assert r.verdict == "ok" and r.complete
    taken, new = action_counts(r)["duplicate"]
    assert taken > 0 and new > 0
    plain = check(registry.build("raft", small), symmetry=True)
    assert r.distinct_states > plain.distinct_states


def test_a_leader_may_resend_the_same_append_entries():
    # Two identical AppendEntries in flight, with no dup fault: a leader's resend.
    model = Raft(max_term=1, max_in_flight=2)
    seen, frontier = set(), list(model.init_states())
    twice = False
    while frontier and not twice:
        w = frontier.pop()
        for _, nxt in model.successors(w):
            if nxt in seen or not model.within_boundary(nxt):
                continue
            seen.add(nxt)
            frontier.append(nxt)
            msgs = [env for env in model.network.messages(nxt.net) if env[2][0] == "AppendEntries"]
            twice = twice or len(msgs) != len(set(msgs))
    assert twice


def test_unbudgeted_dup_is_a_usage_error(capsys):
    assert main(["check", "raft", "--faults", "dup"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dup=K" in err[0]


# -- membership ---------------------------------------------------------------------------

def test_correct_model_at_membership_one_step_bounds_commits_a_removal():
    # A path, step by step, at the flag's defaults: n1 is elected by n2 and n3, commits v1
    # (an entry of its term) on them, then removes n4 and commits that configuration.
    model = registry.build("raft", {**bounds_of("membership_one_step"), "bug": "none"})
    w = next(iter(model.init_states()))
    w = take(model, w, ("timeout", "n1", "ElectionTimeout"))
    for peer in ("n2", "n3"):
        w = take(model, w, ("timeout", "n1", ("RequestVote", peer)), ("deliver", "n1", peer), ("deliver", peer, "n1"))
    replicate = [step for peer in ("n2", "n3") for step in
                 (("timeout", "n1", ("AppendEntries", peer)), ("deliver", "n1", peer), ("deliver", peer, "n1"))]
    w = take(model, w, ("timeout", "n1", ("ClientRequest", "v1")), *replicate)
    assert model.state_of(w, "n1").commitIndex == 1 and not model.server_removed(w)
    w = take(model, w, ("timeout", "n1", ("RemoveServer", "n4")), *replicate)
    assert model.server_removed(w)
    assert model.state_of(w, "n1").commitIndex == 2


def test_correct_membership_changes_remove_a_server():
    r = check(registry.build("raft", {"membership": True, "max_term": 1}), symmetry=True)
    assert r.verdict == "ok" and r.complete
    assert r.prop("ServerRemoved").holds is True
    assert action_counts(r)["timeout RemoveServer"][0] > 0


def test_membership_one_step_at_five_servers_adds_and_removes_to_disjoint_majorities():
    # Ongaro's scenario (raft-dev, 2015; the model's docstring): the first configuration is
    # n1..n4, n5 a spare. Leader n1 (term 1) adds n5 and replicates that only to n5; n2 (term 2,
    # elected by n2, n3, n4) removes n1 and commits {n2,n3,n4} with n3; n5 (term 3) is elected
    # under {n1..n5} by n5, n1, n4 and lacks the committed entry.
    model = registry.build("raft", {"bug": "membership_one_step", "servers": 5})
    assert model.members == ("n1", "n2", "n3", "n4") and model.params()["members"] == 4
    correct = registry.build("raft", {**model.params(), "bug": "none"})

    def vote(m, w, cand, *peers):
        for p in peers:
            w = take(m, w, ("timeout", cand, ("RequestVote", p)), ("deliver", cand, p), ("deliver", p, cand))
        return w

    w = next(iter(model.init_states()))
    assert ("timeout", "n5", "ElectionTimeout") not in [a for a, _ in model.successors(w)]  # a spare waits
    w = vote(model, take(model, w, ("timeout", "n1", "ElectionTimeout")), "n1", "n2", "n3")
    w = take(model, w, ("timeout", "n1", ("AddServer", "n5")),
             ("timeout", "n1", ("AppendEntries", "n5")), ("deliver", "n1", "n5"), ("deliver", "n5", "n1"))
    assert model.state_of(w, "n5").log == ((1, ("config", ("n1", "n2", "n3", "n4", "n5"))),)
    w = vote(model, take(model, w, ("timeout", "n2", "ElectionTimeout")), "n2", "n3", "n4")
    assert model.state_of(w, "n2").role == LEADER
    # The rule the bug leaves out: the correct leader n2 may not change the configuration before
    # it commits an entry of term 2.
    assert ("timeout", "n2", ("RemoveServer", "n1")) in [a for a, _ in model.successors(w)]
    n2 = model.state_of(w, "n2")
    assert model.actor.may_change_config(n2) and not correct.actor.may_change_config(n2)
    w = take(model, w, ("timeout", "n2", ("RemoveServer", "n1")),
             ("timeout", "n2", ("AppendEntries", "n3")), ("deliver", "n2", "n3"), ("deliver", "n3", "n2"))
    assert ("commit", "n2", 2, 1, (2, ("config", ("n2", "n3", "n4")))) in w.history
    w = take(model, w, ("timeout", "n5", "ElectionTimeout"), ("timeout", "n5", "ElectionTimeout"))
    assert model.state_of(w, "n5").currentTerm == 3
    w = vote(model, w, "n5", "n1", "n4")
    assert model.state_of(w, "n5").role == LEADER
    broken = [p.name for p in model.properties() if p.kind == "always" and not p.condition(w)]
    assert broken == ["LeaderCompleteness"]


def test_correct_membership_adds_a_spare_and_removes_a_server():
    r = check(registry.build("raft", {"servers": 4, "members": 3, "membership": True, "max_term": 1,
                                      "max_log": 1, "client_values": 1}), symmetry=True)
    assert r.verdict == "ok" and r.complete
    assert r.prop("ServerAdded").holds is True and r.prop("ServerRemoved").holds is True
    counts = action_counts(r)
    assert counts["timeout AddServer"][0] > 0 and counts["timeout RemoveServer"][0] > 0


@pytest.mark.parametrize("params, message", [
    ({"members": 4}, "members must be between 1 and servers"),
    ({"servers": 4, "members": 3}, "spare servers (members < servers) need membership=true"),
])
def test_members_out_of_range_is_refused(params, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Raft(**params)


# -- liveness -------------------------------------------------------------------------------

def test_liveness_fair_holds_and_unfair_splits_the_vote_forever():
    small = {"max_log": 1, "client_values": 1}
    fair = check(registry.build("raft", {**small, "liveness": "fair"}))
    assert fair.verdict == "ok" and fair.prop("LeaderEventuallyElected").holds is True
    unfair = check(registry.build("raft", {**small, "liveness": "unfair"}))
    lasso = unfair.prop("LeaderEventuallyElected")
    assert lasso.holds is False and lasso.trace.loop_start is not None
    assert replay(lasso.trace).reproduced
    before_cycle = lasso.trace.actions[:lasso.trace.loop_start]
    assert [a[2] for a in before_cycle] == ["ElectionTimeout"] * 3  # three candidates, one vote each


def test_liveness_text_says_the_leader_may_come_before_the_last_fault():
    prop = registry.build("raft", {"liveness": "fair"}).liveness_properties()[0]
    assert prop.kind == "eventually" and "possibly before the last fault" in prop.description


# -- stories and CLI ----------------------------------------------------------------------------

def test_volatile_vote_counterexample_restarts_a_server():
    steps = load(CORPUS / "raft_volatile_vote__ElectionSafety.json").actions
    kinds = [a[0] for a in steps]
    assert "crash" in kinds and "restart" in kinds


def test_cli_explores_raft_up_to_symmetry_by_default(capsys):
    assert main(["check", "raft", "-p", "max_term=1", "--json"]) == 0
    reduced = json.loads(capsys.readouterr().out)
    assert main(["check", "raft", "-p", "max_term=1", "--json", "--no-symmetry"]) == 0
    full = json.loads(capsys.readouterr().out)
    assert reduced["symmetry"] is True and full["symmetry"] is False
    assert reduced["distinct_states"] < full["distinct_states"]
