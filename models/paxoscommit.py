"""Paxos Commit, mirroring PaxosCommit.tla from tlaplus/Examples.

Each resource manager's (RM's) prepared/aborted decision is agreed on by its
own instance of Paxos among the acceptors. An RM starts its instance by sending
a ballot-0 phase 2a message with its own decision; a leader may run a higher
ballot for an instance (phase 1a / 2a) when it times out. The leader announces
Commit once every instance has chosen "prepared", and Abort once any instance
has chosen "aborted". As in the TLA+ spec, ``msgs`` is the set of every
message ever sent, so receiving a message is enabled by its presence.

State (a plain tuple, the spec's variables in order):

- ``rmState``: tuple, ``rmState[rm]`` in working / prepared / committed / aborted
- ``aState``: tuple of ``(mbal, bal, val)`` records, flattened: the spec's
  ``aState[ins][acc]`` (acceptor ``acc``'s state in the Paxos instance of RM
  ``ins``) is ``aState[ins * acceptors + acc]``, cheaper to copy and hash than
  nested tuples
- ``msgs``: frozenset of messages, each a small tuple:
  ``("phase1a", ins, bal)``, ``("phase1b", ins, mbal, bal, val, acc)``,
  ``("phase2a", ins, bal, val)``, ``("phase2b", acc, ins, bal, val)``,
  ``("Commit",)``, ``("Abort",)``

RMs and acceptors are indices inside states (named ``r1..`` and ``a1..`` in
actions and renderings); ballots are ``0..max_ballot``; ``Majority`` is the
set of all sets of ``acceptors // 2 + 1`` acceptors, as in the shipped
configuration. With 2 RMs, 3 acceptors and ballots {0, 1} the counts equal
TLC's: 1,321,761 distinct states, 16,959,159 generated, depth 28.

Counting like TLC: TLC gives every witness of an existential in an action its
own successor, even where nothing primed depends on it, and unfolds a
universal quantifier into a conjunction. So Phase2a(bal, rm) yields one
successor per majority whose phase 1b messages it can use, and Decide yields
one Abort per (rm, ballot, majority) that decided "aborted" and one Commit per
combination of the (ballot, majority) witnesses of all RMs' "prepared".

Bug variant (``bug=...``):

- ``commit_on_first_prepared``: the leader announces Commit once some
  instance has chosen "prepared", skipping the instances not yet decided
  (breaks TCConsistent and DecisionConsistent).
"""

from __future__ import annotations

from itertools import combinations, product
from typing import Any, Iterator

from splitbrain.models.core import Model
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import Property, always, sometimes

State = tuple[tuple[str, ...], tuple[tuple[int, int, str], ...], frozenset]
Action = tuple

COMMIT = ("Commit",)
ABORT = ("Abort",)
BUGS = {"commit_on_first_prepared": "Commit is announced once some instance chose prepared, not every one"}


