"""Liveness under fairness: fair cycles on the reachable state graph.

``check_liveness(model)`` builds the model's reachable state graph (integer
state ids, one edge per distinct successor) and judges each liveness property
(``eventually``, ``leads_to``, ``always_eventually`` from ``splitbrain.properties.kinds``)
under the fairness the property states. A violation comes back as a lasso: a
:class:`traces.format.Trace` whose actions run from an initial state into a
cycle, with ``loop_start`` the index of the state the cycle returns to.

Semantics
---------
Behaviours are the infinite paths through the state graph from an initial
state. A state with no successor in the graph (a deadlock, or a state whose
every successor lies outside ``within_boundary``) stutters forever: it has an
implicit self-loop that is no action at all. Unlike TLA+, a state that has
enabled actions does not stutter on its own; a model that wants TLA+'s
anywhere-stuttering writes it as an action (bcastByz's ``UNCHANGED vars``).

Fairness is TLC's, on action classes (``WF``/``SF`` in ``splitbrain.properties.kinds``):

- A step (s, t) is an A step when some action of class A leads from s to t
  and t differs from s: a step that leaves the state unchanged is never an A
  step, as ``<<A>>_vars`` in TLA+. A is enabled in s when some A step starts
  in s (an A action to a state outside the boundary still counts).
- ``WF(A)`` (``WF_vars(A)``): if A is enabled continuously from some point on,
  an A step is taken infinitely often. On a cycle: A is disabled in some
  state of the cycle, or the cycle contains an A step.
- ``SF(A)`` (``SF_vars(A)``): if A is enabled infinitely often, an A step is
  taken infinitely often. On a cycle: A is enabled in no state of the cycle,
  or the cycle contains an A step.
- ``per=`` makes one such condition per instance key (``\\A i : WF_vars(A(i))``).
- ``AFTER_FAULTS``: only behaviours with finitely many fault actions count, so
  the cycle contains no fault action (the stem may); a state whose only
  actions are faults stutters in that suffix.

A property fails when a fair cycle exists on which it fails:

- ``eventually(P)``: a fair lasso from an initial state on which P never holds;
- ``leads_to(P, Q)``: a reachable P state from which a fair lasso never
  reaches Q (Q never holds from that state on, the state included);
- ``always_eventually(P)``: a reachable fair cycle on which P never holds.

Algorithm: the states where the property's "bad" predicate holds (not P, or
not Q for leads-to) and the suffix edges between them form a subgraph; its
strongly connected components are refined as for Streett automata (a
component that leaves a strongly fair class enabled but untaken loses the
states that enable it and is split again; one that keeps a weakly fair class
enabled everywhere but untaken is dropped), then a breadth-first search finds
a stem into a fair component and a greedy walk closes a cycle through it that
takes every class it must. All of it is linear-time graph search on integer
ids; networkx is not used because building its graph objects for a million
edges costs more than the whole check.

The graph is exact: symmetry reduction and fingerprints do not apply here
(liveness under symmetry is unsound in general, as TLC warns).

Using it
--------
A model states liveness in ``properties()`` like any other property (see
``splitbrain.properties.kinds`` for the vocabulary and examples)::

    eventually("LeaderElected", has_leader,
               fairness=[WF("delivery", "deliver", per=lambda a: a[1:]),
                         SF("timeout", "timeout", per=lambda a: a[1]), AFTER_FAULTS])

``splitbrain.checker.explore.check`` (and so ``splitbrain check``) judges such
properties after a complete exploration, by calling :func:`check_liveness`;
a bounded or interrupted search leaves them undecided. The liveness pass
explores the state graph a second time and keeps it in memory, so it costs
about as much as the exploration again; models whose state spaces are large
put their liveness properties behind a parameter (TwoPhase and Paxos:
``-p liveness=fair`` or ``-p liveness=unfair``).

Reading a lasso: the trace's actions lead from an initial state to the state
at index ``loop_start``; the actions after it form the cycle, which returns
to that state and repeats forever. When ``loop_start`` is the last state's
index the cycle is empty: the last state stutters forever. ``splitbrain
replay`` re-executes the trace and checks the cycle closes, takes no fault
under ``AFTER_FAULTS``, is fair, and that the property fails along it.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Hashable, Iterable, Sequence

from splitbrain.checker.result import PropertyResult
from splitbrain.models.core import Model
from splitbrain.properties.kinds import (
    ALWAYS_EVENTUALLY, EVENTUALLY, LEADS_TO, LIVENESS_KINDS, Fairness, Property, action_kind,
    after_faults_of, describe_fairness, fairness_conditions,
)
from splitbrain.traces.replay import make_trace


# -- the state graph --------------------------------------------------------------

class _Labeller:
    """Maps a step to its bits: fairness conditions it satisfies, fault sets it is not a fault of.

    Bits ``0..len(fault_sets)-1`` are "suffix" bits: bit j is set on a step
    that is *not* a fault of the j-th fault-kind set, so a suffix edge is one
    with that bit. The other bits are fairness conditions (class, instance).
    """

    def __init__(self, model: Model, props: Sequence[Property]):
        self.model = model
        self.fault_sets: list[frozenset[str]] = []
        self.fairs: list[Fairness] = []
        for p in props:
            af = after_faults_of(p)
            if af is not None:
                kinds = af.fault_kinds(model)
                if kinds not in self.fault_sets:
                    self.fault_sets.append(kinds)
            for f in fairness_conditions(p):
                if f not in self.fairs:
                    self.fairs.append(f)
        self.suffix_mask = (1 << len(self.fault_sets)) - 1
        self.bit_of: dict[tuple[int, Hashable], int] = {}  # (fairness index, instance key) -> bit
        self.cache: dict[Any, int] = {}
        self.by_action = [(i, f) for i, f in enumerate(self.fairs) if not f.depends_on_state]
        self.by_step = [(i, f) for i, f in enumerate(self.fairs) if f.depends_on_state]
        self.trivial = not self.fault_sets and not self.fairs

    def bit(self, index: int, key: Hashable) -> int:
        b = self.bit_of.get((index, key))
        if b is None:
            b = self.bit_of[(index, key)] = 1 << (len(self.fault_sets) + len(self.bit_of))
        return b

    def action_bits(self, action: Any) -> int:
        """Suffix bits and the bits of the action-only fairness classes (cached per action)."""
        m = self.cache.get(action)
        if m is None:
            m = 0
            kind = action_kind(action)
            for j, kinds in enumerate(self.fault_sets):
                if kind not in kinds:
                    m |= 1 << j
            for i, f in self.by_action:
                if f.select is None or f.select(action):
                    m |= self.bit(i, f.instance(action))
            self.cache[action] = m
        return m

    def step_bits(self, state: Any, action: Any, nxt: Any) -> int:
        m = 0
        for i, f in self.by_step:
            if f.step(state, action, nxt):
                m |= self.bit(i, f.instance(action))
        return m

    def bits_of(self, prop: Property) -> tuple[int, int, int | None]:
        """The property's weak bits, strong bits and suffix bit (None: no after-faults)."""
        own = set(fairness_conditions(prop))
        wf = sf = 0
        for (index, _), b in self.bit_of.items():
            f = self.fairs[index]
            if f in own:
                if f.strong:
                    sf |= b
                else:
                    wf |= b
        af = after_faults_of(prop)
        suffix = None if af is None else 1 << self.fault_sets.index(af.fault_kinds(self.model))
        return wf, sf, suffix


