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
from collections import deque
from typing import Any, Callable, MutableMapping, TextIO

from splitbrain.checker.result import INTERRUPTED, OK, VIOLATION, CheckResult, PropertyResult, peak_memory_mb
from splitbrain.models.core import Model
from splitbrain.properties.kinds import ALWAYS, LIVENESS_KINDS, SOMETIMES
from splitbrain.traces.replay import make_trace

DEADLOCK = "Deadlock"


class _Stop(Exception):
    """Raised inside the search to end it (first violation found)."""


class Progress:
    """Prints a progress line every ``interval`` seconds to ``stream``."""

    def __init__(self, stream: TextIO | None, interval: float = 3.0):
        self.stream = stream
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
    progress_interval: float = 3.0,
) -> CheckResult:
    """Explore every reachable state of ``model`` and judge its properties.

    ``engine`` is "bfs" (shortest counterexamples) or "dfs". ``max_depth``
    bounds the number of steps from an initial state. ``progress`` is True for
    progress lines on stderr, or a stream. Ctrl-C ends the run cleanly with the
    statistics so far (verdict "interrupted").
    """
    if engine not in ("bfs", "dfs"):
        raise ValueError(f"unknown engine {engine!r}")
    if symmetry and not getattr(model, "has_symmetry", False):
        raise ValueError(f"model {model.name} declares no symmetry")
    stream = (sys.stderr if progress is True else progress) or None
    search = _Search(model, fingerprint, symmetry, max_depth, check_deadlock, stop_at_first, Progress(stream, progress_interval))
    result = CheckResult(
        model=model.name, params=model.params(), engine=engine,
        fingerprint=fingerprint, symmetry=symmetry, max_depth=max_depth,
    )
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
    return result


