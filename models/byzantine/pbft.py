"""PBFT (Castro and Liskov, 1999): the normal case and a simplified view change.

Replicas ``r0..r{n-1}``; the primary of view v is ``r{v mod n}``. Normal case,
for each sequence number n:

- the primary multicasts PRE-PREPARE(v, n, d) for a request d;
- a backup accepts at most one pre-prepare per (v, n) and multicasts
  PREPARE(v, n, d, i);
- a replica is *prepared* when it has the pre-prepare and 2f matching
  PREPAREs from backups (its own included): a quorum of 2f + 1 with the
  pre-prepare; it then multicasts COMMIT(v, n, d, i);
- it *commits* (executes d at n, in sequence order) with 2f + 1 matching
  COMMITs.

View change, simplified (no checkpoints, no garbage collection): a replica
that times out moves to view v + 1 and multicasts VIEW-CHANGE(v + 1, i, P),
P being its prepared certificates (the highest-view one per sequence number).
The new primary takes 2f + 1 VIEW-CHANGEs and multicasts NEW-VIEW(v + 1, O):
for each sequence number up to the highest in any certificate, a pre-prepare
for the digest of the highest-view certificate, or for the null request. A
backup checks O against the VIEW-CHANGEs it is given, accepts the NEW-VIEW
and multicasts a PREPARE for each entry of O.

The Byzantine replicas are chosen by the checker (f of them; a Byzantine
replica may behave correctly, so this covers fewer). As in the TLA+ style,
``msgs`` is the set of messages correct replicas have sent, and a replica may
act on any of them at any time (delivery is asynchronous). A Byzantine
replica is the strongest adversary under that reading: it equivocates
freely, telling each replica whatever helps, so whenever a correct replica
counts votes, every Byzantine replica's vote is there for any digest; a
Byzantine primary's PRE-PREPARE and NEW-VIEW may differ for each backup. Its
signatures make it unable to forge: a Byzantine VIEW-CHANGE may claim only
certificates that really exist (a pre-prepare and 2f prepares were sent),
and a Byzantine new primary's NEW-VIEW must be justified by 2f + 1
VIEW-CHANGEs. Descriptions name what each Byzantine replica told whom.

``bug="small_quorum"``: every quorum is 2f instead of 2f + 1.
``bug="forget_prepared"``: the new primary's O ignores the certificates.
Property ``Agreement``: no two correct replicas execute different requests at
the same sequence number (they agree on the committed sequence).
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations, product
from typing import Any, Iterator, NamedTuple

from splitbrain.models.byzantine.adversary import traitor_sets
from splitbrain.models.core import Model, replace_at
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import Property, always, sometimes

NULL = "null"
BUGS = {
    "small_quorum": "quorums of 2f instead of 2f + 1: two requests commit at one sequence number",
    "forget_prepared": "the new primary ignores the prepared certificates of the VIEW-CHANGEs: "
                       "a request committed in one view is replaced in the next",
}


class State(NamedTuple):
    byz: frozenset                        # the Byzantine replicas
    view: tuple[int, ...]                 # each replica's current view
    changing: tuple[bool, ...]            # sent VIEW-CHANGE for its view, waits for NEW-VIEW
    executed: tuple[tuple[str | None, ...], ...]  # per replica, the request executed at each seq
    msgs: frozenset                       # every message a correct replica has sent


Action = tuple


class Index:
    """The messages of one state, looked up by what the rules ask."""

    def __init__(self, msgs: frozenset) -> None:
        self.preprepare: dict[tuple, str] = {}               # (v, n) -> d
        self.prepare: dict[tuple, set] = defaultdict(set)     # (v, n, d) -> senders
        self.my_prepare: dict[tuple, str] = {}               # (v, n, i) -> d
        self.commit: dict[tuple, set] = defaultdict(set)      # (v, n, d) -> senders
        self.my_commit: dict[tuple, str] = {}                # (v, n, i) -> d
        self.view_change: dict[int, dict] = defaultdict(dict)  # v -> {i: P}
        self.new_view: dict[int, tuple] = {}                 # v -> O
        for m in msgs:
            kind = m[0]
            if kind == "PRE-PREPARE":
                self.preprepare[m[1], m[2]] = m[3]
            elif kind == "PREPARE":
                self.prepare[m[1], m[2], m[3]].add(m[4])
                self.my_prepare[m[1], m[2], m[4]] = m[3]
            elif kind == "COMMIT":
                self.commit[m[1], m[2], m[3]].add(m[4])
                self.my_commit[m[1], m[2], m[4]] = m[3]
            elif kind == "VIEW-CHANGE":
                self.view_change[m[1]][m[2]] = m[3]
            else:
                self.new_view[m[1]] = m[2]


class PBFT(Model[State, Action]):
    """PBFT with ``n`` replicas, ``f`` Byzantine, ``seqs`` sequence numbers, views 0..``views``."""

    allow_deadlock = True  # a run ends when nothing is left to do

    def __init__(self, n: int = 4, f: int = 1, bug: str = "none", seqs: int = 1, views: int = 1,
                 requests: int = 2) -> None:
        if n < 1 or f < 0 or f >= n:
            raise ValueError("need n >= 1 and 0 <= f < n")
        if bug not in ("none",) + tuple(BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        if seqs < 1 or views < 0 or requests < 1:
            raise ValueError("need seqs >= 1, views >= 0, requests >= 1")
        self.n, self.f, self.bug = n, f, bug
        self.seqs, self.views = seqs, views
        self.requests = tuple("abcdefgh"[:requests])
        self.quorum = 2 * f if bug == "small_quorum" else 2 * f + 1
        self.replicas = tuple(range(n))

    def primary(self, v: int) -> int:
        return v % self.n

    # -- initial states: the checker picks the Byzantine replicas -----------
    def init_states(self) -> Iterator[State]:
        n = self.n
        for byz in traitor_sets(self.replicas, self.f):
            if len(byz) == self.f:
                yield State(byz, (0,) * n, (False,) * n, ((None,) * self.seqs,) * n, frozenset())

    # -- the rules -----------------------------------------------------------------
    def accepted(self, ix: Index, i: int, v: int, n: int) -> str | None:
        """The request replica i accepted a pre-prepare for at (v, n)."""
        return ix.preprepare.get((v, n)) if i == self.primary(v) else ix.my_prepare.get((v, n, i))

    def byz_backups(self, s: State, v: int) -> list[int]:
        """The Byzantine replicas whose PREPARE counts in view v (the backups)."""
        return [b for b in sorted(s.byz) if b != self.primary(v)]

    def prepares(self, s: State, ix: Index, v: int, n: int, d: str) -> int:
        return len(ix.prepare.get((v, n, d), ())) + len(self.byz_backups(s, v))

    def prepared(self, s: State, ix: Index, i: int, v: int, n: int, d: str) -> bool:
        """prepared(d, v, n, i): the pre-prepare and quorum - 1 matching PREPAREs from backups."""
        return self.accepted(ix, i, v, n) == d and self.prepares(s, ix, v, n, d) >= self.quorum - 1

    def certificate_exists(self, s: State, ix: Index, v: int, n: int, d: str) -> bool:
        """A prepared certificate for (v, n, d) can be shown: its pre-prepare and prepares were sent."""
        sent = self.primary(v) in s.byz or ix.preprepare.get((v, n)) == d
        return sent and self.prepares(s, ix, v, n, d) >= self.quorum - 1

    def certificates(self, s: State, ix: Index, i: int) -> tuple:
        """P for replica i's VIEW-CHANGE: per seq, its prepared certificate of the highest view."""
        best: dict[int, tuple] = {}
        for v in range(s.view[i] + 1):
            for n in range(1, self.seqs + 1):
                d = self.accepted(ix, i, v, n)
                if d is not None and self.prepared(s, ix, i, v, n, d):
                    best[n] = (n, d, v)
        return tuple(sorted(best.values()))

    def new_view_entries(self, proofs: list[tuple]) -> tuple:
        """O: per seq up to the highest certified, the highest-view certificate's request, or null."""
        if self.bug == "forget_prepared":
            return ()
        best: dict[int, tuple[int, str]] = {}
        for P in proofs:
            for n, d, v in P:
                if n not in best or (v, d) > best[n]:
                    best[n] = (v, d)
        top = max(best, default=0)
        return tuple((n, best[n][1] if n in best else NULL) for n in range(1, top + 1))

    def new_view_options(self, s: State, ix: Index, v: int) -> dict[tuple, tuple]:
        """Each O a new primary of view v can justify, with one justification (senders, Byzantine P)."""
        available: list[list[tuple[int, tuple]]] = [[(i, P)] for i, P in sorted(ix.view_change[v].items())]
        for b in sorted(s.byz):
            # A Byzantine VIEW-CHANGE: any choice of existing certificates, at most one per seq.
            per_seq = [[()] + [((n, d, w),) for w in range(v) for d in self.requests + (NULL,)
                               if self.certificate_exists(s, ix, w, n, d)]
                       for n in range(1, self.seqs + 1)]
            available.append([(b, sum(choice, ())) for choice in product(*per_seq)])
        options: dict[tuple, tuple] = {}
        for group in combinations(available, self.quorum):
            for picked in product(*group):
                O = self.new_view_entries([P for _, P in picked])
                if O not in options:
                    options[O] = tuple(picked)
        return options

    # -- next -------------------------------------------------------------------
    def successors(self, s: State) -> Iterator[tuple[Action, State]]:
        ix = Index(s.msgs)
        for i in self.replicas:
            if i not in s.byz:
                yield from self.replica_steps(s, ix, i)

    def replica_steps(self, s: State, ix: Index, i: int) -> Iterator[tuple[Action, State]]:
        v = s.view[i]
        seqs = range(1, self.seqs + 1)
        if not s.changing[i]:
            if i == self.primary(v):
                # PrePrepare: the primary assigns the next sequence number to a new request.
                used = {ix.preprepare[v, n] for n in seqs if (v, n) in ix.preprepare}
                n = 1 + max((n for n in seqs if (v, n) in ix.preprepare), default=0)
                if n <= self.seqs:
                    for d in self.requests:
                        if d not in used:
                            yield ("PrePrepare", i, v, n, d), self.send(s, ("PRE-PREPARE", v, n, d))
            else:
                for n in seqs:
                    if self.accepted(ix, i, v, n) is None:
                        # Prepare: a backup accepts the primary's pre-prepare and multicasts PREPARE.
                        p = self.primary(v)
                        choices = self.requests if p in s.byz else [ix.preprepare[v, n]] if (v, n) in ix.preprepare else []
                        for d in choices:
                            yield ("Prepare", i, v, n, d), self.send(s, ("PREPARE", v, n, d, i))
            for n in seqs:
                d = self.accepted(ix, i, v, n)
                if d is not None and (v, n, i) not in ix.my_commit and self.prepared(s, ix, i, v, n, d):
                    # Commit: a prepared replica multicasts COMMIT.
                    yield ("Commit", i, v, n, d), self.send(s, ("COMMIT", v, n, d, i))
            done = s.executed[i]
            for n in seqs:
                if done[n - 1] is None:
                    d = ix.my_commit.get((v, n, i))
                    if d is not None and len(ix.commit[v, n, d]) + len(s.byz) >= self.quorum:
                        # Execute: committed-local, the replica executes d at n (in order).
                        row = done[:n - 1] + (d,) + done[n:]
                        yield ("Execute", i, v, n, d), State(s.byz, s.view, s.changing, replace_at(s.executed, i, row), s.msgs)
                    break
        if v < self.views:
            # ViewChange: the replica times out and asks for view v + 1.
            P = self.certificates(s, ix, i)
            yield ("ViewChange", i, v + 1, P), State(s.byz, replace_at(s.view, i, v + 1), replace_at(s.changing, i, True),
                                                     s.executed, s.msgs | {("VIEW-CHANGE", v + 1, i, P)})
        if s.changing[i] and i == self.primary(v):
            # NewView: the new primary justifies O by 2f + 1 VIEW-CHANGEs and pre-prepares it.
            for O, why in self.new_view_options(s, ix, v).items():
                msgs = {("NEW-VIEW", v, O)} | {("PRE-PREPARE", v, n, d) for n, d in O}
                yield ("NewView", i, v, O, why), s._replace(changing=replace_at(s.changing, i, False),
                                                             msgs=s.msgs | msgs)
        for w in range(v if s.changing[i] else v + 1, self.views + 1):
            if w == 0 or self.primary(w) == i:
                continue
            if self.primary(w) in s.byz:
                options = self.new_view_options(s, ix, w)
            else:
                options = {ix.new_view[w]: ()} if w in ix.new_view else {}
            for O, why in options.items():
                # AcceptNewView: a backup checks O against its VIEW-CHANGEs, enters view w, prepares O.
                msgs = {("PREPARE", w, n, d, i) for n, d in O}
                yield ("AcceptNewView", i, w, O, why), s._replace(
                    view=replace_at(s.view, i, w), changing=replace_at(s.changing, i, False), msgs=s.msgs | msgs)

    def send(self, s: State, msg: tuple) -> State:
        """``s`` with ``msg`` multicast by a correct replica."""
        return State(s.byz, s.view, s.changing, s.executed, s.msgs | {msg})

    # -- properties -------------------------------------------------------------
    def properties(self) -> list[Property]:
        props = [
            always("Agreement", agreement, "no two correct replicas execute different requests at one seq"),
            sometimes("Executed", lambda s: any(x is not None for i, row in enumerate(s.executed)
                                                if i not in s.byz for x in row),
                      "some correct replica executes a request"),
        ]
        if self.views:
            props.append(sometimes("ExecutedAfterViewChange", executed_after_view_change,
                                   "a correct replica executes a request committed in a later view"))
        return props

    # -- presentation -------------------------------------------------------------
    def name_of(self, s: State, i: int) -> str:
        return f"r{i}" + (" (Byzantine)" if i in s.byz else "")

    def render(self, s: State) -> dict[str, Any]:
        out: dict[str, Any] = {"byzantine": [f"r{b}" for b in sorted(s.byz)]}
        for i in self.replicas:
            if i not in s.byz:
                out[f"r{i}"] = {"view": s.view[i], "changing": s.changing[i],
                                "executed": [x if x is not None else "-" for x in s.executed[i]]}
        out["msgs"] = sorted(_msg_text(m) for m in s.msgs)
        return out

    def describe(self, s: State, action: Action, nxt: State) -> str:
        kind, i = action[0], action[1]
        me = f"r{i}"
        ix = Index(s.msgs)
        if kind == "PrePrepare":
            _, _, v, n, d = action
            return f"{me} (primary of view {v}) multicasts PRE-PREPARE(v{v}, n{n}, {d})"
        if kind == "Prepare":
            _, _, v, n, d = action
            p = self.primary(v)
            src = f"r{p} (Byzantine primary) tells {me} PRE-PREPARE(v{v}, n{n}, {d})" if p in s.byz \
                else f"{me} receives PRE-PREPARE(v{v}, n{n}, {d}) from r{p}"
            return f"{src}; {me} accepts it and multicasts PREPARE"
        if kind == "Commit":
            _, _, v, n, d = action
            votes = self.votes(sorted(ix.prepare.get((v, n, d), ())), self.byz_backups(s, v), me, "PREPARE", v, n, d)
            return f"{me} is prepared for {d} at (v{v}, n{n}) with PREPAREs from {votes}; multicasts COMMIT"
        if kind == "Execute":
            _, _, v, n, d = action
            votes = self.votes(sorted(ix.commit[v, n, d]), sorted(s.byz), me, "COMMIT", v, n, d)
            return f"{me} has COMMITs for {d} at (v{v}, n{n}) from {votes}; executes {d} at n{n}"
        if kind == "ViewChange":
            _, _, w, P = action
            return f"{me} times out and multicasts VIEW-CHANGE(v{w}) with prepared {_certs(P)}"
        if kind == "NewView":
            _, _, w, O, why = action
            return f"{me} (new primary) multicasts NEW-VIEW(v{w}, O = {_entries(O)}) from {_why(s, why)}"
        _, _, w, O, why = action
        p = self.primary(w)
        if p in s.byz:
            return (f"r{p} (Byzantine new primary) tells {me} NEW-VIEW(v{w}, O = {_entries(O)}) from "
                    f"{_why(s, why)}; {me} enters view {w} and prepares O")
        return f"{me} accepts NEW-VIEW(v{w}, O = {_entries(O)}) from r{p}; enters view {w} and prepares O"

    def votes(self, loyal: list[int], byz: list[int], me: str, kind: str, v: int, n: int, d: str) -> str:
        parts = [f"r{j}" for j in loyal]
        parts += [f"r{b} (Byzantine: tells {me} {kind}(v{v}, n{n}, {d}))" for b in byz]
        return ", ".join(parts)


