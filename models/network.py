"""Message semantics of an actor model: what "in flight" means.

A message in flight is an envelope ``(src, dst, msg)``. A :class:`Network`
says how envelopes are kept and which may be delivered next; it keeps no state
of its own (the in-flight messages are part of the model's state, as an
immutable, hashable value the network owns):

- ``unordered``: a multiset. Any message may be delivered next, each copy
  once. Kept as a frozenset of ``(envelope, copy_number)`` pairs, so equal
  multisets are equal values whatever the order of sends.
- ``duplicating``: a set. Any message may be delivered next, any number of
  times (delivery does not remove it).
- ``fifo``: one queue per channel ``(src, dst)``; only the oldest message of
  a channel may be delivered. Kept as a frozenset of ``((src, dst), queue)``.

Faults on messages (switched on by the fault configuration, see
``splitbrain.models.faults``): ``drop`` removes one copy, ``duplicate`` adds one (in a
FIFO channel, right behind the original, so duplication never reorders),
``reorder`` (FIFO only) moves a message to the front of its channel. In a FIFO
channel holding equal messages, these act on the oldest of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Hashable, Iterable, Iterator

Envelope = tuple[str, str, Hashable]  # (src, dst, msg)

NETWORKS = ("unordered", "duplicating", "fifo")


class Network(ABC):
    """The operations an actor model needs on the messages in flight (each kind defines them)."""

    kind = "network"

    def empty(self) -> Any:
        """No message in flight."""
        return frozenset()

    @abstractmethod
    def send(self, net: Any, envelopes: Iterable[Envelope]) -> Any:
        """``net`` with ``envelopes`` added, in order."""

    @abstractmethod
    def deliverable(self, net: Any) -> Iterable[Envelope]:
        """The distinct envelopes that may be delivered next, in ``in_order``'s order."""

    @abstractmethod
    def delivered(self, net: Any, env: Envelope) -> Any:
        """``net`` after delivering one copy of ``env``."""

    @abstractmethod
    def messages(self, net: Any) -> Iterator[Envelope]:
        """Every envelope in flight, once per copy."""

    @abstractmethod
    def distinct(self, net: Any) -> Iterable[Envelope]:
        """Every distinct envelope in flight (what ``drop`` and ``duplicate`` may pick), in ``in_order``'s order."""

    @abstractmethod
    def count(self, net: Any) -> int:
        """How many messages are in flight (copies counted)."""

    @abstractmethod
    def drop(self, net: Any, env: Envelope) -> Any:
        """``net`` without one copy of ``env`` (a lost message)."""

    @abstractmethod
    def duplicate(self, net: Any, env: Envelope) -> Any:
        """``net`` with one more copy of ``env``."""

    @abstractmethod
    def keep(self, net: Any, pred: Callable[[Envelope], bool]) -> Any:
        """``net`` with only the envelopes satisfying ``pred``."""

    def reorderable(self, net: Any) -> Iterable[Envelope]:
        """The envelopes a ``reorder`` step may move to the front (FIFO only)."""
        return ()

    def reorder(self, net: Any, env: Envelope) -> Any:
        """``net`` with ``env`` moved to the front of its channel (FIFO only)."""
        raise ValueError(f"a {self.kind} network does not reorder")


def in_order(envelopes: list[Envelope]) -> list[Envelope]:
    """``envelopes`` sorted in place by their text, so that a state's successors come in the same order
    in every process (a frozenset's iteration order depends on string hashing, so on ``PYTHONHASHSEED``,
    and on how the set was built): a search then finds the same counterexample on every run."""
    if len(envelopes) > 1:
        envelopes.sort(key=_text)
    return envelopes


_TEXTS: dict[Envelope, str] = {}


def _text(env: Envelope) -> str:
    """``repr(env)``, remembered (the same messages travel in many states)."""
    text = _TEXTS.get(env)
    if text is None:
        if len(_TEXTS) >= 1 << 16:
            _TEXTS.clear()
        text = _TEXTS[env] = repr(env)
    return text


class Unordered(Network):
    """A multiset of envelopes: each copy is delivered once, in any order."""

    kind = "unordered"

    def send(self, net: frozenset, envelopes: Iterable[Envelope]) -> frozenset:
        added: list[tuple[Envelope, int]] = []
        for env in envelopes:
            k = 1
            while (env, k) in net or (env, k) in added:
                k += 1
            added.append((env, k))
        return net.union(added)

    def deliverable(self, net: frozenset) -> list[Envelope]:
        return in_order([env for env, k in net if k == 1])

    distinct = deliverable

    def delivered(self, net: frozenset, env: Envelope) -> frozenset:
        k = 1
        while (env, k + 1) in net:
            k += 1
        return net - {(env, k)}

    drop = delivered

    def messages(self, net: frozenset) -> Iterator[Envelope]:
        return (env for env, _ in net)

    def count(self, net: frozenset) -> int:
        return len(net)

    def duplicate(self, net: frozenset, env: Envelope) -> frozenset:
        return self.send(net, (env,))

    def keep(self, net: frozenset, pred: Callable[[Envelope], bool]) -> frozenset:
        counts: dict[Envelope, int] = {}
        for env, _ in net:
            if pred(env):
                counts[env] = counts.get(env, 0) + 1
        return frozenset((env, k) for env, n in counts.items() for k in range(1, n + 1))


