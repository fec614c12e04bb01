"""Guided swarm search: seeded random walks that steer towards unexplored states.

Plain random walks rarely reach a bug that needs a dozen well-placed steps
(chain replication's stale read was not found in 30,000 of them). This engine
(``splitbrain check --engine swarm``) walks the model with its own seeded
``random.Random``, so the same seed takes the same steps in every process:

- Guidance: each step prefers the actions that lead to states not seen before
  in the run. A walk ends after SEGMENT_STEPS steps, at ``max_depth`` steps
  from its initial state, or at a fixed point (only stuttering steps left);
  the next walk begins at a state explored earlier that still has an unseen
  successor (or, one time in FROM_START_ODDS, at an initial state), keeping
  the path that reached it, so a trace always starts in an initial state.
- Abstraction: a model that defines ``Model.abstract(state)`` (a coarse
  summary, e.g. Raft's roles, terms, commit indexes and logs) is guided by it
  instead: each step prefers actions that lead to a summary not met yet (then
  to an unseen state), and a walk begins at a state kept for a rarely met
  summary (the least visited of RARE_TRIES drawn at random; CELL_STATES states
  kept per summary). Where nearly every state is new (Raft at five servers),
  this is what keeps the walks moving towards new situations.
- Swarm testing: each walk may switch off a random subset of the model's
  fault kinds (its ``fault_kinds`` attribute, or every action kind for a
  model without faults; with an abstraction, every action class), each with
  odds of one in SWARM_OFF_ODDS, so that runs where some are absent (and
  others therefore frequent) get found. A switched-off kind is still taken
  when nothing else is enabled.
- PCT priorities, with an abstraction (Burckhardt et al., "A Randomized Scheduler with
  Probabilistic Guarantees of Finding Bugs", ASPLOS 2010): each walk gives
  each actor (an action's kind and first argument: the node that times out,
  the sender of a delivered message) a random priority; among the preferred
  steps, the highest-priority actor's is taken, and at PCT_CHANGES random
  steps of the walk the actor that just acted drops below all others. So a
  walk often lets one node run far ahead of the others, which a uniform
  choice almost never does.

The default budget: up to DEFAULT_WALKS walks, or GUIDED_WALKS for a model
with an abstraction (one large enough to need guidance: Raft at five servers
needs tens of thousands of walks for its deepest bugs), ending sooner once
STALE_WALKS walks in a row met nothing new (no new abstract state, or without
an abstraction no unvisited state), so that a small model costs seconds.

Every ``always`` property is judged on each state visited, every
``always_step`` property on each step enabled in a visited state (self-loops
included); a state with no enabled action is a ``Deadlock`` violation unless
the model allows deadlock. The search ends at the first violation, whose path
is shortened in action space: steps are removed while the violation remains
(a 1-minimal trace), then up to RESAMPLE_WALKS random walks shorter than it
look for a different, shorter scenario (see ``splitbrain.checker.simulate``).

Verdicts are sampled, as for ``simulate``: a safety property never violated
is "no violation found", never "holds"; an unreached ``sometimes`` property
is undecided.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any, Callable, Hashable

from splitbrain.checker.result import CheckResult
from splitbrain.checker.simulate import (
    SWARM_OFF_ODDS,
    Mover,
    Tally,
    action_kind,
    initial_states,
    resample_shorter,
    sampled_result,
    shorten,
    swarm_kinds,
    trace_file_name,
    visit,
)
from splitbrain.models.core import Model
from splitbrain.traces.format import Trace
from splitbrain.traces.replay import make_trace

DEFAULT_WALKS = 5000  # the default budget, at most (about the steps of the former Hypothesis-hosted search)
GUIDED_WALKS = 100_000  # the default budget, at most, for a model with an abstraction (README: deep bugs)
STALE_WALKS = 2000  # the default budget ends a search once this many walks in a row met no new (abstract) state
DEFAULT_MAX_DEPTH = 100  # Raft at five servers needs paths of 60 steps and more (README: deep bugs)
RESAMPLE_WALKS = 1000  # short random walks tried after a failure, looking for a shorter scenario
SEGMENT_STEPS = 15  # steps of one walk before the search jumps to another explored state
FROM_START_ODDS = 4  # one jump in FROM_START_ODDS begins again at an initial state
FRONTIER_TRIES = 20  # explored states tried per jump, looking for one with unseen successors
RARE_TRIES = 4  # with an abstraction: abstract states drawn per jump, the least visited one chosen
CELL_STATES = 4  # with an abstraction: states kept per abstract state to begin walks from
PCT_CHANGES = 2  # priority change points per walk


class SwarmSearch:
    """One guided swarm search of ``model``: call :meth:`run` for the first violation found, if any.

    ``swarm`` False keeps every action kind on in every walk; ``pct`` chooses
    among the preferred steps by PCT priority rather than uniformly (None: when
    the search is guided by an abstraction); ``guide`` False ignores the
    model's abstraction (to measure each one's effect).
    """

    def __init__(self, model: Model, *, max_depth: int, seed: int, check_deadlock: bool = True,
                 swarm: bool = True, pct: bool | None = None, guide: bool = True):
        self.model = model
        self.max_depth = max_depth
        self.rng = random.Random(seed)
        self.tally = Tally(model, check_deadlock)
        self.mover = Mover(model, self.tally.step_check())
        self.inits = initial_states(model)
        self.swarm = swarm
        self.abstract = model.abstract if guide and has_abstraction(model) else None
        self.pct = self.abstract is not None if pct is None else pct
        # Without an abstraction: fault kinds (every kind, for a model without faults) by action_kind;
        # with one: every action class.
        self.kinds = swarm_kinds(model) if self.abstract is None else None
        self.classify = action_kind if self.abstract is None else model.action_class
        self.archive: list[tuple[int, tuple, Any]] = []  # (init, path, state) of each state at its first visit
        self.cells: dict[Hashable, Cell] = {}  # abstract state -> where it was met, with the abstraction
        self.cell_list: list[Cell] = []
        self.walks = 0  # walks taken, from an initial state (counted in tally.runs) or an explored one
        self.first_violation_run: int | None = None
        self.stale = False  # the search ended early: its last walks met no new state (see run)

    def run(self, walks: int, stale: int | None = None) -> tuple[str, int, list[Any]] | None:
        """Take up to ``walks`` walks; the first violation as ``(property, init, actions)``, or None.

        With ``stale``, the search also ends once ``stale`` walks in a row
        met no new state: no new abstract state, for a search guided by an
        abstraction, else no state not visited before (the model's reachable
        states, or summaries, are then all but certainly covered).
        """
        seen = self.cells if self.abstract is not None else self.tally.seen
        known, idle = len(seen), 0
        for _ in range(walks if self.inits else 0):
            found = self.walk()
            if found is not None:
                self.first_violation_run = self.walks
                return found
            idle = 0 if len(seen) > known else idle + 1
            known = len(seen)
            if stale is not None and idle >= stale:
                self.stale = True
                break
        return None

    def walk(self) -> tuple[str, int, list[Any]] | None:
        """One walk from where :meth:`begin` puts it; the violation it met, if any."""
        init, path, state = self.begin()
        tally, mover, rng, abstract = self.tally, self.mover, self.rng, self.abstract
        self.walks += 1
        if not path:
            tally.start()
        actions = list(path)
        off = self.switched_off() if self.swarm else None
        schedule = Schedule(rng) if self.pct else None
        segment = 0
        while True:
            if len(actions) < self.max_depth:
                self.remember(init, actions, state)
            found, steps = visit(mover, tally, state, init, actions)
            if found is not None:
                return found
            if not steps or segment >= SEGMENT_STEPS or len(actions) >= self.max_depth:
                return None
            if off is not None:
                classify = self.classify
                steps = [m for m in steps if not off(classify(m[0]))] or steps
            seen = tally.seen
            if abstract is not None:
                cells = self.cells
                steps = ([m for m in steps if abstract(m[1]) not in cells]
                         or [m for m in steps if hash(m[1]) not in seen] or steps)
            else:
                steps = [m for m in steps if hash(m[1]) not in seen] or steps
            action, state = steps[rng.randrange(len(steps))] if schedule is None else schedule.choose(steps)
            tally.take(action, state)
            actions.append(action)
            segment += 1
            if schedule is not None:
                schedule.stepped(action, segment)

    def switched_off(self) -> Callable[[str], bool]:
        """This walk's swarm: whether an action class (kind) is off, decided the first time it is met.

        Each eligible one is off with odds of one in SWARM_OFF_ODDS.
        """
        decided: dict[str, bool] = {}
        eligible, rng = self.kinds, self.rng

        def off(name: str) -> bool:
            if name not in decided:
                decided[name] = (eligible is None or name in eligible) and rng.randrange(SWARM_OFF_ODDS) == 0
            return decided[name]
        return off

    def remember(self, init: int, actions: list[Any], state: Any) -> None:
        """Keep ``state`` as a place a later walk may start from: in the archive, or in its abstract cell."""
        if self.abstract is None:
            if hash(state) not in self.tally.seen:
                self.archive.append((init, tuple(actions), state))
            return
        key = self.abstract(state)
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = Cell()
        cell.visits += 1
        if hash(state) not in self.tally.seen:
            if not cell.states:
                self.cell_list.append(cell)
            cell.keep(self.rng, (init, tuple(actions), state))

    def begin(self) -> tuple[int, tuple, Any]:
        """Where the next walk starts: ``(init, path, state)``, an explored state or an initial one."""
        rng = self.rng
        explored = self.cell_list if self.abstract is not None else self.archive
        if explored and rng.randrange(FROM_START_ODDS) > 0:
            found = self.rare_cell().pick(rng) if self.abstract is not None else self.frontier_state()
            if found is not None:
                return found
        init, state = self.inits[rng.randrange(len(self.inits))]
        return init, (), state

    def rare_cell(self) -> "Cell":
        """The least visited of RARE_TRIES abstract cells drawn at random (each counted as chosen once more)."""
        cells, rng = self.cell_list, self.rng
        best = min((cells[rng.randrange(len(cells))] for _ in range(RARE_TRIES)), key=lambda c: c.visits + c.chosen)
        best.chosen += 1
        return best

    def frontier_state(self) -> tuple[int, tuple, Any] | None:
        """An explored state with a successor not seen yet (states without one are dropped on the way), or None."""
        archive, rng = self.archive, self.rng
        for _ in range(FRONTIER_TRIES):
            if not archive:
                break
            i = rng.randrange(len(archive))
            init, path, state = archive[i]
            if any(hash(nxt) not in self.tally.seen for _, nxt in self.mover.moves(state)[0]):
                return init, path, state
            archive[i] = archive[-1]
            archive.pop()
        return None


class Cell:
    """The states met with one abstract state: up to CELL_STATES of them (a reservoir sample), and counts."""

    __slots__ = ("visits", "chosen", "met", "states")

    def __init__(self) -> None:
        self.visits = 0  # states visited with this abstract state
        self.chosen = 0  # walks begun here
        self.met = 0  # distinct states met
        self.states: list[tuple[int, tuple, Any]] = []

    def keep(self, rng: random.Random, entry: tuple[int, tuple, Any]) -> None:
        self.met += 1
        if len(self.states) < CELL_STATES:
            self.states.append(entry)
        else:
            i = rng.randrange(self.met)
            if i < CELL_STATES:
                self.states[i] = entry

    def pick(self, rng: random.Random) -> tuple[int, tuple, Any]:
        return self.states[rng.randrange(len(self.states))]


class Schedule:
    """PCT-style priorities for one walk (Burckhardt et al., ASPLOS 2010).

    Each actor (an action's first argument: the node that acts, or the
    sender of a delivered message; the action itself when it has no argument)
    gets a random priority the first time the walk meets it; each step is
    taken by the highest-priority actor among the steps offered, and at
    PCT_CHANGES random steps of the walk the actor that just acted drops
    below every other.
    """

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.priority: dict[Any, float] = {}
        self.changes = {rng.randrange(1, SEGMENT_STEPS + 1) for _ in range(PCT_CHANGES)}
        self.low = 0.0

    def choose(self, steps: list[tuple[Any, Any]]) -> tuple[Any, Any]:
        """The step to take: one of the highest-priority actor's, at random."""
        priority, rng = self.priority, self.rng
        best: list[tuple[Any, Any]] = []
        top = float("-inf")
        for m in steps:
            who = actor_of(m[0])
            p = priority.get(who)
            if p is None:
                p = priority[who] = 1.0 + rng.random()
            if p > top:
                top, best = p, [m]
            elif p == top:
                best.append(m)
        return best[rng.randrange(len(best))]

    def stepped(self, action: Any, segment: int) -> None:
        """After the walk's ``segment``-th step: at a change point, its actor drops below all others."""
        if segment in self.changes:
            self.low -= 1.0
            self.priority[actor_of(action)] = self.low


