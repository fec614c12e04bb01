"""Inductive-invariant proofs with z3, for every cluster size: the engine.

Protocols, their invariants and claims about set sizes are stated in
``splitbrain.properties.proofs.language``; this module checks them.

:func:`prove` discharges, each with its own solver and timeout,

- ``Init => C`` for every conjunct C (initiation),
- ``Inv /\\ Action => C'`` for every action and conjunct (consecution),
- ``Inv => G`` for every goal G (safety),
- and, as a vacuity check, that each action is enabled in some state
  satisfying ``Inv``.

Because the sorts are uninterpreted, a proof covers every number of nodes,
values and ballots at once. When a check fails, z3's model is turned into a
counterexample to induction (CTI): a pre-state satisfying ``Inv``, the action
with its parameters, and the post-state violating the conjunct, shrunk by
bounding each sort to 1, 2, 3... elements (the smallest that still gives a
CTI) and by removing every pre-state fact that is not needed. For
:class:`Theorems` it checks each claim: a ``forall`` claim by the absence of a
counterexample, an ``exists`` claim by a witness (the smallest first).

Usage, in brief: ``prove(protocol)`` with a protocol stated as in
``properties/proofs/language.py``; ``prove(protocol, drop="HolderLocked")``
gives the CTI that makes a conjunct necessary.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import z3

from splitbrain.properties.proofs.language import (
    Action,
    Claim,
    Conjunct,
    EnumSort,
    FiniteSort,
    OrderedSort,
    Protocol,
    QuorumSort,
    StateView,
    Theorems,
    Vocab,
    apply_symbol,
    default_renderer,
)

PROVED = "proved"
FAILED = "failed"
UNKNOWN = "unknown"

INIT = "init"
STEP = "step"
GOAL = "goal"
ENABLED = "enabled"
CLAIM = "claim"


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass
class Counterexample:
    """A concrete counterexample, as titled sections of text lines."""

    title: str
    sections: list[tuple[str, list[str]]]
    sizes: dict[str, int] = field(default_factory=dict)

    def text(self) -> str:
        out = [self.title]
        for heading, lines in self.sections:
            out.append(f"  {heading}:")
            out.extend(f"    {line}" for line in (lines or ["(nothing)"]))
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "sections": [{"heading": h, "lines": list(ls)} for h, ls in self.sections],
            "sizes": dict(self.sizes),
        }


@dataclass
class Check:
    """One proof obligation and its outcome."""

    kind: str  # init | step | goal | enabled | claim
    conjunct: str | None
    action: str | None
    verdict: str  # proved | failed | unknown
    seconds: float
    counterexample: Counterexample | None = None
    reason: str = ""

    @property
    def label(self) -> str:
        if self.kind == INIT:
            return f"Init => {self.conjunct}"
        if self.kind == STEP:
            return f"Inv /\\ {self.action} => {self.conjunct}'"
        if self.kind == GOAL:
            return f"Inv => {self.conjunct}"
        if self.kind == ENABLED:
            return f"{self.action} is enabled in some Inv state"
        return str(self.conjunct)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "conjunct": self.conjunct,
            "action": self.action,
            "verdict": self.verdict,
            "seconds": round(self.seconds, 4),
            "reason": self.reason,
            "counterexample": self.counterexample.to_json() if self.counterexample else None,
        }


@dataclass
class Report:
    """The outcome of a proof: every check, in order."""

    proof: str
    checks: list[Check]
    dropped: str | None = None
    conjuncts: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        verdicts = {c.verdict for c in self.checks}
        if FAILED in verdicts:
            return FAILED
        if UNKNOWN in verdicts:
            return UNKNOWN
        return PROVED

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.verdict == FAILED]

    def find(self, kind: str, conjunct: str | None = None, action: str | None = None) -> Check:
        for c in self.checks:
            if c.kind == kind and c.conjunct == conjunct and c.action == action:
                return c
        raise KeyError((kind, conjunct, action))

    def to_json(self) -> dict[str, Any]:
        return {
            "proof": self.proof,
            "verdict": self.verdict,
            "dropped": self.dropped,
            "seconds": round(self.seconds, 4),
            "conjuncts": list(self.conjuncts),
            "actions": list(self.actions),
            "checks": [c.to_json() for c in self.checks],
        }


# ---------------------------------------------------------------------------
# Solving
# ---------------------------------------------------------------------------


# Solver configurations tried in turn, each with a growing work budget and a
# fresh random seed: quantified problems have heavy-tailed run times, and a
# restart with another strategy or seed is often far faster than waiting.
# Budgets are z3 resource units ("rlimit"), not seconds, so that which attempt
# answers does not depend on the machine's load. The last configuration
# (e-matching only) can prove but never finds a model.
_STRATEGIES: tuple[dict[str, Any], ...] = (
    {},
    {"auto_config": False},
    {"smt.mbqi": False},
)
_FIRST_BUDGET = 2_000_000  # z3 resource units for each attempt of the first round
_QUICK_CAP = 1.0  # seconds for the first, quick attempt
_TRIAL = 10.0  # at most this many seconds for each bounded trial


class _Portfolio:
    """Attempts on one query, resumable: round r runs every strategy with seed
    r and a budget of 4**r times the first."""

    def __init__(self, formulas: Sequence[z3.BoolRef]) -> None:
        self.formulas = formulas
        self.attempts = 0
        self.solver = z3.Solver()

    def run(self, deadline: float, max_attempts: int | None = None, cap: float | None = None) -> z3.CheckSatResult:
        """sat, unsat, or unknown when the deadline or ``max_attempts`` is
        reached; ``cap`` limits each attempt's seconds too."""
        done = 0
        while max_attempts is None or done < max_attempts:
            remaining = deadline - time.perf_counter()
            if remaining <= 0.01:
                break
            if cap is not None:
                remaining = min(remaining, cap)
            round_, which = divmod(self.attempts, len(_STRATEGIES))
            config = _STRATEGIES[which]
            self.attempts += 1
            done += 1
            solver = z3.Solver()
            solver.set("timeout", max(1, int(remaining * 1000)))
            solver.set("rlimit", _FIRST_BUDGET * 4**round_)
            solver.set("random_seed", round_)
            for key, value in config.items():
                solver.set(key, value)
            solver.add(*self.formulas)
            self.solver = solver
            result = solver.check()
            if result == z3.unsat or (result == z3.sat and config.get("smt.mbqi", True)):
                return result
        return z3.unknown


