"""The language in which a protocol and its inductive invariant are stated.

A protocol is stated symbolically, in the style of Ivy and mypyvy:

- *sorts*: finite sets of unknown size (acceptors, values), *ordered sorts*
  (ballots, terms: a total order ``le`` with an optional least element) and
  *quorum sorts* (a membership relation with the intersection axiom);
- *state symbols*: relations and functions over those sorts, each with a
  primed copy for the post-state;
- an *initial condition* and named *actions*, each with its own parameters
  (existentially quantified: the action happens for some choice of them);
- a named list of *conjuncts* (the inductive invariant) and *goals* (the
  safety properties the invariant implies).

Claims about the sizes of sets and their intersections (:class:`Theorems`,
stated over :class:`Regions`) are the second kind of statement.

This module only states; ``splitbrain.checker.induction.prove`` checks a
statement with z3. A short complete protocol (``properties/proofs/raft.py`` is
a real one)::

    p = Protocol("lock", "a lock server")
    N = p.sort("node", prefix="n")
    p.relation("locked")
    p.relation("holds", N)
    x = N.var("x")
    p.init(lambda s: z3.And(z3.Not(s.locked), z3.ForAll([x], z3.Not(s.holds(x)))))
    p.action("Acquire", {"n": N},
             lambda s, t, n: z3.And(z3.Not(s.locked), t.locked, insert(s, t, "holds", n)),
             modifies=["locked", "holds"])
    p.conjunct("HolderLocked", {"n": N}, lambda s, n: z3.Implies(s.holds(n), s.locked))
    p.conjunct("OneHolder", {"a": N, "b": N},
               lambda s, a, b: z3.Implies(z3.And(s.holds(a), s.holds(b)), a == b))
    p.goal("MutualExclusion", {"a": N, "b": N},
           lambda s, a, b: z3.Implies(z3.And(s.holds(a), s.holds(b)), a == b))
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import z3

Formula = Callable[..., z3.BoolRef]

_ENUMS: dict[tuple[str, tuple[str, ...]], tuple[z3.SortRef, list[z3.ExprRef]]] = {}


# ---------------------------------------------------------------------------
# Sorts
# ---------------------------------------------------------------------------


@dataclass
class FiniteSort:
    """An uninterpreted sort: a nonempty set of unknown (finite) size."""

    name: str
    sort: z3.SortRef
    prefix: str

    def var(self, name: str) -> z3.ExprRef:
        """A variable of this sort (for ``ForAll``/``Exists``)."""
        return z3.Const(name, self.sort)


@dataclass
class OrderedSort(FiniteSort):
    """A totally ordered sort (ballots, terms).

    ``le`` is a total order (an axiom of the protocol). ``bottom``, when
    given, is the least element; elements are rendered as integers counting
    up from ``first`` (so with ``first=-1`` the least element shows as -1, as
    in Paxos.tla, and the next ones as 0, 1, 2...).
    """

    le_decl: z3.FuncDeclRef = None  # type: ignore[assignment]
    bottom: z3.ExprRef | None = None
    first: int = 0

    def le(self, x: z3.ExprRef, y: z3.ExprRef) -> z3.BoolRef:
        """x <= y."""
        return self.le_decl(x, y)

    def lt(self, x: z3.ExprRef, y: z3.ExprRef) -> z3.BoolRef:
        """x < y."""
        return z3.And(self.le_decl(x, y), x != y)


@dataclass
class QuorumSort(FiniteSort):
    """Quorums of the members of ``of``: any two quorums share a member (axiom)."""

    of: FiniteSort = None  # type: ignore[assignment]
    member_decl: z3.FuncDeclRef = None  # type: ignore[assignment]

    def member(self, x: z3.ExprRef, q: z3.ExprRef) -> z3.BoolRef:
        """x is a member of quorum q."""
        return self.member_decl(x, q)


@dataclass
class EnumSort:
    """A sort with named constants and nothing else (e.g. an RM's state)."""

    name: str
    sort: z3.SortRef
    values: dict[str, z3.ExprRef]

    def __getitem__(self, name: str) -> z3.ExprRef:
        return self.values[name]


# ---------------------------------------------------------------------------
# State symbols and the two vocabularies (pre-state s, post-state t)
# ---------------------------------------------------------------------------


@dataclass
class Symbol:
    """A state relation (range Bool) or function, of the given domain sorts."""

    name: str
    domain: tuple[Any, ...]  # FiniteSort | EnumSort
    range: Any  # FiniteSort | EnumSort | z3.SortRef (Bool, Int)
    doc: str = ""

    @property
    def range_sort(self) -> z3.SortRef:
        return self.range if isinstance(self.range, z3.SortRef) else self.range.sort

    @property
    def is_relation(self) -> bool:
        return self.range_sort == z3.BoolSort()

    def declare(self, suffix: str) -> Any:
        if not self.domain:
            return z3.Const(self.name + suffix, self.range_sort)
        return z3.Function(self.name + suffix, *[d.sort for d in self.domain], self.range_sort)


class Vocab:
    """One copy of the state symbols: ``s.maxBal(a)``, ``s.msgCommit``...

    A relation or function of arity >= 1 is a z3 function declaration (call
    it); a symbol of arity 0 is a z3 constant.
    """

    def __init__(self, symbols: dict[str, Symbol], suffix: str) -> None:
        self._symbols = symbols
        self._decls = {name: sym.declare(suffix) for name, sym in symbols.items()}
        self.suffix = suffix

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_decls"][name]
        except KeyError:
            raise AttributeError(f"no state symbol {name!r}") from None

    def __getitem__(self, name: str) -> Any:
        return self._decls[name]

    def symbol(self, name: str) -> Symbol:
        return self._symbols[name]


def _bound_vars(sym: Symbol, stem: str = "x") -> list[z3.ExprRef]:
    return [z3.Const(f"{stem}{i}", d.sort) for i, d in enumerate(sym.domain)]


def apply_symbol(decl: Any, args: Sequence[z3.ExprRef]) -> z3.ExprRef:
    """A state symbol's declaration applied to ``args`` (a constant when there are none)."""
    return decl(*args) if args else decl


def unchanged(s: Vocab, t: Vocab, name: str) -> z3.BoolRef:
    """Symbol ``name`` is the same in the post-state as in the pre-state."""
    sym = s.symbol(name)
    xs = _bound_vars(sym)
    eq = apply_symbol(t[name], xs) == apply_symbol(s[name], xs)
    return z3.ForAll(xs, eq) if xs else eq


def define(s: Vocab, t: Vocab, name: str, fn: Callable[..., z3.ExprRef]) -> z3.BoolRef:
    """The post-state ``name(xs)`` equals ``fn(*xs)`` for every argument tuple."""
    sym = s.symbol(name)
    xs = _bound_vars(sym)
    eq = apply_symbol(t[name], xs) == fn(*xs)
    return z3.ForAll(xs, eq) if xs else eq


def assign(s: Vocab, t: Vocab, name: str, args: Sequence[z3.ExprRef], value: Any) -> z3.BoolRef:
    """``name`` changes at ``args`` to ``value`` and nowhere else (``f[args] := value``)."""
    args = tuple(args)

    def new(*xs: z3.ExprRef) -> z3.ExprRef:
        at = z3.And([x == a for x, a in zip(xs, args)]) if xs else z3.BoolVal(True)
        return z3.If(at, value, apply_symbol(s[name], xs))

    return define(s, t, name, new)


def insert(s: Vocab, t: Vocab, name: str, *args: z3.ExprRef) -> z3.BoolRef:
    """Relation ``name`` gains the tuple ``args`` (a message is sent)."""
    return assign(s, t, name, args, z3.BoolVal(True))


# ---------------------------------------------------------------------------
# The protocol
# ---------------------------------------------------------------------------


@dataclass
class Action:
    """A named transition with its parameters (sort per name) and body."""

    name: str
    params: dict[str, Any]
    body: Formula  # (s, t, **params) -> BoolRef
    modifies: tuple[str, ...]
    doc: str = ""


@dataclass
class Conjunct:
    """A named, universally quantified claim about one state.

    ``body(s, **params)`` is the claim for one choice of the parameters; the
    conjunct is its universal closure. A violation names the parameters.
    """

    name: str
    params: dict[str, Any]
    body: Formula
    doc: str = ""

    def closed(self, v: Vocab) -> z3.BoolRef:
        xs = {n: z3.Const(f"{self.name}_{n}", srt.sort) for n, srt in self.params.items()}
        f = self.body(v, **xs)
        return z3.ForAll(list(xs.values()), f) if xs else f

    def violated(self, v: Vocab) -> tuple[z3.BoolRef, dict[str, z3.ExprRef]]:
        ws = {n: z3.Const(f"witness!{n}", srt.sort) for n, srt in self.params.items()}
        return z3.Not(self.body(v, **ws)), ws


Renderer = Callable[["StateView"], list[str]]


class Protocol:
    """A protocol stated symbolically, with its inductive invariant."""

    def __init__(self, name: str, summary: str = "") -> None:
        self.name = name
        self.summary = summary
        self.sorts: list[Any] = []
        self.symbols: dict[str, Symbol] = {}
        self.axioms: list[z3.BoolRef] = []
        self._init: list[Formula] = []
        self.actions: list[Action] = []
        self.conjuncts: list[Conjunct] = []
        self.goals: list[Conjunct] = []
        self.renderer: Renderer | None = None

    # -- sorts -----------------------------------------------------------
    def sort(self, name: str, prefix: str) -> FiniteSort:
        """A finite set of unknown size; elements render as prefix1, prefix2..."""
        s = FiniteSort(name, z3.DeclareSort(name), prefix)
        self.sorts.append(s)
        return s

    def ordered_sort(self, name: str, bottom: str | None = None, first: int = 0) -> OrderedSort:
        """A totally ordered sort, optionally with a least element named ``bottom``."""
        srt = z3.DeclareSort(name)
        le = z3.Function(f"{name}_le", srt, srt, z3.BoolSort())
        x, y, z = z3.Consts("x y z", srt)
        self.axioms += [
            z3.ForAll([x], le(x, x)),
            z3.ForAll([x, y, z], z3.Implies(z3.And(le(x, y), le(y, z)), le(x, z))),
            z3.ForAll([x, y], z3.Implies(z3.And(le(x, y), le(y, x)), x == y)),
            z3.ForAll([x, y], z3.Or(le(x, y), le(y, x))),
        ]
        bot = None
        if bottom is not None:
            bot = z3.Const(bottom, srt)
            self.axioms.append(z3.ForAll([x], le(bot, x)))
        s = OrderedSort(name, srt, "", le_decl=le, bottom=bot, first=first)
        self.sorts.append(s)
        return s

    def quorum_sort(self, name: str, of: FiniteSort, prefix: str = "Q") -> QuorumSort:
        """Quorums of ``of``, with ``member`` and the axiom that any two intersect."""
        srt = z3.DeclareSort(name)
        member = z3.Function(f"{name}_member", of.sort, srt, z3.BoolSort())
        q1, q2 = z3.Consts("q1 q2", srt)
        n = z3.Const("n", of.sort)
        self.axioms.append(
            z3.ForAll([q1, q2], z3.Exists([n], z3.And(member(n, q1), member(n, q2))))
        )
        s = QuorumSort(name, srt, prefix, of=of, member_decl=member)
        self.sorts.append(s)
        return s

    def enum_sort(self, name: str, values: Sequence[str]) -> EnumSort:
        """A sort whose elements are exactly the named ``values``."""
        key = (name, tuple(values))
        if key not in _ENUMS:  # z3 declares an enumeration once per process
            _ENUMS[key] = z3.EnumSort(name, list(values))
        srt, consts = _ENUMS[key]
        s = EnumSort(name, srt, dict(zip(values, consts)))
        self.sorts.append(s)
        return s

    # -- state -----------------------------------------------------------
    def relation(self, name: str, *domain: Any, doc: str = "") -> None:
        """A state relation over ``domain`` (arity 0: a Boolean state variable)."""
        self.symbols[name] = Symbol(name, tuple(domain), z3.BoolSort(), doc)

    def function(self, name: str, domain: Sequence[Any], range: Any, doc: str = "") -> None:
        """A state function from ``domain`` to ``range`` (arity 0: a state variable)."""
        self.symbols[name] = Symbol(name, tuple(domain), range, doc)

    def axiom(self, formula: z3.BoolRef) -> None:
        """A fact about the constants that holds in every state."""
        self.axioms.append(formula)

    def init(self, formula: Formula) -> None:
        """Add ``formula(s)`` to the initial condition."""
        self._init.append(formula)

    def action(
        self,
        name: str,
        params: dict[str, Any],
        body: Formula,
        modifies: Iterable[str],
        doc: str = "",
    ) -> None:
        """A transition: for some ``params``, ``body(s, t, **params)``.

        Every state symbol not in ``modifies`` is unchanged.
        """
        modifies = tuple(modifies)
        for m in modifies:
            if m not in self.symbols:
                raise ValueError(f"action {name} modifies unknown symbol {m!r}")
        self.actions.append(Action(name, dict(params), body, modifies, doc))

    def conjunct(self, name: str, params: dict[str, Any], body: Formula, doc: str = "") -> None:
        """A conjunct of the inductive invariant: for all ``params``, ``body(s, **params)``."""
        self.conjuncts.append(Conjunct(name, dict(params), body, doc))

    def goal(self, name: str, params: dict[str, Any], body: Formula, doc: str = "") -> None:
        """A safety property the invariant must imply."""
        self.goals.append(Conjunct(name, dict(params), body, doc))

    # -- formulas ----------------------------------------------------------
    def vocab(self, suffix: str = "") -> Vocab:
        return Vocab(self.symbols, suffix)

    def init_formula(self, s: Vocab) -> z3.BoolRef:
        return z3.And([f(s) for f in self._init])

    def action_formula(self, act: Action, s: Vocab, t: Vocab, params: dict[str, z3.ExprRef]) -> z3.BoolRef:
        frame = [unchanged(s, t, n) for n in self.symbols if n not in act.modifies]
        return z3.And(act.body(s, t, **params), *frame)

    def conjunct_names(self) -> list[str]:
        return [c.name for c in self.conjuncts]

    def action_names(self) -> list[str]:
        return [a.name for a in self.actions]

    def finite_sorts(self) -> list[FiniteSort]:
        return [s for s in self.sorts if isinstance(s, FiniteSort)]


# ---------------------------------------------------------------------------
# How a renderer sees one state of a counterexample
# ---------------------------------------------------------------------------


class StateView:
    """One state of a counterexample, as labels: ``view.value("maxBal", "a1") == "0"``,
    ``view.holds("msg2a", "1", "v2")``, ``view.true_tuples("msg1a")``.

    ``table[symbol][argument labels]`` is the label of the symbol's value
    there; ``sort_elements[sort name]`` the labels of the sort's elements, in
    order.
    """

    def __init__(
        self, protocol: Protocol, table: dict[str, dict[tuple[str, ...], str]], sort_elements: dict[str, list[str]]
    ) -> None:
        self.protocol = protocol
        self.table = table
        self.sort_elements = sort_elements

    def value(self, name: str, *args: str) -> str:
        return self.table[name][tuple(args)]

    def holds(self, name: str, *args: str) -> bool:
        return self.table[name][tuple(args)] == "true"

    def true_tuples(self, name: str) -> list[tuple[str, ...]]:
        return [a for a, v in self.table[name].items() if v == "true"]

    def elements(self, sort: Any) -> list[str]:
        return list(self.sort_elements[sort.name])


def default_renderer(view: StateView) -> list[str]:
    """Every state symbol: relations as their true tuples, functions as tables."""
    lines = []
    for name, sym in view.protocol.symbols.items():
        rows = view.table[name]
        if sym.is_relation:
            if not sym.domain:
                lines.append(f"{name} = {rows[()]}")
            else:
                lines.extend(f"{name}({', '.join(a)})" for a, v in rows.items() if v == "true")
        elif not sym.domain:
            lines.append(f"{name} = {rows[()]}")
        else:
            lines.extend(f"{name}[{', '.join(a)}] = {v}" for a, v in rows.items())
    return lines


# ---------------------------------------------------------------------------
# Claims about the sizes of sets, for every size
# ---------------------------------------------------------------------------


class Regions:
    """The region sizes of ``names`` (sets) inside a universe of ``n`` nodes.

    Any subsets S1..Sk of an n-element set cut it into 2^k disjoint regions
    (one per pattern of membership); each set's size is the sum of the sizes
    of its regions, and any non-negative region sizes summing to n describe
    such subsets. A claim about set sizes is then linear integer arithmetic.
    """

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.count = {
            pattern: z3.Int("x" + "".join(map(str, pattern)))
            for pattern in itertools.product((1, 0), repeat=len(names))
        }
        self.n = z3.Int("n")

    def facts(self) -> list[z3.BoolRef]:
        """Region sizes are non-negative and add up to n."""
        return [c >= 0 for c in self.count.values()] + [z3.Sum(list(self.count.values())) == self.n]

    def size(self, *inside: str, outside: tuple[str, ...] = ()) -> z3.ArithRef:
        """|the intersection of the sets ``inside``, minus the sets ``outside``|."""
        idx_in = [self.names.index(s) for s in inside]
        idx_out = [self.names.index(s) for s in outside]
        return z3.Sum([
            c for p, c in self.count.items()
            if all(p[i] == 1 for i in idx_in) and all(p[i] == 0 for i in idx_out)
        ] or [z3.IntVal(0)])

    def example(self, model: z3.ModelRef, extra: dict[str, z3.ArithRef]) -> list[str]:
        """Concrete sets of nodes n1, n2... with the region sizes of ``model``."""
        members: dict[str, list[str]] = {s: [] for s in self.names}
        node = 0
        for pattern, c in self.count.items():
            for _ in range(model.eval(c, model_completion=True).as_long()):
                node += 1
                for s, bit in zip(self.names, pattern):
                    if bit:
                        members[s].append(f"n{node}")
        lines = [", ".join(f"{k} = {model.eval(v, model_completion=True)}" for k, v in extra.items())]
        lines.append(f"nodes = {{{', '.join(f'n{i}' for i in range(1, node + 1))}}}")
        lines += [f"{s} = {{{', '.join(m)}}}" for s, m in members.items()]
        if len(self.names) >= 2:
            common = [x for x in members[self.names[0]] if x in members[self.names[1]]]
            lines.append(f"{self.names[0]} & {self.names[1]} = {{{', '.join(common)}}}")
        return lines


@dataclass
class Claim:
    """A statement about set sizes: ``forall`` (proved if it has no
    counterexample) or ``exists`` (proved by a witness)."""

    name: str
    doc: str
    kind: str  # "forall" | "exists"
    regions: Regions
    formula: z3.BoolRef  # forall: the claim; exists: what the witness satisfies
    shown: dict[str, z3.ArithRef]
    smallest: Callable[[int], z3.BoolRef] | None = None  # exists: try k = 1, 2, ... first


class Theorems:
    """A named list of claims, checked one by one (no conjuncts, no actions)."""

    def __init__(self, name: str, summary: str, claims: list[Claim]) -> None:
        self.name = name
        self.summary = summary
        self.claims = claims
        self.conjuncts: list[Conjunct] = []
        self.goals: list[Conjunct] = []
        self.actions: list[Action] = []

    def conjunct_names(self) -> list[str]:
        return []

    def action_names(self) -> list[str]:
        return []