def actor_of(action: Any) -> Any:
    """Who takes ``action``, for scheduling: its kind and first argument (``("deliver", src)``)."""
    if isinstance(action, tuple) and len(action) >= 2:
        return action[:2]
    return action


def shortened_trace(model: Model, tally: Tally, violation: tuple[str, int, list[Any]], note: str,
                    seed: int = 0) -> Trace:
    """The violation's path made 1-minimal, then replaced by a shorter random one if found, as a Trace."""
    name, init, actions = violation
    on_step = tally.on_step(name)
    bad = tally.is_bad(name)
    init, actions = resample_shorter(model, init, shorten(model, init, actions, bad, on_step), bad,
                                     RESAMPLE_WALKS, seed=seed, step=on_step)
    return make_trace(model, init, actions, name, "always_step" if on_step else "always",
                      note=f"{note}, shortened to {len(actions)}")


def swarm_check(
    model: Model,
    *,
    budget: int | None = None,
    max_depth: int | None = None,
    seed: int | None = None,
    check_deadlock: bool = True,
    trace_dir: str | Path | None = None,
) -> CheckResult:
    """Search ``model`` with ``budget`` guided swarm walks of at most ``max_depth`` steps from an initial state.

    ``budget`` counts walks: a walk is one stretch of at most SEGMENT_STEPS
    steps, from an initial state or from an explored state it jumps to.
    Without a ``budget`` the search takes up to DEFAULT_WALKS walks, or
    GUIDED_WALKS for a model with an abstraction (``Model.abstract``: a
    model that offers one is large enough to need it, like Raft at five
    servers, whose deepest bugs take tens of thousands of walks), and ends
    sooner once STALE_WALKS walks in a row met no state it had not visited
    (with an abstraction: no abstract state not met before), as the
    reachable states (or their summaries) are then covered. ``max_depth``
    (default DEFAULT_MAX_DEPTH) bounds a path's length from its initial state. ``seed`` (default 0) chooses the
    sample: the same seed gives the same walks in every process.

    Returns a CheckResult with sampled verdicts (see the module docstring);
    a violation's path is shortened, and with ``trace_dir`` its trace is also
    written there (the path is in ``result.extra["trace_file"]``). Ctrl-C ends
    the search cleanly (verdict "interrupted").
    """
    walks, stale = default_budget(model, budget)
    depth = DEFAULT_MAX_DEPTH if max_depth is None else max_depth
    if walks < 1 or depth < 1:
        raise ValueError("budget and max_depth must be >= 1")
    seed = 0 if seed is None else seed
    search = SwarmSearch(model, max_depth=depth, seed=seed, check_deadlock=check_deadlock)
    start = time.perf_counter()
    violation, interrupted = None, False
    try:
        violation = search.run(walks, stale)
    except KeyboardInterrupt:
        interrupted = True
    trace = None
    if violation is not None:
        note = f"found by the swarm engine, seed {seed}; failing walk of {len(violation[2])} steps"
        trace = shortened_trace(model, search.tally, violation, note, seed)
    return swarm_result(model, search.tally, violation, trace, walks=search.walks, budget=walks, depth=depth,
                        seed=seed, seconds=time.perf_counter() - start, interrupted=interrupted,
                        found_after=search.first_violation_run, trace_dir=trace_dir,
                        stale=stale if search.stale else None)