def _names(sort: FiniteSort, k: int) -> list[z3.ExprRef]:
    """``k`` constants naming the elements of a bounded sort."""
    return [z3.Const(f"{sort.name}!{i}", sort.sort) for i in range(k)]


def _expand(
    f: z3.ExprRef, domains: dict[z3.SortRef, list[z3.ExprRef]], memo: dict[int, tuple[z3.ExprRef, Any]]
) -> z3.ExprRef:
    """``f`` with every quantifier over a bounded sort replaced by the
    conjunction (forall) or disjunction (exists) of its instances."""
    key = f.get_id()
    if key in memo:
        return memo[key][1]
    if not _has_quantifier(f, memo):
        out = f
    elif z3.is_quantifier(f):
        sorts = [f.var_sort(i) for i in range(f.num_vars())]
        if all(srt in domains for srt in sorts):
            body = f.body()
            nested = _has_quantifier(body, memo)
            insts = []
            for combo in itertools.product(*(domains[srt] for srt in sorts)):
                inst = z3.substitute_vars(body, *reversed(combo))
                insts.append(_expand(inst, domains, memo) if nested else inst)
            out = z3.And(insts) if f.is_forall() else z3.Or(insts)
        else:
            out = f
    else:
        out = f.decl()(*[_expand(c, domains, memo) for c in f.children()])
    memo[key] = (f, out)  # keeps f alive, so that its id is not reused
    return out


def _has_quantifier(f: z3.ExprRef, memo: dict[int, tuple[z3.ExprRef, Any]]) -> bool:
    """Whether a quantifier occurs in ``f`` (memoised per node, under negative keys)."""
    key = -1 - f.get_id()  # negative ids: this question's entries in the shared memo
    if key not in memo:
        if z3.is_quantifier(f):
            found = True
        elif z3.is_app(f) and z3.is_bool(f):
            found = any(_has_quantifier(c, memo) for c in f.children())
        else:
            found = False
        memo[key] = (f, found)
    return memo[key][1]


