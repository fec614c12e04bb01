"""Breadth-first search on several workers: processes on this machine, or Ray actors.

The search is level-synchronous over a partitioned seen-set: worker ``i`` of
``N`` owns the keys whose hash is ``i`` modulo ``N`` (on Ray, the 64-bit
fingerprint of ``splitbrain.checker.fingerprint``, the same in every process;
between processes forked from this one, Python's ``hash``, which they share
and which costs far less). Each level, every worker expands its states and
sends each successor it has not met before to its owner, one batch per owner;
the owner records the new ones and tells each worker which of the states it
built are new; that worker keeps their parent links and expands them at the
next level. A counterexample is rebuilt by following the parent links from
worker to worker.

The figures are those of one worker, exactly: distinct states, states
generated, depth, verdicts, coverage, and the counterexamples themselves.
For that, every successor carries its place in the one-worker search's order,
``(rank of its parent in the level) << 32 | (index among the parent's
successors)``: among the candidates for a new state the owner keeps the first
in that order (the one the one-worker search finds, with the same parent and
action), the next level is ranked in that order, and where one worker stops
(the first violation) the figures are counted up to that point. A state is
expanded by the worker that built it, so the model enumerates its successors
in the order it would in one process (a set's iteration order depends on how
the set was built). On Ray the actors are other processes, with their own
string hashes, so what depends on that order (which of several shortest
counterexamples, the new states per action class, the figures where a search
stops at its first violation) may differ from a local run; the figures of a
complete search do not.

A small search does not pay for processes: it runs in this process until a
level reaches ``PARALLEL_FROM`` states, with the same code.
"""

from __future__ import annotations

import multiprocessing as mp
import pickle
import signal
import traceback
from bisect import bisect_left, bisect_right
from typing import Any, Callable, Iterable

from splitbrain.checker.backends import ship_by_value
from splitbrain.checker.explore import Progress, _first, _Search, _Stop
from splitbrain.checker.fingerprint import Fingerprinter
from splitbrain.checker.result import DEADLOCK, CheckResult, peak_memory_mb
from splitbrain.models.core import Model

PARALLEL_FROM = 4000  # a level's frontier from which the workers take over
# A worker remembers the keys it sent to other workers (so as not to send them again) until they are
# more than ROUTED_KEPT and ROUTED_SHARE times its own keys; then it forgets them.
ROUTED_KEPT, ROUTED_SHARE = 1 << 20, 2
_SHIFT = 32  # an order is (parent rank << _SHIFT) | successor index
_LAST = (1 << _SHIFT) - 1  # the successor index of a deadlock: after every successor
_ROUTED = ()  # the value of a key in a worker's table that another worker owns and was sent there
# The phases of events at one step, in the order one worker meets them.
_STEP, _STATE, _WITNESS = 0, 1, 2


