"""Consistency of a model's recorded client history, as an ``always`` property.

A model whose state records what its clients observed (a tuple of
:class:`~splitbrain.properties.consistency.history.Event`, or a
:class:`~splitbrain.properties.consistency.history.History`) can be judged by the same
checkers as a Jepsen history::

    history_property("Linearizable", lambda s: s.events, REGISTER)

When it is checked. Linearizability is judged in every state, on the
history recorded so far (operations still outstanding count as
indeterminate). That is exact, not an approximation: a prefix of a
linearizable history is linearizable, so a behaviour has a linearizable
history in every state exactly when its final history is linearizable; and
the first state whose history is not linearizable is the earliest point of
the violation, so a breadth-first check returns a shortest counterexample.
The session guarantees are prefix-closed too, for histories in which a value
is read only after the write of it was invoked (true of any model that
records an invocation when the client issues it), and are also judged in
every state.

Sequential consistency, causal consistency and eventual convergence are not
prefix-closed (a read may be explained by a write that happens later), so
judging them on a prefix would raise false alarms. They need ``final``: a
predicate saying the behaviour is complete (for example: every client has
finished); they are judged only in the states where it holds, and hold
trivially elsewhere.

Verdicts are cached by history, so states that differ only in, say, messages
in flight share one check. ``prop.condition.verdict(state)`` gives the full
verdict with its explanation.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from splitbrain.properties.consistency import MODELS, check
from splitbrain.properties.consistency.datatypes import DataType, get_datatype
from splitbrain.properties.consistency.history import Event, History, Verdict
from splitbrain.properties.consistency.linearizability import LINEARIZABLE
from splitbrain.properties.consistency.weaker import SESSION_GUARANTEES
from splitbrain.properties.kinds import Property, always

PREFIX_CLOSED = (LINEARIZABLE, *SESSION_GUARANTEES)

HistoryOf = Callable[[Any], "History | Sequence[Event | tuple]"]


class HistoryCheck:
    """The predicate of a history property: True when the state's history is consistent."""

    def __init__(self, history_of: HistoryOf, datatype: DataType, consistency: str,
                 final: Callable[[Any], bool] | None, cache_size: int = 200_000) -> None:
        self.history_of = history_of
        self.datatype = datatype
        self.consistency = consistency
        self.final = final
        self.cache_size = cache_size
        self._cache: dict[Any, bool] = {}
        self.checks = 0  # histories actually checked (cache misses)

    def __call__(self, state: Any) -> bool:
        if self.final is not None and not self.final(state):
            return True
        recorded = self.history_of(state)
        try:
            return self._cache[recorded]
        except KeyError:
            pass
        except TypeError:  # an unhashable history: check it every time
            return self._judge(recorded).ok
        ok = self._judge(recorded).ok
        if len(self._cache) >= self.cache_size:
            self._cache.clear()
        self._cache[recorded] = ok
        return ok

    def verdict(self, state: Any) -> Verdict:
        """The full verdict on ``state``'s history, with its explanation."""
        return self._judge(self.history_of(state))

    def _judge(self, recorded: Any) -> Verdict:
        self.checks += 1
        history = recorded if isinstance(recorded, History) else History.from_events(recorded)
        return check(history, self.datatype, self.consistency)


def history_property(name: str, history_of: HistoryOf, datatype: DataType | str,
                     consistency: str = LINEARIZABLE, final: Callable[[Any], bool] | None = None,
                     description: str = "") -> Property:
    """An ``always`` property: the history ``history_of(state)`` satisfies ``consistency``.

    ``history_of`` returns the state's recorded history, as a History or a
    sequence of Events (cheaper: it is the cache key as it is).
    ``consistency`` is one of ``splitbrain.properties.consistency.MODELS``; the
    non-prefix-closed ones need ``final`` (see the module docstring).
    """
    if isinstance(datatype, str):
        datatype = get_datatype(datatype)
    if consistency not in MODELS:
        raise ValueError(f"unknown consistency model {consistency!r} (known: {', '.join(MODELS)})")
    if consistency not in PREFIX_CLOSED and final is None:
        raise ValueError(f"{consistency} is not prefix-closed: give final=, a predicate saying the "
                         f"behaviour is complete, so that only complete histories are judged")
    when = "in every state" if final is None else "in every final state"
    text = description or f"the recorded client history is {consistency} for {datatype.name} ({when})"
    return always(name, HistoryCheck(history_of, datatype, consistency, final), text)
