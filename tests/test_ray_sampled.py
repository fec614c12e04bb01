"""Sampled search on a Ray cluster: the merged result equals the local one for the same seed.

The cluster is the shared local test cluster (tests/ray_cluster.py: a head
and two worker nodes on this machine); chunks run there as Ray tasks, the
model shipped by Ray's cloudpickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ray_cluster import ray_cluster  # noqa: F401  (the pytest fixture)

from splitbrain.checker.cli import main
from splitbrain.checker.sampled_parallel import SWARM_CHUNK_WALKS, simulate_chunked, swarm_chunked
from splitbrain.models import registry

# One test cluster for every Ray test: under pytest-xdist (--dist loadgroup, pyproject addopts) they share a worker.
pytestmark = pytest.mark.xdist_group("ray")

# Figures that may differ between runs of the same walks: time, memory, and where they ran.
UNSTABLE = {"seconds", "states_per_second", "peak_memory_mb", "notes", "chunks", "trace"}


def figures(result: Any) -> dict[str, Any]:
    """Counts, verdicts, coverage and the counterexample's steps."""
    data = {k: v for k, v in result.to_json().items() if k not in UNSTABLE}
    cx = result.counterexample
    data["counterexample"] = None if cx is None else (cx.property, cx.init, json.dumps(cx.actions, default=str))
    return data


def test_simulate_on_ray_equals_local(ray_cluster):
    model = registry.build("raft", {"servers": "3"})
    local = simulate_chunked(model, 150, 30, 1, workers=1)
    on_ray = simulate_chunked(model, 150, 30, 1, backend="ray", ray_address=ray_cluster)
    # the cluster's two worker nodes have a CPU each
    assert on_ray.extra["chunks"] == {"size": 100, "total": 2, "merged": 2, "workers": 2, "backend": "ray"}
    assert figures(on_ray) == figures(local)


def test_swarm_on_ray_equals_local_with_a_bug_flag(ray_cluster):
    model = registry.build("paxos", {"bug": "ignore_highest_vote"})
    budget = 3 * SWARM_CHUNK_WALKS
    local = swarm_chunked(model, budget=budget, max_depth=30, seed=4, workers=1)
    on_ray = swarm_chunked(model, budget=budget, max_depth=30, seed=4, backend="ray", ray_address=ray_cluster)
    assert local.verdict == "violation"
    assert figures(on_ray) == figures(local)


USER_MODEL = '''
from splitbrain.models.core import Model
from splitbrain.properties.kinds import always


class Hops(Model):
    """Hops of 1 or 2 up a ladder of ``top`` rungs; rung ``bad`` is forbidden."""

    name = "hops"

    def __init__(self, top: int = 30, bad: int = 17):
        self.top, self.bad = top, bad
        self._params = dict(top=top, bad=bad)

    def init_states(self):
        return [0]

    def actions(self, x):
        return [("hop", n) for n in (1, 2) if x + n <= self.top]

    def next_state(self, x, a):
        return x + a[1]

    def properties(self):
        return [always("NotBad", lambda x: x != self.bad)]
'''


def test_user_model_from_a_file_runs_on_ray(ray_cluster, tmp_path, monkeypatch, capsys):
    # The class lives in a module the registry loads from the file: Ray's workers cannot import it,
    # so it travels by value.
    monkeypatch.chdir(tmp_path)
    path = Path(tmp_path / "hops_model.py")
    path.write_text(USER_MODEL)
    argv = ["simulate", f"{path}:Hops", "--runs", "250", "--depth", "40", "--seed", "2", "--json"]
    assert main(argv) == 1
    local = json.loads(capsys.readouterr().out)
    assert main(argv + ["--backend", "ray", "--ray-address", ray_cluster]) == 1
    on_ray = json.loads(capsys.readouterr().out)
    assert on_ray["chunks"]["backend"] == "ray"
    same = {k: v for k, v in local.items() if k not in UNSTABLE}
    assert {k: v for k, v in on_ray.items() if k not in UNSTABLE} == same
