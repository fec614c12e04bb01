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

from abc import ABC, abstractmethod
from typing import Any, Generic, Iterable, Iterator, Sequence, TypeVar

from splitbrain.properties.kinds import Property

S = TypeVar("S")
A = TypeVar("A")


class Model(ABC, Generic[S, A]):
    """Base class for every model the checker explores.

    Class attribute ``allow_deadlock``: when True, a state with no enabled
    action is a normal end of a behaviour, not an error.
    """

    name: str = "model"
    allow_deadlock: bool = False

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

    def render(self, state: S) -> Any:
        """A short, JSON-serialisable rendering of ``state`` for traces."""
        return repr(state)

    def describe(self, state: S, action: A, next_state: S) -> str:
        """One line saying what ``action`` did, in protocol terms."""
        return format_action(action)

    def params(self) -> dict[str, Any]:
        """The parameters this model was built with (recorded in traces)."""
        return dict(getattr(self, "_params", {}))


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
