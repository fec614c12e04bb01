"""Two-phase commit consistency (TwoPhase.tla) for any number of resource managers.

The protocol is TwoPhase.tla from tlaplus/Examples (transaction_commit), in
its own vocabulary: ``rmState[rm]``, ``tmState``, ``tmPrepared`` and the set
``msgs`` of every message ever sent, split into ``msgPrepared(rm)`` and the
two broadcasts ``msgCommit`` and ``msgAbort``.

The goal is TCommit's ``TCConsistent``: no RM has committed while another has
aborted. It is not inductive by itself (an RM may receive a Commit that
coexists with an Abort in a state no run reaches); the strengthening below
ties each RM's state, the TM's state and the messages together.
"""

from __future__ import annotations

from typing import Any

import z3

from splitbrain.properties.proofs.language import Protocol, StateView, assign, insert

RM_STATES = ("working", "prepared", "committed", "aborted")
TM_STATES = ("init", "committed", "aborted")


def build() -> Protocol:
    """TwoPhase.tla with its inductive invariant."""
    p = Protocol("twophase", "Two-phase commit consistency (TwoPhase.tla) for any number of resource managers")
    RM = p.sort("rm", prefix="r")
    RS = p.enum_sort("RMState", RM_STATES)
    TS = p.enum_sort("TMState", TM_STATES)

    p.function("rmState", [RM], RS, doc="rmState[rm]: working, prepared, committed or aborted")
    p.function("tmState", [], TS, doc="the TM's state: init, committed or aborted")
    p.relation("tmPrepared", RM, doc="the TM has received Prepared from rm")
    p.relation("msgPrepared", RM, doc="Prepared(rm) has been sent")
    p.relation("msgCommit", doc="Commit has been broadcast")
    p.relation("msgAbort", doc="Abort has been broadcast")

    r = RM.var("r")
    p.init(lambda s: z3.And(
        z3.ForAll([r], s.rmState(r) == RS["working"]),
        s.tmState == TS["init"],
        z3.ForAll([r], z3.Not(s.tmPrepared(r))),
        z3.ForAll([r], z3.Not(s.msgPrepared(r))),
        z3.Not(s.msgCommit),
        z3.Not(s.msgAbort),
    ))

    def tm_rcv_prepared(s: Any, t: Any, rm: z3.ExprRef) -> z3.BoolRef:
        return z3.And(s.tmState == TS["init"], s.msgPrepared(rm), insert(s, t, "tmPrepared", rm))

    def tm_commit(s: Any, t: Any) -> z3.BoolRef:
        return z3.And(
            s.tmState == TS["init"],
            z3.ForAll([r], s.tmPrepared(r)),
            t.tmState == TS["committed"],
            t.msgCommit,
        )

    def tm_abort(s: Any, t: Any) -> z3.BoolRef:
        return z3.And(s.tmState == TS["init"], t.tmState == TS["aborted"], t.msgAbort)

    def rm_prepare(s: Any, t: Any, rm: z3.ExprRef) -> z3.BoolRef:
        return z3.And(
            s.rmState(rm) == RS["working"],
            assign(s, t, "rmState", [rm], RS["prepared"]),
            insert(s, t, "msgPrepared", rm),
        )

    def rm_choose_to_abort(s: Any, t: Any, rm: z3.ExprRef) -> z3.BoolRef:
        return z3.And(s.rmState(rm) == RS["working"], assign(s, t, "rmState", [rm], RS["aborted"]))

    def rm_rcv_commit(s: Any, t: Any, rm: z3.ExprRef) -> z3.BoolRef:
        return z3.And(s.msgCommit, assign(s, t, "rmState", [rm], RS["committed"]))

    def rm_rcv_abort(s: Any, t: Any, rm: z3.ExprRef) -> z3.BoolRef:
        return z3.And(s.msgAbort, assign(s, t, "rmState", [rm], RS["aborted"]))

    p.action("TMRcvPrepared", {"rm": RM}, tm_rcv_prepared, modifies=["tmPrepared"],
             doc="the TM records rm's Prepared message")
    p.action("TMCommit", {}, tm_commit, modifies=["tmState", "msgCommit"],
             doc="every RM has prepared: the TM commits and broadcasts Commit")
    p.action("TMAbort", {}, tm_abort, modifies=["tmState", "msgAbort"],
             doc="the TM aborts and broadcasts Abort")
    p.action("RMPrepare", {"rm": RM}, rm_prepare, modifies=["rmState", "msgPrepared"],
             doc="a working rm prepares and sends Prepared")
    p.action("RMChooseToAbort", {"rm": RM}, rm_choose_to_abort, modifies=["rmState"],
             doc="a working rm aborts on its own")
    p.action("RMRcvCommitMsg", {"rm": RM}, rm_rcv_commit, modifies=["rmState"],
             doc="rm receives Commit and commits")
    p.action("RMRcvAbortMsg", {"rm": RM}, rm_rcv_abort, modifies=["rmState"],
             doc="rm receives Abort and aborts")

    p.conjunct(
        "DecisionsFromTM", {},
        lambda s: z3.And(
            z3.Implies(s.msgCommit, s.tmState == TS["committed"]),
            z3.Implies(s.msgAbort, s.tmState == TS["aborted"]),
        ),
        doc="a broadcast decision is the TM's state: so Commit and Abort are never both sent, "
        "and the TM, having decided, decides nothing else",
    )
    p.conjunct(
        "TMPreparedWasSent", {"rm": RM},
        lambda s, rm: z3.Implies(s.tmPrepared(rm), s.msgPrepared(rm)),
        doc="the TM records only Prepared messages that were sent",
    )
    p.conjunct(
        "PreparedLeftWorking", {"rm": RM},
        lambda s, rm: z3.Implies(s.msgPrepared(rm), s.rmState(rm) != RS["working"]),
        doc="an RM that sent Prepared is no longer working (so it cannot abort on its own)",
    )
    p.conjunct(
        "CommitNeedsAllPrepared", {"rm": RM},
        lambda s, rm: z3.Implies(s.msgCommit, s.msgPrepared(rm)),
        doc="Commit is broadcast only after every RM sent Prepared",
    )
    p.conjunct(
        "CommittedHasCommit", {"rm": RM},
        lambda s, rm: z3.Implies(s.rmState(rm) == RS["committed"], s.msgCommit),
        doc="an RM commits only on the TM's Commit",
    )
    p.conjunct(
        "AbortedHasReason", {"rm": RM},
        lambda s, rm: z3.Implies(
            s.rmState(rm) == RS["aborted"], z3.Or(s.msgAbort, z3.Not(s.msgPrepared(rm)))
        ),
        doc="an aborted RM either received Abort or aborted on its own before preparing",
    )
    p.goal(
        "TCConsistent", {"aborted_rm": RM, "committed_rm": RM},
        lambda s, aborted_rm, committed_rm: z3.Not(
            z3.And(s.rmState(aborted_rm) == RS["aborted"], s.rmState(committed_rm) == RS["committed"])
        ),
        doc="no RM has committed while another has aborted (TCommit's TCConsistent)",
    )
    p.renderer = render
    return p


def render(view: StateView) -> list[str]:
    """A TwoPhase state as TwoPhase.tla's variables."""
    rm = next(srt for srt in view.protocol.sorts if srt.name == "rm")
    rms = view.elements(rm)
    msgs = [f"Prepared({r})" for r in rms if view.holds("msgPrepared", r)]
    msgs += ["Commit"] * view.holds("msgCommit") + ["Abort"] * view.holds("msgAbort")
    return [f"rmState[{r}] = {view.value('rmState', r)}" for r in rms] + [
        f"tmState = {view.value('tmState')}",
        f"tmPrepared = {{{', '.join(r for r in rms if view.holds('tmPrepared', r))}}}",
        f"msgs = {{{', '.join(msgs)}}}",
    ]
