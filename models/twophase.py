"""Two-phase commit, mirroring TwoPhase.tla from tlaplus/Examples.

The transaction manager (TM) commits only when every resource manager (RM)
has prepared; it may abort at any time before that. RMs prepare or abort
spontaneously and obey the TM's decision. As in the TLA+ spec, ``msgs`` is
the set of every message ever sent (nothing is lost or removed), so receiving
a message is enabled by its presence.

State (a plain tuple, the spec's variables in order):

- ``rmState``: tuple, ``rmState[rm]`` in working / prepared / committed / aborted
- ``tmState``: init / committed / aborted
- ``tmPrepared``: frozenset of the RMs the TM has received Prepared from
- ``msgs``: frozenset of ``("Prepared", rm)``, ``("Commit",)``, ``("Abort",)``

RMs are the indices ``0..rms-1`` inside states and named ``r1..rN`` in
actions and renderings. The model counts states exactly as TLC counts
TwoPhase.tla: 3 RMs 288 distinct, 1,146 generated, depth 11; 6 RMs 50,816
distinct; 7 RMs 296,448 distinct, 2,744,706 generated, depth 23.

Bug variant (``bug=...``):

- ``commit_on_first_prepared``: the TM commits once any RM has prepared, not
  every RM, so another RM may already have aborted (breaks TCConsistent).

The RMs are interchangeable, and :meth:`TwoPhase.canonical` picks exactly one
state per symmetry class: 80 classes for 3 RMs, 314 for 5 (of 8,832 states).
"""

from __future__ import annotations

from typing import Any, Iterator

from splitbrain.models.core import Model, replace_at
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import WF, Property, always, eventually, sometimes

State = tuple[tuple[str, ...], str, frozenset, frozenset]
Action = tuple

COMMIT_MSG = ("Commit",)
ABORT_MSG = ("Abort",)
LIVENESS = ("off", "fair", "unfair")  # the liveness parameter's values
RM_ACTIONS = ("RMPrepare", "RMChooseToAbort", "RMRcvCommitMsg", "RMRcvAbortMsg")
BUGS = {"commit_on_first_prepared": "the TM commits once any RM has prepared: another RM may have aborted"}