class PaxosCommit(Model[State, Action]):
    """PaxosCommit.tla with ``rms`` RMs, ``acceptors`` acceptors, ballots 0..max_ballot."""

    def __init__(self, rms: int = 2, acceptors: int = 3, max_ballot: int = 1, bug: str = "none") -> None:
        if rms < 1 or not 1 <= acceptors <= 10 or max_ballot < 0:
            raise ValueError("need rms >= 1, 1 <= acceptors <= 10 and max_ballot >= 0")
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        self.bug = bug
        self.rms, self.n = rms, acceptors
        self.rm_names = tuple(f"r{i + 1}" for i in range(rms))
        self.acceptor_names = tuple(f"a{i + 1}" for i in range(acceptors))
        self.ballots = tuple(range(max_ballot + 1))
        self.majorities = tuple(combinations(range(acceptors), acceptors // 2 + 1))
        self.majority_names = tuple(tuple(self.acceptor_names[a] for a in ms) for ms in self.majorities)
        majority_masks = [sum(1 << a for a in ms) for ms in self.majorities]
        # majorities_in[mask]: the majorities (as names) inside the acceptor set ``mask``
        self.majorities_in = tuple(
            tuple(names for names, ms in zip(self.majority_names, majority_masks) if ms & mask == ms)
            for mask in range(1 << acceptors)
        )
        # Every message is built once here and shared by all states, which makes
        # comparing two states' msgs cheap (equal messages are the same object).
        rm_range, acc_range, bals = range(rms), range(acceptors), self.ballots
        self.msg_1a = {(ins, b): ("phase1a", ins, b) for ins in rm_range for b in bals}
        self.msg_1b = {
            (ins, mbal, bal, val, acc): ("phase1b", ins, mbal, bal, val, acc)
            for ins in rm_range for mbal in bals for bal in (-1, *bals)
            for val in ("prepared", "aborted", "none") for acc in acc_range
        }
        self.msg_2a = {
            (ins, b, val): ("phase2a", ins, b, val)
            for ins in rm_range for b in bals for val in ("prepared", "aborted")
        }
        # The actions, built once: RM actions per rm; Phase1a per (rm, bal) with its
        # message and the two phase 2a messages that would end the ballot; per
        # phase 2a message, each acceptor's Phase2b action and vote.
        self.rm_actions = tuple(
            (("RMPrepare", n), ("RMChooseToAbort", n), ("RMRcvCommitMsg", n), ("RMRcvAbortMsg", n))
            for n in self.rm_names
        )
        self.phase1a = tuple(
            (rm, b, self.msg_1a[rm, b], ("Phase1a", b, self.rm_names[rm]),
             (self.msg_2a[rm, b, "prepared"], self.msg_2a[rm, b, "aborted"]))
            for b in self.ballots[1:] for rm in rm_range
        )
        # prepared_keys[rm]: the keys (rm, bal, "prepared") of Decided(rm, "prepared")
        self.prepared_keys = tuple(tuple((rm, b, "prepared") for b in self.ballots) for rm in rm_range)
        self.phase2b = {
            m: tuple(
                (("Phase2b", self.acceptor_names[acc], self.rm_names[m[1]], m[2], m[3]),
                 ("phase2b", acc, m[1], m[2], m[3]))
                for acc in acc_range
            )
            for m in self.msg_2a.values()
        }

    # -- PCInit -------------------------------------------------------------------
    def init_states(self) -> list[State]:
        return [(("working",) * self.rms, ((0, -1, "none"),) * (self.rms * self.n), frozenset())]

    # -- PCNext -------------------------------------------------------------------
    def successors(self, state: State) -> Iterator[tuple[Action, State]]:
        rmState, aState, msgs = state
        rm_names = self.rm_names

        # One pass over msgs, sorting them by type.
        started = []     # the phase 1a messages
        promises = []    # the phase 1b messages
        proposals = []   # the phase 2a messages
        accepted = {}    # (ins, bal, val) -> mask of the acceptors whose phase 2b voted so
        for m in msgs:
            t = m[0]
            if t == "phase2b":
                key = m[2:]
                accepted[key] = accepted.get(key, 0) | 1 << m[1]
            elif t == "phase1b":
                promises.append(m)
            elif t == "phase2a":
                proposals.append(m)
            elif t == "phase1a":
                started.append(m)
        commit_sent = COMMIT in msgs
        abort_sent = ABORT in msgs

        # RM actions
        for rm, (prepare, choose_to_abort, rcv_commit, rcv_abort) in enumerate(self.rm_actions):
            if rmState[rm] == "working":
                # RMPrepare(rm): rm prepares, sending a ballot-0 phase 2a "prepared" for its instance.
                yield prepare, (
                    rmState[:rm] + ("prepared",) + rmState[rm + 1:], aState,
                    msgs | {self.msg_2a[rm, 0, "prepared"]},
                )
                # RMChooseToAbort(rm): rm aborts, sending a ballot-0 phase 2a "aborted".
                yield choose_to_abort, (
                    rmState[:rm] + ("aborted",) + rmState[rm + 1:], aState,
                    msgs | {self.msg_2a[rm, 0, "aborted"]},
                )
            # RMRcvCommitMsg(rm): rm obeys the leader's Commit.
            if commit_sent:
                yield rcv_commit, (
                    state if rmState[rm] == "committed"
                    else (rmState[:rm] + ("committed",) + rmState[rm + 1:], aState, msgs)
                )
            # RMRcvAbortMsg(rm): rm obeys the leader's Abort.
            if abort_sent:
                yield rcv_abort, (
                    state if rmState[rm] == "aborted"
                    else (rmState[:rm] + ("aborted",) + rmState[rm + 1:], aState, msgs)
                )

        # Leader actions
        for rm, bal, m, phase1a, proposals_for in self.phase1a:
            # Phase1a(bal, rm): a leader starts ballot bal (> 0) of rm's instance.
            yield phase1a, (state if m in msgs else (rmState, aState, msgs | {m}))
            # Phase2a(bal, rm): no phase 2a sent yet for ballot bal of instance rm,
            # and a majority MS sent phase 1b for it: propose the value of their
            # highest-ballot vote, or "aborted" if none voted. One successor per MS.
            if promises and proposals_for[0] not in msgs and proposals_for[1] not in msgs:
                yield from self._phase2a(state, rm, bal, promises)

        # Decide: announce Commit when every instance chose "prepared", Abort when
        # some instance chose "aborted" (one successor per witness, as TLC counts).
        if accepted:
            majorities_in = self.majorities_in
            # Commit: one successor per combination of the RMs' Decided(rm, "prepared")
            # witnesses (bal, MS), MS a majority that all voted "prepared" at bal.
            witnesses = []
            for keys in self.prepared_keys:
                found = []
                for key in keys:
                    mask = accepted.get(key)
                    if mask:
                        for ms in majorities_in[mask]:
                            found.append((key[1], ms))
                if not found:
                    if self.bug == "commit_on_first_prepared":  # (the bug: skips an undecided instance)
                        continue
                    break
                witnesses.append(found)
            else:
                if witnesses:
                    nxt = state if commit_sent else (rmState, aState, msgs | {COMMIT})
                    for combo in product(*witnesses):
                        yield ("Decide", "Commit", combo), nxt
            # Abort: one successor per (rm, bal, MS) with Decided(rm, "aborted").
            nxt = None
            for (ins, bal, val), mask in accepted.items():
                if val == "aborted":
                    for ms in majorities_in[mask]:
                        if nxt is None:
                            nxt = state if abort_sent else (rmState, aState, msgs | {ABORT})
                        yield ("Decide", "Abort", rm_names[ins], bal, ms), nxt

        # Acceptor actions
        msg_1b = self.msg_1b
        n = self.n
        for m in started:
            _, ins, bal = m
            for acc, name in enumerate(self.acceptor_names):
                # Phase1b(acc): on a phase 1a above its mbal for an instance, acc
                # promises that ballot and reports its latest vote there.
                i = ins * n + acc
                mbal, vbal, val = aState[i]
                if mbal < bal:
                    new = list(aState)
                    new[i] = (bal, vbal, val)
                    yield ("Phase1b", name, rm_names[ins], bal), (
                        rmState, tuple(new), msgs | {msg_1b[ins, bal, vbal, val, acc]}
                    )
        for m in proposals:
            _, ins, bal, val = m
            voted = (bal, bal, val)
            i = ins * n
            for action, vote in self.phase2b[m]:
                # Phase2b(acc): on a phase 2a at or above its mbal, acc votes for its value.
                mine = aState[i]
                if mine[0] <= bal:
                    if mine == voted and vote in msgs:
                        yield action, state  # votes again: nothing changes
                    else:
                        new = list(aState)
                        new[i] = voted
                        yield action, (rmState, tuple(new), msgs | {vote})
                i += 1

    def _phase2a(self, state: State, rm: int, bal: int, promises: list[tuple]) -> Iterator[tuple[Action, State]]:
        """Phase2a(bal, rm)'s instances, one per majority whose phase 1b messages it uses.

        The spec's CHOOSE among the 1b messages reporting the highest ballot needs
        no choice here: they all report the same value, as each instance has one
        phase 2a message per ballot.
        """
        replies = {m[5]: (m[3], m[4]) for m in promises if m[1] == rm and m[2] == bal}
        if not replies:
            return
        rmState, aState, msgs = state
        for ms, ms_names in zip(self.majorities, self.majority_names):
            top, val = -1, "aborted"
            for acc in ms:
                reply = replies.get(acc)
                if reply is None:
                    break
                if reply[0] > top:
                    top, val = reply
            else:
                yield ("Phase2a", bal, self.rm_names[rm], val, ms_names), (
                    rmState, aState, msgs | {self.msg_2a[rm, bal, val]}
                )

    # -- properties ---------------------------------------------------------------
    def properties(self) -> list[Property]:
        return [
            always("TCConsistent", tc_consistent,
                   "no RM has committed while another has aborted (TCommit.TCConsistent)"),
            always("DecisionConsistent", lambda s: not (COMMIT in s[2] and ABORT in s[2]),
                   "the leaders never announce both Commit and Abort"),
            sometimes("AllCommitted", lambda s: all(x == "committed" for x in s[0]),
                      "every RM commits in some behaviour"),
            sometimes("AbortedAfterPrepare", lambda s: "prepared" in s[0] and ABORT in s[2],
                      "an Abort is announced while some RM has prepared"),
        ]

    # -- presentation ---------------------------------------------------------------
    def render(self, state: State) -> dict[str, Any]:
        rmState, aState, msgs = state
        return {
            "rmState": {self.rm_names[rm]: rmState[rm] for rm in range(self.rms)},
            "aState": {
                self.rm_names[ins]: {
                    self.acceptor_names[acc]: "mbal={} bal={} val={}".format(*aState[ins * self.n + acc])
                    for acc in range(self.n)
                }
                for ins in range(self.rms)
            },
            "msgs": sorted(self.msg_text(m) for m in msgs),
        }

    def msg_text(self, m: tuple) -> str:
        """A message as short text, e.g. ``phase2b(a1, r2, bal=0, prepared)``."""
        t, rn, an = m[0], self.rm_names, self.acceptor_names
        if t == "phase1a":
            return f"phase1a({rn[m[1]]}, bal={m[2]})"
        if t == "phase1b":
            return f"phase1b({an[m[5]]}, {rn[m[1]]}, mbal={m[2]}, bal={m[3]}, val={m[4]})"
        if t == "phase2a":
            return f"phase2a({rn[m[1]]}, bal={m[2]}, {m[3]})"
        if t == "phase2b":
            return f"phase2b({an[m[1]]}, {rn[m[2]]}, bal={m[3]}, {m[4]})"
        return t

    def describe(self, state: State, action: Action, next_state: State) -> str:
        kind = action[0]
        if kind in ("RMPrepare", "RMChooseToAbort", "RMRcvCommitMsg", "RMRcvAbortMsg"):
            rm = self.rm_names.index(action[1])
            what = {
                "RMPrepare": "prepares, sending phase 2a ballot 0 prepared",
                "RMChooseToAbort": "aborts, sending phase 2a ballot 0 aborted",
                "RMRcvCommitMsg": "receives Commit",
                "RMRcvAbortMsg": "receives Abort",
            }[kind]
            return f"{action[1]} {what} ({state[0][rm]} -> {next_state[0][rm]})"
        if kind == "Phase1a":
            return f"leader starts ballot {action[1]} of {action[2]}'s instance (phase 1a)"
        if kind == "Phase2a":
            return (f"leader proposes {action[3]} in ballot {action[1]} of {action[2]}'s instance, "
                    f"from the phase 1b messages of {{{', '.join(action[4])}}}")
        if kind == "Decide" and action[1] == "Commit":
            return "leader announces Commit: every instance chose prepared"
        if kind == "Decide":
            return (f"leader announces Abort: {action[2]}'s instance chose aborted in ballot "
                    f"{action[3]} by {{{', '.join(action[4])}}}")
        acc = self.acceptor_names.index(action[1])
        ins = self.rm_names.index(action[2])
        before, after = state[1][ins * self.n + acc], next_state[1][ins * self.n + acc]
        if kind == "Phase1b":
            return (f"acceptor {action[1]} promises ballot {action[3]} of {action[2]}'s instance "
                    f"(mbal {before[0]} -> {after[0]}), reporting vote ({before[1]}, {before[2]})")
        return (f"acceptor {action[1]} votes {action[4]} in ballot {action[3]} of {action[2]}'s "
                f"instance (bal {before[1]} -> {after[1]})")


def tc_consistent(state: State) -> bool:
    """No RM has committed while another has aborted."""
    rmState = state[0]
    return not ("committed" in rmState and "aborted" in rmState)


SPEC = ModelSpec(
    name="paxoscommit",
    summary="Paxos Commit (PaxosCommit.tla from tlaplus/Examples), majorities of acceptors",
    factory=PaxosCommit,
    params=(
        Param("rms", int, 2, "number of resource managers"),
        Param("acceptors", int, 3, "number of acceptors"),
        Param("max_ballot", int, 1, "ballots are 0..max_ballot"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
    ),
    bugs=dict(BUGS),
    breaks={"commit_on_first_prepared": ("TCConsistent", "DecisionConsistent")},
)