@dataclass
class StateGraph:
    """The reachable state graph with integer state ids.

    ``succ[u]`` lists the distinct successors of state ``u`` inside the
    boundary; ``masks[u][k]`` holds the bits of the edge ``u -> succ[u][k]``
    (see :class:`_Labeller`); ``enabled[u]`` the fairness bits of the
    non-stuttering steps enabled in ``u``. ``init`` maps the initial states'
    ids to their index in ``init_states()``; ``transitions`` counts the
    successors computed (one per enabled action instance).
    """

    states: list[Any]
    ids: dict[Any, int]
    init: dict[int, int]
    succ: list[list[int]]
    masks: list[list[int]]
    enabled: list[int]
    transitions: int
    labeller: _Labeller
    seconds: float = 0.0
    _falsity: dict[Any, bytearray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.states)

    def falsity(self, predicate: Any) -> bytearray:
        """``[not predicate(s) for s in states]`` as bytes, computed once per predicate."""
        bad = self._falsity.get(predicate)
        if bad is None:
            bad = self._falsity[predicate] = bytearray(not predicate(s) for s in self.states)
        return bad

    @property
    def edges(self) -> int:
        """The number of distinct edges."""
        return sum(len(s) for s in self.succ)


def build_graph(model: Model, props: Sequence[Property] = ()) -> StateGraph:
    """The reachable state graph of ``model``, labelled for the fairness of ``props``."""
    start = time.perf_counter()
    lab = _Labeller(model, props)
    bounded = type(model).within_boundary is not Model.within_boundary
    within = model.within_boundary if bounded else None
    states: list[Any] = []
    ids: dict[Any, int] = {}
    init: dict[int, int] = {}
    for i, s in enumerate(model.init_states()):
        if within is not None and not within(s):
            continue
        if s not in ids:
            ids[s] = len(states)
            states.append(s)
            init[ids[s]] = i
    succ: list[list[int]] = []
    masks: list[list[int]] = []
    enabled: list[int] = []
    transitions = 0
    successors = model.successors
    trivial = lab.trivial
    cache, action_bits, by_step, step_bits = lab.cache, lab.action_bits, lab.by_step, lab.step_bits
    suffix_mask = lab.suffix_mask
    u = 0
    while u < len(states):
        s = states[u]
        targets: dict[int, int] = {}
        en = 0
        if trivial and within is None:  # no fairness, no faults, no boundary: ids only
            for a, t in successors(s):
                transitions += 1
                v = ids.get(t)
                if v is None:
                    v = ids[t] = len(states)
                    states.append(t)
                targets[v] = 0
        else:
            for a, t in successors(s):
                transitions += 1
                m = 0
                if not trivial:
                    m = cache.get(a)
                    if m is None:
                        m = action_bits(a)
                    if by_step:
                        m |= step_bits(s, a, t)
                if within is not None and not within(t):
                    if t != s:
                        en |= m
                    continue
                v = ids.get(t)
                if v is None:
                    v = ids[t] = len(states)
                    states.append(t)
                if v == u:
                    m &= suffix_mask  # a self-loop is a stuttering step: no fairness class
                else:
                    en |= m
                targets[v] = targets.get(v, 0) | m
        succ.append(list(targets))
        masks.append(list(targets.values()))
        enabled.append(en & ~suffix_mask)
        u += 1
    return StateGraph(states, ids, init, succ, masks, enabled, transitions, lab,
                      time.perf_counter() - start)