class Duplicating(Network):
    """A set of envelopes: once sent, a message may be delivered any number of times."""

    kind = "duplicating"

    def send(self, net: frozenset, envelopes: Iterable[Envelope]) -> frozenset:
        return net.union(envelopes)

    def deliverable(self, net: frozenset) -> list[Envelope]:
        return in_order(list(net))

    distinct = messages = deliverable

    def delivered(self, net: frozenset, env: Envelope) -> frozenset:
        return net

    def count(self, net: frozenset) -> int:
        return len(net)

    def drop(self, net: frozenset, env: Envelope) -> frozenset:
        return net - {env}

    def duplicate(self, net: frozenset, env: Envelope) -> frozenset:
        raise ValueError("a duplicating network duplicates already: the dup fault does not apply")

    def keep(self, net: frozenset, pred: Callable[[Envelope], bool]) -> frozenset:
        return frozenset(env for env in net if pred(env))


class Fifo(Network):
    """One queue per channel (src, dst); each channel delivers in send order."""

    kind = "fifo"

    def send(self, net: frozenset, envelopes: Iterable[Envelope]) -> frozenset:
        queues = dict(net)
        for src, dst, msg in envelopes:
            queues[(src, dst)] = queues.get((src, dst), ()) + (msg,)
        return frozenset(queues.items())

    def deliverable(self, net: frozenset) -> list[Envelope]:
        return in_order([(src, dst, q[0]) for (src, dst), q in net])

    def delivered(self, net: frozenset, env: Envelope) -> frozenset:
        src, dst, _ = env
        return self._replace(net, (src, dst), lambda q: q[1:])

    def messages(self, net: frozenset) -> Iterator[Envelope]:
        return ((src, dst, m) for (src, dst), q in net for m in q)

    def distinct(self, net: frozenset) -> list[Envelope]:
        return in_order(list(self._distinct(net, 0)))

    def count(self, net: frozenset) -> int:
        return sum(len(q) for _, q in net)

    def drop(self, net: frozenset, env: Envelope) -> frozenset:
        src, dst, msg = env

        def without(q: tuple) -> tuple:
            i = q.index(msg)
            return q[:i] + q[i + 1:]
        return self._replace(net, (src, dst), without)

    def duplicate(self, net: frozenset, env: Envelope) -> frozenset:
        src, dst, msg = env

        def twice(q: tuple) -> tuple:
            i = q.index(msg)
            return q[: i + 1] + (msg,) + q[i + 1:]
        return self._replace(net, (src, dst), twice)

    def reorderable(self, net: frozenset) -> list[Envelope]:
        return in_order(list(self._distinct(net, 1)))

    @staticmethod
    def _distinct(net: frozenset, start: int) -> Iterator[Envelope]:
        """Each channel's distinct messages from position ``start`` on (not counting those before it again)."""
        for (src, dst), q in net:
            seen = list(q[:start])
            for m in q[start:]:
                if m not in seen:
                    seen.append(m)
                    yield (src, dst, m)

    def reorder(self, net: frozenset, env: Envelope) -> frozenset:
        src, dst, msg = env

        def to_front(q: tuple) -> tuple:
            i = q.index(msg)
            return (msg,) + q[:i] + q[i + 1:]
        return self._replace(net, (src, dst), to_front)

    def keep(self, net: frozenset, pred: Callable[[Envelope], bool]) -> frozenset:
        out = []
        for (src, dst), q in net:
            kept = tuple(m for m in q if pred((src, dst, m)))
            if kept:
                out.append(((src, dst), kept))
        return frozenset(out)

    @staticmethod
    def _replace(net: frozenset, channel: tuple[str, str], change: Callable[[tuple], tuple]) -> frozenset:
        for ch, q in net:
            if ch == channel:
                new = change(q)
                rest = net - {(ch, q)}
                return rest | {(ch, new)} if new else rest
        raise ValueError(f"no message in flight on channel {channel[0]} -> {channel[1]}")


def make_network(kind: "str | Network") -> Network:
    """The network called ``kind`` (unordered, duplicating or fifo), or ``kind`` itself."""
    if isinstance(kind, Network):
        return kind
    table = {"unordered": Unordered, "duplicating": Duplicating, "fifo": Fifo}
    if kind not in table:
        raise ValueError(f"unknown network {kind!r} (known: {', '.join(NETWORKS)})")
    return table[kind]()
