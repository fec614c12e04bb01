"""Reliable broadcast with Byzantine faults, mirroring bcastByz.tla (tlaplus/Examples).

This is the one-round asynchronous reliable broadcast of Srikanth and Toueg
(Fig. 7 of "Simulating authenticated broadcasts", 1987) as encoded in TLA+ by
Konnov, Tran and Widder. Instead of a broadcaster, each process starts in V1
(it received the INIT message) or V0 (it did not). A correct process sends
ECHO when it is in V1, or when it has ECHOs from at least N - 2T processes; it
accepts when it has ECHOs from at least N - T processes. Byzantine processes
may send their ECHO to anyone at any time.

State (the spec's variables, in the order of ``vars``):

- ``pc``: tuple, ``pc[p - 1]`` in V0 / V1 / SE (sent ECHO) / AC (accepted)
- ``rcvd``: tuple of frozensets, the ECHOs each process has received
- ``sent``: frozenset of the ECHOs sent by correct processes
- ``corr`` / ``faulty``: frozensets of process ids (chosen in the initial
  state, unchanged afterwards)

An ECHO is ``(p, "ECHO")``, as in the spec. Processes are ``1..n``.

``init="any"`` is ``Init`` (bcastByz.cfg); ``init="nobcast"`` is
``InitNoBcast`` (bcastByzNoBcast.cfg), under which the invariant ``Unforg``
is checked. The model counts states exactly as TLC does: N=4, T=1, F=1 with
``Init``: 14,424 distinct, 227,344 generated, depth 7; N=10, T=3, F=2 with
``InitNoBcast`` (the constants of bcastByzNoBcast.cfg): 45 / 90 / 1.

The spec assumes N > 3T; the model accepts N <= 3T so that the checker can
show why the assumption is needed (N=3, T=1, F=1 with ``InitNoBcast``: a
single Byzantine ECHO makes a correct process accept, violating ``Unforg``).

Bug variants (``bug=...``), each a mistake in an implementation of the spec:

- ``forged_echo``: a correct process takes an ECHO of a correct process that
  never sent it (the channel does not authenticate the sender); default
  ``init=nobcast``: breaks TypeOK (rcvd within sent and ByzMsgs) and Unforg.
- ``independent_faulty``: Init picks the faulty processes independently of
  the correct ones, so the two sets may overlap (breaks FCConstraints).

The liveness properties of the spec (CorrLtl, RelayLtl, UnforgLtl) are
temporal; the fair action of ``Spec`` is a correct step that receives only
from correct senders (``receive(..., include_byz=False)`` followed by ``upon``).
"""

from __future__ import annotations

from itertools import chain, combinations, product
from typing import Any, Iterator, NamedTuple

from splitbrain.models.core import Model
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import Property, always, sometimes

ECHO = "ECHO"
PC_VALUES = ("V0", "V1", "SE", "AC")
BUGS = {
    "forged_echo": "a correct process takes an ECHO no correct process sent (default init=nobcast)",
    "independent_faulty": "Init picks Faulty independently of Corr: the sets may overlap",
}


class State(NamedTuple):
    pc: tuple[str, ...]
    rcvd: tuple[frozenset, ...]
    sent: frozenset
    corr: frozenset
    faulty: frozenset


Action = tuple