def _constants(formulas: Sequence[z3.ExprRef], sorts: set[z3.SortRef]) -> list[z3.ExprRef]:
    """The constants of the given sorts occurring anywhere in ``formulas``."""
    found: dict[int, z3.ExprRef] = {}
    stack = list(formulas)
    visited: set[int] = set()
    while stack:
        t = stack.pop()
        if t.get_id() in visited:
            continue
        visited.add(t.get_id())
        if z3.is_quantifier(t):
            stack.append(t.body())
        elif z3.is_app(t):
            if t.num_args() == 0 and t.sort() in sorts and t.decl().kind() == z3.Z3_OP_UNINTERPRETED:
                found[t.get_id()] = t
            stack.extend(t.children())
    return list(found.values())


class _Query:
    """A query over small finite universes, being shrunk into a small model.

    Every sort gets ``size`` elements named by constants and each quantifier
    is expanded into its instances over them: the query becomes
    quantifier-free, so the solver always answers. A bound of k < size
    elements is then just the ground fact that the other names denote one of
    the first k. One incremental solver serves every trial (pushed and popped).
    """

    size = 3

    def __init__(self, protocol: Protocol, formulas: list[z3.BoolRef], timeout: float) -> None:
        self.protocol = protocol
        self.formulas = formulas
        self.timeout = timeout
        self.bounds: dict[str, int] = {}
        self.exclusions: list[z3.BoolRef] = []
        self._solvers: dict[int, z3.Solver] = {}

    def names(self, bounds: dict[str, int]) -> dict[str, list[z3.ExprRef]]:
        """The naming constants of each sort (the first ``bounds[sort]`` of them)."""
        return {srt.name: _names(srt, bounds[srt.name]) for srt in self.protocol.finite_sorts()}

    def _solver(self, size: int) -> z3.Solver:
        if size not in self._solvers:
            domains: dict[z3.SortRef, list[z3.ExprRef]] = {}
            for srt in self.protocol.sorts:
                domains[srt.sort] = list(srt.values.values()) if isinstance(srt, EnumSort) else _names(srt, size)
            memo: dict[int, tuple[z3.ExprRef, Any]] = {}
            solver = z3.Solver()
            solver.set("timeout", max(1, int(min(self.timeout, _TRIAL) * 1000)))
            solver.add(*[_expand(f, domains, memo) for f in self.formulas])
            # Every constant and every function value lies among the named elements.
            bounded = {srt.sort for srt in self.protocol.finite_sorts()}
            for term in _constants(self.formulas, bounded):
                solver.add(z3.Or([term == e for e in domains[term.sort()]]))
            for decl in self._functions(bounded):
                for args in itertools.product(*(domains[decl.domain(i)] for i in range(decl.arity()))):
                    solver.add(z3.Or([decl(*args) == e for e in domains[decl.range()]]))
            self._solvers[size] = solver
        return self._solvers[size]

    def _functions(self, bounded: set[z3.SortRef]) -> list[z3.FuncDeclRef]:
        """State functions (pre and post) whose values are of a bounded sort."""
        decls = []
        for suffix in ("", "'"):
            for sym in self.protocol.symbols.values():
                if sym.domain and sym.range_sort in bounded:
                    decls.append(sym.declare(suffix))
        return decls

    def check(self, bounds: dict[str, int], extra: Sequence[z3.BoolRef] = ()) -> z3.ModelRef | None:
        """A model with at most ``bounds[sort]`` (<= size) elements per sort, or None."""
        size = self.size
        solver = self._solver(size)
        solver.push()
        try:
            for srt in self.protocol.finite_sorts():
                names = _names(srt, size)
                k = bounds[srt.name]
                for other in names[k:]:
                    solver.add(z3.Or([other == e for e in names[:k]]))
            solver.add(*self.exclusions, *extra)
            return solver.model() if solver.check() == z3.sat else None
        finally:
            solver.pop()

    def universe(self, model: z3.ModelRef, bounds: dict[str, int]) -> dict[str, list[z3.ExprRef]]:
        """The distinct elements the naming constants denote in ``model``."""
        out = {}
        for name, consts in self.names(bounds).items():
            seen: dict[str, z3.ExprRef] = {}
            for c in consts:
                v = model.eval(c, model_completion=True)
                seen.setdefault(str(v), v)
            out[name] = list(seen.values())
        return out