# -- judging ------------------------------------------------------------------------

@dataclass
class LivenessReport:
    """The verdicts on the liveness properties and the size of the graph judged."""

    results: list[PropertyResult] = field(default_factory=list)
    states: int = 0
    transitions: int = 0
    edges: int = 0
    build_seconds: float = 0.0
    judge_seconds: float = 0.0

    def result(self, name: str) -> PropertyResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)


def check_liveness(model: Model, props: Sequence[Property] | None = None) -> LivenessReport:
    """Judge ``props`` (default: the model's liveness properties) on the model's whole state graph."""
    if props is None:
        props = [p for p in model.properties() if p.kind in LIVENESS_KINDS]
    for p in props:
        if p.kind not in LIVENESS_KINDS:
            raise ValueError(f"{p.name} is a {p.kind} property, not a liveness property")
    graph = build_graph(model, props)
    start = time.perf_counter()
    results = [judge(graph, model, p) for p in props]
    return LivenessReport(results, len(graph), graph.transitions, graph.edges, graph.seconds,
                          time.perf_counter() - start)


def judge(graph: StateGraph, model: Model, prop: Property) -> PropertyResult:
    """The verdict on one liveness property, with a lasso counterexample when it fails."""
    wf, sf, suffix = graph.labeller.bits_of(prop)
    states, succ, masks = graph.states, graph.succ, graph.masks
    n = len(states)
    cond, target = prop.condition, prop.target
    if prop.kind == LEADS_TO:
        if target is None:
            raise ValueError(f"leads-to property {prop.name} has no target")
        bad = graph.falsity(target)
    else:
        bad = graph.falsity(cond)
    nodes = [u for u in range(n) if bad[u]]

    # The subgraph a failing cycle lives in: the bad states (``comp_of`` keeps
    # the search inside them) and the suffix edges between them; a bad state
    # with no suffix edge at all stutters forever.
    hs, hm = succ, masks
    if suffix is None:
        stutter = {u for u in nodes if not succ[u]}
    else:
        hs, hm, stutter = list(succ), list(masks), set()
        for u in nodes:
            ms = masks[u]
            if all(m & suffix for m in ms):
                if not ms:
                    stutter.add(u)
                continue
            hs[u] = [v for v, m in zip(succ[u], ms) if m & suffix]
            hm[u] = [m for m in ms if m & suffix]
            if not hs[u]:
                stutter.add(u)

    comp_of = [-1] * n
    fair = _fair_components(nodes, hs, hm, graph.enabled, wf, sf, comp_of, stutter)
    if not fair:
        return PropertyResult(prop.name, prop.kind, True)

    def in_fair(u: int) -> bool:
        return comp_of[u] > 0

    init = list(graph.init)
    trigger_at: int | None = None
    if prop.kind == EVENTUALLY:
        stem = _bfs([u for u in init if bad[u]], succ, bad, in_fair)
    elif prop.kind == ALWAYS_EVENTUALLY:
        stem = _bfs(init, succ, None, in_fair)
    else:
        p_false = graph.falsity(cond)
        seg = _bfs([u for u in nodes if not p_false[u]], succ, bad, in_fair)  # from P and not Q
        stem = None
        if seg is not None:
            prefix = _bfs(init, succ, None, lambda u: u == seg[0])
            assert prefix is not None, "every state in the graph is reachable"
            trigger_at = len(prefix) - 1
            stem = prefix + seg[1:]
    if stem is None:
        return PropertyResult(prop.name, prop.kind, True)

    x = stem[-1]
    en_all, en_any = fair[comp_of[x]]
    cycle = [x] if x in stutter else _cycle(x, hs, hm, comp_of, graph.enabled, wf, sf, en_all, en_any)
    lab = graph.labeller
    af = after_faults_of(prop)
    faults = af.fault_kinds(model) if af is not None else frozenset()
    actions = _actions(model, lab, states, stem, frozenset()) + _actions(model, lab, states, cycle, faults)
    loop_start = len(stem) - 1
    trace = make_trace(model, graph.init[stem[0]], actions, prop.name, prop.kind,
                       loop_start=loop_start, note=_lasso_note(prop, trigger_at, loop_start, len(cycle) - 1))
    return PropertyResult(prop.name, prop.kind, False, trace, note="a fair lasso never satisfies it")


