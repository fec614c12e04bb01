"""Mutual exclusion of the tutorial's lock service for ANY number of clients, proved with z3.

    python docs/tutorial/lock_proof.py                        # PROVED, exit 0
    python docs/tutorial/lock_proof.py grant_while_held       # a counterexample to induction, exit 1

The lock service of lock.py, stated symbolically (see docs/proofs.md): clients
are a sort of unknown size, the server's holder and the messages in flight
are relations. The server's hand-off on Release (free the lock, grant it to
the next client in line) is two steps here, ServerRelease then Grant; every
state the actor model reaches is then one this model reaches too.
"""

from __future__ import annotations

import sys

import z3

from splitbrain.checker.induction import prove
from splitbrain.properties.proofs.language import Protocol, assign, define, insert


def build(bug: str = "none") -> Protocol:
    """The lock service with its inductive invariant; ``bug="grant_while_held"`` drops the server's check."""
    p = Protocol("lock", "the lock service's mutual exclusion, for any number of clients")
    C = p.sort("client", prefix="c")
    p.relation("holder", C, doc="holder(c): the server has given the lock to c")
    p.relation("grant", C, doc="grant(c): a Grant to c is in flight")
    p.relation("holds", C, doc="holds(c): c holds the lock")
    p.relation("release", C, doc="release(c): a Release from c is in flight")
    x = C.var("x")

    p.init(lambda s: z3.ForAll([x], z3.Not(z3.Or(s.holder(x), s.grant(x), s.holds(x), s.release(x)))))

    def grant(s, t, c):  # the server grants the lock to c, if it is free
        free = z3.ForAll([x], z3.Not(s.holder(x)))
        return z3.And(free if bug != "grant_while_held" else z3.BoolVal(True),
                      define(s, t, "holder", lambda y: y == c), insert(s, t, "grant", c))

    def receive(s, t, c):  # c receives its Grant and holds the lock
        return z3.And(s.grant(c), assign(s, t, "grant", [c], False), insert(s, t, "holds", c))

    def done(s, t, c):  # c is done: it lets go and sends Release
        return z3.And(s.holds(c), assign(s, t, "holds", [c], False), insert(s, t, "release", c))

    def server_release(s, t, c):  # the server receives c's Release and frees the lock
        return z3.And(s.release(c), s.holder(c), assign(s, t, "release", [c], False),
                      define(s, t, "holder", lambda y: z3.BoolVal(False)))

    p.action("Grant", {"c": C}, grant, modifies=["holder", "grant"])
    p.action("Receive", {"c": C}, receive, modifies=["grant", "holds"])
    p.action("Done", {"c": C}, done, modifies=["holds", "release"])
    p.action("ServerRelease", {"c": C}, server_release, modifies=["release", "holder"])

    def token(s, c):
        return z3.Or(s.grant(c), s.holds(c), s.release(c))

    p.conjunct("OneHolder", {"a": C, "b": C},
               lambda s, a, b: z3.Implies(z3.And(s.holder(a), s.holder(b)), a == b),
               doc="the server gives the lock to one client at a time")
    p.conjunct("TokenWithHolder", {"c": C}, lambda s, c: z3.Implies(token(s, c), s.holder(c)),
               doc="a Grant to c, c holding, or a Release from c: then the server's holder is c")
    p.conjunct("OnePlace", {"c": C},
               lambda s, c: z3.And(z3.Not(z3.And(s.grant(c), s.holds(c))), z3.Not(z3.And(s.grant(c), s.release(c))),
                                   z3.Not(z3.And(s.holds(c), s.release(c)))),
               doc="c's lock is in one place: in a Grant, in c's hands, or in a Release")
    p.goal("MutualExclusion", {"a": C, "b": C},
           lambda s, a, b: z3.Implies(z3.And(s.holds(a), s.holds(b)), a == b),
           doc="at most one client holds the lock")
    return p


def main(argv: list[str]) -> int:
    bug = argv[0] if argv else "none"
    report = prove(build(bug))
    for check in report.checks:
        print(f"{check.verdict:<8} {check.label}")
    for check in report.failures()[:1]:
        print()
        print(check.counterexample.text())
    print(f"\n{report.verdict.upper()}: {len(report.checks)} checks")
    return 0 if report.verdict == "proved" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