def agreement(s: State) -> bool:
    """Correct replicas that executed a sequence number executed the same request there."""
    rows = [row for i, row in enumerate(s.executed) if i not in s.byz]
    for column in zip(*rows):
        if len({d for d in column if d is not None}) > 1:
            return False
    return True


def executed_after_view_change(s: State) -> bool:
    return any(m[0] == "COMMIT" and m[1] > 0 and s.executed[m[4]][m[2] - 1] == m[3] for m in s.msgs)



def _certs(P: tuple) -> str:
    return "{" + ", ".join(f"{d}@n{n}/v{v}" for n, d, v in P) + "}"


def _entries(O: tuple) -> str:
    return "[" + ", ".join(f"n{n}: {d}" for n, d in O) + "]"


def _why(s: State, why: tuple) -> str:
    parts = []
    for j, P in why:
        tag = " (Byzantine)" if j in s.byz else ""
        parts.append(f"r{j}{tag} {_certs(P)}")
    return "VIEW-CHANGEs of " + ", ".join(parts)


def _msg_text(m: tuple) -> str:
    kind = m[0]
    if kind == "PRE-PREPARE":
        return f"PRE-PREPARE(v{m[1]}, n{m[2]}, {m[3]})"
    if kind in ("PREPARE", "COMMIT"):
        return f"{kind}(v{m[1]}, n{m[2]}, {m[3]}) from r{m[4]}"
    if kind == "VIEW-CHANGE":
        return f"VIEW-CHANGE(v{m[1]}) from r{m[2]} {_certs(m[3])}"
    return f"NEW-VIEW(v{m[1]}, {_entries(m[2])})"


SPEC = ModelSpec(
    name="pbft",
    summary="PBFT normal case and a simplified view change, with Byzantine replicas that equivocate",
    factory=PBFT,
    params=(
        Param("n", int, 4, "number of replicas"),
        Param("f", int, 1, "number of Byzantine replicas (the checker picks which)"),
        Param("bug", str, "none", "a known bug to switch on", choices=("none",) + tuple(BUGS)),
        Param("seqs", int, 1, "sequence numbers 1..seqs"),
        Param("views", int, 1, "views 0..views (each view change is one more view)"),
        Param("requests", int, 2, "distinct client requests a, b, ..."),
    ),
    bugs=BUGS,
    breaks={"small_quorum": ("Agreement",), "forget_prepared": ("Agreement",)},
)
