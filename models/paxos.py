"""Single-decree Paxos, mirroring Paxos.tla (and MCPaxos) from tlaplus/Examples.

There are no explicit leaders or learners: any ballot's leader may start it
(Phase1a) and propose a value once a quorum has promised (Phase2a); acceptors
promise (Phase1b) and vote (Phase2b). As in the TLA+ spec, ``msgs`` is the set
of every message ever sent, so receiving a message is enabled by its presence.

State (a plain tuple, the spec's variables in order):

- ``maxBal``: tuple, ``maxBal[a]`` the highest ballot acceptor ``a`` promised (-1: none)
- ``maxVBal``: tuple, ``maxVBal[a]`` the ballot of ``a``'s latest vote (-1: none)
- ``maxVal``: tuple, ``maxVal[a]`` the value of that vote (None: none)
- ``msgs``: frozenset of messages, each a small tuple:
  ``("1a", bal)``, ``("1b", acc, bal, mbal, mval)``, ``("2a", bal, val)``,
  ``("2b", acc, bal, val)``

Acceptors are the indices ``0..acceptors-1`` inside states (named ``a1..aN``
in actions and renderings), values are ``"v1".."vN"``, ballots ``0..max_ballot``,
quorums are the majorities of the acceptors.

Counts equal TLC's on the same spec: MCPaxos (1 acceptor, 1 value, ballots
0..1) has 25 distinct states, 82 generated, depth 9; 3 acceptors, 2 values,
ballots 0..2 has 185,369 distinct, 1,361,380 generated, depth 25. To count
generated states as TLC does, Phase2a(b, v) yields one successor per witness
of its existentials: per quorum Q whose 1b messages allow v, and, when some of
them report votes, per 1b message carrying the highest-ballot vote (TLC
enumerates every existential and disjunction of an action, primed or not).

Bug variants (``bug=...``), each breaking agreement:

- ``ignore_highest_vote``: Phase2a proposes any value once a quorum has
  promised, ignoring the highest-ballot vote the promises report.
- ``minority_quorum``: any single acceptor is a quorum, so quorums need not
  intersect (for proposing and for deciding that a value is chosen).
- ``vote_below_promise``: an acceptor votes for a phase 2a message even when
  its ballot is below the acceptor's promise (the promise itself is kept).
- ``promise_not_kept``: Phase1b sends the promise but does not record it in
  ``maxBal`` (breaks Msg1bInv).
- ``vote_at_promise``: Phase2b records the vote under the ballot the acceptor
  had promised before, not the ballot it voted in (breaks MaxVoteInv).
- ``two_proposals``: Phase2a does not check that ballot b has no 2a message
  yet, so a leader proposes two values in one ballot (breaks Msg2aUnique and
  OneValuePerBallot).

The spec's inductive invariant ``Inv`` is stated conjunct by conjunct, for the
correct algorithm and for every bug variant (each conjunct is broken by some
variant; ``SPEC.breaks`` lists which).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, Callable, Iterator, NamedTuple

from splitbrain.models.core import Model, replace_at
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import WF, Property, always, eventually, sometimes

State = tuple[tuple[int, ...], tuple[int, ...], tuple[Any, ...], frozenset]
Action = tuple


class _Verdicts(NamedTuple):
    """The properties' verdicts on one state."""

    chosen: set                  # Voting.chosen
    consistency: bool            # at most one value chosen
    value_chosen: bool           # some value chosen
    max_vote: bool = True        # Inv!2
    msg_1b: bool = True          # Inv!3, 1b messages
    msg_2a_safe: bool = True     # Inv!3, 2a messages shown safe
    msg_2a_unique: bool = True   # Inv!3, one 2a message per ballot
    votes_safe: bool = True      # Voting.VotesSafe
    one_value_per_ballot: bool = True  # Voting.OneValuePerBallot


LIVENESS = ("off", "fair", "unfair")  # the liveness parameter's values

BUGS = {
    "ignore_highest_vote": "Phase2a ignores the highest-ballot vote reported in phase 1b",
    "minority_quorum": "any single acceptor is a quorum (quorums need not intersect)",
    "vote_below_promise": "an acceptor votes in a ballot below its promise",
    "promise_not_kept": "Phase1b sends a promise without recording it in maxBal",
    "vote_at_promise": "Phase2b records the vote under the acceptor's previous promise, not its ballot",
    "two_proposals": "Phase2a may send a second 2a message (another value) in the same ballot",
}


