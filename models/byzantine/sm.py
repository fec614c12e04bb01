"""SM(m), the signed messages algorithm of Lamport, Shostak and Pease (1982).

The commander signs its order and sends it to every lieutenant. A lieutenant
that receives ``v:0:j1:...:jk`` with a value v it has not seen adds v to its
set V and, if k < m, signs and passes on ``v:0:j1:...:jk:i`` to every
lieutenant not already in the chain. When no more messages can come, it obeys
choice(V): the single value in V, or RETREAT.

Signatures are unforgeable: a traitor may send any set of signed messages the
traitors can produce together (they share keys; a loyal node's signature
exists only on what that node really signed, see ``adversary.can_sign``),
including none and conflicting ones, to each lieutenant separately. The
checker picks the traitors (any set of at most m nodes, the commander
included). The algorithm runs in synchronous rounds: in round r every message
carries r + 1 signatures, and the model delivers one (sender, receiver)
batch at a time in a fixed order, so the only branching is the adversary's.
Traitors need not send to each other: they already share what they know.

Unlike OM, SM is not built on the actor layer's Byzantine nodes: their
message universe is fixed before the run, while the messages a traitor can
sign depend on what it has received so far, so the adversary here is the
state-dependent one of ``splitbrain.models.byzantine.adversary``.

State: ``traitors``, the commander's ``order``, ``inbox`` (the set of signed
messages delivered by each batch so far, in schedule order) and ``decided``.
A signed message is ``(value, signers)``. SM(m) satisfies IC1 and IC2 for
any number of generals with at most m traitors: n = 3, m = 1 holds.

Bug variants (``bug=...``):

- ``no_relay``: a loyal lieutenant does not pass on the values it accepts
  (breaks IC1 under a traitor commander).
- ``unchecked_signatures``: lieutenants accept a message without verifying
  its signatures, so a traitor can put words in the loyal commander's mouth
  (breaks IC2).
"""

from __future__ import annotations

from itertools import permutations
from typing import Any, Iterator, NamedTuple

from splitbrain.models.byzantine.adversary import can_sign, subsets, traitor_sets
from splitbrain.models.byzantine.om import RETREAT, VALUES
from splitbrain.models.core import Model
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import Property, always, sometimes

Signed = tuple[str, tuple[int, ...]]  # (value, signers in order)
COMMANDER = 0
BUGS = {
    "no_relay": "a loyal lieutenant does not pass on the values it accepts",
    "unchecked_signatures": "signatures are not verified: a traitor can forge the commander's",
}


class State(NamedTuple):
    traitors: frozenset
    order: str | None  # the loyal commander's order (None for a traitor commander)
    inbox: tuple[frozenset, ...]  # messages delivered by each batch of the schedule so far
    decided: tuple[str | None, ...]  # indexed by node; the commander's entry stays None


Action = tuple


def node_name(node: int) -> str:
    return "C" if node == COMMANDER else f"L{node}"


def ic1(s: State) -> bool:
    """IC1: all loyal lieutenants that have decided obey the same order."""
    return len({v for i, v in enumerate(s.decided) if v is not None and i not in s.traitors}) <= 1


def ic2(s: State) -> bool:
    """IC2: if the commander is loyal, every loyal lieutenant that has decided obeys it."""
    if COMMANDER in s.traitors:
        return True
    return all(v is None or v == s.order for i, v in enumerate(s.decided) if i not in s.traitors)


def choice(values: frozenset) -> str:
    """choice(V): the one value in V, or RETREAT when V is empty or has several."""
    return next(iter(values)) if len(values) == 1 else RETREAT