def has_abstraction(model: Model) -> bool:
    """Whether ``model`` defines ``Model.abstract``, which guides the search."""
    return type(model).abstract is not Model.abstract


def default_budget(model: Model, budget: int | None) -> tuple[int, int | None]:
    """The walks a search of ``model`` may take and its stale bound (see :func:`swarm_check`):
    ``(budget, None)``, or without a budget ``(DEFAULT_WALKS or GUIDED_WALKS, STALE_WALKS)``."""
    if budget is not None:
        return budget, None
    return (GUIDED_WALKS if has_abstraction(model) else DEFAULT_WALKS), STALE_WALKS


def swarm_result(model: Model, tally: Tally, violation: tuple[str, int, list[Any]] | None, trace: Trace | None, *,
                 walks: int, budget: int, depth: int, seed: int, seconds: float, interrupted: bool,
                 found_after: int | None, trace_dir: str | Path | None, stale: int | None = None) -> CheckResult:
    """The CheckResult of a swarm search that took ``walks`` walks (of ``budget``) and counted them in ``tally``.

    ``violation`` is the failing walk's ``(property, init, actions)``, ``trace``
    its shortened trace (saved in ``trace_dir`` when given), ``found_after``
    the walk that found it; ``stale``: the search ended early after that many
    walks in a row met no new state.
    """
    ended = f", ended after {stale:,} walks in a row met nothing new" if stale else ""
    sample = f"{walks:,} guided swarm walks, paths of up to {depth} steps (budget {budget:,}{ended}, seed {seed})"
    if not initial_states(model):
        sample = "0 walks (no initial state within the boundary)"
    result = sampled_result(
        model, "swarm", tally, (trace.property, trace.init, trace.actions) if trace is not None else None,
        seconds=seconds, max_depth=depth, sample=sample, interrupted=interrupted,
        trace_note=trace.note if trace is not None else "", shorten_witnesses=True,
    )
    result.extra.update({"walks": walks, "runs": tally.runs, "budget": budget, "seed": seed})
    if violation is not None and trace is not None:
        result.extra["found_after_runs"] = found_after
        result.extra["failing_walk_steps"] = len(violation[2])
        if trace_dir is not None:
            result.extra["trace_file"] = str(trace.save(Path(trace_dir) / trace_file_name(trace)))
    return result