def _lasso_note(prop: Property, trigger_at: int | None, loop_start: int, cycle_len: int) -> str:
    where = "the initial state" if loop_start == 0 else f"the state after step {loop_start}"
    if cycle_len == 0:
        lasso = f"{where} stutters forever (no action is enabled" + (
            ", faults having stopped)" if after_faults_of(prop) else ")")
    else:
        lasso = f"from {where}, a cycle of {cycle_len} step{'s' if cycle_len != 1 else ''} repeats forever"
    if prop.kind == EVENTUALLY:
        what = "the condition never holds"
    elif prop.kind == ALWAYS_EVENTUALLY:
        what = "the condition never holds on the cycle"
    else:
        at = "the initial state" if trigger_at == 0 else f"the state after step {trigger_at}"
        what = f"the condition holds in {at} and the target never holds from then on"
    return f"lasso: {what}; {lasso}; fair under {describe_fairness(prop)}"


def _sccs(roots: Iterable[int], hs: list[list[int]], comp_of: list[int], cid: int,
          index: list[int], low: list[int], on_stack: bytearray) -> list[list[int]]:
    """Tarjan's strongly connected components of the nodes with ``comp_of[u] == cid``.

    Iterative. ``index`` must be -1 for those nodes; ``index``, ``low`` and
    ``on_stack`` are scratch arrays over all node ids, shared between calls.
    """
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in roots:
        if index[root] >= 0:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = 1
        work = [(root, iter(hs[root]))]
        while work:
            v, it = work[-1]
            for w in it:
                if comp_of[w] != cid:
                    continue
                if index[w] < 0:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = 1
                    work.append((w, iter(hs[w])))
                    break
                if on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
            else:
                work.pop()
                if work:
                    p = work[-1][0]
                    if low[v] < low[p]:
                        low[p] = low[v]
                if low[v] == index[v]:
                    w = stack.pop()
                    on_stack[w] = 0
                    comp = [w]
                    while w != v:
                        w = stack.pop()
                        on_stack[w] = 0
                        comp.append(w)
                    out.append(comp)
    return out


def _fair_components(nodes: list[int], hs: list[list[int]], hm: list[list[int]], enabled: list[int],
                     wf: int, sf: int, comp_of: list[int], stutter: set[int]) -> dict[int, tuple[int, int]]:
    """The fair strongly connected components: component id -> (bits enabled everywhere, anywhere).

    On return ``comp_of[u]`` is the id (> 0) of u's fair component, or -1.
    """
    n = len(comp_of)
    index, low, on_stack = [-1] * n, [0] * n, bytearray(n)
    for u in nodes:
        comp_of[u] = 0
    pending = _sccs(nodes, hs, comp_of, 0, index, low, on_stack)
    fair: dict[int, tuple[int, int]] = {}
    next_cid = 1
    while pending:
        comp = pending.pop()
        if len(comp) == 1:
            u = comp[0]
            if u not in stutter and u not in hs[u]:
                comp_of[u] = -1  # no cycle through a lone state without a self-loop
                continue
        cid = next_cid
        next_cid += 1
        for u in comp:
            comp_of[u] = cid
        en_all, en_any, taken = -1, 0, 0
        if wf or sf:
            for u in comp:
                e = enabled[u]
                en_all &= e
                en_any |= e
                for v, m in zip(hs[u], hm[u]):
                    if comp_of[v] == cid:
                        taken |= m
        if en_all & wf & ~taken:
            for u in comp:  # a weakly fair class enabled throughout and never taken: no fair cycle here
                comp_of[u] = -1
            continue
        unfair = en_any & sf & ~taken
        if not unfair:
            fair[cid] = (en_all, en_any)
            continue
        keep = []
        for u in comp:  # drop the states that enable a strongly fair class the component never takes
            if enabled[u] & unfair:
                comp_of[u] = -1
            else:
                keep.append(u)
                index[u] = -1
        pending.extend(_sccs(keep, hs, comp_of, cid, index, low, on_stack))
    return fair