class SignedMessages(Model[State, Action]):
    """SM(m) with ``n`` nodes (one commander, n - 1 lieutenants), up to m traitors."""

    allow_deadlock = True  # the algorithm ends when every loyal lieutenant has decided

    def __init__(self, n: int = 3, m: int = 1, bug: str = "none") -> None:
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        self.bug = bug
        if n < 2:
            raise ValueError("n must be at least 2 (a commander and a lieutenant)")
        if not 0 <= m <= n - 2:
            raise ValueError("m must be between 0 and n - 2")
        self.n, self.m = n, m
        self.lieutenants = tuple(range(1, n))
        self._schedules: dict[frozenset, list[tuple[int, int, int]]] = {}

    def schedule(self, traitors: frozenset) -> list[tuple[int, int, int]]:
        """The (round, sender, receiver) batches, in order; none between two traitors."""
        if traitors not in self._schedules:
            batches = [(0, COMMANDER, j) for j in self.lieutenants]
            batches += [(r, i, j) for r in range(1, self.m + 1) for i in self.lieutenants
                        for j in self.lieutenants if i != j]
            self._schedules[traitors] = [b for b in batches if not (b[1] in traitors and b[2] in traitors)]
        return self._schedules[traitors]

    # -- initial states: the checker picks the traitors and the order --------
    def init_states(self) -> Iterator[State]:
        for traitors in traitor_sets(range(self.n), self.m):
            for order in (None,) if COMMANDER in traitors else VALUES:
                yield State(traitors, order, (), (None,) * self.n)

    # -- next -------------------------------------------------------------------
    def successors(self, state: State) -> Iterator[tuple[Action, State]]:
        schedule = self.schedule(state.traitors)
        k = len(state.inbox)
        if k < len(schedule):
            r, sender, receiver = schedule[k]
            if sender in state.traitors:
                # Send (traitor): any set of messages the traitors can sign, maybe none.
                options = subsets(self.forgeable(state, r, sender, receiver))
            else:
                # Send (loyal): sign and pass on each value first received in the last round.
                options = [self.relay(state, r, sender, receiver)]
            for batch in options:
                msgs = tuple(sorted(batch))
                yield ("send", r, sender, receiver, msgs), state._replace(inbox=state.inbox + (batch,))
            return
        for i in self.lieutenants:
            if i not in state.traitors and state.decided[i] is None:
                # Decide: a loyal lieutenant obeys choice(V).
                v = choice(self.accepted(state, i))
                decided = state.decided[:i] + (v,) + state.decided[i + 1:]
                yield ("decide", i, v), state._replace(decided=decided)
                return

    def received(self, state: State, node: int, before_round: int | None = None) -> list[tuple[int, Signed]]:
        """(round, message) for each message delivered to ``node`` (in rounds before ``before_round``)."""
        out = []
        for (r, _, receiver), batch in zip(self.schedule(state.traitors), state.inbox):
            if receiver == node and (before_round is None or r < before_round):
                out.extend((r, msg) for msg in batch)
        return out

    def accepted(self, state: State, i: int) -> frozenset:
        """V_i: the values lieutenant i has received in validly signed messages."""
        return frozenset(v for _, (v, _) in self.received(state, i))

    def relay(self, state: State, r: int, sender: int, receiver: int) -> frozenset:
        """What loyal ``sender`` sends in round r: its order (r = 0), or v:chain:sender for each new v."""
        if r == 0:
            return frozenset({(state.order, (COMMANDER,))})
        if self.bug == "no_relay":
            return frozenset()  # (the bug: nothing is passed on)
        got = self.received(state, sender, before_round=r)
        new_last_round = {}
        earlier = {v for rr, (v, _) in got if rr < r - 1}
        for rr, (v, chain) in sorted(got):
            if rr == r - 1 and v not in earlier and v not in new_last_round:
                new_last_round[v] = chain  # the first chain that brought v
        return frozenset((v, chain + (sender,)) for v, chain in new_last_round.items()
                         if receiver not in chain)

    def forgeable(self, state: State, r: int, sender: int, receiver: int) -> set[Signed]:
        """The round-r messages traitor ``sender`` can sign and send to ``receiver``."""
        genuine = set()
        for t in state.traitors:
            genuine.update(msg for _, msg in self.received(state, t, before_round=r))
        out = set()
        for middle in permutations([j for j in self.lieutenants if j not in (sender, receiver)], r - 1 if r else 0):
            chain = (COMMANDER,) + middle + (sender,) if r else (COMMANDER,)
            for v in VALUES:
                # (the bug unchecked_signatures: a receiver takes any signature)
                if self.bug == "unchecked_signatures" or can_sign(v, chain, state.traitors, genuine):
                    out.add((v, chain))
        return out

    # -- properties -------------------------------------------------------------
    def properties(self) -> list[Property]:
        return [
            always("IC1", ic1, "all loyal lieutenants obey the same order"),
            always("IC2", ic2, "if the commander is loyal, every loyal lieutenant obeys its order"),
            sometimes("AllDecided", self.all_decided, "every loyal lieutenant decides"),
        ]

    def all_decided(self, s: State) -> bool:
        return all(s.decided[i] is not None for i in self.lieutenants if i not in s.traitors)

    # -- presentation -------------------------------------------------------------
    def render(self, state: State) -> dict[str, Any]:
        return {
            "traitors": [node_name(t) for t in sorted(state.traitors)],
            "order": state.order,
            "V": {node_name(i): sorted(self.accepted(state, i)) for i in self.lieutenants},
            "decided": {node_name(i): state.decided[i] for i in self.lieutenants if state.decided[i]},
        }

    def describe(self, state: State, action: Action, next_state: State) -> str:
        if action[0] == "decide":
            _, i, v = action
            return f"{node_name(i)} decides {v} (V = {{{', '.join(sorted(self.accepted(state, i)))}}})"
        _, r, sender, receiver, msgs = action
        who = node_name(sender) + (" (traitor)" if sender in state.traitors else "")
        if not msgs:
            return f"{who} sends nothing to {node_name(receiver)} (round {r})"
        shown = ", ".join(f"{v}:{':'.join(node_name(s) for s in chain)}" for v, chain in msgs)
        return f"{who} sends {node_name(receiver)} {shown} (round {r})"


SPEC = ModelSpec(
    name="sm",
    summary="Signed messages SM(m) of Lamport, Shostak and Pease: unforgeable signatures, up to m traitors",
    factory=SignedMessages,
    params=(
        Param("n", int, 3, "number of generals (one commander, n - 1 lieutenants)"),
        Param("m", int, 1, "rounds of relaying, and the most traitors the checker picks"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
    ),
    bugs=dict(BUGS),
    breaks={"no_relay": ("IC1",), "unchecked_signatures": ("IC2",)},
)
