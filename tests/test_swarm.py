"""The swarm engine: guided, seeded random walks with swarm testing; finds every bug flag, shortens, replays."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.checker.sampled_parallel import swarm_chunk_walks, swarm_chunked
from splitbrain.checker.swarm import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_WALKS,
    GUIDED_WALKS,
    STALE_WALKS,
    SwarmSearch,
    swarm_check,
)
from splitbrain.models import registry
from splitbrain.models.core import Model
from splitbrain.properties.kinds import always, sometimes
from splitbrain.traces.format import load
from splitbrain.traces.replay import replay


class Grid(Model):
    """Two counters x, y in 0..n-1: ``incx``, ``incy``, ``reset``; (bx, by) is the bad corner.

    The shortest path to the bad corner takes bx + by steps; n * n states.
    """

    name = "grid"

    def __init__(self, n: int = 5, bx: int = 3, by: int = 2, starts: int = 1):
        self.n, self.bx, self.by, self.starts = n, bx, by, starts
        self._params = dict(n=n, bx=bx, by=by, starts=starts)

    def init_states(self):
        return [(0, i) for i in range(self.starts)]

    def successors(self, s):
        x, y = s
        if x < self.n - 1:
            yield ("incx",), (x + 1, y)
        if y < self.n - 1:
            yield ("incy",), (x, y + 1)
        yield ("reset",), (0, 0)

    def properties(self):
        return [
            always("NotCorner", lambda s: s != (self.bx, self.by)),
            sometimes("FarCorner", lambda s: s == (self.n - 1, self.n - 1)),
            sometimes("Impossible", lambda s: s[0] < 0),
        ]

    def render(self, s):
        return {"x": s[0], "y": s[1]}


class Lossy(Model):
    """A receiver counts delivered messages up to ``goal``; 2k fault actions each lose everything.

    Each fault leads to a state not seen before (the state remembers the
    faults), so preferring unseen states does not favour ``deliver``: within
    ``goal`` steps a walk must pick it among 2k+1 actions every time (odds
    (1/11)**6 at the defaults), unless the swarm switches both fault kinds off
    (one walk in 16).
    """

    name = "lossy"
    fault_kinds = ("crash", "drop")

    def __init__(self, k: int = 5, goal: int = 6):
        self.k, self.goal = k, goal
        self._params = dict(k=k, goal=goal)

    def init_states(self):
        return [(0, ())]

    def successors(self, s):
        x, faults = s
        for i in range(self.k):
            yield ("crash", i), (0, faults + (("crash", i),))
        yield ("deliver",), (x + 1, faults)
        for i in range(self.k):
            yield ("drop", i), (0, faults + (("drop", i),))

    def within_boundary(self, s):
        return s[0] <= self.goal

    def properties(self):
        return [always("NeverAll", lambda s: s[0] < self.goal)]


class Race(Model):
    """Three processes count their steps: A and B up to ``n``, C (noise) up to 1000; bad: A done before B began.

    A uniform choice among the three takes A's ``n`` steps before B's first
    with odds below 2**-n; PCT priorities ranking A above B do it whenever no
    priority change interrupts A.
    """

    name = "race"

    def __init__(self, n: int = 10):
        self.n = n
        self._params = dict(n=n)

    def init_states(self):
        return [(0, 0, 0)]

    def successors(self, s):
        a, b, c = s
        if a < self.n:
            yield ("step", "A"), (a + 1, b, c)
        if b < self.n:
            yield ("step", "B"), (a, b + 1, c)
        if c < 1000:
            yield ("step", "C"), (a, b, c + 1)

    def properties(self):
        return [always("BNotLast", lambda s: not (s[0] == self.n and s[1] == 0))]


class Noisy(Model):
    """``advance`` counts x up to ``goal``, ``reset`` zeroes it, k ``shuffle`` actions change only a noise value.

    Every step leads to a state not seen before (the noise takes 100,003
    values), so preferring unseen states does not favour ``advance``; the
    abstraction (x alone) does, and walks begin where x is highest (least visited).
    """

    name = "noisy"

    def __init__(self, k: int = 10, goal: int = 40):
        self.k, self.goal = k, goal
        self._params = dict(k=k, goal=goal)

    def init_states(self):
        return [(0, 0)]

    def successors(self, s):
        x, noise = s
        yield ("advance",), (x + 1, noise)
        for i in range(self.k):
            yield ("shuffle", i), (x, (noise * 7 + i + 1) % 100_003)
        yield ("reset",), (0, noise)

    def abstract(self, s):
        return s[0]

    def properties(self):
        return [always("Small", lambda s: s[0] < self.goal)]


class Stuck(Model):
    """Counts to 2 and stops: a deadlock unless allowed."""

    name = "stuck"

    def __init__(self, allow: bool = False):
        self.allow_deadlock = allow
        self._params = dict(allow=allow)

    def init_states(self):
        return [0]

    def successors(self, x):
        if x < 2:
            yield ("inc",), x + 1

    def properties(self):
        return [always("Small", lambda x: x < 10)]


def test_finds_violation_with_a_shortest_length_trace_that_replays(tmp_path):
    result = swarm_check(Grid(), trace_dir=tmp_path)
    assert result.verdict == "violation" and result.engine == "swarm"
    prop = result.prop("NotCorner")
    assert prop.holds is False and prop.trace is result.counterexample
    trace = result.counterexample
    assert len(trace) == len(check(Grid()).counterexample) == 5
    assert sorted(trace.actions) == [("incx",)] * 3 + [("incy",)] * 2
    assert "found by the swarm engine, seed 0" in trace.note
    path = Path(result.extra["trace_file"])
    assert path.parent == tmp_path and path.name.startswith("grid-NotCorner-")
    assert replay(load(path), Grid()).reproduced


def test_sampled_verdicts_never_hold_and_an_unreached_witness_is_undecided():
    result = swarm_check(Grid(bx=99), budget=30)
    assert result.verdict == "undecided" and not result.complete  # the witness Impossible is not reached
    corner = result.prop("NotCorner")
    assert corner.holds is None and corner.sampled and corner.status == "no violation found"
    assert "no violation in 30 guided swarm walks" in corner.note
    far = result.prop("FarCorner")
    assert far.holds is True and len(far.trace) == 8  # shortened: 4 incx + 4 incy
    assert replay(far.trace, Grid(bx=99)).reproduced
    impossible = result.prop("Impossible")
    assert impossible.holds is None and impossible.undecided and "not reached in" in impossible.note
    assert [p.name for p in result.undecided] == ["Impossible"]
    assert result.distinct_states == 25  # the guidance visits every state of the 5 x 5 grid
    assert result.extra["walks"] == 30 and result.extra["budget"] == 30


def test_deadlock_is_a_violation_unless_allowed():
    result = swarm_check(Stuck(), budget=5)
    assert result.verdict == "violation"
    assert result.prop("Deadlock").holds is False
    assert result.counterexample.actions == [("inc",), ("inc",)]
    assert replay(result.counterexample, Stuck()).reproduced
    assert swarm_check(Stuck(allow=True), budget=5).verdict == "ok"
    assert swarm_check(Stuck(), budget=5, check_deadlock=False).verdict == "ok"


def test_same_seed_same_walks_and_other_seeds_other_walks():
    model = registry.build("twophase")
    a, b = swarm_check(model, budget=200), swarm_check(model, budget=200, seed=0)
    assert (a.extra["runs"], a.states_generated, a.coverage.to_json()) == \
        (b.extra["runs"], b.states_generated, b.coverage.to_json())
    c = swarm_check(model, budget=200, seed=7)
    assert c.extra["seed"] == 7
    assert (c.extra["runs"], c.states_generated) != (a.extra["runs"], a.states_generated)


def test_swarm_switches_off_fault_kinds_so_a_rare_run_is_found_sooner():
    def walks_to_find(swarm: bool) -> list[int]:
        out = []
        for seed in range(6):
            search = SwarmSearch(Lossy(), max_depth=6, seed=seed, swarm=swarm)
            found = search.run(1000)
            assert found is not None and found[2] == [("deliver",)] * 6
            out.append(search.walks)
        return out

    # Regression figures (seeds 0..5): 204 walks in all with the swarm, 604 without.
    assert 2 * sum(walks_to_find(True)) < sum(walks_to_find(False))


def walks_to_find(model: Model, budget: int, **options: bool) -> list[int | None]:
    """Per seed 0..7: the walks SwarmSearch took to find a violation of ``model``, None if not within ``budget``."""
    out = []
    for seed in range(8):
        search = SwarmSearch(model, max_depth=100, seed=seed, **options)
        out.append(search.walks if search.run(budget) is not None else None)
    return out


def test_pct_priorities_find_a_rare_interleaving_that_uniform_choice_misses():
    # Regression figures (seeds 0..7, 60 walks): PCT finds it in 6 searches, the uniform choice in 2.
    with_pct, without = walks_to_find(Race(), 60, pct=True), walks_to_find(Race(), 60, pct=False)
    assert sum(w is not None for w in with_pct) >= 2 * sum(w is not None for w in without) + 2


def test_abstraction_guides_walks_where_every_state_is_new():
    # Regression figures (seeds 0..7, 60 walks): found in 17 to 34 walks with the abstraction, never without.
    assert None not in walks_to_find(Noisy(), 60)
    assert walks_to_find(Noisy(), 60, guide=False) == [None] * 8


def test_raft_abstraction_is_the_same_for_symmetric_states():
    # Raft.abstract sorts the servers' summaries: renaming servers (the model's symmetry) keeps it.
    model = registry.build("raft", {"bug": "stale_lease_read"})
    search = SwarmSearch(model, max_depth=30, seed=1)
    search.tally.remember_states()
    search.run(20)
    states = list(search.tally.distinct.values())
    assert len({model.abstract(s) for s in states}) > 10
    assert all(model.abstract(s) == model.abstract(model.canonical(s)) for s in states)


def test_walks_jump_to_explored_states_but_traces_start_in_an_initial_state():
    # Grid(n=3) with several initial states: a trace names its initial state and replays from it.
    model = Grid(n=3, bx=1, by=2, starts=3)
    result = swarm_check(model, budget=50)
    assert result.verdict == "violation"
    trace = result.counterexample
    assert trace.init in (0, 1, 2) and len(trace) == 3 - trace.init
    assert replay(trace, model).reproduced
    # Walks of at most SEGMENT_STEPS steps, continued from explored states: paths grow past one walk.
    deep = swarm_check(registry.build("twophase"), budget=500)
    assert deep.depth > 1 and deep.extra["walks"] == 500 and deep.extra["runs"] < 500


def test_the_walks_do_not_depend_on_the_modules_loaded():
    code = ("from splitbrain.models import registry; from splitbrain.checker.swarm import swarm_check; "
            "{extra}r = swarm_check(registry.build('chain', {{'bug': 'read_from_head'}}), budget=300); "
            "print(r.states_generated, r.distinct_states)")
    outputs = {subprocess.run([sys.executable, "-c", code.format(extra=extra)], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).resolve().parents[1]).stdout
               for extra in ("", "import splitbrain.checker.explore, hypothesis, tests.test_raft; ")}
    assert len(outputs) == 1, outputs


# -- the default budget: up to DEFAULT_WALKS (GUIDED_WALKS with an abstraction), ending once
# STALE_WALKS walks in a row met nothing new ---------------------------------------------------

def test_default_budget_ends_once_every_state_was_met():
    # Grid(bx=99) has 5 * 5 states and no violation: the search meets all 25, then ends
    # STALE_WALKS walks later, far below its most walks.
    result = swarm_check(Grid(bx=99))
    assert result.distinct_states == 25
    assert STALE_WALKS <= result.extra["walks"] < DEFAULT_WALKS
    assert f"ended after {STALE_WALKS:,} walks in a row met nothing new" in result.notes[0]
    search = SwarmSearch(Grid(bx=99), max_depth=DEFAULT_MAX_DEPTH, seed=0)
    assert search.run(DEFAULT_WALKS, STALE_WALKS) is None and search.stale
    assert search.walks == result.extra["walks"]
    # An explicit budget is taken whole.
    assert swarm_check(Grid(bx=99), budget=STALE_WALKS + 500).extra["walks"] == STALE_WALKS + 500


def test_default_budget_with_an_abstraction_counts_abstract_states():
    # Noisy's concrete states are new at nearly every step, its abstract states (x, at most
    # DEFAULT_MAX_DEPTH + 1 of them) are not: the search ends once those stop appearing.
    result = swarm_check(Noisy(goal=1000))
    assert result.extra["budget"] == GUIDED_WALKS > DEFAULT_WALKS
    assert STALE_WALKS <= result.extra["walks"] < GUIDED_WALKS and result.verdict == "ok"
    assert result.distinct_states > 5 * result.extra["walks"]  # concrete states kept coming


def test_chunked_default_budget_stops_at_the_first_chunk_that_met_nothing_new():
    one = swarm_check(Grid(bx=99))
    merged = swarm_chunked(Grid(bx=99))
    assert merged.extra["chunks"]["total"] == 2 and merged.extra["chunks"]["merged"] == 1
    assert merged.extra["walks"] == one.extra["walks"] and merged.distinct_states == 25


def test_chunked_run_writes_a_progress_line_per_merged_chunk_but_the_last():
    out = io.StringIO()
    result = swarm_chunked(Grid(bx=99), budget=3000, seed=1, progress=out)
    assert result.extra["chunks"]["merged"] == 2
    [line] = out.getvalue().splitlines()  # after chunk 0; the result reports the last
    assert line.startswith("swarm: 1 of 2 chunks done, 1,500 walks, 25 distinct states, ") and line.endswith(" s")


def test_swarm_budgets_split_into_two_long_chunks():
    # Raft's figure8 at five servers: one search needed 7,000 to 30,000 walks (README, deep bugs).
    assert swarm_chunk_walks(500) == 1000 and swarm_chunk_walks(3000) == 1500
    assert swarm_chunk_walks(GUIDED_WALKS) == 50_000 and swarm_chunk_walks(10**6) == 50_000


def test_correct_paxos_passes_the_default_budget():
    result = swarm_check(registry.build("paxos"))
    assert result.verdict == "ok" and result.extra["walks"] == DEFAULT_WALKS
    assert all(p.holds is not False for p in result.properties)
    assert result.coverage.never_taken == []


# Every bug flag of every registered model, at its defaults: the property its
# shortest (BFS) counterexample violates and that counterexample's length
# (tests/bug_search_table.py measures the engines side by side). Regression
# figures: the lengths are this checker's own BFS output; the corpus traces
# (tests/test_mutants.py) show a violation of that length exists.
BFS_LENGTH = {
    ("paxos", "ignore_highest_vote"): ("Msg2aSafe", 9),
    ("paxos", "minority_quorum"): ("Consistency", 8),
    ("paxos", "vote_below_promise"): ("Msg2aSafe", 9),
    ("raft", "volatile_vote"): ("ElectionSafety", 10),
    ("raft", "no_log_check"): ("LeaderCompleteness", 12),
    ("raft", "double_vote"): ("ElectionSafety", 8),
    ("raft", "leader_overwrite"): ("LeaderAppendOnly", 6),
    ("raft", "no_prev_check"): ("StateMachineSafety", 18),
    ("pbft", "small_quorum"): ("Agreement", 6),
    ("pbft", "forget_prepared"): ("Agreement", 14),
    ("migration", "cutover_before_catchup"): ("NoLostWrites", 5),
    ("migration", "no_epoch_fence"): ("SingleOwnerPerEpoch", 7),
    ("demo-lease", "volatile_lease"): ("MutualExclusion", 8),
    ("chain", "read_from_head"): ("Linearizable", 12),
    ("primary_backup", "no_fencing"): ("NoLostWrite", 7),
    ("crdt", "lww_merge"): ("CountsUpdates", 4),
    ("dynamo", "clock_skew"): ("NoLostWrite", 12),
    # the mutants that make every safety property falsifiable (tests/test_mutants.py)
    ("twophase", "commit_on_first_prepared"): ("TCConsistent", 5),
    ("paxos", "promise_not_kept"): ("Msg1bInv", 2),
    ("paxos", "vote_at_promise"): ("MaxVoteInv", 5),
    ("paxos", "two_proposals"): ("Msg2aUnique", 5),
    ("paxoscommit", "commit_on_first_prepared"): ("TCConsistent", 6),
    ("bcastbyz", "forged_echo"): ("TypeOK", 1),
    ("bcastbyz", "independent_faulty"): ("FCConstraints", 0),
    ("om", "trust_commander"): ("IC1", 7),
    ("om", "majority_without_direct"): ("IC2", 5),
    ("sm", "no_relay"): ("IC1", 6),
    ("sm", "unchecked_signatures"): ("IC2", 5),
    ("partitioner", "seed_tokens_kept"): ("ExactlyOneOwner", 1),
    ("partitioner", "tokens_by_position"): ("Deterministic", 0),
    ("demo-register", "send_to_ackers"): ("Convergence", 6),
    ("demo-register", "relay_without_dedup"): ("AtMostOnce", 3),
    ("demo-register", "volatile_log"): ("Durability", 3),
    ("chain", "ack_at_head"): ("NoLostWrite", 5),
    ("primary_backup", "read_without_confirm"): ("Linearizable", 7),
    ("crdt", "add_merge"): ("StrongConvergence", 5),
    # the service layer (models/service/)
    ("circuit-breaker", "unbounded_probes"): ("HalfOpenProbeLimit", 10),
    ("circuit-breaker", "retry_bypass"): ("NoCallWhileOpen", 6),
    ("retries", "no_idempotency_key"): ("AtMostOnce", 3),
    ("retries", "no_budget"): ("AttemptsWithinBudget", 2),
    ("load-balancer", "unhealthy_in_rotation"): ("NoRouteToUnready", 3),
    ("load-balancer", "stale_counts"): ("LeastConnections", 2),
    ("load-balancer", "bursty_wrr"): ("WeightedShare", 6),
    ("load-balancer", "modulo_hash"): ("MinimalRemap", 4),
    ("health-checks", "liveness_checks_dependency"): ("RestartOnlyIfHung", 8),
    ("health-checks", "no_startup_probe"): ("StartupBudget", 3),
    ("health-checks", "ready_kept_on_restart"): ("NoTrafficToUnready", 12),
    ("discovery", "cache_without_expiry"): ("CacheBounded", 8),
    ("discovery", "evict_during_partition"): ("NoWholesaleEviction", 3),
    ("autoscaler", "overlapping_thresholds"): ("NoFlapping", 10),
    ("autoscaler", "scale_in_during_outage"): ("WithinBounds", 4),
}
# Where the search finds another property first than BFS: that property's shortest counterexample
# (regression figures: this checker's BFS with --keep-going).
OTHER_PROPERTY_LENGTH = {
    ("demo-register", "volatile_log", "Convergence"): 10,
}
# Too slow for this suite: Raft's bugs that need three or four elections in a precise order
# (shortest traces of 18 to 28 steps); tests/test_raft.py finds them exhaustively, and the swarm
# engine, guided by Raft.abstract, within its default budget for a model with an abstraction
# (GUIDED_WALKS) in hundreds to tens of thousands of walks (bench entries swarm-raft5-*).
BEYOND_DEFAULT_BUDGET = {("raft", "figure8"), ("raft", "stale_lease_read"), ("raft", "membership_one_step")}
# Flags that break only a liveness property, which a sampled search cannot judge (undecided):
# check finds them as lassos (tests/test_service_circuit_breaker.py).
LIVENESS_ONLY = {("circuit-breaker", "stuck_open")}


def test_every_bug_flag_is_listed():
    flags = {(name, bug) for name, spec in registry.specs().items() for bug in spec.bugs}
    assert flags == set(BFS_LENGTH) | BEYOND_DEFAULT_BUDGET | LIVENESS_ONLY


@pytest.mark.parametrize("model, bug", sorted(BFS_LENGTH), ids=[f"{m}-{b}" for m, b in sorted(BFS_LENGTH)])
def test_bug_found_within_the_default_budget_and_at_most_twice_bfs_length(model, bug):
    prop, length = BFS_LENGTH[(model, bug)]
    result = swarm_check(registry.build(model, {"bug": bug}))
    assert result.verdict == "violation"
    # The first violation found may be of another property than BFS's first (the correct model
    # passes at the same bounds, so any violation is the flag's); ``length`` is BFS's shortest
    # counterexample of any property.
    assert result.violated
    assert result.extra["walks"] <= DEFAULT_WALKS
    found = result.counterexample.property
    assert len(result.counterexample) <= 2 * OTHER_PROPERTY_LENGTH.get((model, bug, found), length)
    assert replay(result.counterexample).reproduced


# Raft's lengths are measured by the bench entries raft-find-* (minutes of search each).
@pytest.mark.parametrize("model, bug", sorted(k for k in BFS_LENGTH if k[0] != "raft"),
                         ids=[f"{m}-{b}" for m, b in sorted(BFS_LENGTH) if m != "raft"])
def test_bfs_lengths(model, bug):
    prop, length = BFS_LENGTH[(model, bug)]
    result = check(registry.build(model, {"bug": bug}), symmetry=registry.get(model).symmetry)
    assert result.prop(prop).holds is False and len(result.counterexample) == length


def test_cli_check_engine_swarm(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["check", "paxos", "-p", "bug=minority_quorum", "--engine", "swarm", "--json"])
    assert code == 1
    data = json.loads(capsys.readouterr().out)
    assert data["engine"] == "swarm" and data["verdict"] == "violation"
    assert data["budget"] == DEFAULT_WALKS and data["max_depth"] == DEFAULT_MAX_DEPTH == 100 and data["seed"] == 0
    assert main(["replay", data["trace"], "-q"]) == 0
    assert "reproduced" in capsys.readouterr().out
    # 5 walks of paths up to 10 steps do not reach the witness AllCommitted: undecided, exit 3.
    code = main(["check", "twophase", "--engine", "swarm", "--budget", "5", "--max-depth", "10", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 3 and data["verdict"] == "undecided" and data["budget"] == 5 and data["max_depth"] == 10
    assert {p["name"]: p["status"] for p in data["properties"]} == {
        "TCConsistent": "no violation found", "AllCommitted": "undecided"}
    code = main(["check", "twophase", "--engine", "swarm", "--budget", "300", "--seed", "3"])
    text = capsys.readouterr().out
    assert code == 0 and "holds" not in text
    assert "Verdict: ok: no violation in 300 guided swarm walks, paths of up to 100 steps" in text


@pytest.mark.parametrize("argv, message", [
    (["check", "paxos", "--engine", "swarm", "--fingerprint"], "--fingerprint applies to the exhaustive engines"),
    (["check", "paxos", "--engine", "swarm", "--budget", "0"], "--budget and --max-depth must be >= 1"),
    (["check", "paxos", "--seed", "1"], "--budget and --seed apply to the sampled engines"),
])
def test_cli_usage_errors_are_one_line_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_public_check_and_pytest_plugin_take_engine_swarm():
    from splitbrain import check as public_check
    from splitbrain.checker.pytest_plugin import ENGINES

    result = public_check(Grid(), engine="swarm", budget=50, seed=2)
    assert result.engine == "swarm" and result.verdict == "violation" and result.extra["seed"] == 2
    assert "swarm" in ENGINES