def _minimise(q: _Query, model: z3.ModelRef, bounds: dict[str, int], pre: Vocab) -> z3.ModelRef:
    """Shrink a model: each sort to the fewest elements that still give one
    (trying 1, 2, ... in turn); then drop every pre-state fact that is not
    needed; then make quorums as large as the model allows (so that they
    look like the majorities a reader expects)."""
    for srt in q.protocol.finite_sorts():
        for k in range(1, bounds[srt.name]):
            trial = dict(bounds, **{srt.name: k})
            m = q.check(trial)
            if m is not None:
                bounds, model = trial, m
                break
    q.bounds = bounds
    names = q.names(bounds)

    def keep_if_possible(facts: list[z3.BoolRef]) -> bool:
        nonlocal model
        m = q.check(bounds, facts)
        if m is None:
            return False
        q.exclusions.extend(facts)
        model = m
        return True

    changed = True
    while changed:  # a fact that was needed may stop being needed once others are gone
        changed = False
        for sym in q.protocol.symbols.values():
            if not sym.is_relation:
                continue
            domains = [_elements_named(model, d, names) for d in sym.domain]
            atoms = [
                atom
                for args in itertools.product(*domains)
                if z3.is_true(model.eval(atom := apply_symbol(pre[sym.name], args), model_completion=True))
            ]
            if atoms and keep_if_possible([z3.Not(a) for a in atoms]):
                changed = True
                continue
            for atom in atoms:
                changed |= keep_if_possible([z3.Not(atom)])
    for srt in q.protocol.sorts:
        if isinstance(srt, QuorumSort):
            for qu in _elements_named(model, srt, names):
                for x in _elements_named(model, srt.of, names):
                    if not z3.is_true(model.eval(srt.member(x, qu), model_completion=True)):
                        keep_if_possible([srt.member(x, qu)])
    return model


def _elements_named(model: z3.ModelRef, d: Any, names: dict[str, list[z3.ExprRef]]) -> list[z3.ExprRef]:
    """One term per element of sort ``d`` in ``model`` (bound constants or enum values)."""
    if isinstance(d, EnumSort):
        return list(d.values.values())
    seen: dict[str, z3.ExprRef] = {}
    for c in names[d.name]:
        seen.setdefault(str(model.eval(c, model_completion=True)), c)
    return list(seen.values())


# ---------------------------------------------------------------------------
# Rendering a model in protocol terms
# ---------------------------------------------------------------------------


def _view(labels: _Labels, protocol: Protocol, vocab: Vocab) -> StateView:
    """The state ``vocab`` denotes in the model of ``labels``, as a renderer sees it."""
    table: dict[str, dict[tuple[str, ...], str]] = {}
    for name, sym in protocol.symbols.items():
        rows: dict[tuple[str, ...], str] = {}
        domains = [labels.elements(d) for d in sym.domain]
        for args in itertools.product(*domains):
            val = labels.model.eval(apply_symbol(vocab[name], [e for e, _ in args]), model_completion=True)
            rows[tuple(lbl for _, lbl in args)] = labels.label(val)
        table[name] = rows
    sorts = {srt.name: [lbl for _, lbl in labels.elements(srt)] for srt in protocol.sorts}
    return StateView(protocol, table, sorts)


def _rank(model: z3.ModelRef, srt: OrderedSort, univ: Sequence[z3.ExprRef], e: z3.ExprRef) -> int:
    """How many elements of ``univ`` are <= ``e`` in ``model``."""
    return sum(1 for o in univ if z3.is_true(model.eval(srt.le(o, e), model_completion=True)))