class Shard:
    """One worker's part of the search: the seen-set of the states it owns, and the states it expands.

    ``table`` maps each key this worker owns to the worker that holds its
    parent link (or, for the states found before the workers took over, to
    the link itself: ``(parent key, action)``, or ``(None, i)`` for the i-th
    initial state); during a level, a new state's key maps to its first
    candidate so far, ``(order, key, holder)``; keys that another worker owns
    and that were sent to it are kept as ``_ROUTED``, so they are not sent
    again. A state is expanded by the worker that built it (its holder), once
    its owner has found it new: the very object the one-worker search would
    expand, so the model enumerates its successors in the same order (a set's
    iteration order depends on how it was built). The holder keeps its
    states' parent links in ``links``.
    """

    def __init__(self, model: Model, index: int, count: int, fingerprint: bool, symmetry: bool,
                 check_deadlock: bool, stable: bool = False) -> None:
        import gc

        gc.disable()  # states are acyclic tuples (as in the one-worker search)
        self.model = model
        self.fingerprint = fingerprint
        self.stable = stable  # partitioned by stable fingerprints (Ray) rather than by hash (forked processes)
        # The one-worker search's own view of the model: key function, boundary, property lists.
        self.rules = _Search(model, fingerprint, symmetry, None, check_deadlock, False, Progress(None))
        if not isinstance(self.rules.seen, dict):
            self.rules.seen.close()  # only its rules are used
        self.table: dict[Any, Any] = {}
        self.parents: list[tuple[int, Any, Any]] = []  # (rank, key, state): this worker's part of the level
        self.held: list[tuple[int, Any, Any]] = []  # (order, key, state): its part of the next level, in order
        self.built: dict[int, tuple] = {}  # order -> (key, state, parent key, action) of each candidate built here
        self.links: dict[Any, tuple[Any, Any]] = {}  # key -> (parent key, action) of the states held here
        self.fresh: list[Any] = []  # the keys of this level's new states owned here (candidates in ``table``)
        self.routed = 0  # keys in ``table`` that other workers own
        self._cum: tuple[list[int], list[int]] = ([], [])
        self._won: tuple[list[int], list[Any]] = ([], [])
        self.resize(index, count)

    def resize(self, index: int, count: int) -> None:
        """Become worker ``index`` of ``count``: keep only the part of the level this worker owns."""
        self.index, self.count = index, count
        self.fp = None if count == 1 else key_hash(self.fingerprint, self.stable)
        self.owner = owner_function(self.fingerprint, count, self.stable)
        self.parents = [entry for entry in self.parents if self.owner(entry[1]) == index]

    def load(self, entries: Iterable[tuple[Any, Any]], parents: list[tuple[int, Any, Any]]) -> None:
        """Take over parent links and the (ranked) level to expand."""
        self.table.update(entries)
        self.parents = parents

    def link(self, key: Any) -> Any:
        """How ``key`` (owned here) was first reached: (parent key, action), (None, initial index),
        or the worker that holds that link (an int)."""
        return self.table[key]

    def held_link(self, key: Any) -> tuple[Any, Any]:
        """The parent link of a state held here."""
        return self.links[key]

    def rank(self, orders: list[list[int]] | None) -> None:
        """Rank the held states in the order of the one-worker search, given every worker's sorted orders."""
        if orders is None or self.count == 1:
            self.parents = [(j, k, s) for j, (_, k, s) in enumerate(self.held)]
        else:
            others = [o for i, o in enumerate(orders) if i != self.index]
            self.parents = [(j + sum(bisect_left(other, o) for other in others), k, s)
                            for j, (o, k, s) in enumerate(self.held)]
        self.held = []

    # -- one level: expand, merge (at the owners), adopt (at the holders) ------------
    def expand(self, resolved: set[str], orders: list[list[int]] | None) -> tuple[dict[str, Any], list[list]]:
        """Expand this worker's part of the level: its figures and events, and a batch of candidates per owner.

        A candidate is ``(order, key, holder)``; its state, parent and action
        stay here (in ``built``). A key is sent to its owner at most once by each worker.
        """
        if orders is not None:
            self.rank(orders)
        if self.routed > max(ROUTED_KEPT, ROUTED_SHARE * (len(self.table) - self.routed)):
            # The keys sent elsewhere are only a cache (the owner drops what it has seen): bound its memory.
            self.table = {k: v for k, v in self.table.items() if v is not _ROUTED}
            self.routed = 0
        step_props = [(pos, n, c) for pos, (n, c) in enumerate(self.rules.step_invariants) if n not in resolved]
        rules = self.rules
        succ = self.model.successors
        keyf, within, classify = rules.keyf, rules.within, rules.classify
        first_class = classify is _first
        table, fresh, built, me, count, fp = self.table, self.fresh, self.built, self.index, self.count, self.fp
        out: list[list] = [[] for _ in range(count)]
        taken: dict[Any, int] = {}
        first: dict[Any, int] = {}  # class -> the order of its first step this level
        events: list[tuple] = []
        deadlock = rules.check_deadlock and DEADLOCK not in resolved
        gen = steps = routed = 0
        gen_cum, steps_cum = [], []
        for p, k, s in self.parents:
            base = p << _SHIFT
            n = 0
            for a, t in succ(s):
                o = base | n
                n += 1
                tk = k if t is s else t if keyf is None else keyf(t)
                if table.get(tk) is None:  # new to this worker
                    if within is not None and not within(t):
                        continue
                    built[o] = (tk, t, k, a)
                    w = 0 if count == 1 else (tk if fp is None else fp(tk)) % count
                    if w == me:
                        table[tk] = (o, tk, me)  # a candidate: replaced by its holder in merge
                        fresh.append(tk)
                    else:
                        table[tk] = _ROUTED
                        routed += 1
                        out[w].append((o, tk, me))
                c = (a[0] if a.__class__ is tuple and a else a) if first_class else classify(a)
                if c in taken:
                    taken[c] += 1
                else:
                    taken[c] = 1
                    first[c] = o
                steps += 1
                if step_props:
                    for prop in step_props:
                        if not prop[2](s, a, t):
                            events.append(((o, _STEP, prop[0]), prop[1], (k, a)))
                            step_props = [q for q in step_props if q is not prop]
            gen += n
            gen_cum.append(gen)
            steps_cum.append(steps)
            if n == 0 and deadlock:
                events.append((((p << _SHIFT) | _LAST, _STEP, 0), DEADLOCK, k))
                deadlock = False
        self._cum = (gen_cum, steps_cum)
        self.routed += routed
        stats = {"generated": gen, "steps": steps, "taken": taken, "first": first, "events": events}
        return stats, out

    def expand_routed(self, resolved: set[str], orders: list[list[int]] | None) -> tuple:
        """``expand`` as (figures, batch for worker 0, batch for worker 1, ...): one result per Ray object."""
        stats, out = self.expand(resolved, orders)
        return (stats, *out)

    def merge(self, *batches: list) -> list[list[int]]:
        """Take the candidates the other workers sent; keep this level's new states (for each, the first
        candidate in the one-worker order): for each holder, the orders of its candidates that won."""
        table, fresh = self.table, self.fresh
        for batch in batches:
            for cand in batch:
                tk = cand[1]
                had = table.get(tk)
                if had is None:
                    table[tk] = cand
                    fresh.append(tk)
                elif had.__class__ is tuple and len(had) == 3 and cand[0] < had[0]:  # an earlier candidate
                    table[tk] = cand
        won: list[list[int]] = [[] for _ in range(self.count)]
        for tk in fresh:
            o, _, holder = table[tk]
            table[tk] = holder
            won[holder].append(o)
        self.fresh = []
        return won

    def merge_routed(self, *batches: list) -> tuple:
        """``merge`` as (winners held by worker 0, by worker 1, ...): one result per Ray object."""
        return tuple(self.merge(*batches))

    def adopt(self, resolved: set[str], *won: list[int]) -> tuple[list[int], dict[str, Any]]:
        """Keep the states built here that their owners found new, as this worker's part of the next
        level, and judge them: their orders (sorted), the new states per action class, and the events."""
        invariants = [(pos, n, c) for pos, (n, c) in enumerate(self.rules.invariants) if n not in resolved]
        witnesses = [(pos, n, c) for pos, (n, c) in enumerate(self.rules.witnesses) if n not in resolved]
        classify = self.rules.classify
        first_class = classify is _first
        built, links = self.built, self.links
        orders = sorted(o for part in won for o in part)
        events: list[tuple] = []
        held, classes = [], []
        new: dict[Any, int] = {}
        for o in orders:
            tk, t, k, a = built[o]
            links[tk] = (k, a)
            held.append((o, tk, t))
            c = (a[0] if a.__class__ is tuple and a else a) if first_class else classify(a)
            new[c] = new.get(c, 0) + 1
            classes.append(c)
            if invariants:
                for prop in invariants:
                    if not prop[2](t):
                        events.append(((o, _STATE, prop[0]), prop[1], tk))
                        invariants = [q for q in invariants if q is not prop]
            if witnesses:
                for prop in witnesses:
                    if prop[2](t):
                        events.append(((o, _WITNESS, prop[0]), prop[1], tk))
                        witnesses = [q for q in witnesses if q is not prop]
        self.built = {}
        self.held = held
        self._won = (orders, classes)
        return orders, {"new": new, "events": events}

    def upto(self, order: int, classes: bool) -> dict[str, Any]:
        """This worker's figures of the level up to and including the step at ``order``.

        Steps generated and taken (by its parents); new states it holds (and
        whether one was found at exactly that step); with ``classes``, steps
        taken and new states per action class.
        """
        p, i = order >> _SHIFT, order & _LAST
        ranks = [entry[0] for entry in self.parents]
        idx = bisect_left(ranks, p)
        gen_cum, steps_cum = self._cum
        gen = gen_cum[idx - 1] if idx else 0
        steps = steps_cum[idx - 1] if idx else 0
        taken: dict[Any, int] = {}
        within, classify = self.rules.within, self.rules.classify

        def walk(s: Any, limit: int) -> tuple[int, int]:
            n = took = 0
            for a, t in self.model.successors(s):
                if n > limit:
                    break
                n += 1
                if within is None or within(t):  # a step is taken unless the boundary prunes it
                    took += 1
                    if classes:
                        c = classify(a)
                        taken[c] = taken.get(c, 0) + 1
            return n, took

        if classes:
            for _, _, s in self.parents[:idx]:
                walk(s, _LAST)
        if idx < len(ranks) and ranks[idx] == p:
            n, took = walk(self.parents[idx][2], i)
            gen += n
            steps += took
        won_orders, won_classes = self._won
        le = bisect_right(won_orders, order)
        new: dict[Any, int] = {}
        if classes:
            for c in won_classes[:le]:
                new[c] = new.get(c, 0) + 1
        eq = int(le > 0 and won_orders[le - 1] == order)
        return {"generated": gen, "steps": steps, "winners": le, "exact": eq, "taken": taken, "new": new}

    def peak_memory(self) -> float:
        """This worker's peak resident memory, in MiB."""
        return peak_memory_mb()

    def parts(self, count: int) -> list[tuple[list[tuple[Any, Any]], list[tuple[int, Any, Any]]]]:
        """For each of ``count`` workers, the parent links and the ranked level it owns (to load a Ray actor
        from this process's worker)."""
        owner = owner_function(self.fingerprint, count, True)
        out: list[tuple[list, list]] = [([], []) for _ in range(count)]
        for k, v in self.table.items():
            out[owner(k)][0].append((k, self.links[k] if v.__class__ is int else v))
        for entry in self.parents:
            out[owner(entry[1])][1].append(entry)
        return out