class TwoPhase(Model[State, Action]):
    """TwoPhase.tla with ``rms`` resource managers."""

    has_symmetry = True  # the RMs are interchangeable

    def __init__(self, rms: int = 3, liveness: str = "off", bug: str = "none") -> None:
        if rms < 1:
            raise ValueError("rms must be at least 1")
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        self.bug = bug
        if liveness not in LIVENESS:
            raise ValueError(f"liveness must be one of {', '.join(LIVENESS)}")
        self.rms = rms
        self.liveness = liveness
        self.names = tuple(f"r{i + 1}" for i in range(rms))
        self.all_rms = frozenset(range(rms))
        # Prepared messages built once, so every state shares the same objects.
        self.prepared_msg = tuple(("Prepared", rm) for rm in range(rms))
        # rm_actions[rm]: rm's TMRcvPrepared, RMPrepare, RMChooseToAbort, RMRcvCommitMsg, RMRcvAbortMsg
        self.rm_actions = tuple(
            tuple((kind, name) for kind in ("TMRcvPrepared", "RMPrepare", "RMChooseToAbort",
                                            "RMRcvCommitMsg", "RMRcvAbortMsg"))
            for name in self.names
        )

    # -- TPInit ---------------------------------------------------------------
    def init_states(self) -> list[State]:
        return [(("working",) * self.rms, "init", frozenset(), frozenset())]

    # -- TPNext ---------------------------------------------------------------
    def successors(self, state: State) -> Iterator[tuple[Action, State]]:
        rmState, tmState, tmPrepared, msgs = state

        if tmState == "init":
            # TMCommit: every RM has prepared, so the TM commits and broadcasts Commit.
            if tmPrepared == self.all_rms or (self.bug == "commit_on_first_prepared" and tmPrepared):
                yield ("TMCommit",), (rmState, "committed", tmPrepared, msgs | {COMMIT_MSG})
            # TMAbort: the TM spontaneously aborts and broadcasts Abort.
            yield ("TMAbort",), (rmState, "aborted", tmPrepared, msgs | {ABORT_MSG})

        commit_sent = COMMIT_MSG in msgs
        abort_sent = ABORT_MSG in msgs
        for rm, (rcv_prepared, prepare, choose_to_abort, rcv_commit, rcv_abort) in enumerate(self.rm_actions):
            # TMRcvPrepared(rm): the TM records rm's Prepared message.
            if tmState == "init" and self.prepared_msg[rm] in msgs:
                yield rcv_prepared, (state if rm in tmPrepared else (rmState, tmState, tmPrepared | {rm}, msgs))
            mine = rmState[rm]
            if mine == "working":
                # RMPrepare(rm): rm prepares and tells the TM.
                yield prepare, (
                    replace_at(rmState, rm, "prepared"), tmState, tmPrepared, msgs | {self.prepared_msg[rm]}
                )
                # RMChooseToAbort(rm): rm spontaneously aborts (sending nothing).
                yield choose_to_abort, (replace_at(rmState, rm, "aborted"), tmState, tmPrepared, msgs)
            # RMRcvCommitMsg(rm): rm obeys the TM's Commit.
            if commit_sent:
                yield rcv_commit, (
                    state if mine == "committed" else (replace_at(rmState, rm, "committed"), tmState, tmPrepared, msgs)
                )
            # RMRcvAbortMsg(rm): rm obeys the TM's Abort.
            if abort_sent:
                yield rcv_abort, (
                    state if mine == "aborted" else (replace_at(rmState, rm, "aborted"), tmState, tmPrepared, msgs)
                )

    # -- properties -----------------------------------------------------------
    def properties(self) -> list[Property]:
        return [
            always("TCConsistent", tc_consistent,
                   "no RM has committed while another has aborted (TCommit.TCConsistent)"),
            sometimes("AllCommitted", lambda s: all(x == "committed" for x in s[0]),
                      "every RM commits in some behaviour"),
        ] + self.liveness_properties()

    def liveness_properties(self) -> list[Property]:
        """EveryRMDecides (<>: every RM has committed or aborted), per the ``liveness`` parameter.

        "fair": under weak fairness of the TM's steps and of each RM's steps
        (it holds); "unfair": without fairness (an RM may wait forever while
        another re-receives the decision: a lasso); "off": not stated.
        """
        if self.liveness == "off":
            return []
        fairness = [WF("TM", ("TMCommit", "TMAbort", "TMRcvPrepared")),
                    WF("RM", RM_ACTIONS, per=lambda a: a[1])] if self.liveness == "fair" else []
        return [eventually("EveryRMDecides", lambda s: all(x in ("committed", "aborted") for x in s[0]),
                           fairness, "every RM eventually commits or aborts")]

    # -- symmetry ---------------------------------------------------------------
    def canonical(self, state: State) -> State:
        """The orbit's representative: RMs renumbered in sorted order of their profiles.

        An RM appears in a state only through its profile (rmState, in
        tmPrepared, Prepared sent), so two states are symmetric exactly when
        they agree on everything else and on the multiset of profiles; sorting
        the profiles therefore picks one state per orbit.
        """
        rmState, tmState, tmPrepared, msgs = state
        prepared_msg = self.prepared_msg
        profiles = sorted(
            (rmState[rm], rm in tmPrepared, prepared_msg[rm] in msgs) for rm in range(self.rms)
        )
        new_msgs = {m for m in msgs if m[0] != "Prepared"}
        new_prepared = set()
        for rm, (_, in_tm, sent) in enumerate(profiles):
            if in_tm:
                new_prepared.add(rm)
            if sent:
                new_msgs.add(prepared_msg[rm])
        return (tuple(p[0] for p in profiles), tmState, frozenset(new_prepared), frozenset(new_msgs))

    # -- presentation -----------------------------------------------------------
    def render(self, state: State) -> dict[str, Any]:
        rmState, tmState, tmPrepared, msgs = state
        return {
            "rmState": {self.names[rm]: rmState[rm] for rm in range(self.rms)},
            "tmState": tmState,
            "tmPrepared": sorted(self.names[rm] for rm in tmPrepared),
            "msgs": sorted(self._msg_text(m) for m in msgs),
        }

    def describe(self, state: State, action: Action, next_state: State) -> str:
        kind = action[0]
        if kind == "TMCommit":
            return "TM commits: every RM has prepared; broadcasts Commit"
        if kind == "TMAbort":
            return "TM aborts; broadcasts Abort"
        rm = action[1]
        before = state[0][self.names.index(rm)]
        after = next_state[0][self.names.index(rm)]
        text = {
            "TMRcvPrepared": f"TM receives Prepared from {rm}",
            "RMPrepare": f"{rm} prepares and sends Prepared to the TM",
            "RMChooseToAbort": f"{rm} spontaneously aborts",
            "RMRcvCommitMsg": f"{rm} receives Commit",
            "RMRcvAbortMsg": f"{rm} receives Abort",
        }.get(kind, kind)
        if before != after:
            text += f" ({before} -> {after})"
        return text

    def _msg_text(self, m: tuple) -> str:
        return f"Prepared({self.names[m[1]]})" if m[0] == "Prepared" else m[0]


def tc_consistent(state: State) -> bool:
    """No RM has committed while another has aborted."""
    rmState = state[0]
    return not ("committed" in rmState and "aborted" in rmState)



SPEC = ModelSpec(
    name="twophase",
    summary="Two-phase commit (TwoPhase.tla from tlaplus/Examples)",
    factory=TwoPhase,
    params=(Param("rms", int, 3, "number of resource managers"),
            Param("liveness", str, "off", "also judge EveryRMDecides: under fairness (fair), without (unfair)",
                  choices=LIVENESS),
            Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS))),
    bugs=dict(BUGS),
    breaks={"commit_on_first_prepared": ("TCConsistent",)},
)