class _Labels:
    """Readable names for a model's elements: a1 a2, v1 v2, ballots -1 0 1, Q1."""

    def __init__(
        self, model: z3.ModelRef, protocol: Protocol, universe: dict[str, list[z3.ExprRef]] | None = None
    ) -> None:
        self.model = model
        self.protocol = protocol
        self._elems: dict[str, list[tuple[z3.ExprRef, str]]] = {}
        self._by_str: dict[str, str] = {}
        for srt in protocol.sorts:
            if isinstance(srt, EnumSort):
                elems = [(v, n) for n, v in srt.values.items()]
            else:
                if universe is not None:
                    univ = list(universe[srt.name])
                else:
                    univ = list(model.get_universe(srt.sort) or [])
                if isinstance(srt, OrderedSort):
                    univ = sorted(univ, key=lambda e, u=tuple(univ), o=srt: _rank(model, o, u, e))
                    elems = [(e, str(srt.first + i)) for i, e in enumerate(univ)]
                else:
                    elems = [(e, f"{srt.prefix}{i + 1}") for i, e in enumerate(univ)]
            self._elems[srt.name] = elems
            for e, lbl in elems:
                self._by_str[str(e)] = lbl

    def elements(self, sort: Any) -> list[tuple[z3.ExprRef, str]]:
        return self._elems[sort.name]

    def label(self, value: z3.ExprRef) -> str:
        if z3.is_true(value):
            return "true"
        if z3.is_false(value):
            return "false"
        return self._by_str.get(str(value), str(value))

    def of(self, term: z3.ExprRef) -> str:
        return self.label(self.model.eval(term, model_completion=True))

    def universe_lines(self) -> list[str]:
        lines = []
        for srt in self.protocol.sorts:
            if isinstance(srt, EnumSort):
                continue
            elems = self._elems[srt.name]
            if isinstance(srt, QuorumSort):
                for e, lbl in elems:
                    members = [
                        ml
                        for me, ml in self._elems[srt.of.name]
                        if z3.is_true(self.model.eval(srt.member(me, e), model_completion=True))
                    ]
                    lines.append(f"{srt.name} {lbl} = {{{', '.join(members)}}}")
            elif isinstance(srt, OrderedSort):
                lines.append(f"{srt.name}s: {' < '.join(l for _, l in elems)}")
            else:
                lines.append(f"{srt.name}s: {', '.join(l for _, l in elems)}")
        return lines


def _render(protocol: Protocol, labels: _Labels, v: Vocab) -> list[str]:
    renderer = protocol.renderer or default_renderer
    return renderer(_view(labels, protocol, v))


def _diff(before: list[str], after: list[str]) -> list[str]:
    gone = [f"- {l}" for l in before if l not in after]
    new = [f"+ {l}" for l in after if l not in before]
    return gone + new or ["(no change)"]


def _params_text(labels: _Labels, params: dict[str, z3.ExprRef]) -> str:
    return ", ".join(f"{n}={labels.of(c)}" for n, c in params.items())


# ---------------------------------------------------------------------------
# The checker
# ---------------------------------------------------------------------------


def _run_check(
    protocol: Protocol,
    formulas: list[z3.BoolRef],
    timeout: float,
    expect_sat: bool,
    describe: Callable[[_Labels], Counterexample] | None,
    minimise: bool,
    pre: Vocab,
) -> tuple[str, float, Counterexample | None, str]:
    """Decide whether ``formulas`` have a model; shrink and describe one if so.

    A quick attempt comes first (z3's default strategy, capped at a second);
    if it gives no answer, a search for a model with at most 1, 2, 3 elements
    per sort (decidable, and quick); then the whole portfolio, on work
    budgets alone, for the rest of the timeout.
    Returns (verdict, seconds, counterexample, reason for an unknown).
    """
    start = time.perf_counter()
    deadline = start + timeout
    query = _Query(protocol, formulas, timeout)
    portfolio = _Portfolio(formulas)
    result = portfolio.run(deadline, max_attempts=1, cap=_QUICK_CAP)
    model = portfolio.solver.model() if result == z3.sat else None
    small = None
    if result == z3.unknown:
        small = _bounded_search(query, deadline)
        if small is None:
            portfolio.attempts = 0  # again, without the cap on time
            result = portfolio.run(deadline)
            model = portfolio.solver.model() if result == z3.sat else None
    reason = portfolio.solver.reason_unknown() if result == z3.unknown else ""
    if small is None and model is None:
        if result == z3.unknown:
            return UNKNOWN, time.perf_counter() - start, None, reason or "unknown"
        return (FAILED if expect_sat else PROVED), time.perf_counter() - start, None, ""
    cex = None
    if describe is not None:
        if small is None:  # a model of at most 3 elements per sort reads far better than z3's
            small = _bounded_search(query)
        if small is not None:
            m, bounds = small
            if minimise:
                m = _minimise(query, m, bounds, pre)
                bounds = query.bounds
            cex = describe(_Labels(m, protocol, query.universe(m, bounds)))
        else:
            cex = describe(_Labels(model, protocol))
    return (PROVED if expect_sat else FAILED), time.perf_counter() - start, cex, ""


def _quorum_facts(protocol: Protocol, terms: Iterable[z3.ExprRef]) -> list[z3.BoolRef]:
    """The intersection axiom, instantiated for the quorums named in a check.

    No function returns a quorum, so these are the only quorums a proof can
    talk about; stating their common members up front spares the solver the
    search for the instances it needs (sound: each is an instance of an axiom).
    """
    facts = []
    for srt in protocol.sorts:
        if not isinstance(srt, QuorumSort):
            continue
        qs = [q for q in terms if q.sort() == srt.sort]
        for i, q1 in enumerate(qs):
            for j in range(i, len(qs)):
                n = z3.Const(f"common!{q1}!{qs[j]}", srt.of.sort)
                facts.append(z3.And(srt.member(n, q1), srt.member(n, qs[j])))
    return facts


