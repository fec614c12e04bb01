"""The kinds of property a user states about a model.

- ``always(name, P)``: P holds in every reachable state (an invariant).
- ``always_step(name, R)``: R(state, action, next_state) holds on every
  step of every behaviour (TLA+'s ``[][R]_vars``): an invariant of
  transitions, for claims such as "a leader's log only grows".
- ``sometimes(name, P)``: P holds in at least one reachable state (a witness).
  A ``sometimes`` property that is never reached is a failure: it catches the
  model that is safe only because it never does anything.
- ``eventually(name, P, fairness=...)``: every fair behaviour reaches a state
  where P holds (``<>P``).
- ``leads_to(name, P, Q, fairness=...)``: in every fair behaviour, each state
  where P holds is followed (or accompanied) by one where Q holds (``P ~> Q``).
- ``always_eventually(name, P, fairness=...)``: in every fair behaviour P holds
  infinitely often (``[]<>P``).

A predicate takes one state and returns a bool. Properties know nothing about
how they are checked; ``splitbrain.checker.liveness`` judges the liveness kinds.

Fairness
--------
A liveness property is judged only on the behaviours its fairness admits, so
each one states its assumptions explicitly (``fairness=`` takes one item or a
sequence of them):

- ``WF(name, actions)``: weak fairness, TLC's ``WF_vars(A)``: if an A step is
  enabled continuously from some point on, an A step is eventually taken.
- ``SF(name, actions)``: strong fairness, ``SF_vars(A)``: if an A step is
  enabled infinitely often, an A step is taken infinitely often.
- ``AFTER_FAULTS`` (or ``after_faults("crash", "partition", ...)``): only
  behaviours in which fault actions eventually stop count (the usual
  global-stabilisation assumption); the liveness is judged in that fault-free
  suffix. Without arguments the fault kinds are the model's ``fault_kinds``.

``actions`` selects the action class A: an action kind (``"deliver"``: every
action whose first element is "deliver"), a collection of kinds, or a function
from the action tuple to bool. ``step=`` takes instead a function of
``(state, action, next_state)`` for classes that depend on the state.
``per=`` splits the class into one fairness condition per instance, the TLA+
``\\A m : WF_vars(Receive(m))``: a function from the action to its instance key
(``per=lambda a: a[1]`` is "each node is fair", not "the nodes together are").
A step that leaves the state unchanged never counts as an A step, as in TLA+
(``<<A>>_vars``): a self-loop neither satisfies nor enables a fairness
condition.

Examples::

    # TwoPhase: each RM and the TM eventually act; every RM decides.
    eventually("EveryRMDecides", all_decided,
               fairness=[WF("TM", ("TMCommit", "TMAbort", "TMRcvPrepared")),
                         WF("RM", lambda a: a[0].startswith("RM"), per=lambda a: a[1])])

    # Raft: after the network heals and crashes stop, a leader is elected
    # again and again, given fair delivery and strongly fair election timeouts.
    always_eventually("LeaderElected", has_leader,
                      fairness=[WF("delivery", "deliver", per=lambda a: a[1:]),
                                SF("election timeout", "timeout", per=lambda a: a[1]),
                                AFTER_FAULTS])

With ``AFTER_FAULTS``, ``eventually(P)`` is satisfied by a P state reached
before the last fault; to require P after the faults stop, state
``always_eventually(P)`` or ``leads_to(P0, P)``. Recoveries (the actor
layer's ``heal`` and ``restart``) are not faults but ordinary actions: if
they must happen, give them fairness too (``WF("heal", "heal")``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Sequence

Predicate = Callable[[Any], bool]
StepPredicate = Callable[[Any, Any, Any], bool]

ALWAYS = "always"
SOMETIMES = "sometimes"
EVENTUALLY = "eventually"
LEADS_TO = "leads_to"
ALWAYS_EVENTUALLY = "always_eventually"

ALWAYS_STEP = "always_step"

SAFETY_KINDS = (ALWAYS, ALWAYS_STEP)
WITNESS_KINDS = (SOMETIMES,)
LIVENESS_KINDS = (EVENTUALLY, LEADS_TO, ALWAYS_EVENTUALLY)


@dataclass(frozen=True)
class Property:
    """A named claim about a model's behaviours.

    ``condition`` is P; ``target`` is Q for ``leads_to`` (P ~> Q). ``fairness``
    lists the fairness assumptions a liveness property is judged under.
    """

    name: str
    kind: str
    condition: Predicate
    target: Predicate | None = None
    fairness: tuple[Any, ...] = field(default=())
    description: str = ""

    @property
    def is_liveness(self) -> bool:
        return self.kind in LIVENESS_KINDS


def always(name: str, condition: Predicate, description: str = "") -> Property:
    """An invariant: ``condition`` holds in every reachable state."""
    return Property(name, ALWAYS, condition, description=description)


def always_step(name: str, condition: StepPredicate, description: str = "") -> Property:
    """A step invariant: ``condition(state, action, next_state)`` holds on every step taken."""
    return Property(name, ALWAYS_STEP, condition, description=description)


def sometimes(name: str, condition: Predicate, description: str = "") -> Property:
    """A witness: ``condition`` holds in some reachable state."""
    return Property(name, SOMETIMES, condition, description=description)


def invariants(props: Sequence[Property]) -> list[Property]:
    """The ``always`` properties among ``props``."""
    return [p for p in props if p.kind == ALWAYS]


def step_invariants(props: Sequence[Property]) -> list[Property]:
    """The ``always_step`` properties among ``props``."""
    return [p for p in props if p.kind == ALWAYS_STEP]


def witnesses(props: Sequence[Property]) -> list[Property]:
    """The ``sometimes`` properties among ``props``."""
    return [p for p in props if p.kind == SOMETIMES]


# -- liveness ------------------------------------------------------------------

ActionFilter = Callable[[Any], bool]
StepFilter = Callable[[Any, Any, Any], bool]


def action_kind(action: Any) -> Any:
    """The kind of an action: its first element (``("deliver", 1, 2, m)`` -> "deliver")."""
    if isinstance(action, tuple):
        return action[0] if action else None
    return action


@dataclass(frozen=True)
class Fairness:
    """A weak or strong fairness condition on an action class (see the module docstring).

    ``select`` picks the class's actions (None: every action), or ``step``
    its steps ``(state, action, next_state)``; ``per`` splits it into one
    condition per instance key.
    """

    name: str
    strong: bool
    select: ActionFilter | None = None
    step: StepFilter | None = None
    per: Callable[[Any], Hashable] | None = None
    description: str = ""

    def matches(self, state: Any, action: Any, next_state: Any) -> bool:
        """Whether this step is a step of the class (self-loops are judged by the caller)."""
        if self.step is not None:
            return bool(self.step(state, action, next_state))
        return self.select is None or bool(self.select(action))

    def instance(self, action: Any) -> Hashable:
        """The key of the condition ``action`` belongs to (``()`` without ``per``)."""
        return () if self.per is None else self.per(action)

    @property
    def depends_on_state(self) -> bool:
        return self.step is not None

    def __str__(self) -> str:
        text = f"{'SF' if self.strong else 'WF'}({self.name})"
        if self.per is not None:
            text += " for each instance"
        return text


@dataclass(frozen=True)
class AfterFaults:
    """Only behaviours whose fault actions eventually stop count.

    ``kinds``: the fault action kinds; None means the model's ``fault_kinds``.
    """

    kinds: frozenset[str] | None = None

    def fault_kinds(self, model: Any) -> frozenset[str]:
        """The action kinds that are faults for ``model``."""
        if self.kinds is not None:
            return self.kinds
        return frozenset(getattr(model, "fault_kinds", ()) or ())

    def __str__(self) -> str:
        kinds = "" if self.kinds is None else f" ({', '.join(sorted(self.kinds))})"
        return f"after faults stop{kinds}"


AFTER_FAULTS = AfterFaults()


def after_faults(*kinds: str) -> AfterFaults:
    """The after-faults-stop assumption for these fault kinds (none given: the model's)."""
    return AfterFaults(frozenset(kinds) if kinds else None)


def _selector(actions: str | Iterable[str] | ActionFilter | None) -> ActionFilter | None:
    if actions is None or callable(actions):
        return actions
    if isinstance(actions, str):
        kind = actions
        return lambda a: action_kind(a) == kind
    kinds = frozenset(actions)
    if not all(isinstance(k, str) for k in kinds):
        raise TypeError("a fairness action class is a kind, a collection of kinds, or a function")
    return lambda a: action_kind(a) in kinds


def WF(name: str, actions: str | Iterable[str] | ActionFilter | None = None, *,
       step: StepFilter | None = None, per: Callable[[Any], Hashable] | None = None,
       description: str = "") -> Fairness:
    """Weak fairness of an action class: continuously enabled implies eventually taken.

    ``actions``: a kind, a collection of kinds or a predicate on the action;
    None (and no ``step``) means every action, TLA+'s ``WF_vars(Next)``.
    """
    if actions is not None and step is not None:
        raise TypeError("give either actions or step, not both")
    return Fairness(name, False, _selector(actions), step, per, description)


def SF(name: str, actions: str | Iterable[str] | ActionFilter | None = None, *,
       step: StepFilter | None = None, per: Callable[[Any], Hashable] | None = None,
       description: str = "") -> Fairness:
    """Strong fairness of an action class: enabled infinitely often implies taken infinitely often."""
    if actions is not None and step is not None:
        raise TypeError("give either actions or step, not both")
    return Fairness(name, True, _selector(actions), step, per, description)


FairnessSpec = Fairness | AfterFaults | Iterable[Fairness | AfterFaults] | None


def _fairness(fairness: FairnessSpec) -> tuple[Fairness | AfterFaults, ...]:
    if fairness is None:
        return ()
    items = (fairness,) if isinstance(fairness, (Fairness, AfterFaults)) else tuple(fairness)
    for f in items:
        if not isinstance(f, (Fairness, AfterFaults)):
            raise TypeError(f"fairness items are WF(...), SF(...) or AFTER_FAULTS, not {f!r}")
    if sum(isinstance(f, AfterFaults) for f in items) > 1:
        raise TypeError("at most one after-faults assumption per property")
    return items


def eventually(name: str, condition: Predicate, fairness: FairnessSpec = None,
               description: str = "") -> Property:
    """``<>P``: every fair behaviour reaches a state where ``condition`` holds."""
    return Property(name, EVENTUALLY, condition, fairness=_fairness(fairness), description=description)


def leads_to(name: str, condition: Predicate, target: Predicate, fairness: FairnessSpec = None,
             description: str = "") -> Property:
    """``P ~> Q``: in every fair behaviour, every P state is followed (or accompanied) by a Q state."""
    return Property(name, LEADS_TO, condition, target, fairness=_fairness(fairness), description=description)


def always_eventually(name: str, condition: Predicate, fairness: FairnessSpec = None,
                      description: str = "") -> Property:
    """``[]<>P``: in every fair behaviour ``condition`` holds infinitely often."""
    return Property(name, ALWAYS_EVENTUALLY, condition, fairness=_fairness(fairness), description=description)


def fairness_conditions(prop: Property) -> list[Fairness]:
    """The WF/SF conditions of a liveness property."""
    return [f for f in prop.fairness if isinstance(f, Fairness)]


def after_faults_of(prop: Property) -> AfterFaults | None:
    """The property's after-faults assumption, if it states one."""
    for f in prop.fairness:
        if isinstance(f, AfterFaults):
            return f
    return None


def describe_fairness(prop: Property) -> str:
    """The property's fairness assumptions as one line ("no fairness" without any)."""
    return ", ".join(str(f) for f in prop.fairness) or "no fairness"


def liveness(props: Sequence[Property]) -> list[Property]:
    """The liveness properties among ``props``."""
    return [p for p in props if p.kind in LIVENESS_KINDS]
