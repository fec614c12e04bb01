"""A local Ray cluster for the tests that need one: a head and two worker nodes on this machine.

Use it from a test module with::

    from ray_cluster import ray_cluster  # noqa: F401  (the pytest fixture)

    def test_something(ray_cluster):   # ray_cluster is the cluster's address
        ...

The cluster starts once per test process, whichever modules ask for it, and
stops at the end of the session. The test process is connected to it
(``ray.init(address=...)``), so code under test that reuses a connected Ray
(``splitbrain.checker.backends.connect_ray``) runs on it. The head node has no
CPUs: tasks and actors run on the two worker nodes (one CPU each), as on a
real cluster. Ray is in the ``test`` extra: without it these tests fail with
an ImportError (they are never skipped).
"""

from __future__ import annotations

import logging
from typing import Any, Iterator

import pytest

WORKER_NODES = 2
_cluster: Any = None  # the running cluster, shared by every module of this process


def start() -> str:
    """The address of this process's test cluster, started if need be, with the driver connected."""
    global _cluster
    import ray
    from ray.cluster_utils import Cluster

    if _cluster is None:
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
        try:
            for _ in range(WORKER_NODES):
                cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            ray.init(address=cluster.address, log_to_driver=False, logging_level=logging.WARNING)
        except BaseException:
            cluster.shutdown()
            raise
        _cluster = cluster
    return _cluster.address


def stop() -> None:
    """Disconnect and stop the test cluster (nothing when none runs)."""
    global _cluster
    if _cluster is None:
        return
    import ray

    ray.shutdown()
    _cluster.shutdown()
    _cluster = None


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """The address of a local Ray cluster (head plus two worker nodes), the test process connected to it."""
    yield start()
    stop()