def _bounded_search(query: _Query, deadline: float | None = None) -> tuple[z3.ModelRef, dict[str, int]] | None:
    """A model with at most 1, 2, 3... (up to ``query.size``) elements in every
    sort (and those bounds), or None (also when the deadline has passed)."""
    for k in range(1, query.size + 1):
        if deadline is not None and time.perf_counter() >= deadline - 0.01:
            return None
        bounds = {s.name: k for s in query.protocol.finite_sorts()}
        m = query.check(bounds)
        if m is not None:
            return m, bounds
    return None


@dataclass
class _Obligation:
    """One check to run: its formulas and how to describe a model of them."""

    kind: str
    conjunct: str | None
    action: str | None
    formulas: list[z3.BoolRef]
    expect_sat: bool
    describe: Callable[[_Labels], Counterexample] | None


def obligations(protocol: Protocol, drop: str | None = None) -> list[_Obligation]:
    """Every check of the proof, in the order they are run and reported."""
    conjuncts = [c for c in protocol.conjuncts if c.name != drop]
    s, t = protocol.vocab(""), protocol.vocab("'")
    inv = [c.closed(s) for c in conjuncts]
    out: list[_Obligation] = []

    def params(act: Action) -> dict[str, z3.ExprRef]:
        return {n: z3.Const(f"{act.name}!{n}", srt.sort) for n, srt in act.params.items()}

    def state_cex(title: str, what: str, ws: dict[str, z3.ExprRef]) -> Callable[[_Labels], Counterexample]:
        def describe(labels: _Labels) -> Counterexample:
            sections = [
                ("universe", labels.universe_lines()),
                ("state", _render(protocol, labels, s)),
                (what, [_params_text(labels, ws) or "(no parameters)"]),
            ]
            return Counterexample(title, sections, _sizes(labels))

        return describe

    def step_cex(act: Action, c: Conjunct, ps: dict, ws: dict) -> Callable[[_Labels], Counterexample]:
        def describe(labels: _Labels) -> Counterexample:
            before = _render(protocol, labels, s)
            after = _render(protocol, labels, t)
            sections = [
                ("universe", labels.universe_lines()),
                ("pre-state (satisfies Inv)", before),
                ("action", [f"{act.name}({_params_text(labels, ps)})"]),
                ("post-state changes", _diff(before, after)),
                (f"{c.name}' fails for", [_params_text(labels, ws) or "(no parameters)"]),
            ]
            return Counterexample(f"{act.name} breaks {c.name}: a counterexample to induction", sections, _sizes(labels))

        return describe

    # Initiation: Init => C.
    init = protocol.init_formula(s)
    for c in conjuncts:
        bad, ws = c.violated(s)
        out.append(_Obligation(
            INIT, c.name, None,
            protocol.axioms + [init, bad] + _quorum_facts(protocol, ws.values()), False,
            state_cex(f"an initial state violates {c.name}", f"{c.name} fails for", ws),
        ))
    # Consecution: Inv /\ A => C', per action and conjunct.
    for act in protocol.actions:
        ps = params(act)
        step = protocol.action_formula(act, s, t, ps)
        for c in conjuncts:
            bad, ws = c.violated(t)
            out.append(_Obligation(
                STEP, c.name, act.name,
                protocol.axioms + inv + [step, bad] + _quorum_facts(protocol, [*ps.values(), *ws.values()]), False,
                step_cex(act, c, ps, ws),
            ))
    # Safety: Inv => G.
    for g in protocol.goals:
        bad, ws = g.violated(s)
        out.append(_Obligation(
            GOAL, g.name, None,
            protocol.axioms + inv + [bad] + _quorum_facts(protocol, ws.values()), False,
            state_cex(f"a state satisfies Inv but violates {g.name}", f"{g.name} fails for", ws),
        ))
    # Vacuity: each action is enabled in some state satisfying Inv.
    for act in protocol.actions:
        ps = params(act)
        step = protocol.action_formula(act, s, t, ps)
        out.append(_Obligation(
            ENABLED, None, act.name,
            protocol.axioms + inv + [step] + _quorum_facts(protocol, ps.values()), True, None,
        ))
    return out


