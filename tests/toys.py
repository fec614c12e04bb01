"""Tiny models with known state spaces, for testing the checker itself."""

from __future__ import annotations

from splitbrain.models.core import Model
from splitbrain.properties.kinds import always, sometimes


class Counter(Model):
    """A counter 0..n-1: ``inc`` (wrapping unless ``wrap`` is False), ``reset``, optional ``jump`` 0 -> 3.

    With wrap and reset: n distinct states, 1 + 2n generated, depth n.
    """

    name = "counter"

    def __init__(self, n: int = 5, wrap: bool = True, reset: bool = True, jump: bool = False,
                 bad: int = 3, goal: int = 4, allow_deadlock: bool = False):
        self.n, self.wrap, self.reset, self.jump = n, wrap, reset, jump
        self.bad, self.goal = bad, goal
        self.allow_deadlock = allow_deadlock
        self._params = dict(n=n, wrap=wrap, reset=reset, jump=jump, bad=bad, goal=goal,
                            allow_deadlock=allow_deadlock)

    def init_states(self):
        return [0]

    def actions(self, x):
        if self.wrap or x < self.n - 1:
            yield ("inc",)
        if self.reset:
            yield ("reset",)
        if self.jump and x == 0:
            yield ("jump", 3)

    def next_state(self, x, a):
        if a[0] == "inc":
            return (x + 1) % self.n
        if a[0] == "jump":
            return a[1]
        return 0

    def properties(self):
        return [always("NotBad", lambda x: x != self.bad), sometimes("GoalReached", lambda x: x == self.goal)]

    def render(self, x):
        return {"x": x}


class Tokens(Model):
    """k interchangeable tokens, each at a position 0..m-1, moved one step right at a time.

    A state is a tuple of positions; tokens are interchangeable, so the
    canonical form is the sorted tuple (exact: one state per orbit).
    """

    name = "tokens"
    has_symmetry = True
    allow_deadlock = True

    def __init__(self, k: int = 3, m: int = 3, bad_sum: int | None = None):
        self.k, self.m, self.bad_sum = k, m, bad_sum
        self._params = dict(k=k, m=m, bad_sum=bad_sum)

    def init_states(self):
        return [tuple(0 for _ in range(self.k))]

    def successors(self, s):
        for i, p in enumerate(s):
            if p + 1 < self.m:
                yield ("move", i), s[:i] + (p + 1,) + s[i + 1:]

    def canonical(self, s):
        return tuple(sorted(s))

    def properties(self):
        if self.bad_sum is None:
            return []
        return [always("SumSmall", lambda s: sum(s) < self.bad_sum)]

    def orbits(self) -> int:
        """The number of symmetry classes of reachable states (for the tests)."""
        from itertools import combinations_with_replacement

        return len(list(combinations_with_replacement(range(self.m), self.k)))


def reachable(model: Model) -> set:
    """Every reachable state of ``model``, by a plain search independent of the checker."""
    seen = set(model.init_states())
    frontier = list(seen)
    while frontier:
        nxt = []
        for s in frontier:
            for _, t in model.successors(s):
                if t not in seen:
                    seen.add(t)
                    nxt.append(t)
        frontier = nxt
    return seen
