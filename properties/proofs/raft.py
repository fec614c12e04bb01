"""Raft election safety: at most one leader per term, for any number of servers and terms.

Election safety rests on two facts only: a server grants at most one vote per
term (it records ``votedFor`` durably before answering), and a candidate
becomes leader only with the votes of a quorum in its term. Two leaders of
one term would each hold a quorum of votes, the quorums share a server, and
that server would have voted twice. The model keeps exactly what this argument
needs, in raft.tla's vocabulary:

- ``votedFor(n, t, c)``: server n voted for candidate c in term t (the value
  ``votedFor[n]`` had while ``currentTerm[n] = t``; a server never returns to
  an older term, so each term's vote is recorded once);
- ``candidate(c, t)``: c started an election in term t (RequestVote sent);
- ``leader(c, t)``: c became leader of term t.

The log up-to-date check of RequestVote only makes a server refuse more votes,
so it cannot break election safety and is left out here.
"""

from __future__ import annotations

from typing import Any

import z3

from splitbrain.properties.proofs.language import Protocol, StateView, insert


def build() -> Protocol:
    """Raft's leader election with its inductive invariant."""
    p = Protocol("raft", "Raft election safety (at most one leader per term) for any number of servers and terms")
    N = p.sort("server", prefix="s")
    T = p.ordered_sort("term", first=1)
    Q = p.quorum_sort("quorum", N, prefix="Q")
    member = Q.member

    p.relation("votedFor", N, T, N, doc="votedFor(n, t, c): n voted for c in term t")
    p.relation("candidate", N, T, doc="candidate(c, t): c started an election in term t")
    p.relation("leader", N, T, doc="leader(c, t): c became leader in term t")

    n, c, x = N.var("n"), N.var("c"), N.var("x")
    t = T.var("t")
    p.init(lambda s: z3.And(
        z3.ForAll([n, t, c], z3.Not(s.votedFor(n, t, c))),
        z3.ForAll([c, t], z3.Not(s.candidate(c, t))),
        z3.ForAll([c, t], z3.Not(s.leader(c, t))),
    ))

    def not_voted(s: Any, n: z3.ExprRef, t: z3.ExprRef) -> z3.BoolRef:
        return z3.ForAll([x], z3.Not(s.votedFor(n, t, x)))

    # In the actions, s is the state before and post the state after; t is a term.
    def timeout(s: Any, post: Any, c: z3.ExprRef, t: z3.ExprRef) -> z3.BoolRef:
        return z3.And(
            not_voted(s, c, t),
            insert(s, post, "candidate", c, t),
            insert(s, post, "votedFor", c, t, c),
        )

    def grant_vote(s: Any, post: Any, n: z3.ExprRef, c: z3.ExprRef, t: z3.ExprRef) -> z3.BoolRef:
        return z3.And(s.candidate(c, t), not_voted(s, n, t), insert(s, post, "votedFor", n, t, c))

    def become_leader(s: Any, post: Any, c: z3.ExprRef, t: z3.ExprRef, Q: z3.ExprRef) -> z3.BoolRef:
        return z3.And(
            s.candidate(c, t),
            z3.ForAll([x], z3.Implies(member(x, Q), s.votedFor(x, t, c))),
            insert(s, post, "leader", c, t),
        )

    p.action("Timeout", {"c": N, "t": T}, timeout, modifies=["candidate", "votedFor"],
             doc="c, which has not voted in term t, starts an election in t and votes for itself")
    p.action("GrantVote", {"n": N, "c": N, "t": T}, grant_vote, modifies=["votedFor"],
             doc="n, which has not voted in term t, votes for candidate c")
    p.action("BecomeLeader", {"c": N, "t": T, "Q": Q}, become_leader, modifies=["leader"],
             doc="candidate c, with the votes of quorum Q in term t, becomes leader")

    p.conjunct(
        "OneVotePerTerm", {"n": N, "t": T, "c": N, "d": N},
        lambda s, n, t, c, d: z3.Implies(z3.And(s.votedFor(n, t, c), s.votedFor(n, t, d)), c == d),
        doc="a server votes for at most one candidate per term",
    )
    p.conjunct(
        "LeaderHasQuorum", {"c": N, "t": T},
        lambda s, c, t: z3.Implies(
            s.leader(c, t),
            z3.Exists([Q.var("q")], z3.ForAll([x], z3.Implies(member(x, Q.var("q")), s.votedFor(x, t, c)))),
        ),
        doc="a leader of term t holds the votes of a quorum in t",
    )
    p.conjunct(
        "VotesForCandidates", {"n": N, "t": T, "c": N},
        lambda s, n, t, c: z3.Implies(s.votedFor(n, t, c), s.candidate(c, t)),
        doc="votes go only to servers that started an election in that term (true, but not needed)",
    )
    p.goal(
        "ElectionSafety", {"c": N, "d": N, "t": T},
        lambda s, c, d, t: z3.Implies(z3.And(s.leader(c, t), s.leader(d, t)), c == d),
        doc="at most one leader per term",
    )
    p.renderer = render
    return p


def render(view: StateView) -> list[str]:
    """A Raft state: per term, candidates, votes and leaders."""
    sorts = {srt.name: srt for srt in view.protocol.sorts}
    lines = []
    for t in view.elements(sorts["term"]):
        cands = [c for (c, u) in view.true_tuples("candidate") if u == t]
        votes = [f"{n}->{c}" for (n, u, c) in view.true_tuples("votedFor") if u == t]
        leaders = [c for (c, u) in view.true_tuples("leader") if u == t]
        if cands or votes or leaders:
            lines.append(
                f"term {t}: candidates {{{', '.join(cands)}}} votes {{{', '.join(votes)}}} "
                f"leaders {{{', '.join(leaders)}}}"
            )
    return lines
