"""Sampled search on every core and on a Ray cluster: walks in chunks of a fixed size, merged as one run.

``simulate_chunked`` (random walks, as ``simulate``) and ``swarm_chunked``
(guided swarm walks, as ``swarm_check``) split a run's walks into chunks of
a fixed size, SIMULATE_CHUNK_RUNS and SWARM_CHUNK_WALKS walks (the last chunk
may be shorter; a swarm budget above SWARM_CHUNKS * SWARM_CHUNK_WALKS is split
into SWARM_CHUNKS chunks, of at most SWARM_MAX_CHUNK walks each, since a guided
search finds deep bugs only with a long archive), whatever the number of workers and wherever they run. Chunk
``k`` is an independent search seeded with ``chunk_seed(seed, k)``: chunk 0
with ``seed`` itself (so a run of one chunk takes exactly the walks of
``simulate`` or ``swarm_check`` with that seed), chunk ``k > 0`` with the
first 8 bytes of ``sha256(b"splitbrain-chunk:SEED:K")`` read as a big-endian
integer. So the same seed takes the same walks in this process, in N forked
processes or as Ray tasks on any number of machines, and gives the same
figures.

Chunks run here (one worker), in forked processes (``backend="local"``: the
'fork' context, so they inherit the model), or as Ray tasks
(``backend="ray"``: the model travels to the cluster once, pickled by Ray's
cloudpickle; the classes of a model loaded from ``file.py:Class`` travel by
value, since the cluster cannot import them).

The merged result is the one of running the chunks one after another in
index order and stopping after the first chunk that found a violation (or,
with the swarm engine's default budget, that ended early because its last
walks met nothing new: ``Plan.stale``):

- the counterexample is that chunk's, the lowest index that found one. A
  run stops early only when every lower chunk is done; higher chunks that
  ran meanwhile are discarded and count nowhere.
- summed over the merged chunks: walks, states visited (``states_generated``),
  steps taken per action class, steps judged by ``always_step`` properties.
- ``distinct_states``: the distinct states visited by all merged chunks (the
  union of their fingerprints, ``splitbrain.checker.fingerprint``), as one
  run counts them; ``depth``: the longest walk.
- coverage "new states" per action class: steps that reached a state not
  visited before in the same chunk, summed over the chunks. A state first
  reached in two chunks counts twice, so the column's total can exceed
  ``distinct_states``.
- a ``sometimes`` witness: the one of the lowest chunk that reached it; the
  states a property was judged on count as in one run of the chunks in order.
- metrics (``simulate --metric``): the per-walk values of all merged chunks,
  in chunk order, summarised once (mean and confidence interval), exactly as
  ``simulate`` summarises one run's.

Ctrl-C ends a run cleanly with the chunks merged so far (verdict
"interrupted"); with one worker, the chunk under way counts as far as it got.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import queue
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, TextIO

from splitbrain.checker.backends import LOCAL, RAY, connect_ray, ray_cpus, ship_by_value
from splitbrain.checker.fingerprint import fingerprint
from splitbrain.checker.result import CheckResult
from splitbrain.checker.simulate import Tally, simulation_measures, simulation_result, take_walks
from splitbrain.checker.swarm import DEFAULT_MAX_DEPTH, SwarmSearch, default_budget, shortened_trace, swarm_result
from splitbrain.models.core import Model

SIMULATE_CHUNK_RUNS = 100  # random walks per chunk: raft with 5 servers takes about 1 s for one here
SWARM_CHUNK_WALKS = 1000  # guided walks per chunk, at least: each chunk keeps its own archive of explored states
SWARM_CHUNKS = 2  # a larger swarm budget is split into this many chunks, so each search keeps a long archive
SWARM_MAX_CHUNK = 50_000  # guided walks per chunk, at most: one search finds Raft's deepest bugs in ~70,000
IN_FLIGHT = 2  # chunks queued per forked worker, so none waits for the next one


def chunk_seed(seed: int, k: int) -> int:
    """The seed of chunk ``k`` of a run seeded with ``seed`` (``seed`` itself for chunk 0)."""
    if k == 0:
        return seed
    return int.from_bytes(hashlib.sha256(f"splitbrain-chunk:{seed}:{k}".encode()).digest()[:8], "big")


@dataclass(frozen=True)
class Plan:
    """What every chunk of one run does: the engine, the walks and how they are split."""

    engine: str  # "simulate" or "swarm"
    walks: int
    chunk_size: int
    depth: int
    seed: int
    check_deadlock: bool = True
    swarm: bool = False  # simulate: switch off fault kinds per walk
    metrics: tuple[str, ...] = ()
    stale: int | None = None  # swarm: a chunk ends once this many walks in a row met no new state

    @property
    def chunks(self) -> int:
        return -(-self.walks // self.chunk_size)

    def size(self, k: int) -> int:
        """The walks of chunk ``k``."""
        return min(self.chunk_size, self.walks - k * self.chunk_size)


@dataclass
class Chunk:
    """What one chunk saw, in a form that travels between processes (no state hashes: fingerprints)."""

    index: int
    walks: int = 0  # the walks of the budget taken (swarm: also those from an explored state)
    runs: int = 0  # walks from an initial state
    generated: int = 0
    depth: int = 0
    steps_judged: int = 0
    taken: dict[str, int] = field(default_factory=dict)
    new: dict[str, int] = field(default_factory=dict)
    judged_at: dict[str, int] = field(default_factory=dict)
    found: dict[str, tuple[int, list[Any]]] = field(default_factory=dict)
    prints: set[int] = field(default_factory=set)
    violation: tuple[str, int, list[Any]] | None = None
    violation_walk: int | None = None  # the walk of the chunk (from 1) that found the violation
    values: dict[str, list[float]] = field(default_factory=dict)
    interrupted: bool = False
    stale: bool = False  # swarm: the chunk ended early, its last plan.stale walks meeting no new state


def run_chunk(model: Model, plan: Plan, k: int) -> Chunk:
    """Chunk ``k`` of ``plan``: its walks, taken with ``random.Random(chunk_seed(plan.seed, k))``."""
    seed, size = chunk_seed(plan.seed, k), plan.size(k)
    if plan.engine == "swarm":
        search = SwarmSearch(model, max_depth=plan.depth, seed=seed, check_deadlock=plan.check_deadlock)
        tally = search.tally
        tally.remember_states()
        values: dict[str, list[float]] = {}
        try:
            violation, interrupted = search.run(size, plan.stale), False
        except KeyboardInterrupt:
            violation, interrupted = None, True
        walks, violation_walk, stale = search.walks, search.first_violation_run, search.stale
    else:
        declared = model.metrics() if plan.metrics else {}
        tally = Tally(model, plan.check_deadlock)
        tally.remember_states()
        violation, values, interrupted = take_walks(
            model, tally, size, plan.depth, random.Random(seed), swarm=plan.swarm,
            measures={name: declared[name] for name in plan.metrics})
        walks, violation_walk, stale = tally.runs, (tally.runs if violation is not None else None), False
    return Chunk(
        index=k, walks=walks, runs=tally.runs, generated=tally.generated, depth=tally.depth,
        steps_judged=tally.steps_judged,
        taken=dict(tally.taken), new=dict(tally.new), judged_at=dict(tally.judged_at), found=dict(tally.found),
        prints={_print(s) for s in (tally.distinct or {}).values()},
        violation=violation, violation_walk=violation_walk, values=values, interrupted=interrupted, stale=stale,
    )


def _print(state: Any) -> int:
    """The state's fingerprint; its ``hash`` for a type fingerprints cannot encode.

    ``hash`` is the same in forked processes, but differs between Ray's
    processes for states holding strings unless PYTHONHASHSEED is fixed there.
    """
    try:
        return fingerprint(state)
    except TypeError:
        return hash(state)


class Merged:
    """The chunks of a run folded in index order into one Tally (and metric values), as one run would count."""

    def __init__(self, model: Model, plan: Plan):
        self.tally = Tally(model, plan.check_deadlock)
        self.values: dict[str, list[float]] = {name: [] for name in plan.metrics}
        self.chunks = 0
        self.violation: tuple[str, int, list[Any]] | None = None
        self.violation_chunk: int | None = None
        self.violation_walk: int | None = None  # counted over the merged walks, from 1
        self.walks = 0
        self.interrupted = False
        self.stale = 0  # chunks that ended early (Plan.stale)

    def add(self, c: Chunk) -> None:
        """Fold in the next chunk (index ``self.chunks``)."""
        t = self.tally
        for name, at in c.judged_at.items():
            if name not in t.found:
                t.judged_at[name] = t.generated + at
        for name, witness in c.found.items():
            t.found.setdefault(name, witness)
        t.pending = [p for p in t.pending if p.name not in t.found]
        if c.violation is not None and self.violation is None:
            self.violation, self.violation_chunk = c.violation, c.index
            self.violation_walk = self.walks + (c.violation_walk or c.walks)
        self.walks += c.walks
        t.runs += c.runs
        t.generated += c.generated
        t.depth = max(t.depth, c.depth)
        t.steps_judged += c.steps_judged
        for key, n in c.taken.items():
            t.taken[key] = t.taken.get(key, 0) + n
        for key, n in c.new.items():
            t.new[key] = t.new.get(key, 0) + n
        t.seen |= c.prints
        for name, vs in c.values.items():
            self.values[name].extend(vs)
        self.interrupted = self.interrupted or c.interrupted
        self.stale += c.stale
        self.chunks += 1

    @property
    def done(self) -> bool:
        """No later chunk counts: a violation was found, Ctrl-C ended a chunk, or one ended stale (Plan.stale)."""
        return self.violation is not None or self.interrupted or self.stale > 0


# -- the engines ------------------------------------------------------------------------------
def simulate_chunked(
    model: Model,
    runs: int,
    depth: int,
    seed: int | None = None,
    *,
    check_deadlock: bool = True,
    swarm: bool = False,
    metrics: tuple[str, ...] | list[str] = (),
    workers: int | None = None,
    backend: str = LOCAL,
    ray_address: str | None = None,
) -> CheckResult:
    """``simulate``'s random walks in chunks of SIMULATE_CHUNK_RUNS, on ``workers`` workers of ``backend``.

    Arguments and verdicts as ``splitbrain.checker.simulate.simulate``; the
    figures are those of the chunks merged in order (module docstring), the
    same for any ``workers`` and backend. ``workers`` None: 1 here, the
    cluster's CPUs on Ray. ``extra["chunks"]`` says how the walks were split and
    how many chunks were merged.
    """
    simulation_measures(model, runs, depth, metrics)
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    plan = Plan("simulate", runs, SIMULATE_CHUNK_RUNS, depth, seed, check_deadlock, swarm, tuple(metrics))
    start = time.perf_counter()
    merged, used = run_plan(model, plan, workers, backend, ray_address)
    result = simulation_result(model, merged.tally, merged.violation, merged.values, seed=seed, depth=depth,
                               seconds=time.perf_counter() - start, interrupted=merged.interrupted,
                               note=_chunk_note(merged.violation_chunk))
    _note_chunks(result, plan, merged, used, backend)
    return result


def swarm_chunked(
    model: Model,
    *,
    budget: int | None = None,
    max_depth: int | None = None,
    seed: int | None = None,
    check_deadlock: bool = True,
    trace_dir: str | Path | None = None,
    workers: int | None = None,
    backend: str = LOCAL,
    ray_address: str | None = None,
    progress: TextIO | None = None,
) -> CheckResult:
    """``swarm_check``'s guided walks in chunks (:func:`swarm_chunk_walks`), on ``workers`` workers of ``backend``.

    Arguments and verdicts as ``splitbrain.checker.swarm.swarm_check``; each
    chunk is a guided search of its own (its own archive of explored states),
    merged in order (module docstring). Without a ``budget``, the run ends
    with the first chunk whose last STALE_WALKS walks met nothing new (see
    ``swarm_check``): later chunks would cover the same ground again.
    The counterexample is the lowest violating chunk's path, shortened as
    ``swarm_check`` shortens it. ``workers`` None: 1 here, the cluster's CPUs
    on Ray. With ``progress``, a line is written there as each chunk is merged.
    """
    walks, stale = default_budget(model, budget)
    depth = DEFAULT_MAX_DEPTH if max_depth is None else max_depth
    if walks < 1 or depth < 1:
        raise ValueError("budget and max_depth must be >= 1")
    seed = 0 if seed is None else seed
    plan = Plan("swarm", walks, swarm_chunk_walks(walks), depth, seed, check_deadlock, stale=stale)
    start = time.perf_counter()
    merged, used = run_plan(model, plan, workers, backend, ray_address, progress)
    tally, violation, trace = merged.tally, merged.violation, None
    if violation is not None and merged.violation_chunk is not None:
        note = (f"found by the swarm engine, seed {seed}{_chunk_note(merged.violation_chunk)}; "
                f"failing walk of {len(violation[2])} steps")
        trace = shortened_trace(model, tally, violation, note, chunk_seed(seed, merged.violation_chunk))
    result = swarm_result(model, tally, violation, trace, walks=merged.walks, budget=walks, depth=depth, seed=seed,
                          seconds=time.perf_counter() - start, interrupted=merged.interrupted,
                          found_after=merged.violation_walk, trace_dir=trace_dir,
                          stale=stale if merged.stale else None)
    _note_chunks(result, plan, merged, used, backend)
    return result


def swarm_chunk_walks(budget: int) -> int:
    """The walks per chunk of a swarm run of ``budget`` walks: a SWARM_CHUNKS-th of the budget, at least
    SWARM_CHUNK_WALKS and at most SWARM_MAX_CHUNK (a deep bug needs one search's archive to grow:
    Raft's figure8 at five servers needed 7,000 to 30,000 walks of one search, and four searches
    of 25,000 missed it for one seed of five)."""
    return max(SWARM_CHUNK_WALKS, min(SWARM_MAX_CHUNK, -(-budget // SWARM_CHUNKS)))


def _chunk_note(k: int | None) -> str:
    return f" (walks of chunk {k})" if k else ""


def _note_chunks(result: CheckResult, plan: Plan, merged: Merged, workers: int, backend: str) -> None:
    """Say how the walks were split and run (in the notes and ``extra["chunks"]``)."""
    result.extra["chunks"] = {"size": plan.chunk_size, "total": plan.chunks, "merged": merged.chunks,
                              "workers": workers, "backend": backend}
    if plan.chunks > 1:
        result.notes.append(f"{merged.chunks} of {plan.chunks} chunks of up to {plan.chunk_size:,} walks merged "
                            f"in order; {workers} worker(s), backend {backend}")


# -- where chunks run ---------------------------------------------------------------------
class Runner(Protocol):
    """Runs chunks somewhere: ``submit(k)``, then ``next()`` for ``(k, chunk)`` as they finish; ``close()`` stops
    whatever still runs."""

    def submit(self, k: int) -> None: ...

    def next(self) -> tuple[int, Chunk]: ...

    def close(self) -> None: ...


class InProcess:
    """Chunks run here, one after another."""

    def __init__(self, task: Callable[[int], Chunk]):
        self.task = task
        self.queue: list[int] = []

    def submit(self, k: int) -> None:
        self.queue.append(k)

    def next(self) -> tuple[int, Chunk]:
        k = self.queue.pop(0)
        return k, self.task(k)

    def close(self) -> None:
        self.queue.clear()


_FORKED_TASK: Callable[[int], Chunk] | None = None  # what a forked worker runs (inherited, never pickled)


def _forked_chunk(k: int) -> Chunk:
    assert _FORKED_TASK is not None
    return _FORKED_TASK(k)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


class Forked:
    """Chunks run in ``workers`` processes forked from this one (they inherit the model)."""

    def __init__(self, task: Callable[[int], Chunk], workers: int):
        global _FORKED_TASK
        _FORKED_TASK = task
        self.done: queue.Queue[tuple[int, Chunk | BaseException]] = queue.Queue()
        self.pool = multiprocessing.get_context("fork").Pool(workers, initializer=_ignore_sigint)

    def submit(self, k: int) -> None:
        self.pool.apply_async(_forked_chunk, (k,), callback=lambda c: self.done.put((k, c)),
                              error_callback=lambda e: self.done.put((k, e)))

    def next(self) -> tuple[int, Chunk]:
        k, c = self.done.get()
        if isinstance(c, BaseException):
            raise c
        return k, c

    def close(self) -> None:
        global _FORKED_TASK
        self.pool.terminate()
        self.pool.join()
        _FORKED_TASK = None


class OnRay:
    """Chunks run as Ray tasks; the model is put in the object store once."""

    def __init__(self, ray: Any, model: Model, plan: Plan):
        ship_by_value(model)
        self.ray = ray
        self.model = ray.put(model)
        self.plan = plan
        self.remote = ray.remote(run_chunk).options(num_cpus=1, max_retries=0)
        self.pending: dict[Any, int] = {}

    def submit(self, k: int) -> None:
        self.pending[self.remote.remote(self.model, self.plan, k)] = k

    def next(self) -> tuple[int, Chunk]:
        [ref], _ = self.ray.wait(list(self.pending), num_returns=1)
        k = self.pending.pop(ref)
        try:
            return k, self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:  # the model's own error, as it would be raised here
            raise exc.as_instanceof_cause() from None

    def close(self) -> None:
        for ref in self.pending:
            self.ray.cancel(ref, force=True)
        self.pending.clear()


def run_plan(model: Model, plan: Plan, workers: int | None = None, backend: str = LOCAL,
             ray_address: str | None = None, progress: TextIO | None = None) -> tuple[Merged, int]:
    """Run ``plan``'s chunks on ``backend`` and merge them; also the number of workers used.

    ``workers`` None: 1 here, the cluster's CPUs on Ray. Ctrl-C ends the run
    cleanly (the chunks merged so far count, marked interrupted). With
    ``progress``, a line per merged chunk is written there.
    """
    merged = Merged(model, plan)
    chunks = plan.chunks

    def task(k: int) -> Chunk:
        return run_chunk(model, plan, k)

    runner: Runner
    if backend == RAY:
        ray = connect_ray(ray_address, workers)
        workers = workers or ray_cpus(ray)
        runner, in_flight = OnRay(ray, model, plan), workers  # one task per worker: Ray queues nothing early
    elif not workers or workers <= 1 or chunks <= 1:
        workers, runner, in_flight = 1, InProcess(task), 1
    else:
        workers = min(workers, chunks)
        runner, in_flight = Forked(task, workers), workers * IN_FLIGHT
    try:
        _merge(runner, merged, chunks, in_flight, _progress_line(plan, progress))
    except KeyboardInterrupt:
        merged.interrupted = True
    finally:
        runner.close()
    return merged, workers


def _progress_line(plan: Plan, out: TextIO | None) -> Callable[[Merged], None] | None:
    """What writes a progress line to ``out`` after a chunk is merged (None without ``out``)."""
    if out is None:
        return None
    start = time.perf_counter()

    def line(merged: Merged) -> None:
        print(f"{plan.engine}: {merged.chunks} of {plan.chunks} chunks done, {merged.walks:,} walks, "
              f"{len(merged.tally.seen):,} distinct states, {time.perf_counter() - start:,.0f} s",
              file=out, flush=True)
    return line


def _merge(runner: Runner, merged: Merged, chunks: int, in_flight: int,
           progress: Callable[[Merged], None] | None = None) -> None:
    """Submit the chunks (at most ``in_flight`` at a time) and fold them into ``merged`` in index order."""
    waiting: dict[int, Chunk] = {}  # finished, not yet merged (a lower chunk still runs)
    stop = chunks  # chunks from ``stop`` on are not needed: a lower one found a violation
    submitted = min(in_flight, chunks)
    for k in range(submitted):
        runner.submit(k)
    while merged.chunks < stop:
        k, c = runner.next()
        if k >= stop:
            continue
        waiting[k] = c
        if c.violation is not None or c.interrupted or c.stale:
            stop = k + 1
        while merged.chunks in waiting and not merged.done:
            merged.add(waiting.pop(merged.chunks))
            if progress is not None and not merged.done and merged.chunks < chunks:
                progress(merged)
        if merged.done:
            return
        if submitted < stop:
            runner.submit(submitted)
            submitted += 1

