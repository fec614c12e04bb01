"""Exhaustive explicit-state exploration: breadth-first and depth-first.

Breadth-first search returns shortest counterexamples. Statistics are counted
as TLC counts them (see ``splitbrain.checker.result.CheckResult``). The seen-set maps a
state's key (the state, its canonical form under symmetry, or a 64-bit
fingerprint of either) to how it was first reached: ``(parent key, action)``,
or ``(None, i)`` for the i-th initial state. It is a plain mutable mapping so
that it can be swapped for a partitioned store later.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any, Callable, MutableMapping, TextIO

from splitbrain.checker.fingerprint import Fingerprinter
from splitbrain.checker.fpstore import FingerprintStore, Frontier
from splitbrain.checker.result import DEADLOCK, CheckResult, Coverage, PropertyResult, fill_verdicts, peak_memory_mb
from splitbrain.models.core import Model
from splitbrain.properties.kinds import ALWAYS, ALWAYS_STEP, LIVENESS_KINDS, SOMETIMES
from splitbrain.traces.replay import make_trace


FRONTIER_IN_MEMORY = 1 << 19  # fingerprint search: states of a level kept in memory; more go to disk
SIMULATE_RUNS = 1000  # the simulate engine's defaults, as on the command line
SIMULATE_DEPTH = 100


class _Stop(Exception):
    """Raised inside the search to end it (first violation found)."""


class Progress:
    """Prints a progress line every ``interval`` seconds to ``stream``."""

    def __init__(self, stream: TextIO | None, interval: float = 60.0):
        self.stream = stream if interval > 0 else None
        self.interval = interval
        self.start = time.monotonic()
        self.last = self.start

    def due(self) -> bool:
        now = time.monotonic()
        if self.stream is None or now - self.last < self.interval:
            return False
        self.last = now
        return True

    def line(self, distinct: int, generated: int, queue: int, depth: int) -> None:
        secs = time.monotonic() - self.start
        rate = distinct / secs if secs > 0 else 0.0
        print(
            f"  {secs:7.1f}s  distinct {distinct:>11,}  generated {generated:>12,}  "
            f"queue {queue:>10,}  depth {depth:>4}  {rate:>9,.0f} states/s",
            file=self.stream,
            flush=True,
        )


def check(
    model: Model,
    engine: str = "bfs",
    *,
    fingerprint: bool = False,
    symmetry: bool = False,
    max_depth: int | None = None,
    check_deadlock: bool = True,
    stop_at_first: bool = True,
    progress: bool | TextIO = False,
    progress_interval: float = 60.0,
    budget: int | None = None,
    seed: int | None = None,
    workers: int | None = 1,
    backend: str = "local",
    ray_address: str | None = None,
) -> CheckResult:
    """Explore every reachable state of ``model`` and judge its properties.

    ``engine`` is "bfs" (shortest counterexamples) or "dfs"; or a sampled
    engine, as on the command line: "hypothesis" (``budget`` examples of at
    most ``max_depth`` steps, see ``splitbrain.checker.hypothesis``), "swarm"
    (``budget`` guided walks, paths of at most ``max_depth`` steps, see
    ``splitbrain.checker.swarm``) or "simulate" (``budget`` random walks of at
    most ``max_depth`` steps); all take ``seed`` and ignore the exhaustive-only options. ``max_depth``
    bounds the number of steps from an initial state; when the bound stops
    the search with states left unexpanded, what was not violated is
    undecided (verdict "undecided"). ``always`` properties are judged on
    every state within the boundary, ``always_step`` properties on every
    step into the boundary (steps to states seen before and self-loops
    included). ``progress`` is
    True for progress lines on stderr, or a stream, every
    ``progress_interval`` seconds (exhaustive engines). Ctrl-C ends the run
    cleanly with the statistics so far (verdict "interrupted").
    ``result.coverage`` counts, per action class, the steps taken (successors
    generated within the boundary; a step the boundary prunes is not taken)
    and the new states among them, and per property the states (steps) it
    was judged on. ``workers`` (bfs): search on that many worker processes
    (``backend`` "local"; None: the machine's cores) or Ray actors (``backend``
    "ray", on the cluster at ``ray_address`` or a local Ray; None: its CPUs),
    with the figures of one worker (see ``splitbrain.checker.parallel_bfs``);
    dfs runs on one worker.
    """
    if engine in ("hypothesis", "swarm", "simulate"):
        if symmetry or fingerprint:
            raise ValueError(f"symmetry and fingerprint apply to bfs and dfs, not to {engine}")
        return _sampled(model, engine, budget, max_depth, seed, check_deadlock)
    if engine not in ("bfs", "dfs"):
        raise ValueError(f"unknown engine {engine!r} (engines: bfs, dfs, hypothesis, swarm, simulate)")
    if budget is not None or seed is not None:
        raise ValueError("budget and seed apply to the sampled engines (hypothesis, swarm, simulate), not to " + engine)
    if symmetry and not getattr(model, "has_symmetry", False):
        raise ValueError(f"model {model.name} declares no symmetry")
    stream = (sys.stderr if progress is True else progress) or None
    if backend not in ("local", "ray"):
        raise ValueError(f"unknown backend {backend!r} (backends: local, ray)")
    if workers is not None and workers < 1:
        raise ValueError("workers must be >= 1")
    if engine == "bfs" and (workers != 1 or backend != "local"):
        from splitbrain.checker.parallel_bfs import ParallelSearch

        search = ParallelSearch(model, fingerprint, symmetry, max_depth, check_deadlock, stop_at_first,
                                Progress(stream, progress_interval), workers=workers, backend=backend,
                                ray_address=ray_address)
    else:
        search = _Search(model, fingerprint, symmetry, max_depth, check_deadlock, stop_at_first, Progress(stream, progress_interval))
    result = CheckResult(
        model=model.name, params=model.params(), engine=engine,
        fingerprint=fingerprint, symmetry=symmetry, max_depth=max_depth,
    )
    if engine == "dfs" and (workers != 1 or backend != "local"):
        result.notes.append("dfs runs on one worker in this process (--workers and --backend apply to bfs)")
    start = time.perf_counter()
    interrupted = False
    # States are acyclic tuples: the cycle collector only slows the search down.
    collecting = gc.isenabled()
    gc.disable()
    try:
        (search.bfs if engine == "bfs" else search.dfs)()
    except _Stop:
        pass
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if collecting:
            gc.enable()
    result.seconds = time.perf_counter() - start
    result.distinct_states = len(search.seen)
    result.states_generated = search.generated
    result.depth = search.depth
    result.peak_memory_mb = peak_memory_mb()
    result.complete = not (interrupted or search.stopped_early or search.truncated)
    search.fill_verdicts(result, interrupted)
    result.coverage = search.coverage()
    if isinstance(search.seen, FingerprintStore):
        result.extra["seen_set_bytes"] = search.seen.nbytes
        result.notes.append(
            f"fingerprints: {search.seen.nbytes / max(1, result.distinct_states):.1f} bytes a state in memory, "
            f"parent links on disk ({16 * result.distinct_states / 2**20:,.1f} MiB)"
            + (f"; {search.spilled} batches of frontier states written to disk" if search.spilled else ""))
        search.seen.close()
    return result


def _sampled(model: Model, engine: str, budget: int | None, max_depth: int | None, seed: int | None,
             check_deadlock: bool) -> CheckResult:
    """A hypothesis, swarm or simulate run with the engine's defaults for what is not given.

    Swarm and simulate take their walks in the chunks the command line takes
    (``splitbrain.checker.sampled_parallel``, in this process), so the same
    seed gives the same result here as there.
    """
    if engine == "hypothesis":
        from splitbrain.checker.hypothesis import hypothesis_check

        return hypothesis_check(model, budget=budget, max_depth=max_depth, seed=seed, check_deadlock=check_deadlock)
    from splitbrain.checker.sampled_parallel import simulate_chunked, swarm_chunked

    if engine == "swarm":
        return swarm_chunked(model, budget=budget, max_depth=max_depth, seed=seed, check_deadlock=check_deadlock,
                             workers=1)
    return simulate_chunked(model, budget or SIMULATE_RUNS, max_depth or SIMULATE_DEPTH, seed,
                            check_deadlock=check_deadlock, workers=1)


def _first(action: Any) -> Any:
    """The default action class key: the action's first element (made text in the coverage)."""
    return action[0] if action.__class__ is tuple and action else action


