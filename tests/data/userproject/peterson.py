"""Peterson's mutual exclusion for two processes (G. L. Peterson, 1981), a user's model.

Process i: flag[i] := true; turn := j; await (not flag[j] or turn = i);
critical section; flag[i] := false. A state is (pc, flag, turn) with pc and
flag one entry per process.
"""

from __future__ import annotations

from splitbrain import Model, always, sometimes
from models.user import PROCESSES, other

IDLE, WANT, WAIT, CS = "idle", "want", "wait", "cs"


class Peterson(Model):
    """Peterson's two-process mutual exclusion."""

    bugs = {"turn_to_self": "a process gives the turn to itself, so both may enter"}

    def __init__(self, bug: str = "none"):
        self.bug = bug

    def init_states(self):
        return [((IDLE, IDLE), (False, False), 0)]

    def successors(self, state):
        pc, flag, turn = state
        for i in PROCESSES:
            j = other(i)
            if pc[i] == IDLE:  # flag[i] := true
                yield ("set_flag", i), (_set(pc, i, WANT), _set(flag, i, True), turn)
            elif pc[i] == WANT:  # turn := j
                yield ("give_turn", i), (_set(pc, i, WAIT), flag, i if self.bug == "turn_to_self" else j)
            elif pc[i] == WAIT and (not flag[j] or turn == i):  # await, then enter
                yield ("enter", i), (_set(pc, i, CS), flag, turn)
            elif pc[i] == CS:  # flag[i] := false
                yield ("leave", i), (_set(pc, i, IDLE), _set(flag, i, False), turn)

    def properties(self):
        return [
            always("MutualExclusion", lambda s: s[0] != (CS, CS),
                   "at most one process is in its critical section"),
            sometimes("Entered", lambda s: CS in s[0]),
        ]

    def render(self, state):
        pc, flag, turn = state
        return {"pc": list(pc), "flag": list(flag), "turn": turn}


class BuggyPeterson(Peterson):
    """Peterson's algorithm with the turn given to oneself: mutual exclusion fails."""

    def __init__(self, bug: str = "turn_to_self"):
        super().__init__(bug)


def _set(t: tuple, i: int, value) -> tuple:
    return t[:i] + (value,) + t[i + 1:]
