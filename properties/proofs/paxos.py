"""Paxos agreement for any number of acceptors, values and ballots.

The protocol is single-decree Paxos as in Lamport's Paxos.tla (tlaplus/Examples,
specifications/Paxos): the set ``msgs`` of every message ever sent (one
relation per message type here), and each acceptor's ``maxBal``, ``maxVBal``
and ``maxVal``. Ballot -1 is the least ballot and means "none"; real ballots
are 0, 1, 2...

Two changes of representation keep the checks in (or near) the decidable
fragment, EPR, where z3 is a decision procedure, as in Ivy's Paxos proof:

- ``maxBal[a]`` is kept as the relation ``maxBalAbove(a, c)``, true when
  ``maxBal[a] > c``. A *function* from acceptors to ballots, together with
  the invariant's "for every ballot there is an acceptor such that...", lets
  the solver build ever new terms, and it ran out of time.
- ``maxVBal[a]`` and ``maxVal[a]`` are not stored: they are a's highest vote,
  read off its 2b messages (Paxos.tla's invariant says as much). Phase 1b
  takes the reported vote as a parameter and checks that it is the highest.

One guard stays outside EPR: Phase 2a needs a 1b message from *every* member
of its quorum ("for all members there is a message"). The checks of Phase2a
are the slowest for that reason (about a second); the checker's restarts with
other strategies keep them reliable.

The invariant follows the shape of Paxos.tla's ``Inv``: facts about each 1b
message, about each 2a message, and the Voting-level facts (votes are for
proposed values; a proposed value is safe). ``SafeAt`` is stated in the form
Ivy's Paxos proof uses: if v is proposed in ballot b, then for every lower
ballot c and every other value w, every quorum has a member that has moved past
c without voting for w in c -- so w can never be chosen in c.

The goal is ``Agreement``: two chosen values (each voted for by a whole quorum
in some ballot) are equal.

Bug variant ``ignore_highest_vote``: Phase 2a proposes any value once a quorum
has answered, ignoring the votes the quorum reported. The proof then fails
with a CTI at Phase2a.
"""

from __future__ import annotations

from typing import Any

import z3

from splitbrain.properties.proofs.language import Protocol, StateView, define, insert

BUGS = {"ignore_highest_vote": "Phase 2a ignores the votes reported in the 1b messages"}