class _Search:
    """One exploration's state: the seen-set, counters, and found violations."""

    def __init__(self, model: Model, fingerprint: bool, symmetry: bool, max_depth: int | None,
                 check_deadlock: bool, stop_at_first: bool, progress: Progress):
        self.model = model
        self.max_depth = max_depth
        self.check_deadlock = check_deadlock and not model.allow_deadlock
        self.stop_at_first = stop_at_first
        self.progress = progress
        # With fingerprints: a compact table in memory and the parent links on disk (TLC's scheme).
        self.seen: MutableMapping[Any, tuple[Any, Any]] | FingerprintStore = FingerprintStore() if fingerprint else {}
        self.spilled = 0  # frontier batches written to disk
        self.generated = 0
        self.depth = 0
        self.truncated = False  # max_depth cut some behaviours short
        self.stopped_early = False
        props = list(model.properties())
        self.props = props
        self.invariants = [(p.name, p.condition) for p in props if p.kind == ALWAYS]
        self.step_invariants = [(p.name, p.condition) for p in props if p.kind == ALWAYS_STEP]
        self.witnesses = [(p.name, p.condition) for p in props if p.kind == SOMETIMES]
        self.violations: dict[str, Any] = {}  # property name -> key of the violating state
        self.step_violations: dict[str, tuple[Any, Any]] = {}  # property -> (key of the source state, action)
        self.found: dict[str, Any] = {}  # witness name -> key of the witnessing state
        # Coverage: states and steps judged, and when a property left the search (violated or reached).
        self.judged = 0
        self.steps_judged = 0
        self.judged_at: dict[str, int] = {}
        self.live_states = 0
        self.live_judged = False
        self.taken: dict[Any, int] = {}  # action class key -> steps taken (successors within the boundary)
        self.new: dict[Any, int] = {}  # action class key -> new states among them
        own_class = type(model).action_class is not Model.action_class
        self.classify: Callable[[Any], Any] = model.action_class if own_class else _first
        # The state -> key function, kept None for the common exact, unreduced case.
        canon = model.canonical if symmetry else None
        self.symmetric = canon is not None
        fp = Fingerprinter().fingerprint if fingerprint else None  # 64-bit, the same in every process
        if canon and fp:
            self.keyf: Callable[[Any], Any] | None = lambda s: fp(canon(s))
        elif canon:
            self.keyf = canon
        elif fp:
            self.keyf = fp
        else:
            self.keyf = None
        bounded = type(model).within_boundary is not Model.within_boundary
        self.within = model.within_boundary if bounded else None

    # -- per new state --------------------------------------------------------
    def stop_if_first(self) -> None:
        """End the search at a violation, unless every violation is wanted."""
        if self.stop_at_first:
            self.stopped_early = True
            raise _Stop

    def judge(self, state: Any, key: Any) -> None:
        """Check invariants and witnesses on a newly found state."""
        self.judged += 1
        for name, cond in self.invariants:
            if not cond(state):
                self.violations[name] = key
                self.judged_at[name] = self.judged
                self.stop_if_first()
        if self.violations and not self.stop_at_first:
            self.invariants = [(n, c) for n, c in self.invariants if n not in self.violations]
        if self.witnesses:
            hit = [(n, c) for n, c in self.witnesses if c(state)]
            if hit:
                for n, _ in hit:
                    self.found[n] = key
                    self.judged_at[n] = self.judged
                self.witnesses = [(n, c) for n, c in self.witnesses if n not in self.found]

    def judge_step(self, state: Any, key: Any, action: Any, nxt: Any) -> None:
        """Check the step invariants on one step from ``state`` (whose key is ``key``)."""
        self.steps_judged += 1
        for name, cond in self.step_invariants:
            if not cond(state, action, nxt):
                self.step_violations[name] = (key, action)
                self.judged_at[name] = self.steps_judged
                self.stop_if_first()
        if self.step_violations and not self.stop_at_first:
            self.step_invariants = [(n, c) for n, c in self.step_invariants if n not in self.step_violations]

    def deadlock(self, key: Any) -> None:
        if DEADLOCK not in self.violations:
            self.violations[DEADLOCK] = key
        self.stop_if_first()

    def add_initial(self) -> list[Any]:
        states = []
        keyf, seen = self.keyf, self.seen
        for i, s in enumerate(self.model.init_states()):
            self.generated += 1
            if self.within is not None and not self.within(s):
                continue
            k = s if keyf is None else keyf(s)
            if k in seen:
                continue
            seen[k] = (None, i)
            states.append(s)
            self.judge(s, k)
        return states

    # -- breadth-first --------------------------------------------------------
    def bfs(self) -> None:
        level = self.add_initial()
        self.depth = 1 if level else 0
        succ = self.model.successors
        keyf, seen, within = self.keyf, self.seen, self.within
        judge = self.judge
        check_deadlock = self.check_deadlock
        progress = self.progress
        steps = 0
        classify, taken, new = self.classify, self.taken, self.new
        first = classify is _first  # the default class, computed inline (the hot loop)
        judge_step = self.judge_step if self.step_invariants else None
        # Under symmetry a key costs more than the boundary test, so the boundary is tested first (a
        # state outside it never enters the seen-set: the figures are the same either way).
        early = within if self.symmetric else None
        late = None if early is not None else within
        # With keys, a level holds each state with its key (computed once, when the state is found);
        # with fingerprints, a level beyond FRONTIER_IN_MEMORY states goes to disk in batches.
        compact = isinstance(seen, FingerprintStore)
        spill = FRONTIER_IN_MEMORY if compact else sys.maxsize
        if keyf is not None:
            keyed = Frontier(spill, int_keys=compact)
            for s in level:
                keyed.append(s, keyf(s))
            level = keyed
        while level:
            if self.max_depth is not None and steps >= self.max_depth:
                self.truncated = True  # states remain whose steps the bound leaves unexplored
                return
            size = len(level)
            nxt: Any = [] if keyf is None else Frontier(spill, int_keys=compact)
            for count, (s, k) in enumerate(zip(level, level) if keyf is None else level):
                n = 0
                try:
                    for a, t in succ(s):
                        n += 1
                        if early is not None and not early(t):
                            continue
                        c = (a[0] if a.__class__ is tuple and a else a) if first else classify(a)
                        # A step the model answers with the state itself is a self-loop: its key is known.
                        tk = k if t is s else t if keyf is None else keyf(t)
                        if tk in seen:
                            taken[c] = taken.get(c, 0) + 1
                            if judge_step is not None:
                                judge_step(s, k, a, t)
                            continue
                        if late is not None and not late(t):
                            continue
                        seen[tk] = (k, a)
                        taken[c] = taken.get(c, 0) + 1
                        new[c] = new.get(c, 0) + 1
                        if judge_step is not None:
                            judge_step(s, k, a, t)
                        judge(t, tk)
                        if keyf is None:
                            nxt.append(t)
                        else:
                            nxt.append(t, tk)
                finally:  # counted even when a violation ends the search mid-state
                    self.generated += n
                if n == 0 and check_deadlock:
                    self.deadlock(k)
                if count & 1023 == 0 and progress.due():
                    progress.line(len(seen), self.generated, size - count + len(nxt), self.depth)
            steps += 1
            if nxt:
                self.depth += 1
            if keyf is not None:
                self.spilled += nxt.spilled
            level = nxt

    # -- depth-first ----------------------------------------------------------
    def dfs(self) -> None:
        succ = self.model.successors
        keyf, seen, within = self.keyf, self.seen, self.within
        check_deadlock = self.check_deadlock
        progress = self.progress
        max_depth = self.max_depth
        classify, taken, new = self.classify, self.taken, self.new
        judge_step = self.judge_step if self.step_invariants else None
        for s0 in self.add_initial():
            k0 = s0 if keyf is None else keyf(s0)
            stack = [(s0, k0, succ(s0), 0)]
            self.depth = max(self.depth, 1)
            while stack:
                s, k, it, n = stack[-1]
                if max_depth is not None and len(stack) > max_depth:
                    self.truncated = True
                    stack.pop()
                    continue
                for a, t in it:
                    n += 1
                    self.generated += 1
                    c = classify(a)
                    tk = t if keyf is None else keyf(t)
                    if tk in seen:
                        taken[c] = taken.get(c, 0) + 1
                        if judge_step is not None:
                            judge_step(s, k, a, t)
                        continue
                    if within is not None and not within(t):
                        continue
                    seen[tk] = (k, a)
                    taken[c] = taken.get(c, 0) + 1
                    new[c] = new.get(c, 0) + 1
                    if judge_step is not None:
                        judge_step(s, k, a, t)
                    self.judge(t, tk)
                    stack[-1] = (s, k, it, n)
                    stack.append((t, tk, succ(t), 0))
                    if len(stack) > self.depth:
                        self.depth = len(stack)
                    break
                else:
                    stack.pop()
                    if n == 0 and check_deadlock:
                        self.deadlock(k)
                if progress.due():
                    progress.line(len(seen), self.generated, len(stack), self.depth)

    # -- results --------------------------------------------------------------
    def path_to(self, key: Any) -> tuple[int, list[Any]]:
        """The initial-state index and the actions that first reached ``key``."""
        if isinstance(self.seen, FingerprintStore):
            return self.seen.path(key, self.model, self.keyf)  # type: ignore[arg-type]
        actions = []
        parent, label = self.seen[key]
        while parent is not None:
            actions.append(label)
            parent, label = self.seen[parent]
        actions.reverse()
        return label, actions

    def trace_for(self, name: str, kind: str, key: Any, action: Any = None, step: bool = False) -> Any:
        """The trace to the state ``key`` (and, for a step property, on by ``action``)."""
        init, actions = self.path_to(key)
        return make_trace(self.model, init, actions + [action] if step else actions, name, kind)

    def judge_liveness(self, result: CheckResult) -> dict[str, PropertyResult] | None:
        """Verdicts on the liveness properties, judged on the whole state graph (None: interrupted)."""
        live = [p for p in self.props if p.kind in LIVENESS_KINDS]
        if not live:
            return {}
        from splitbrain.checker.liveness import check_liveness

        try:
            report = check_liveness(self.model, live)
        except KeyboardInterrupt:
            return None
        secs = report.build_seconds + report.judge_seconds
        self.live_states = report.states
        result.extra["liveness_seconds"] = round(secs, 3)
        result.notes.append(
            f"liveness: {len(live)} propert{'y' if len(live) == 1 else 'ies'} judged on the full state graph "
            f"({report.states:,} states, {report.edges:,} edges) in {secs:.2f} s"
            + (" (liveness ignores symmetry reduction)" if result.symmetry else "")
        )
        return {r.name: r for r in report.results}

    def fill_verdicts(self, result: CheckResult, interrupted: bool) -> None:
        """The verdicts (judging liveness after a complete search), as every engine gives them."""
        ended_early = interrupted or self.stopped_early
        if any(p.kind in LIVENESS_KINDS for p in self.props):
            result.extra["fairness"] = {p.name: [str(f) for f in p.fairness] for p in self.props if p.kind in LIVENESS_KINDS}
        live = self.judge_liveness(result) if result.complete else {}
        if live is None:
            interrupted, live = True, {}
        violated = {name: self.trace_for(name, ALWAYS, key) for name, key in self.violations.items()}
        for name, (key, action) in self.step_violations.items():
            violated[name] = self.trace_for(name, ALWAYS_STEP, key, action, step=True)
        reached = {name: self.trace_for(name, SOMETIMES, key) for name, key in self.found.items()}
        fill_verdicts(result, self.props, violated=violated, reached=reached, liveness=live,
                      ended_early=ended_early, interrupted=interrupted,
                      scope=f"within max depth {self.max_depth}", sampled=False)
        self.live_judged = bool(live)

    def coverage(self) -> Coverage:
        """Per action class and per property, what this search exercised."""
        judged = Coverage.judged_counts(self.props, self.judged_at, self.judged, self.steps_judged,
                                        self.live_states if self.live_judged else 0)
        return Coverage.build(self.model, self.taken, self.new, judged, {n: True for n in self.found})