class _Search:
    """One exploration's state: the seen-set, counters, and found violations."""

    def __init__(self, model: Model, fingerprint: bool, symmetry: bool, max_depth: int | None,
                 check_deadlock: bool, stop_at_first: bool, progress: Progress):
        self.model = model
        self.max_depth = max_depth
        self.check_deadlock = check_deadlock and not model.allow_deadlock
        self.stop_at_first = stop_at_first
        self.progress = progress
        self.seen: MutableMapping[Any, tuple[Any, Any]] = {}
        self.generated = 0
        self.depth = 0
        self.truncated = False  # max_depth cut some behaviours short
        self.stopped_early = False
        props = list(model.properties())
        self.props = props
        self.invariants = [(p.name, p.condition) for p in props if p.kind == ALWAYS]
        self.witnesses = [(p.name, p.condition) for p in props if p.kind == SOMETIMES]
        self.violations: dict[str, Any] = {}  # property name -> key of the violating state
        self.found: dict[str, Any] = {}  # witness name -> key of the witnessing state
        # The state -> key function, kept None for the common exact, unreduced case.
        canon = model.canonical if symmetry else None
        if canon and fingerprint:
            self.keyf: Callable[[Any], Any] | None = lambda s: hash(canon(s))
        elif canon:
            self.keyf = canon
        elif fingerprint:
            self.keyf = hash
        else:
            self.keyf = None
        bounded = type(model).within_boundary is not Model.within_boundary
        self.within = model.within_boundary if bounded else None

    # -- per new state --------------------------------------------------------
    def judge(self, state: Any, key: Any) -> None:
        """Check invariants and witnesses on a newly found state."""
        for name, cond in self.invariants:
            if not cond(state):
                self.violations[name] = key
                if self.stop_at_first:
                    self.stopped_early = True
                    raise _Stop
        if self.violations and not self.stop_at_first:
            self.invariants = [(n, c) for n, c in self.invariants if n not in self.violations]
        if self.witnesses:
            hit = [(n, c) for n, c in self.witnesses if c(state)]
            if hit:
                for n, _ in hit:
                    self.found[n] = key
                self.witnesses = [(n, c) for n, c in self.witnesses if n not in self.found]

    def deadlock(self, key: Any) -> None:
        if DEADLOCK not in self.violations:
            self.violations[DEADLOCK] = key
        if self.stop_at_first:
            self.stopped_early = True
            raise _Stop

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
        while level:
            if self.max_depth is not None and steps >= self.max_depth:
                self.truncated = True
                return
            nxt: list[Any] = []
            for count, s in enumerate(level):
                k = s if keyf is None else keyf(s)
                n = 0
                try:
                    for a, t in succ(s):
                        n += 1
                        tk = t if keyf is None else keyf(t)
                        if tk in seen:
                            continue
                        if within is not None and not within(t):
                            continue
                        seen[tk] = (k, a)
                        judge(t, tk)
                        nxt.append(t)
                finally:  # counted even when a violation ends the search mid-state
                    self.generated += n
                if n == 0 and check_deadlock:
                    self.deadlock(k)
                if count & 1023 == 0 and progress.due():
                    progress.line(len(seen), self.generated, len(level) - count + len(nxt), self.depth)
            steps += 1
            if nxt:
                self.depth += 1
            level = nxt

    # -- depth-first ----------------------------------------------------------
    def dfs(self) -> None:
        succ = self.model.successors
        keyf, seen, within = self.keyf, self.seen, self.within
        check_deadlock = self.check_deadlock
        progress = self.progress
        max_depth = self.max_depth
        for s in self.add_initial():
            k0 = s if keyf is None else keyf(s)
            stack = [(k0, succ(s), 0)]
            self.depth = max(self.depth, 1)
            while stack:
                k, it, n = stack[-1]
                if max_depth is not None and len(stack) > max_depth:
                    self.truncated = True
                    stack.pop()
                    continue
                for a, t in it:
                    n += 1
                    self.generated += 1
                    tk = t if keyf is None else keyf(t)
                    if tk in seen or (within is not None and not within(t)):
                        continue
                    seen[tk] = (k, a)
                    self.judge(t, tk)
                    stack[-1] = (k, it, n)
                    stack.append((tk, succ(t), 0))
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
        actions = []
        parent, label = self.seen[key]
        while parent is not None:
            actions.append(label)
            parent, label = self.seen[parent]
        actions.reverse()
        return label, actions

    def trace_for(self, name: str, kind: str, key: Any) -> Any:
        init, actions = self.path_to(key)
        return make_trace(self.model, init, actions, name, kind)

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
        result.extra["liveness_seconds"] = round(secs, 3)
        result.notes.append(
            f"liveness: {len(live)} propert{'y' if len(live) == 1 else 'ies'} judged on the full state graph "
            f"({report.states:,} states, {report.edges:,} edges) in {secs:.2f} s"
            + (" (liveness ignores symmetry reduction)" if result.symmetry else "")
        )
        return {r.name: r for r in report.results}

    def fill_verdicts(self, result: CheckResult, interrupted: bool) -> None:
        complete = result.complete
        if any(p.kind in LIVENESS_KINDS for p in self.props):
            result.extra["fairness"] = {p.name: [str(f) for f in p.fairness] for p in self.props if p.kind in LIVENESS_KINDS}
        live = self.judge_liveness(result) if complete else {}
        if live is None:
            interrupted, live = True, {}
        for p in self.props:
            if p.kind in LIVENESS_KINDS:
                result.properties.append(live.get(p.name) or PropertyResult(
                    p.name, p.kind, None, note="undecided: liveness needs the complete state graph"))
            elif p.kind == ALWAYS:
                if p.name in self.violations:
                    trace = self.trace_for(p.name, ALWAYS, self.violations[p.name])
                    result.properties.append(PropertyResult(p.name, ALWAYS, False, trace))
                else:
                    holds = True if complete or self.truncated and not (interrupted or self.stopped_early) else None
                    note = f"within max depth {self.max_depth}" if self.truncated and holds else ""
                    result.properties.append(PropertyResult(p.name, ALWAYS, holds, note=note))
            elif p.kind == SOMETIMES:
                if p.name in self.found:
                    trace = self.trace_for(p.name, SOMETIMES, self.found[p.name])
                    result.properties.append(PropertyResult(p.name, SOMETIMES, True, trace))
                elif interrupted or self.stopped_early:
                    result.properties.append(PropertyResult(p.name, SOMETIMES, None, note="search ended before it was reached"))
                else:
                    note = "never reached" + (f" within max depth {self.max_depth}" if self.truncated else "")
                    result.properties.append(PropertyResult(p.name, SOMETIMES, False, note=note))
        if DEADLOCK in self.violations:
            trace = self.trace_for(DEADLOCK, ALWAYS, self.violations[DEADLOCK])
            result.properties.append(PropertyResult(DEADLOCK, ALWAYS, False, trace, note="a state with no enabled action"))
        failed = [p for p in result.properties if p.holds is False]
        with_trace = [p for p in failed if p.trace is not None]
        result.counterexample = min(with_trace, key=lambda p: len(p.trace)).trace if with_trace else None
        if interrupted:
            result.verdict = INTERRUPTED
        elif failed:
            result.verdict = VIOLATION
        else:
            result.verdict = OK