def key_hash(fingerprint: bool, stable: bool) -> Callable[[Any], int] | None:
    """The hash that partitions keys among workers (None: the key itself, a fingerprint already).

    Across machines (``stable``) it is the state's 64-bit fingerprint, the
    same in every process; between processes forked from this one, Python's
    own ``hash``, which they share and which costs a little less than
    fingerprinting the state.
    """
    if fingerprint:
        return None
    return Fingerprinter().fingerprint if stable else hash


def owner_function(fingerprint: bool, count: int, stable: bool) -> Callable[[Any], int]:
    """key -> the worker (of ``count``) that owns it: its hash (``key_hash``) modulo ``count``."""
    if count == 1:
        return lambda key: 0
    h = key_hash(fingerprint, stable)
    if h is None:
        return lambda key: key % count
    return lambda key: h(key) % count


Level = tuple[list[dict[str, Any]], list[tuple[list[int], dict[str, Any]]]]


# -- the workers -------------------------------------------------------------------------
class _InProcess:
    """The search in this process (one worker), until a level is large enough for more."""

    def __init__(self, shard: Shard) -> None:
        self.shard = shard
        self.count = 1

    def level(self, resolved: set[str], orders: list[list[int]] | None) -> Level:
        """One level: (each worker's expand figures, its adopted orders with their figures and events)."""
        expanded, _ = self.shard.expand(resolved, orders)
        return [expanded], [self.shard.adopt(resolved, *self.shard.merge())]

    def upto(self, order: int, classes: bool) -> list[dict[str, Any]]:
        return [self.shard.upto(order, classes)]

    def link(self, key: Any) -> tuple[Any, Any]:
        found = self.shard.link(key)
        return self.shard.held_link(key) if found.__class__ is int else found

    def peaks(self) -> list[float]:
        return []

    def drain(self) -> None:
        pass

    def close(self) -> None:
        pass


