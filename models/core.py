"""The core abstraction: a model is a transition system.

A model gives its initial states, the actions enabled in a state, and the
state each action leads to. States are immutable and hashable (tuples,
frozensets, NamedTuples, frozen dataclasses); actions are small tuples of
strings, numbers and nested tuples, so that a trace can record them as JSON and
replay them.

Subclass :class:`Model` and define ``init_states``, ``actions``,
``next_state`` and ``properties``. A model may instead override
``successors`` (action and next state together) when that is cheaper; the
checker only calls ``successors``.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, Callable, Generic, Hashable, Iterable, Iterator, Sequence, TypeVar

from splitbrain.properties.kinds import Property

S = TypeVar("S")
A = TypeVar("A")


class Model(ABC, Generic[S, A]):
    """Base class for every model the checker explores.

    Class attribute ``allow_deadlock``: when True, a state with no enabled
    action is a normal end of a behaviour, not an error.
    """

    name: str = "model"  # a subclass that names none is called by its class name
    allow_deadlock: bool = False
    _name_from_class = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            cls._name_from_class = False
        elif cls._name_from_class:
            cls.name = cls.__name__

    # -- what every model defines ------------------------------------------
    @abstractmethod
    def init_states(self) -> Iterable[S]:
        """The initial states."""

    def actions(self, state: S) -> Iterable[A]:
        """The actions enabled in ``state``; each yields one successor."""
        return [a for a, _ in self.successors(state)]

    def next_state(self, state: S, action: A) -> S | None:
        """The state ``action`` leads to from ``state`` (None: no change)."""
        for a, nxt in self.successors(state):
            if a == action:
                return nxt
        raise ValueError(f"action {format_action(action)} is not enabled")

    def properties(self) -> Sequence[Property]:
        """What must hold (safety), be reachable (witnesses), or happen (liveness)."""
        return ()

    # -- optional -----------------------------------------------------------
    def successors(self, state: S) -> Iterator[tuple[A, S]]:
        """Each enabled action with the state it leads to.

        A model defines either this or both ``actions`` and ``next_state``.
        """
        if type(self).actions is Model.actions:
            raise TypeError(f"{type(self).__name__} defines neither successors() nor actions()/next_state()")
        for action in self.actions(state):
            nxt = self.next_state(state, action)
            yield action, (state if nxt is None else nxt)

    def within_boundary(self, state: S) -> bool:
        """The state constraint: states outside it are not explored further."""
        return True

    def canonical(self, state: S) -> S:
        """A representative of ``state``'s symmetry class (identity: no symmetry)."""
        return state

    has_symmetry: bool = False

    def action_class(self, action: A) -> str:
        """The class of ``action`` that coverage counts (default: its first element, as text)."""
        if isinstance(action, tuple):
            return str(action[0]) if action else "()"
        return str(action)

    def action_classes(self) -> Sequence[str] | None:
        """Every action class this model can take (None: not declared).

        A declared class that a search never takes is reported as a warning,
        and fails a ``--strict`` run.
        """
        return None

    def metrics(self) -> dict[str, Callable[[list[S], list[A]], float]]:
        """Per-walk measures ``simulate --metric`` can report: name -> f(states, actions) -> number.

        ``states`` are the walk's states in order (the initial one first),
        ``actions`` the steps between them. Default: none.
        """
        return {}

    def abstract(self, state: S) -> Hashable:
        """A coarse, hashable summary of ``state`` that guides the swarm engine (default: none).

        States with the same summary count as alike: the guided search prefers
        steps to summaries it has not met yet, and begins walks at states
        whose summary it has met least. A model overrides this with what
        distinguishes its interesting situations (roles, terms, log lengths
        ...); without it the engine steers by the states themselves.
        """
        return None

    def render(self, state: S) -> Any:
        """A short, JSON-serialisable rendering of ``state`` for traces."""
        return repr(state)

    def describe(self, state: S, action: A, next_state: S) -> str:
        """One line saying what ``action`` did, in protocol terms."""
        return format_action(action)

    def params(self) -> dict[str, Any]:
        """The parameters this model was built with (recorded in traces): its constructor's arguments.

        A model may set ``self._params`` to record something else.
        """
        if hasattr(self, "_params"):
            return dict(self._params)
        return dict(getattr(self, "_init_args", {}))

    def __new__(cls, *args: Any, **kwargs: Any) -> "Model":
        # Record the constructor's arguments (defaults filled in) for params().
        self = super().__new__(cls)
        try:
            bound = inspect.signature(cls.__init__).bind(self, *args, **kwargs)
        except TypeError:  # __init__ will raise the same error
            return self
        bound.apply_defaults()
        recorded: dict[str, Any] = {}
        for name, p in list(bound.signature.parameters.items())[1:]:
            if p.kind == p.VAR_KEYWORD:
                recorded.update(bound.arguments.get(name, {}))
            elif p.kind != p.VAR_POSITIONAL and name in bound.arguments:
                recorded[name] = bound.arguments[name]
        self._init_args = recorded
        return self


def replace_at(t: tuple, i: int, value: Any) -> tuple:
    """``t`` with item ``i`` replaced by ``value`` (TLA+'s ``[t EXCEPT ![i] = value]``)."""
    return t[:i] + (value,) + t[i + 1:]


def format_action(action: Any) -> str:
    """``("deliver", 1, 2, ("vote", 3))`` as ``deliver(1, 2, (vote, 3))``."""
    if isinstance(action, tuple) and action and isinstance(action[0], str):
        return f"{action[0]}({', '.join(_fmt(a) for a in action[1:])})"
    return _fmt(action)


def _fmt(x: Any) -> str:
    if isinstance(x, tuple):
        return "(" + ", ".join(_fmt(a) for a in x) + ")"
    if isinstance(x, (frozenset, set)):
        return "{" + ", ".join(sorted(_fmt(a) for a in x)) + "}"
    return str(x)