def prove(
    protocol: Protocol | Theorems,
    drop: str | None = None,
    timeout: float = 30.0,
    minimise: bool = True,
    vacuity: bool = True,
    stop_at_first: bool = False,
) -> Report:
    """Check that the protocol's conjuncts form an inductive invariant implying its goals
    (for :class:`Theorems`: check each claim).

    With ``drop``, that conjunct is left out: the checks then say whether the
    rest is still inductive and still implies the goals (the conjunct is
    redundant) or give the CTI that shows why it is needed. ``timeout`` is
    per check. With ``stop_at_first``, checking stops at the first failure.
    """
    if isinstance(protocol, Theorems):
        return _prove_claims(protocol, drop, timeout, minimise, stop_at_first)
    names = protocol.conjunct_names()
    if drop is not None and drop not in names:
        raise KeyError(drop)
    pre = protocol.vocab("")
    checks: list[Check] = []
    for ob in obligations(protocol, drop):
        if ob.kind == ENABLED and not vacuity:
            continue
        verdict, secs, cex, reason = _run_check(
            protocol, ob.formulas, timeout, ob.expect_sat, ob.describe, minimise, pre,
        )
        if ob.kind == ENABLED and verdict == FAILED:
            reason = "the action is never enabled in a state satisfying Inv: its proof is vacuous"
        checks.append(Check(ob.kind, ob.conjunct, ob.action, verdict, secs, cex, reason))
        if stop_at_first and verdict == FAILED:
            break
    return Report(protocol.name, checks, drop, names, protocol.action_names())


def _sizes(labels: _Labels) -> dict[str, int]:
    return {
        srt.name: len(labels.elements(srt)) for srt in labels.protocol.sorts if isinstance(srt, FiniteSort)
    }


def first_counterexample(report: Report) -> Check | None:
    """The first failed check (the one a user should look at first)."""
    fails = report.failures()
    return fails[0] if fails else None


# ---------------------------------------------------------------------------
# Claims about set sizes
# ---------------------------------------------------------------------------


def _prove_claims(
    theorems: Theorems, drop: str | None, timeout: float, minimise: bool, stop_at_first: bool
) -> Report:
    """Check every claim in turn (a list of claims has no conjunct to drop)."""
    if drop is not None:
        raise KeyError(drop)
    checks = []
    for claim in theorems.claims:
        checks.append(check_claim(claim, timeout, minimise))
        if stop_at_first and checks[-1].verdict == FAILED:
            break
    return Report(theorems.name, checks)


def check_claim(claim: Claim, timeout: float, minimise: bool = True) -> Check:
    """One claim's verdict: ``forall`` proved when no counterexample exists,
    ``exists`` proved by a witness (with ``minimise``, the smallest of
    ``claim.smallest(1..5)`` first). Both come back as text."""
    start = time.perf_counter()
    base = claim.regions.facts()
    target = z3.Not(claim.formula) if claim.kind == "forall" else claim.formula
    solver = z3.Solver()
    solver.set("timeout", max(1, int(timeout * 1000)))
    solver.add(*base, target)
    model = None
    if claim.kind == "exists" and minimise and claim.smallest is not None:
        for k in range(1, 6):
            solver.push()
            solver.add(claim.smallest(k))
            if solver.check() == z3.sat:
                model = solver.model()
                solver.pop()
                break
            solver.pop()
    result = z3.sat if model is not None else solver.check()
    if model is None and result == z3.sat:
        model = solver.model()
    seconds = time.perf_counter() - start
    if result == z3.unknown:
        return Check(CLAIM, claim.name, None, UNKNOWN, seconds, None, solver.reason_unknown())
    if claim.kind == "forall":
        if result == z3.unsat:
            return Check(CLAIM, claim.name, None, PROVED, seconds)
        cex = Counterexample(f"counterexample to {claim.name}", [("sets", claim.regions.example(model, claim.shown))])
        return Check(CLAIM, claim.name, None, FAILED, seconds, cex)
    if result == z3.unsat:
        return Check(CLAIM, claim.name, None, FAILED, seconds, None, "no witness exists")
    wit = Counterexample(f"witness for {claim.name}", [("sets", claim.regions.example(model, claim.shown))])
    return Check(CLAIM, claim.name, None, PROVED, seconds, wit)