class WorkerError(RuntimeError):
    """A worker failed (the message holds its traceback)."""


def _serve(shard: Shard, index: int, count: int, conn: Any) -> None:
    """A worker process: answer the coordinator's requests on ``conn`` until it sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    shard.resize(index, count)
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        method, args = request
        try:
            if method == "expand":
                stats, out = shard.expand(*args)
                reply: Any = (stats, [pickle.dumps(b, pickle.HIGHEST_PROTOCOL) if b else b"" for b in out])
            elif method == "merge":
                reply = shard.merge(*[pickle.loads(b) for b in args[0] if b])
            else:
                reply = getattr(shard, method)(*args)
            conn.send((True, reply))
        except Exception as exc:
            try:
                conn.send((False, exc))
            except Exception:
                conn.send((False, WorkerError(traceback.format_exc())))


class _Processes:
    """Worker processes on this machine, forked from this one (the model and the states are inherited)."""

    def __init__(self, shard: Shard, count: int) -> None:
        ctx = mp.get_context("fork")
        self.count = count
        self.owner = owner_function(shard.fingerprint, count, False)
        self.conns, self.procs = [], []
        self.pending = [0] * count
        for j in range(count):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(shard, j, count, theirs), daemon=True)
            proc.start()
            theirs.close()
            self.conns.append(mine)
            self.procs.append(proc)

    def _ask(self, j: int, method: str, *args: Any) -> None:
        self.conns[j].send((method, args))
        self.pending[j] += 1

    def _answer(self, j: int) -> Any:
        try:
            ok, reply = self.conns[j].recv()
        except EOFError:
            self.pending[j] = 0
            raise WorkerError(f"worker {j} died (exit code {self.procs[j].exitcode})") from None
        self.pending[j] -= 1  # not when Ctrl-C interrupts recv: the answer is still owed (see drain)
        if not ok:
            raise reply
        return reply

    def _all(self, method: str, args: list[tuple]) -> list[Any]:
        for j in range(self.count):
            self._ask(j, method, *args[j])
        return [self._answer(j) for j in range(self.count)]

    def level(self, resolved: set[str], orders: list[list[int]] | None) -> Level:
        n = self.count
        replies = self._all("expand", [(resolved, orders)] * n)
        blobs = [[replies[i][1][j] for i in range(n) if i != j] for j in range(n)]
        won = self._all("merge", [(blobs[j],) for j in range(n)])
        adopted = self._all("adopt", [(resolved, *[w[h] for w in won]) for h in range(n)])
        return [stats for stats, _ in replies], adopted

    def upto(self, order: int, classes: bool) -> list[dict[str, Any]]:
        return self._all("upto", [(order, classes)] * self.count)

    def link(self, key: Any) -> tuple[Any, Any]:
        j = self.owner(key)
        self._ask(j, "link", key)
        found = self._answer(j)
        if found.__class__ is int:
            self._ask(found, "held_link", key)
            found = self._answer(found)
        return found

    def peaks(self) -> list[float]:
        return self._all("peak_memory", [()] * self.count)

    def drain(self) -> None:
        """Read the answers still owed (after an interruption), so that the next request gets its own."""
        for j in range(self.count):
            while self.pending[j] > 0:
                try:
                    self._answer(j)
                except Exception:
                    pass

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(None)
            except OSError:
                pass
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
        for conn in self.conns:
            conn.close()
        self.conns, self.procs = [], []


class _RayActors:
    """Ray actors owning the shards; candidates and winners go from actor to actor as Ray objects."""

    def __init__(self, ray: Any, shard: Shard, count: int, options: dict[str, Any]) -> None:
        self.ray = ray
        self.count = count
        self.owner = owner_function(shard.fingerprint, count, True)
        remote = ray.remote(num_cpus=1)(Shard)
        ship_by_value(shard.model)
        model = ray.put(shard.model)
        self.actors = [remote.remote(model, j, count, stable=True, **options) for j in range(count)]
        ray.get([actor.load.remote(entries, parents)
                 for actor, (entries, parents) in zip(self.actors, shard.parts(count))])

    def level(self, resolved: set[str], orders: list[list[int]] | None) -> Level:
        n, get = self.count, self.ray.get
        expanded = [a.expand_routed.options(num_returns=n + 1).remote(resolved, orders) for a in self.actors]
        won = [a.merge_routed.options(num_returns=n).remote(*[expanded[i][j + 1] for i in range(n) if i != j])
               for j, a in enumerate(self.actors)]
        adopted = [a.adopt.remote(resolved, *[won[o][h] for o in range(n)]) for h, a in enumerate(self.actors)]
        return get([e[0] for e in expanded]), get(adopted)

    def upto(self, order: int, classes: bool) -> list[dict[str, Any]]:
        return self.ray.get([a.upto.remote(order, classes) for a in self.actors])

    def link(self, key: Any) -> tuple[Any, Any]:
        found = self.ray.get(self.actors[self.owner(key)].link.remote(key))
        if found.__class__ is int:
            found = self.ray.get(self.actors[found].held_link.remote(key))
        return found

    def peaks(self) -> list[float]:
        return self.ray.get([a.peak_memory.remote() for a in self.actors])

    def drain(self) -> None:
        pass

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []


class _Links:
    """The parent links of a partitioned seen-set, looked up at their owners: what ``_Search.path_to`` reads."""

    def __init__(self, pool: Any, distinct: int) -> None:
        self.pool = pool
        self.distinct = distinct

    def __getitem__(self, key: Any) -> tuple[Any, Any]:
        return self.pool.link(key)

    def __len__(self) -> int:
        return self.distinct


class ParallelSearch(_Search):
    """The breadth-first search of ``_Search`` on ``workers`` workers, local processes or Ray actors.

    Its figures, verdicts, traces and coverage are those of ``_Search.bfs``; the
    rest (judging liveness, building traces and coverage) is ``_Search``'s.
    """

    def __init__(self, model: Model, fingerprint: bool, symmetry: bool, max_depth: int | None,
                 check_deadlock: bool, stop_at_first: bool, progress: Progress, *,
                 workers: int | None, backend: str = "local", ray_address: str | None = None) -> None:
        super().__init__(model, fingerprint, symmetry, max_depth, check_deadlock, stop_at_first, progress)
        if not isinstance(self.seen, dict):  # the one-worker compact fingerprint table: the shards keep dicts
            self.seen.close()
            self.seen = {}
        self.options = {"fingerprint": fingerprint, "symmetry": symmetry, "check_deadlock": check_deadlock}
        self.backend = backend
        self.ray_address = ray_address
        if workers is None and backend == "local":
            from splitbrain.checker.backends import cores

            workers = cores()
        self.workers = workers  # None on Ray: the cluster's CPUs
        self.pool: Any = None
        self.went_parallel = False
        self.has_step_invariants = bool(self.step_invariants)
        if backend == "ray":  # a missing Ray, or a cluster that cannot be reached, is said at once
            from splitbrain.checker.backends import connect_ray, require_ray

            require_ray()
            if ray_address:
                self.ray = connect_ray(ray_address)

    # -- the level loop -------------------------------------------------------------
    def bfs(self) -> None:
        level = self.add_initial()
        self.depth = 1 if level else 0
        if not level:
            return
        shard = Shard(self.model, 0, 1, **self.options)
        shard.load(self.seen.items(), [(j, s if self.keyf is None else self.keyf(s), s) for j, s in enumerate(level)])
        self.pool = _InProcess(shard)
        self.distinct = len(self.seen)
        self.seen = _Links(self.pool, self.distinct)
        size, orders = len(level), None
        steps = 0
        try:
            while size:
                if self.max_depth is not None and steps >= self.max_depth:
                    self.truncated = True
                    return
                if not self.went_parallel and size >= PARALLEL_FROM and self._more_workers():
                    self._go_parallel(shard, orders)
                    orders = None
                resolved = set(self.violations) | set(self.step_violations) | set(self.found)
                expanded, adopted = self.pool.level(resolved, orders)
                self._account(expanded, adopted)
                steps += 1
                orders = [o for o, _ in adopted]
                size = sum(len(o) for o in orders)
                if size:
                    self.depth += 1
                if self.progress.due():
                    self.progress.line(self.distinct, self.generated, size, self.depth)
        except KeyboardInterrupt:
            self.pool.drain()
            raise
        except _Stop:
            raise
        except BaseException:
            self.close()
            raise
        finally:
            self.seen.distinct = self.distinct

    def _more_workers(self) -> bool:
        """Whether more than one worker is asked for (on Ray: the cluster's CPUs by default)."""
        if self.backend == "ray":
            from splitbrain.checker.backends import connect_ray, ray_cpus

            self.ray = connect_ray(self.ray_address, self.workers)
            if self.workers is None:
                self.workers = ray_cpus(self.ray)
        return (self.workers or 1) > 1

    def _go_parallel(self, shard: Shard, orders: list[list[int]] | None) -> None:
        """Hand the search over from this process to the workers."""
        if orders is not None:
            shard.rank(orders)
        n = self.workers or 1
        if self.backend == "ray":
            self.pool = _RayActors(self.ray, shard, n, self.options)
        else:
            self.pool = _Processes(shard, n)
        shard.table, shard.parents, shard.links = {}, [], {}  # the workers hold them now
        self.seen.pool = self.pool
        self.went_parallel = True

    def _account(self, expanded: list[dict[str, Any]], adopted: list[tuple[list[int], dict[str, Any]]]) -> None:
        """Add one level's figures, judging its events in the order the one-worker search meets them."""
        firsts: dict[str, tuple] = {}  # property -> its first event of the level
        for e in sorted([e for s in expanded for e in s["events"]] + [e for _, s in adopted for e in s["events"]],
                        key=lambda e: e[0]):
            firsts.setdefault(e[1], e)
        events = sorted(firsts.values(), key=lambda e: e[0])
        first: dict[Any, int] = {}  # action class -> the order of its first step this level
        for stats in expanded:
            for c, o in stats["first"].items():
                first[c] = min(o, first.get(c, o))
        stop = next((e for e in events if e[0][1] != _WITNESS), None) if self.stop_at_first else None
        before = (self.distinct, self.steps_total)
        for e in events:
            if stop is not None and e[0] >= stop[0]:
                break
            self._record(e, before)
        if stop is not None:
            self._stop_at(stop, first)
        self.generated += sum(s["generated"] for s in expanded)
        self.steps_total += sum(s["steps"] for s in expanded)
        self._add_classes([s["taken"] for s in expanded], [s["new"] for _, s in adopted], first)
        self.distinct += sum(len(o) for o, _ in adopted)
        self.judged = self.distinct
        if self.has_step_invariants:
            self.steps_judged = self.steps_total

    steps_total = 0  # steps taken so far (what steps_judged counts when there are step invariants)

    def _add_classes(self, taken: list[dict[Any, int]], new: list[dict[Any, int]], first: dict[Any, int]) -> None:
        """Add per-class counts; a class taken for the first time comes in the order the one worker met it."""
        fresh = {c for counts in taken for c, k in counts.items() if k} - set(self.taken)
        for c in sorted(fresh, key=first.__getitem__):
            self.taken[c] = 0
        for counts, into in [(t, self.taken) for t in taken] + [(n, self.new) for n in new]:
            for c, k in counts.items():
                into[c] = into.get(c, 0) + k

    def _record(self, event: tuple, before: tuple[int, int]) -> None:
        """Record a property's first violation (or a witness) in this level, with its judged count."""
        (order, phase, _), name, key = event
        if name == DEADLOCK:
            self.violations.setdefault(DEADLOCK, key)
            return
        counts = self.pool.upto(order, False)
        if phase == _STEP:
            self.step_violations[name] = key
            self.judged_at[name] = before[1] + sum(c["steps"] for c in counts)
            return
        self.judged_at[name] = before[0] + sum(c["winners"] for c in counts)
        (self.found if phase == _WITNESS else self.violations)[name] = key

    def _stop_at(self, event: tuple, first: dict[Any, int]) -> None:
        """End the search where one worker would have: at ``event``, with the figures up to it."""
        (order, phase, _), name, key = event
        counts = self.pool.upto(order, True)
        self.generated += sum(c["generated"] for c in counts)
        self.steps_total += sum(c["steps"] for c in counts)
        self.distinct += sum(c["winners"] for c in counts)
        self.judged = self.distinct
        if phase == _STEP and name != DEADLOCK and sum(c["exact"] for c in counts):
            self.judged -= 1  # the step's own new state is seen but not judged yet
        if self.has_step_invariants:
            self.steps_judged = self.steps_total
        self._add_classes([c["taken"] for c in counts], [c["new"] for c in counts], first)
        if name == DEADLOCK:
            self.violations.setdefault(DEADLOCK, key)
        elif phase == _STEP:
            self.step_violations[name] = key
            self.judged_at[name] = self.steps_judged
        else:
            self.violations[name] = key
            self.judged_at[name] = self.judged
        self.stopped_early = True
        raise _Stop

    # -- after the search ---------------------------------------------------------
    def fill_verdicts(self, result: CheckResult, interrupted: bool) -> None:
        """``_Search.fill_verdicts`` (traces rebuilt from the owners' links), then the workers end."""
        peaks: list[float] = []
        try:
            super().fill_verdicts(result, interrupted)
            if self.went_parallel:
                peaks = self.pool.peaks()
        finally:
            self.close()
        n = self.pool.count if self.pool is not None else 1
        result.extra["workers"] = n
        result.extra["backend"] = self.backend
        if self.went_parallel:
            result.extra["worker_peak_memory_mb"] = [round(p) for p in peaks]
            result.notes.append(f"bfs on {n} workers ({'Ray actors' if self.backend == 'ray' else 'processes'})")
            result.notes.append(f"peak memory of each worker: {', '.join(f'{p:,.0f}' for p in peaks)} MiB")
        elif (self.workers or 1) <= 1:
            result.notes.append("bfs in one process: one worker asked for")
        else:
            result.notes.append(f"bfs in one process: no level reached {PARALLEL_FROM:,} states, "
                                f"where {self.workers} workers would take over")

    def close(self) -> None:
        """End the workers (if any)."""
        if self.pool is not None:
            self.pool.close()