class Paxos(Model[State, Action]):
    """Paxos.tla with majority quorums, optionally with one bug."""

    def __init__(self, acceptors: int = 3, values: int = 2, max_ballot: int = 2, bug: str = "none",
                 liveness: str = "off") -> None:
        if liveness not in LIVENESS:
            raise ValueError(f"liveness must be one of {', '.join(LIVENESS)}")
        self.liveness = liveness
        if not 1 <= acceptors <= 10 or values < 1 or max_ballot < 0:
            raise ValueError("need 1 <= acceptors <= 10, values >= 1 and max_ballot >= 0")
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        self.bug = bug
        self.n = acceptors
        self.acceptor_names = tuple(f"a{i + 1}" for i in range(acceptors))
        self.values = tuple(f"v{i + 1}" for i in range(values))
        self.ballots = tuple(range(max_ballot + 1))
        if bug == "minority_quorum":
            self.quorums = tuple((a,) for a in range(acceptors))
        else:
            size = acceptors // 2 + 1
            self.quorums = tuple(combinations(range(acceptors), size))
        self.quorum_names = tuple(tuple(self.acceptor_names[a] for a in q) for q in self.quorums)
        # Every message is built once here and shared by all states, which makes
        # comparing two states' msgs cheap (equal messages are the same object).
        acc, bals, vals = range(acceptors), self.ballots, self.values
        self.msg_1a = {b: ("1a", b) for b in bals}
        self.phase1a = tuple((b, self.msg_1a[b], ("Phase1a", b)) for b in bals)
        self.msg_1b = {
            (a, b, mbal, mval): ("1b", a, b, mbal, mval)
            for a in acc for b in bals for mbal in (-1, *bals) for mval in (None, *vals)
        }
        self.msg_2a = {(b, v): ("2a", b, v) for b in bals for v in vals}
        # phase2b[m][a]: acceptor a's Phase2b action on 2a message m, and its 2b message
        self.phase2b = {
            m: tuple((("Phase2b", self.acceptor_names[a], m[1], m[2]), ("2b", a, m[1], m[2])) for a in acc)
            for m in self.msg_2a.values()
        }
        self.quorum_masks = tuple(sum(1 << a for a in q) for q in self.quorums)
        # has_quorum[mask]: the acceptors in bit mask ``mask`` include a quorum
        self.has_quorum = tuple(
            any(q & mask == q for q in self.quorum_masks) for mask in range(1 << acceptors)
        )
        self._promised: dict[tuple, list[int]] = {}  # maxBal -> per ballot b, the acceptors with maxBal >= b

    # -- Init -------------------------------------------------------------------
    def init_states(self) -> list[State]:
        n = self.n
        return [((-1,) * n, (-1,) * n, (None,) * n, frozenset())]

    # -- Next -------------------------------------------------------------------
    def successors(self, state: State) -> Iterator[tuple[Action, State]]:
        maxBal, maxVBal, maxVal, msgs = state

        # One pass over msgs, sorting them by type.
        started = []     # ballots of the 1a messages
        reports = []     # the 1b messages
        promised = [0] * len(self.ballots)  # per ballot, the acceptors that sent a 1b (bit mask)
        proposals = []   # the 2a messages
        proposed = set()  # their ballots
        for m in msgs:
            t = m[0]
            if t == "1b":
                reports.append(m)
                promised[m[2]] |= 1 << m[1]
            elif t == "2a":
                proposals.append(m)
                proposed.add(m[1])
            elif t == "1a":
                started.append(m[1])

        msg_2a = self.msg_2a
        for b, m, phase1a in self.phase1a:
            # Phase1a(b): the leader of ballot b starts it by sending a 1a message.
            yield phase1a, (state if m in msgs else (maxBal, maxVBal, maxVal, msgs | {m}))

            # Phase2a(b, v): no 2a sent yet for b, and some quorum Q's 1b messages for
            # b show v safe: v is the value of their highest-ballot vote, or any value
            # if none of them has voted. As in TLC, each witness (the quorum Q and the
            # 1b message carrying the highest vote) is an action instance of its own.
            if (b in proposed and self.bug != "two_proposals") or not self.has_quorum[promised[b]]:
                continue
            replies = {r[1]: (r[3], r[4]) for r in reports if r[2] == b}
            for v, quorum, via in self._phase2a_witnesses(replies):
                yield ("Phase2a", b, v, quorum, via), (maxBal, maxVBal, maxVal, msgs | {msg_2a[b, v]})

        # Phase1b(a): on a 1a message above its promise, acceptor a promises that
        # ballot and reports its latest vote.
        msg_1b = self.msg_1b
        for b in started:
            for a, name in enumerate(self.acceptor_names):
                if b > maxBal[a]:
                    nxt_msgs = msgs | {msg_1b[a, b, maxVBal[a], maxVal[a]]}
                    if self.bug == "promise_not_kept":  # (the bug: the promise is not recorded)
                        yield ("Phase1b", name, b), (maxBal, maxVBal, maxVal, nxt_msgs)
                    else:
                        yield ("Phase1b", name, b), (replace_at(maxBal, a, b), maxVBal, maxVal, nxt_msgs)

        # Phase2b(a): on a 2a message at or above its promise, acceptor a votes for
        # its value.
        below_promise = self.bug == "vote_below_promise"
        for m in proposals:
            _, b, v = m
            for a, (phase2b, vote) in enumerate(self.phase2b[m]):
                promise = maxBal[a]
                if b > promise:
                    nxt_bal = replace_at(maxBal, a, b)
                elif b == promise or below_promise:
                    nxt_bal = maxBal  # (the bug: votes below its promise, keeping the promise)
                else:
                    continue
                # (the bug vote_at_promise: the vote is recorded under the old promise)
                vbal = promise if self.bug == "vote_at_promise" else b
                if nxt_bal is maxBal and maxVBal[a] == vbal and maxVal[a] == v and vote in msgs:
                    yield phase2b, state  # votes again: nothing changes
                else:
                    yield phase2b, (
                        nxt_bal, replace_at(maxVBal, a, vbal), replace_at(maxVal, a, v), msgs | {vote},
                    )

    def _phase2a_witnesses(self, replies: dict[int, tuple[int, Any]]) -> list[tuple[str, tuple, Any]]:
        """Each ``(v, Q, via)`` for which Phase2a(b, v) holds, given the 1b ``replies``
        for ballot b (acceptor -> (mbal, mval)).

        ``Q`` is the quorum (acceptor names) whose 1b messages are used; ``via``
        names the acceptor whose reported vote has the highest ballot and value
        ``v``, or is None when no acceptor in Q has voted (any ``v`` is safe).
        """
        found = []
        ignore_votes = self.bug == "ignore_highest_vote"
        names = self.acceptor_names
        for q, qnames in zip(self.quorums, self.quorum_names):
            top = -1
            for a in q:
                reply = replies.get(a)
                if reply is None:
                    break
                if reply[0] > top:
                    top = reply[0]
            else:
                if top == -1 or ignore_votes:
                    found.extend((v, qnames, None) for v in self.values)
                else:
                    found.extend(
                        (replies[a][1], qnames, names[a]) for a in q if replies[a][0] == top
                    )
        return found

    # -- properties ---------------------------------------------------------------
    def properties(self) -> list[Property]:
        verdict = self._verdict_reader()
        agreement = [
            always("Consistency", verdict("consistency"),
                   "at most one value is chosen (Voting.chosen has at most one element)"),
            sometimes("ValueChosen", verdict("value_chosen"),
                      "some value is chosen in some behaviour"),
        ]
        return agreement + [
            always("MaxVoteInv", verdict("max_vote"),
                   "Inv!2: <<maxVBal[a], maxVal[a]>> is a vote of a, or <<-1, None>>"),
            always("Msg1bInv", verdict("msg_1b"),
                   "Inv!3, 1b part: the sender promised the ballot and really cast the vote it reports"),
            always("Msg2aSafe", verdict("msg_2a_safe"),
                   "Inv!3, 2a part: some quorum shows the proposed value safe at its ballot"),
            always("Msg2aUnique", verdict("msg_2a_unique"),
                   "Inv!3, 2a part: at most one 2a message per ballot"),
            always("VotesSafe", verdict("votes_safe"),
                   "Inv!4 (Voting.VotesSafe): every vote is for a value safe at its ballot"),
            always("OneValuePerBallot", verdict("one_value_per_ballot"),
                   "Inv!4 (Voting.OneValuePerBallot): no two votes in one ballot differ"),
        ] + self.liveness_properties()

    def _verdict_reader(self) -> Callable[[str], Callable[[State], bool]]:
        """``reader(field)``: a predicate reading ``field`` of :meth:`_check`'s verdicts.

        The checker asks every property about one state before the next state,
        so the predicates share the verdicts of the last state they were asked about.
        """
        last: list[Any] = [None, None]  # the last state judged, its verdicts
        check = self._check

        def reader(field: str) -> Callable[[State], bool]:
            index = _Verdicts._fields.index(field)

            def holds(state: State) -> bool:
                if state is not last[0]:
                    last[0], last[1] = state, check(state)
                return last[1][index]

            return holds

        return reader

    def liveness_properties(self) -> list[Property]:
        """MCLiveness from MCPaxos.tla, ``<>(chosen # {})``, per the ``liveness`` parameter.

        "fair": under MCLSpec's fairness, which holds: weak fairness of
        Phase1a(max ballot), of Phase2a(max ballot, v) for each v, and of
        Phase1b(a) \\/ Phase2b(a) for each acceptor a of one majority (the first
        ones: {a1, a2} of three, as in MCLSpec). "unfair": the same without
        fairness, which fails with a lasso. "off": not stated.
        """
        if self.liveness == "off":
            return []
        fairness = []
        if self.liveness == "fair":
            top = self.ballots[-1]
            fair_acceptors = self.acceptor_names[: self.n // 2 + 1]
            fairness = [
                WF(f"Phase1a({top})", lambda a: a[0] == "Phase1a" and a[1] == top),
                WF(f"Phase2a({top}, v)", lambda a: a[0] == "Phase2a" and a[1] == top, per=lambda a: a[2]),
                WF(f"Phase1b(a) \\/ Phase2b(a), a in {{{', '.join(fair_acceptors)}}}",
                   lambda a: a[0] in ("Phase1b", "Phase2b") and a[1] in fair_acceptors, per=lambda a: a[1]),
            ]
        quorums = self.quorum_masks

        def some_value_chosen(state: State) -> bool:
            # Voting.chosen # {}, without the invariants that _check computes alongside
            voters: dict[tuple, int] = {}
            for m in state[3]:
                if m[0] == "2b":
                    voters[m[2], m[3]] = voters.get((m[2], m[3]), 0) | 1 << m[1]
            return any(mask & q == q for mask in voters.values() for q in quorums)

        return [eventually("MCLiveness", some_value_chosen, fairness,
                           "a value is eventually chosen (MCPaxos.MCLiveness)")]

    def chosen(self, state: State) -> set:
        """Voting.chosen: the values every acceptor of some quorum voted for in one ballot."""
        return self._check(state).chosen

    def _check(self, state: State) -> _Verdicts:
        """Every property's verdict on ``state``, computed in one pass over msgs.

        Sets of acceptors are bit masks here; ``self.has_quorum[mask]`` says
        whether ``mask`` contains a quorum.
        """
        maxBal, maxVBal, maxVal, msgs = state
        has_quorum = self.has_quorum
        voters: dict[tuple, int] = {}   # (b, v) -> the acceptors that voted v in b (2b messages)
        voted_in: dict[int, int] = {}   # b -> the acceptors that voted in b
        reports = []                    # the 1b messages
        proposals = []                  # the 2a messages
        for m in msgs:
            t = m[0]
            if t == "2b":
                key = m[2:]
                bit = 1 << m[1]
                voters[key] = voters.get(key, 0) | bit
                voted_in[m[2]] = voted_in.get(m[2], 0) | bit
            elif t == "1b":
                reports.append(m)
            elif t == "2a":
                proposals.append(m)
        chosen = set()
        for (b, v), mask in voters.items():
            if has_quorum[mask]:
                chosen.add(v)
        # promised[b]: the acceptors with maxBal >= b
        promised = self._promised.get(maxBal)
        if promised is None:
            promised = self._promised[maxBal] = [
                sum(1 << a for a in range(self.n) if maxBal[a] >= b) for b in range(len(self.ballots) + 1)
            ]

        # Inv!2: <<maxVBal[a], maxVal[a]>> is <<-1, None>> or one of a's votes.
        max_vote = True
        for a in range(self.n):
            if maxVBal[a] == -1:
                if maxVal[a] is not None:
                    max_vote = False
                    break
            elif not voters.get((maxVBal[a], maxVal[a]), 0) >> a & 1:
                max_vote = False
                break
        # Inv!3 for 1b messages: the sender promised the ballot and cast the vote it reports.
        msg_1b = True
        for _, a, b, mbal, mval in reports:
            if maxBal[a] < b or (mbal >= 0 and not voters.get((mbal, mval), 0) >> a & 1):
                msg_1b = False
                break
        # Inv!3 for 2a messages: one per ballot, each shown safe by some quorum Q:
        # all of Q promised b, and for some c in -1..b-1, c = -1 or some a in Q
        # voted v at c, while no a in Q voted in a ballot strictly between c and b.
        msg_2a_unique = len(proposals) <= 1 or len(set(m[1] for m in proposals)) == len(proposals)
        msg_2a_safe = True
        for _, b, v in proposals:
            shown = False
            for q in self.quorum_masks:
                if q & promised[b] != q:
                    continue
                for c in range(b - 1, -2, -1):  # c = b-1 down to -1
                    if c == -1 or voters.get((c, v), 0) & q:
                        shown = True
                        break
                    if voted_in.get(c, 0) & q:  # Q voted at c but not v: no smaller c works
                        break
                if shown:
                    break
            if not shown:
                msg_2a_safe = False
                break
        # VotesSafe: each vote <<b, v>> is safe: at each c < b some quorum's
        # acceptors each voted v at c, or promised above c without voting at c.
        votes_safe = True
        for b, v in voters:
            for c in range(b):
                if not has_quorum[voters.get((c, v), 0) | (promised[c + 1] & ~voted_in.get(c, 0))]:
                    votes_safe = False
                    break
            if not votes_safe:
                break
        # OneValuePerBallot: no two votes in one ballot differ.
        one_value = len(voted_in) == len(voters)

        return _Verdicts(chosen, len(chosen) <= 1, len(chosen) > 0,
                         max_vote, msg_1b, msg_2a_safe, msg_2a_unique, votes_safe, one_value)

    # -- presentation ---------------------------------------------------------------
    def render(self, state: State) -> dict[str, Any]:
        maxBal, maxVBal, maxVal, msgs = state
        names = self.acceptor_names
        return {
            "maxBal": {names[a]: maxBal[a] for a in range(self.n)},
            "maxVBal": {names[a]: maxVBal[a] for a in range(self.n)},
            "maxVal": {names[a]: maxVal[a] for a in range(self.n)},
            "msgs": sorted(self.msg_text(m) for m in msgs),
        }

    def msg_text(self, m: tuple) -> str:
        """A message as short text, e.g. ``1b(a2, bal=1, mbal=0, mval=v1)``."""
        names = self.acceptor_names
        t = m[0]
        if t == "1a":
            return f"1a(bal={m[1]})"
        if t == "1b":
            return f"1b({names[m[1]]}, bal={m[2]}, mbal={m[3]}, mval={m[4]})"
        if t == "2a":
            return f"2a(bal={m[1]}, val={m[2]})"
        return f"2b({names[m[1]]}, bal={m[2]}, val={m[3]})"

    def describe(self, state: State, action: Action, next_state: State) -> str:
        kind = action[0]
        if kind == "Phase1a":
            return f"leader starts ballot {action[1]} (sends 1a)"
        if kind == "Phase2a":
            _, b, v, quorum, via = action
            why = (f"the highest vote they report, from {via}" if via is not None
                   else "none of them has voted" if self.bug != "ignore_highest_vote"
                   else "ignoring the votes they report")
            return f"leader of ballot {b} proposes {v} (sends 2a): 1b from {{{', '.join(quorum)}}}, {why}"
        name = action[1]
        a = self.acceptor_names.index(name)
        if kind == "Phase1b":
            return (f"acceptor {name} promises ballot {action[2]} (maxBal {state[0][a]} -> "
                    f"{next_state[0][a]}), reporting vote ({state[1][a]}, {state[2][a]})")
        text = f"acceptor {name} votes {action[3]} in ballot {action[2]}"
        if action[2] < state[0][a]:
            text += f" below its promise {state[0][a]}"
        return text + f" (maxVBal {state[1][a]} -> {next_state[1][a]})"



SPEC = ModelSpec(
    name="paxos",
    summary="Single-decree Paxos (Paxos.tla from tlaplus/Examples), majority quorums",
    factory=Paxos,
    params=(
        Param("acceptors", int, 3, "number of acceptors"),
        Param("values", int, 2, "number of values that may be proposed"),
        Param("max_ballot", int, 2, "ballots are 0..max_ballot"),
        Param("bug", str, "none", "inject a known bug", choices=("none", *BUGS)),
        Param("liveness", str, "off", "also judge MCLiveness: under MCLSpec's fairness (fair), without (unfair)",
              choices=LIVENESS),
    ),
    bugs=dict(BUGS),
    breaks={"ignore_highest_vote": ("Consistency", "Msg2aSafe", "VotesSafe"), "minority_quorum": ("Consistency",),
            "vote_below_promise": ("Consistency",), "promise_not_kept": ("Msg1bInv",),
            "vote_at_promise": ("MaxVoteInv",), "two_proposals": ("Msg2aUnique", "OneValuePerBallot")},
)