def _bfs(sources: Iterable[int], succ: list[list[int]], allowed: bytearray | None, goal: Any) -> list[int] | None:
    """A shortest path (node ids) from one of ``sources`` to a node where ``goal`` holds."""
    parent: dict[int, int] = {}
    queue: deque[int] = deque()
    for s in sources:
        if s not in parent:
            parent[s] = -1
            queue.append(s)
    while queue:
        u = queue.popleft()
        if goal(u):
            path = [u]
            while parent[path[-1]] != -1:
                path.append(parent[path[-1]])
            path.reverse()
            return path
        for v in succ[u]:
            if v not in parent and (allowed is None or allowed[v]):
                parent[v] = u
                queue.append(v)
    return None


def _cycle(x: int, hs: list[list[int]], hm: list[list[int]], comp_of: list[int], enabled: list[int],
           wf: int, sf: int, en_all: int, en_any: int) -> list[int]:
    """A fair cycle ``x ... x`` inside x's fair component (greedy: nearest unmet condition next)."""
    cid = comp_of[x]
    need = wf | (sf & en_any)

    def met_at(u: int) -> int:  # weakly fair classes disabled in u are met by visiting u
        return wf & ~enabled[u]

    def mask(u: int, v: int) -> int:
        return hm[u][hs[u].index(v)]

    need &= ~met_at(x)
    path = [x]
    while need:
        cur = path[-1]
        parent = {cur: -1}
        queue = deque([cur])
        hit: tuple[int, int | None] | None = None
        while queue and hit is None:
            u = queue.popleft()
            if u != cur and met_at(u) & need:
                hit = (u, None)
                break
            for v, m in zip(hs[u], hm[u]):
                if comp_of[v] != cid:
                    continue
                if m & need:
                    hit = (u, v)
                    break
                if v not in parent:
                    parent[v] = u
                    queue.append(v)
        if hit is None:
            raise RuntimeError("internal error: a fair component without the step it needs")
        walk = [hit[0]]
        while parent[walk[-1]] != -1:
            walk.append(parent[walk[-1]])
        walk.reverse()
        if hit[1] is not None:
            walk.append(hit[1])
        for a, b in zip(walk, walk[1:]):
            need &= ~mask(a, b) & ~met_at(b)
        path.extend(walk[1:])
    # Close the cycle: a shortest path of at least one step back to x.
    cur = path[-1]
    if cur != x or len(path) == 1:
        parent: dict[int, int] = {}
        queue = deque([cur])
        while queue and x not in parent:
            u = queue.popleft()
            for v in hs[u]:
                if comp_of[v] == cid and v not in parent:
                    parent[v] = u
                    queue.append(v)
        back = [x]
        while True:
            back.append(parent[back[-1]])
            if back[-1] == cur:
                break
        back.reverse()
        path.extend(back[1:])
    return path


def _actions(model: Model, lab: _Labeller, states: list[Any], path: list[int], faults: frozenset[str]) -> list[Any]:
    """Actions along ``path``: for each step one action between the two states.

    Among several actions with the same effect, a non-fault one satisfying the
    most fairness conditions is chosen.
    """
    out = []
    for u, v in zip(path, path[1:]):
        s, t = states[u], states[v]
        best, best_score = None, -1
        for a, nxt in model.successors(s):
            if nxt != t or action_kind(a) in faults:
                continue
            score = 0 if lab.trivial else bin(lab.action_bits(a) | lab.step_bits(s, a, nxt)).count("1")
            if score > best_score:
                best, best_score = a, score
        if best_score < 0:
            raise RuntimeError(f"internal error: no action leads from state {u} to state {v}")
        out.append(best)
    return out