def build(bug: str = "none") -> Protocol:
    """The Paxos protocol with its inductive invariant (``bug`` breaks Phase 2a)."""
    if bug not in ("none", *BUGS):
        raise ValueError(f"unknown bug {bug!r}")
    p = Protocol("paxos", "Paxos agreement (Paxos.tla) for any number of acceptors, values and ballots")
    A = p.sort("acceptor", prefix="a")
    V = p.sort("value", prefix="v")
    B = p.ordered_sort("ballot", bottom="none", first=-1)
    Q = p.quorum_sort("quorum", A, prefix="Q")
    none = B.bottom
    le, lt, member = B.le, B.lt, Q.member

    # -- state: each acceptor's maxBal, and every message ever sent ---------
    p.relation("maxBalAbove", A, B, doc="maxBal[a] > c: a has promised not to vote in ballot c")
    p.relation("msg1a", B, doc="1a(bal): a leader starts ballot bal")
    p.relation("msg1b", A, B, B, V, doc="1b(acc, bal, mbal, mval): acc joins bal, reporting its last vote")
    p.relation("msg2a", B, V, doc="2a(bal, val): the leader of bal proposes val")
    p.relation("msg2b", A, B, V, doc="2b(acc, bal, val): acc votes for val in bal")

    a, x = A.var("a"), A.var("x")
    b, c = B.var("b"), B.var("c")
    v, w = V.var("v"), V.var("w")

    p.init(lambda s: z3.And(
        z3.ForAll([a, c], z3.Not(s.maxBalAbove(a, c))),  # maxBal = -1
        z3.ForAll([b], z3.Not(s.msg1a(b))),
        z3.ForAll([a, b, c, v], z3.Not(s.msg1b(a, b, c, v))),
        z3.ForAll([b, v], z3.Not(s.msg2a(b, v))),
        z3.ForAll([a, b, v], z3.Not(s.msg2b(a, b, v))),
    ))

    def set_max_bal(s: Any, t: Any, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        """maxBal' = [maxBal EXCEPT ![a] = b], for b >= maxBal[a]."""
        return define(s, t, "maxBalAbove", lambda y, e: z3.Or(s.maxBalAbove(y, e), z3.And(y == a, lt(e, b))))

    # -- actions ------------------------------------------------------------
    def phase1a(s: Any, t: Any, b: z3.ExprRef) -> z3.BoolRef:
        return z3.And(b != none, insert(s, t, "msg1a", b))

    def phase1b(s: Any, t: Any, a: z3.ExprRef, b: z3.ExprRef, mbal: z3.ExprRef, mval: z3.ExprRef) -> z3.BoolRef:
        last_vote = z3.Or(
            z3.And(mbal == none, z3.ForAll([c, w], z3.Not(s.msg2b(a, c, w)))),
            z3.And(
                s.msg2b(a, mbal, mval),
                z3.ForAll([c, w], z3.Implies(s.msg2b(a, c, w), le(c, mbal))),
            ),
        )
        return z3.And(
            s.msg1a(b),
            z3.Exists([c], z3.And(lt(c, b), z3.Not(s.maxBalAbove(a, c)))),  # b > maxBal[a]
            last_vote,  # <<mbal, mval>> = <<maxVBal[a], maxVal[a]>>
            set_max_bal(s, t, a, b),
            insert(s, t, "msg1b", a, b, mbal, mval),
        )

    def phase2a(s: Any, t: Any, b: z3.ExprRef, v: z3.ExprRef, Q: z3.ExprRef) -> z3.BoolRef:
        k, mb, mv = B.var("k"), B.var("mb"), V.var("mv")
        quorum_answered = z3.ForAll(
            [x], z3.Implies(member(x, Q), z3.Exists([mb, mv], s.msg1b(x, b, mb, mv)))
        )
        no_votes_reported = z3.ForAll(
            [x, mb, mv], z3.Implies(z3.And(member(x, Q), s.msg1b(x, b, mb, mv)), mb == none)
        )
        v_is_highest_reported = z3.Exists(
            [a, k],
            z3.And(
                member(a, Q),
                k != none,
                s.msg1b(a, b, k, v),
                z3.ForAll(
                    [x, mb, mv], z3.Implies(z3.And(member(x, Q), s.msg1b(x, b, mb, mv)), le(mb, k))
                ),
            ),
        )
        if bug == "ignore_highest_vote":
            value_rule = z3.BoolVal(True)
        else:
            value_rule = z3.Or(no_votes_reported, v_is_highest_reported)
        return z3.And(
            b != none,
            z3.ForAll([w], z3.Not(s.msg2a(b, w))),
            quorum_answered,
            value_rule,
            insert(s, t, "msg2a", b, v),
        )

    def phase2b(s: Any, t: Any, a: z3.ExprRef, b: z3.ExprRef, v: z3.ExprRef) -> z3.BoolRef:
        return z3.And(
            s.msg2a(b, v),
            z3.Not(s.maxBalAbove(a, b)),  # b >= maxBal[a]
            set_max_bal(s, t, a, b),
            insert(s, t, "msg2b", a, b, v),
        )

    p.action("Phase1a", {"b": B}, phase1a, modifies=["msg1a"],
             doc="a leader starts ballot b")
    p.action("Phase1b", {"a": A, "b": B, "mbal": B, "mval": V}, phase1b, modifies=["maxBalAbove", "msg1b"],
             doc="acceptor a joins ballot b > maxBal[a], reporting its last vote <<mbal, mval>>")
    p.action("Phase2a", {"b": B, "v": V, "Q": Q}, phase2a, modifies=["msg2a"],
             doc="the leader of b, having 1b messages from quorum Q, proposes v: the value of "
             "the highest vote they report, or any value if they report none")
    p.action("Phase2b", {"a": A, "b": B, "v": V}, phase2b, modifies=["maxBalAbove", "msg2b"],
             doc="acceptor a votes for the proposal (b, v), b >= maxBal[a]")

    # -- the inductive invariant --------------------------------------------
    p.conjunct(
        "VotesBelowMaxBal", {"a": A, "b": B, "v": V, "c": B},
        lambda s, a, b, v, c: z3.Implies(z3.And(s.msg2b(a, b, v), lt(c, b)), s.maxBalAbove(a, c)),
        doc="an acceptor's votes are in ballots <= maxBal[a] (Paxos.tla: maxVBal[a] <= maxBal[a])",
    )
    p.conjunct(
        "OneBPromise", {"a": A, "b": B, "mb": B, "mv": V, "c": B},
        lambda s, a, b, mb, mv, c: z3.Implies(z3.And(s.msg1b(a, b, mb, mv), lt(c, b)), s.maxBalAbove(a, c)),
        doc="an acceptor that sent a 1b for ballot b has maxBal >= b (Paxos.tla: 1b conjunct 1)",
    )
    p.conjunct(
        "OneBReportsVote", {"a": A, "b": B, "mb": B, "mv": V},
        lambda s, a, b, mb, mv: z3.Implies(
            z3.And(s.msg1b(a, b, mb, mv), mb != none), z3.And(lt(mb, b), s.msg2b(a, mb, mv))
        ),
        doc="a reported vote <<mbal, mval>> was cast, in a lower ballot (Paxos.tla: 1b conjunct 2)",
    )
    p.conjunct(
        "OneBReportsHighest", {"a": A, "b": B, "mb": B, "mv": V, "c": B, "w": V},
        lambda s, a, b, mb, mv, c, w: z3.Implies(
            z3.And(s.msg1b(a, b, mb, mv), lt(mb, c), lt(c, b)), z3.Not(s.msg2b(a, c, w))
        ),
        doc="the reported vote is the acceptor's highest below b: no vote between mbal and bal",
    )
    p.conjunct(
        "OneValuePerBallot", {"b": B, "v": V, "w": V},
        lambda s, b, v, w: z3.Implies(z3.And(s.msg2a(b, v), s.msg2a(b, w)), v == w),
        doc="at most one 2a message per ballot (Paxos.tla: 2a conjunct 2)",
    )
    p.conjunct(
        "VoteHasProposal", {"a": A, "b": B, "v": V},
        lambda s, a, b, v: z3.Implies(s.msg2b(a, b, v), s.msg2a(b, v)),
        doc="acceptors vote only for proposed values (with OneValuePerBallot: Voting's OneValuePerBallot)",
    )
    p.conjunct(
        "ProposalsAtRealBallots", {"v": V},
        lambda s, v: z3.Not(s.msg2a(none, v)),
        doc="no proposal in ballot -1 (type correctness: -1 is not a ballot)",
    )

    def proposal_safe(s: Any, b: z3.ExprRef, v: z3.ExprRef, c: z3.ExprRef, w: z3.ExprRef, Q: z3.ExprRef) -> z3.BoolRef:
        return z3.Implies(
            z3.And(s.msg2a(b, v), lt(c, b), c != none, w != v),
            z3.Exists([x], z3.And(member(x, Q), s.maxBalAbove(x, c), z3.Not(s.msg2b(x, c, w)))),
        )

    p.conjunct(
        "ProposalSafe", {"b": B, "v": V, "c": B, "w": V, "Q": Q}, proposal_safe,
        doc="a proposed value v is safe at b: in every lower ballot c, every quorum has a member "
        "that has moved past c without voting for another value w (Paxos.tla: 2a conjunct 1, ShowsSafeAt)",
    )

    def agreement(s: Any, b1: z3.ExprRef, v1: z3.ExprRef, Q1: z3.ExprRef,
                  b2: z3.ExprRef, v2: z3.ExprRef, Q2: z3.ExprRef) -> z3.BoolRef:
        chosen1 = z3.ForAll([x], z3.Implies(member(x, Q1), s.msg2b(x, b1, v1)))
        chosen2 = z3.ForAll([x], z3.Implies(member(x, Q2), s.msg2b(x, b2, v2)))
        return z3.Implies(z3.And(chosen1, chosen2), v1 == v2)

    p.goal(
        "Agreement", {"b1": B, "v1": V, "Q1": Q, "b2": B, "v2": V, "Q2": Q}, agreement,
        doc="if quorum Q1 voted for v1 in b1 and quorum Q2 voted for v2 in b2, then v1 = v2",
    )
    p.renderer = render
    return p


def render(view: StateView) -> list[str]:
    """A Paxos state in Paxos.tla's terms: each acceptor's variables, then msgs."""
    sorts = {srt.name: srt for srt in view.protocol.sorts}
    ballots = view.elements(sorts["ballot"])
    lines = []
    for a in view.elements(sorts["acceptor"]):
        above = [c for c in ballots if view.holds("maxBalAbove", a, c)]
        if above == ballots[: len(above)]:
            max_bal = ballots[len(above)] if len(above) < len(ballots) else f"> {ballots[-1]}"
            bal_text = f"maxBal={max_bal}"
        else:
            bal_text = f"maxBal above {{{', '.join(above)}}}"
        votes = [(b, v) for (x, b, v) in view.true_tuples("msg2b") if x == a]
        if votes:
            vbal, vval = max(votes, key=lambda bv: int(bv[0]))
        else:
            vbal, vval = "-1", "None"
        lines.append(f"{a}: {bal_text} maxVBal={vbal} maxVal={vval}")
    for (b,) in view.true_tuples("msg1a"):
        lines.append(f"msg 1a(bal={b})")
    for a, b, mb, mv in view.true_tuples("msg1b"):
        lines.append(f"msg 1b(acc={a}, bal={b}, mbal={mb}, mval={mv if mb != '-1' else 'None'})")
    for b, v in view.true_tuples("msg2a"):
        lines.append(f"msg 2a(bal={b}, val={v})")
    for a, b, v in view.true_tuples("msg2b"):
        lines.append(f"msg 2b(acc={a}, bal={b}, val={v})")
    return list(dict.fromkeys(lines))