class BcastByz(Model[State, Action]):
    """bcastByz.tla with constants ``n``, ``t``, ``f``."""

    def __init__(self, n: int = 4, t: int = 1, f: int = 1, init: str | None = None, bug: str = "none") -> None:
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        self.bug = bug
        if init is None:
            init = "nobcast" if bug == "forged_echo" else "any"
        if n < 1:
            raise ValueError("n must be at least 1")
        if not 0 <= f <= t:
            raise ValueError("the spec assumes T >= F >= 0")
        if f > n:
            raise ValueError("f cannot exceed n")
        if init not in ("any", "nobcast"):
            raise ValueError("init must be any or nobcast")
        self.n, self.t, self.f, self.init = n, t, f, init
        self.procs = tuple(range(1, n + 1))  # Proc == 1..N

    # -- Init / InitNoBcast ---------------------------------------------------
    def init_states(self) -> Iterator[State]:
        starts = ("V0",) if self.init == "nobcast" else ("V0", "V1")
        no_rcvd = (frozenset(),) * self.n
        for pc in product(starts, repeat=self.n):
            # N - F processes are correct, but their identities are unknown.
            for corr in combinations(self.procs, self.n - self.f):
                corr_set = frozenset(corr)
                if self.bug == "independent_faulty":  # (the bug: Faulty is not Proc \ Corr)
                    for faulty in combinations(self.procs, self.f):
                        yield State(pc, no_rcvd, frozenset(), corr_set, frozenset(faulty))
                    continue
                yield State(pc, no_rcvd, frozenset(), corr_set, frozenset(self.procs) - corr_set)

    # -- Next -------------------------------------------------------------------
    def successors(self, state: State) -> Iterator[tuple[Action, State]]:
        for p in sorted(state.corr):
            yield from self.step(state, p)
        # UNCHANGED vars: the self-loop for terminating computations.
        yield ("Unchanged",), state

    def step(self, state: State, p: int, include_byz: bool = True) -> Iterator[tuple[Action, State]]:
        """Step(p): p receives some ECHOs, then takes one of the Upon rules."""
        if state.pc[p - 1] == "AC":
            return  # no Upon rule is enabled after accepting, whatever p receives
        for new, rcvd_p in self.receive(state, p, include_byz):
            rcvd = state.rcvd[:p - 1] + (rcvd_p,) + state.rcvd[p:]
            for rule, pc_p, sent in self.upon(state, p, rcvd_p):
                pc = state.pc[:p - 1] + (pc_p,) + state.pc[p:]
                yield (rule, p, new), State(pc, rcvd, sent, state.corr, state.faulty)

    def receive(self, state: State, p: int, include_byz: bool) -> Iterator[tuple[tuple[int, ...], frozenset]]:
        """Receive(p, includeByz): each subset of the sent (and Byzantine) ECHOs, with p's new rcvd."""
        pool = set(state.sent)
        if self.bug == "forged_echo":  # (the bug: any correct process's ECHO, sent or not)
            pool |= {(q, ECHO) for q in state.corr}
        if include_byz:
            pool |= self.byz_msgs(state)
        senders = sorted(q for q, _ in pool)
        for new in chain.from_iterable(combinations(senders, k) for k in range(len(senders) + 1)):
            yield new, state.rcvd[p - 1] | {(q, ECHO) for q in new}

    def upon(self, state: State, p: int, rcvd_p: frozenset) -> Iterator[tuple[str, str, frozenset]]:
        """The Upon rules enabled for p with ``rcvd_p`` received: (rule, p's new pc, new sent)."""
        n, t = self.n, self.t
        pc_p = state.pc[p - 1]
        count = len(rcvd_p)
        echo = state.sent | {(p, ECHO)}
        # UponV1: p received INIT, so it sends ECHO to all.
        if pc_p == "V1":
            yield "UponV1", "SE", echo
        if pc_p in ("V0", "V1"):
            # UponNonFaulty: ECHOs from N - 2T processes (but fewer than N - T): p sends ECHO.
            if n - 2 * t <= count < n - t:
                yield "UponNonFaulty", "SE", echo
            # UponAcceptNotSentBefore: ECHOs from N - T processes: p accepts and sends ECHO.
            if count >= n - t:
                yield "UponAcceptNotSentBefore", "AC", echo
        # UponAcceptSentBefore: p has sent ECHO and has ECHOs from N - T processes: p accepts.
        if pc_p == "SE" and count >= n - t:
            yield "UponAcceptSentBefore", "AC", state.sent

    def byz_msgs(self, state: State) -> frozenset:
        """ByzMsgs == Faulty \\X {"ECHO"}: the ECHOs Byzantine processes can send."""
        return frozenset((q, ECHO) for q in state.faulty)

    def params(self) -> dict[str, Any]:
        """The parameters, with ``init`` resolved (its default depends on the bug)."""
        return {**super().params(), "init": self.init}

    # -- properties -------------------------------------------------------------
    def properties(self) -> list[Property]:
        props = [
            always("TypeOK", self.type_ok, "every variable has its type (bcastByz.TypeOK)"),
            always("FCConstraints", self.fc_constraints,
                   "Corr and Faulty partition Proc with at most T faulty (bcastByz.FCConstraints)"),
        ]
        if self.init == "nobcast":
            props.append(always("Unforg", unforg,
                                "no correct process accepts when none was broadcast to (bcastByz.Unforg)"))
        else:
            props.append(sometimes("CorrectAccepts", lambda s: any(s.pc[p - 1] == "AC" for p in s.corr),
                                   "some correct process accepts"))
        return props

    def type_ok(self, s: State) -> bool:
        """TypeOK: pc values, sent within Proc \\X M, rcvd[i] within sent \\cup ByzMsgs."""
        procs = frozenset(self.procs)
        allowed = s.sent | self.byz_msgs(s)
        return (
            all(v in PC_VALUES for v in s.pc)
            and s.corr <= procs and s.faulty <= procs
            and all(q in procs and m == ECHO for q, m in s.sent)
            and all(r <= allowed for r in s.rcvd)
        )

    def fc_constraints(self, s: State) -> bool:
        """FCConstraints: Corr and Faulty partition Proc; |Corr| >= N - T, |Faulty| <= T."""
        procs = frozenset(self.procs)
        return (
            s.corr | s.faulty == procs and s.faulty == procs - s.corr
            and len(s.corr) >= self.n - self.t and len(s.faulty) <= self.t
        )

    # -- presentation -------------------------------------------------------------
    def render(self, state: State) -> dict[str, Any]:
        return {
            "Corr": sorted(state.corr),
            "Faulty": sorted(state.faulty),
            "pc": {f"p{p}": state.pc[p - 1] for p in self.procs},
            "rcvd": {f"p{p}": sorted(q for q, _ in state.rcvd[p - 1]) for p in self.procs},
            "sent": sorted(q for q, _ in state.sent),
        }

    def describe(self, state: State, action: Action, next_state: State) -> str:
        if action[0] == "Unchanged":
            return "nothing changes (stuttering step)"
        rule, p, new = action
        got = ", ".join(f"p{q}" + (" (Byzantine)" if q in state.faulty else "") for q in new)
        received = f"p{p} receives ECHO from {got}" if new else f"p{p} receives nothing new"
        count = len(next_state.rcvd[p - 1])
        what = {
            "UponV1": "having received INIT, it sends ECHO",
            "UponNonFaulty": f"with {count} ECHOs (>= N-2T = {self.n - 2 * self.t}) it sends ECHO",
            "UponAcceptNotSentBefore": f"with {count} ECHOs (>= N-T = {self.n - self.t}) it sends ECHO and accepts",
            "UponAcceptSentBefore": f"with {count} ECHOs (>= N-T = {self.n - self.t}) it accepts",
        }[rule]
        return f"{received}; {what} ({state.pc[p - 1]} -> {next_state.pc[p - 1]})"


def unforg(s: State) -> bool:
    """Unforg: no correct process has accepted."""
    return all(s.pc[p - 1] != "AC" for p in s.corr)


SPEC = ModelSpec(
    name="bcastbyz",
    summary="Byzantine reliable broadcast of Srikanth and Toueg (bcastByz.tla from tlaplus/Examples)",
    factory=BcastByz,
    params=(
        Param("n", int, 4, "number of processes N"),
        Param("t", int, 1, "the assumed bound T on faulty processes (the spec assumes N > 3T)"),
        Param("f", int, 1, "number of faulty (Byzantine) processes F, F <= T"),
        Param("init", str, None, "any: Init (bcastByz.cfg); nobcast: InitNoBcast, checks Unforg "
              "(default: any; nobcast for bug=forged_echo)", choices=("any", "nobcast")),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
    ),
    bugs=dict(BUGS),
    breaks={"forged_echo": ("TypeOK", "Unforg"), "independent_faulty": ("FCConstraints",)},
)
