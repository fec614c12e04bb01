"""The breadth-first search on Ray actors (``check --backend ray``) gives the figures of a local run.

One local Ray cluster (a head and two worker nodes, tests/ray_cluster.py) for
the module; the hand-over threshold is 1 state, so the actors do every level.
TLC's figures for TwoPhase with 3 RMs are 288 distinct states, 1,146
generated, depth 11 (tests/test_reference_models.py). The full Paxos
configuration on Ray (TLC: 185,369 / 1,361,380 / 25) is the bench entry
``paxos-ray``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ray_cluster import ray_cluster  # noqa: F401  (the fixture)

from splitbrain.checker import parallel_bfs
from splitbrain.checker.cli import main
from splitbrain.checker.explore import check
from splitbrain.models import registry

# One test cluster for every Ray test: under pytest-xdist (--dist loadgroup, pyproject addopts) they share a worker.
pytestmark = pytest.mark.xdist_group("ray")


@pytest.fixture
def every_level_on_workers(monkeypatch):
    monkeypatch.setattr(parallel_bfs, "PARALLEL_FROM", 1)


def counts(result):
    return result.distinct_states, result.states_generated, result.depth


def test_ray_gives_the_figures_verdicts_and_counterexamples_of_a_local_run(ray_cluster, every_level_on_workers):
    params = {"acceptors": 3, "values": 2, "max_ballot": 1, "bug": "ignore_highest_vote"}
    local = check(registry.build("paxos", params), "bfs", workers=2, stop_at_first=False)
    on_ray = check(registry.build("paxos", params), "bfs", workers=2, stop_at_first=False,
                   backend="ray", ray_address=ray_cluster)
    assert on_ray.extra["workers"] == 2 and "bfs on 2 workers (Ray actors)" in on_ray.notes
    assert counts(on_ray) == counts(local) and on_ray.complete
    assert [(p.name, p.status) for p in on_ray.properties] == [(p.name, p.status) for p in local.properties]
    assert len(on_ray.violated) >= 2  # several properties, each with a shortest counterexample
    assert [len(p.trace) for p in on_ray.violated] == [len(p.trace) for p in local.violated]
    assert [(a.name, a.taken) for a in on_ray.coverage.actions] == [(a.name, a.taken) for a in local.coverage.actions]


def test_the_command_line_on_the_cluster_gives_tlcs_figures(ray_cluster, every_level_on_workers, capsys):
    code = main(["check", "twophase", "-p", "rms=3", "--backend", "ray", "--ray-address", ray_cluster,
                 "--workers", "2", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "288 distinct states, 1,146 generated, depth 11" in out and "bfs on 2 workers (Ray actors)" in out


def test_a_model_from_a_file_runs_on_the_actors(ray_cluster, every_level_on_workers):
    """The actors cannot import a file.py:Class model: its code is shipped with it."""
    toys = Path(__file__).with_name("toys.py")
    model = registry.build(f"{toys}:Counter", {"n": "7", "bad": "5", "goal": "9"})
    result = check(model, "bfs", workers=2, backend="ray", ray_address=ray_cluster)
    assert "bfs on 2 workers (Ray actors)" in result.notes
    assert [p.name for p in result.violated] == ["NotBad"]
    assert len(result.violated[0].trace) == 5  # 0 -> 5 by five incs: the shortest (hand count)
