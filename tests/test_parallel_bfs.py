"""Breadth-first search on worker processes (checker/parallel_bfs.py) gives the figures of one worker.

Each case runs the one-worker search (``_Search.bfs``, the reference) and the
search on two forked workers with the hand-over threshold at 1 state, so the
workers do every level. Everything must be identical: distinct states, states
generated, depth, completeness, each property's status, the coverage (steps
taken and new states per action class, states judged per property) and the
counterexamples themselves, action by action.
"""

from __future__ import annotations

import sys

import pytest
from toys import Counter, Tokens

from splitbrain.checker import parallel_bfs
from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.models import registry
from splitbrain.models.faults import FaultConfig


def figures(result):
    """Everything a check reports that the number of workers must not change."""
    return {
        "verdict": result.verdict,
        "distinct": result.distinct_states,
        "generated": result.states_generated,
        "depth": result.depth,
        "complete": result.complete,
        "properties": [(p.name, p.status) for p in result.properties],
        "coverage": result.coverage.to_json(),
        "traces": [(p.name, [list(a) if isinstance(a, tuple) else a for a in p.trace.actions])
                   for p in result.properties if p.trace is not None],
    }


def built(name, params, faults=None):
    extras = {"faults": FaultConfig.parse(faults)} if faults else {}
    return lambda: registry.build(name, params, **extras)


def violated(*names):
    return lambda r: sorted(p.name for p in r.violated) == sorted(names)


def kinds_violated(kind):
    return lambda r: r.violated and all(p.kind == kind for p in r.violated)


# case: (model factory, check options, what the case exercises, asserted on the one-worker result)
CASES = {
    "paxos": (built("paxos", {"acceptors": 2, "values": 2, "max_ballot": 1}), {},
              lambda r: r.verdict == "ok" and r.coverage.unreached == []),
    "paxos-bug-fingerprint": (built("paxos", {"acceptors": 2, "values": 2, "max_ballot": 1, "bug": "minority_quorum"}),
                              {"fingerprint": True}, lambda r: r.verdict == "violation" and not r.complete),
    "twophase": (built("twophase", {"rms": 4}), {}, lambda r: r.verdict == "ok"),
    "twophase-bug-keep-going": (built("twophase", {"rms": 3, "bug": "commit_on_first_prepared"}),
                                {"stop_at_first": False}, lambda r: r.complete and len(r.violated) >= 1),
    "twophase-max-depth": (built("twophase", {"rms": 4}), {"max_depth": 5}, lambda r: r.verdict == "undecided"),
    "raft-bug-symmetry": (built("raft", {"bug": "double_vote"}), {"symmetry": True}, violated("ElectionSafety")),
    "actors-faults-keep-going": (built("demo-register", {}, "loss=1,dup=1"), {"stop_at_first": False},
                                 lambda r: r.complete and len(r.violated) >= 1),
    "actors-step-property": (built("health-checks", {"bug": "no_startup_probe"}), {}, kinds_violated("always_step")),
    "step-property-keep-going": (built("autoscaler", {"bug": "overlapping_thresholds"}), {"stop_at_first": False},
                                 lambda r: r.complete and any(p.kind == "always_step" for p in r.violated)),
    "deadlock": (lambda: Counter(n=6, wrap=False, reset=False, goal=5, bad=9), {}, violated("Deadlock")),
    "tokens-symmetry-keep-going": (lambda: Tokens(k=3, m=4, bad_sum=5), {"symmetry": True, "stop_at_first": False},
                                   lambda r: r.complete and violated("SumSmall")(r)),
}


@pytest.fixture
def every_level_on_workers(monkeypatch):
    """Hand the search to the workers from the first level on."""
    monkeypatch.setattr(parallel_bfs, "PARALLEL_FROM", 1)


@pytest.mark.parametrize("case", list(CASES))
def test_two_workers_give_the_figures_of_one(case, every_level_on_workers):
    make, options, exercises = CASES[case]
    one = check(make(), "bfs", workers=1, **options)
    two = check(make(), "bfs", workers=2, **options)
    assert exercises(one)
    assert two.extra["workers"] == 2 and "bfs on 2 workers (processes)" in two.notes
    assert figures(two) == figures(one)


def test_three_workers_and_a_shortest_counterexample(every_level_on_workers):
    model = registry.build("paxos", {"acceptors": 3, "values": 2, "max_ballot": 1, "bug": "ignore_highest_vote"})
    one = check(model, "bfs", workers=1)
    three = check(registry.build("paxos", {"acceptors": 3, "values": 2, "max_ballot": 1, "bug": "ignore_highest_vote"}),
                  "bfs", workers=3)
    assert figures(three) == figures(one)
    assert len(three.violated[0].trace) == len(one.violated[0].trace) == 9  # regression figure (BFS: shortest)


def test_a_small_search_stays_in_this_process_and_says_so():
    result = check(registry.build("twophase", {"rms": 3}), "bfs", workers=2)
    assert (result.distinct_states, result.states_generated, result.depth) == (288, 1146, 11)  # TwoPhase, 3 RMs: TLC
    assert any(n.startswith("bfs in one process: no level reached") for n in result.notes)


def test_dfs_runs_on_one_worker_and_says_so():
    result = check(registry.build("twophase", {"rms": 3}), "dfs", workers=2)
    assert result.distinct_states == 288
    assert "dfs runs on one worker in this process (--workers and --backend apply to bfs)" in result.notes


class Exploding(Counter):
    """A counter whose model code fails at 4: the failure must come back from the worker."""

    def next_state(self, x, a):
        if x == 4:
            raise ZeroDivisionError("model bug at 4")
        return super().next_state(x, a)


def test_a_model_error_in_a_worker_is_raised_here(every_level_on_workers):
    with pytest.raises(ZeroDivisionError, match="model bug at 4"):
        check(Exploding(n=8, bad=99, goal=99), "bfs", workers=2)


@pytest.mark.parametrize("argv,message", [
    (["--workers", "0"], "--workers must be >= 1"),
    (["--ray-address", "127.0.0.1:6379"], "--ray-address applies to --backend ray only"),
])
def test_backend_option_mistakes_are_one_line_and_exit_2(argv, message, capsys):
    assert main(["check", "twophase", "-p", "rms=2", *argv]) == 2
    err = capsys.readouterr().err
    assert err == f"splitbrain: error: {message}\n"


def test_backend_ray_without_ray_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as when it is not installed
    assert main(["check", "twophase", "-p", "rms=2", "--backend", "ray"]) == 2
    assert capsys.readouterr().err == ("splitbrain: error: --backend ray needs Ray, an optional extra: "
                                       "pip install 'splitbrain[ray]'\n")


def test_forgetting_the_keys_sent_elsewhere_changes_no_figure(every_level_on_workers, monkeypatch):
    """The keys a worker sent to their owners are a cache, emptied when it grows: the figures stay."""
    monkeypatch.setattr(parallel_bfs, "ROUTED_KEPT", 0)  # forget them at every level
    monkeypatch.setattr(parallel_bfs, "ROUTED_SHARE", 0)
    make, options, _ = CASES["paxos"]
    assert figures(check(make(), "bfs", workers=2, **options)) == figures(check(make(), "bfs", workers=1, **options))
