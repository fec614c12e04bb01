"""Where a search runs: processes on this machine ("local") or a Ray cluster ("ray").

``add_backend_args`` gives a command the options ``--workers N``, ``--backend
local|ray`` and ``--ray-address ADDR``; ``backend_options`` reads them back,
checked; ``connect_ray`` joins a Ray cluster (or starts a local one) for the
engines that run on Ray. Ray is an optional extra: without it, ``--backend
ray`` is a usage error that names the extra to install.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from typing import Any, NamedTuple

from splitbrain.models.registry import UsageError

LOCAL, RAY = "local", "ray"
BACKENDS = (LOCAL, RAY)
RAY_EXTRA = "pip install 'splitbrain[ray]'"


def cores() -> int:
    """This machine's cores (``os.cpu_count()``, at least 1)."""
    return os.cpu_count() or 1


def add_backend_args(p: argparse.ArgumentParser, default_workers: int | None = None) -> None:
    """--workers, --backend and --ray-address. ``default_workers`` None: the machine's cores
    (on Ray: the cluster's CPUs)."""
    default = ("this machine's cores; on Ray, the cluster's CPUs" if default_workers is None
               else f"{default_workers} here; on Ray, the cluster's CPUs")
    p.add_argument("--workers", type=int, metavar="N", default=None,
                   help=f"worker processes (local) or Ray actors (ray) to search with (default: {default})")
    p.add_argument("--backend", choices=BACKENDS, default=LOCAL,
                   help="local: processes on this machine (default); ray: actors on a Ray cluster "
                        f"(needs the ray extra: {RAY_EXTRA})")
    p.add_argument("--ray-address", metavar="ADDR",
                   help="the Ray cluster to join, e.g. 10.0.0.1:6379 (what 'ray start --head' prints); "
                        "default: start a local Ray on this machine")


class BackendOptions(NamedTuple):
    """What the backend options ask for; ``workers`` None: the backend's default."""

    workers: int | None
    backend: str
    ray_address: str | None


def backend_options(args: argparse.Namespace, default_workers: int | None = None) -> BackendOptions:
    """The backend options of a parsed command line, checked (UsageError for a mistake)."""
    workers = args.workers if args.workers is not None else default_workers
    if workers is not None and workers < 1:
        raise UsageError("--workers must be >= 1")
    if args.ray_address is not None and args.backend != RAY:
        raise UsageError("--ray-address applies to --backend ray only")
    if workers is None and args.backend == LOCAL:
        workers = cores()
    return BackendOptions(workers, args.backend, args.ray_address)


def require_ray() -> Any:
    """The ``ray`` module; UsageError naming the extra when it is not installed."""
    try:
        import ray
    except ImportError:
        raise UsageError(f"--backend ray needs Ray, an optional extra: {RAY_EXTRA}") from None
    return ray


def connect_ray(address: str | None = None, num_cpus: int | None = None) -> Any:
    """The ``ray`` module, connected to a cluster.

    The cluster is the one this process is already connected to, else the one
    at ``address``, else a new local Ray with ``num_cpus`` CPUs (default: the
    machine's cores) that stays up for this process's later searches
    (``ray.shutdown()`` ends it). UsageError when Ray is not installed or the
    cluster cannot be reached.
    """
    ray = require_ray()
    if ray.is_initialized():
        return ray
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        _probe(address)  # Ray would keep retrying an address where nothing listens
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=num_cpus or cores(), include_dashboard=False, **quiet)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"cannot connect to {where}: {reason}") from None
    return ray


def _probe(address: str) -> None:
    """UsageError unless something accepts connections at ``address`` (``[scheme://]host:port``)."""
    host, _, port = address.split("://")[-1].rpartition(":")
    if not host or not port.isdigit():
        return  # e.g. "auto": Ray finds the cluster itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise UsageError(f"cannot connect to the Ray cluster at {address}: {exc.strerror or exc}") from None


def ray_cpus(ray: Any) -> int:
    """The CPUs of the connected Ray cluster (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def ship_by_value(model: Any) -> None:
    """Have Ray pickle by value the modules of the model's classes that the cluster could not import.

    Those are the modules the registry made up for models loaded from
    ``file.py:Class``: no import finder knows their names. Classes of
    importable modules (splitbrain's own, installed packages, editable
    installs included, and modules on ``sys.path``) travel by reference, so
    that the workers' ``Model`` is the driver's.
    """
    from ray import cloudpickle

    for cls in type(model).__mro__:
        name = cls.__module__
        module = sys.modules.get(name)
        if module is None or name in ("builtins", "__main__") or _importable(name.partition(".")[0]):
            continue
        try:
            cloudpickle.register_pickle_by_value(module)
        except ValueError:  # already registered
            pass


def _importable(top: str) -> bool:
    """Whether a fresh import of the top-level package ``top`` would find it (any finder of ``sys.meta_path``)."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        try:
            if find is not None and find(top, None) is not None:
                return True
        except (ImportError, ValueError, TypeError):
            continue
    return False
