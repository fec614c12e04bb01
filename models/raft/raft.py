"""Raft (Ongaro and Ousterhout), as an actor model that reads like raft.tla.

Servers ``n1..nN`` run the same code. Each keeps, in raft.tla's names:

- server state: ``currentTerm``, ``votedFor`` (durable) and ``role`` (volatile);
- the log: ``log``, a tuple of ``(term, value)`` entries (durable, indexes from
  1), and ``commitIndex`` (volatile); entries up to ``commitIndex`` are applied
  to the state machine, a register holding the last value written;
- candidate-only: ``votesGranted``;
- leader-only: ``nextIndex`` and ``matchIndex``, frozensets of ``(peer, index)``.

A crash loses the volatile state; a restart resumes from the durable state.

Steps (each a delivery or a timer firing, see ``splitbrain.models.actors``):

- ``ElectionTimeout``: a follower or candidate starts an election in the next
  term (while ``currentTerm < max_term``), votes for itself and sends
  RequestVote to the other servers.
- ``("AppendEntries", peer)``: a leader sends ``peer`` the entry at its
  ``nextIndex`` (at most one, as raft.tla does) or a heartbeat with no entry.
- ``("ClientRequest", v)``: a client asks the leader to write ``v``; the
  leader appends it (each value at most once per term, logs at most
  ``max_log`` client entries).
- RequestVote, AppendEntries and their responses, handled as in the paper's
  Figure 2; any message with a newer term first makes the receiver adopt
  that term as a follower. Commitment follows the current-term majority
  rule: a leader commits index N once a majority stores it and entry N is
  from its current term (which commits every entry before it too). Each
  commit is recorded in the history as ``("commit", leader, term, index, entry)``.

Bug flags (``bug=...``), each found by BFS with its default bounds and faults,
while the correct model passes with the same ones (the properties each breaks
there are in brackets):

- ``figure8``: a leader commits an entry of an earlier term once a majority
  stores it (the paper's Figure 8): a later leader overwrites it.
  [LeaderCompleteness, StateMachineSafety]
- ``volatile_vote``: ``votedFor`` is not written to disk; after a crash a
  server votes twice in one term, and two leaders are elected in it.
  [ElectionSafety, LogMatching, StateMachineSafety]
- ``double_vote``: a server grants its vote to any candidate of its term,
  not only the one it already voted for (the ``votedFor`` check is missing):
  two candidates of one term each gather a majority. [ElectionSafety]
- ``no_log_check``: votes are granted without the "candidate's log is at
  least as up-to-date" check; a leader is elected without a committed entry.
  [LeaderCompleteness, StateMachineSafety]
- ``leader_overwrite``: a leader writes a client's value over its last
  uncommitted entry instead of appending it (a "coalesce pending writes"
  optimisation): followers that hold the old entry now disagree with it.
  [LeaderAppendOnly, LogMatching, LeaderCompleteness, StateMachineSafety]
- ``no_prev_check``: a follower takes an AppendEntries without checking that
  its log holds entry ``prevLogIndex`` of term ``prevLogTerm``; it writes
  the entries after its own first ``prevLogIndex`` entries and reports
  success. [LogMatching, LeaderCompleteness, StateMachineSafety]
- ``stale_lease_read``: reads served by a leader from a lease, with the
  lease as long as the election timeout; with clock skew a deposed leader
  serves a stale value. The correct lease is shorter by twice the maximum
  skew the fault configuration allows (see "Lease reads"). [NoStaleReads]
- ``membership_one_step``: single-server membership changes, without the rule
  that a leader must commit an entry of its own term before it changes the
  configuration (the fix proposed in D. Ongaro, "bug in single-server
  membership changes", raft-dev, 10 July 2015; found by Huanchen Zhang and
  Brandon Amos, with cases of one addition and one removal, two additions,
  two removals): two changes from different terms leave two configurations
  whose majorities are disjoint, and each elects a leader.
  [LeaderCompleteness] With four servers, all members: leader n1 (term 1)
  removes n2, leader n2 (term 2) removes n1; {n1,n3,n4} and {n2,n3,n4} have
  the disjoint majorities {n1,n3} and {n2,n4}. With five servers, n1..n4
  members and n5 a spare (the flag's default ``members=4``), an addition and
  a removal do it:

  1. n1, leader of term 1 (votes of n2, n3), adds n5: C1 = {n1..n5}, stored
     on n1 and n5 only;
  2. n2, elected in term 2 by n2, n3, n4 under {n1..n4}, removes n1 at once
     (the bug: it has committed nothing of term 2): C2 = {n2,n3,n4}, and
     commits C2 with n3, a majority of C2;
  3. n5 times out twice (term 3) and is elected under C1 by n5, n1 and n4
     (3 of 5; their logs are no newer than C1@t1): a leader without the
     committed C2. C1's majority {n1,n4,n5} and C2's {n2,n3} are disjoint.

  (tests/test_raft.py replays these 31 steps.) Two configurations drawn from
  five members by removals alone (five or four servers each) always share a
  server in any two majorities (3 + 3 > 5), so five servers need a spare.

Membership changes (``membership=true``; the default only for the last flag),
single-server changes as in Ongaro's thesis, section 4.1: servers ``n1`` to
``n<members>`` form the first configuration, the rest (``members`` below
``servers``) are spares. A leader may remove one other server while its
configuration has at least three, or add one spare, by appending a
configuration entry ``("config", members)`` (a new server is not caught up
first, thesis section 4.2.1: its log fills as any follower's). Each server
uses the latest configuration in its log, committed or not; votes and
commitment count majorities of it, and only its members campaign and receive
AppendEntries (a spare waits for a leader to add it). A leader starts a
change only when it has committed an entry of its current term and (the
bound on changes) its log holds no configuration entry yet. ``max_log``
counts client entries only, so a leader whose log is full of values may still
append a configuration. Members and spares are two symmetry groups.

Lease reads (``reads=lease``; the default only for ``stale_lease_read``):
clocks run from 0 to ``max_time``. A leader stamps each AppendEntries with
its clock; a follower that accepts one notes its own clock in ``heardAt`` and,
until ``election_timeout`` ticks of its own clock have passed, neither starts
an election nor answers RequestVote (raft's leader stickiness; a restarted
server waits out one timeout too). A leader whose latest stamp acknowledged by
a majority is ``t`` holds a lease until its clock reaches ``t + lease``; a
``("ClientRead",)`` timer makes it serve one read per term from its state
machine, once it has committed an entry of its term and while the lease
holds. Between hearing from the leader and timing out, a follower's clock can
gain ``D = 2 * clock_skew + clock_jump * clock_jumps`` ticks on the leader's
(``--faults``), so the correct lease is ``election_timeout - D``; the bug uses
``election_timeout`` (its default faults: one clock jump of one tick). Reads
are recorded as ``("invoke", leader, "read", None)`` and ``("ok", leader,
"read", value)``; ``NoStaleReads`` says each read returns the value of the
highest entry committed before it.

Liveness (``liveness=fair`` or ``unfair``): ``LeaderEventuallyElected``, see
``Raft.liveness_properties``.

Bounds: ``servers`` (``members`` of them in the first configuration),
``max_term``, ``max_log``, ``client_values`` and ``max_in_flight`` (states
with more messages in flight are not explored; each duplicate the dup fault
makes raises the bound by one, so the bound never
prunes a duplicate, and dup needs a budget: ``dup=K``). Parameters left unset
take the defaults of the bug flag (``DEFAULTS``), so that ``splitbrain check
raft -p bug=NAME`` finds the bug quickly, and ``bug=none`` with the same
explicit parameters passes. The correct model's defaults (two values, two
entries, two terms) let every property fail; ``figure8``,
``stale_lease_read`` and ``membership_one_step`` keep one value and one
client entry (four terms, clocks or four servers make more too slow to
search), and ``no_prev_check`` needs three terms for LogMatching.

Election Safety reads the history: each election is recorded as
``("elected", server, term)``, so a leader that crashed or stepped down
still counts.
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

from splitbrain.models.actors import Actor, ActorModel, Context, World, remember
from splitbrain.models.core import format_action
from splitbrain.models.faults import BUDGETS, FaultConfig, as_fault_config
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.consensus import raft_properties
from splitbrain.properties.kinds import AFTER_FAULTS, WF, Property, always, eventually, sometimes

FOLLOWER, CANDIDATE, LEADER = "follower", "candidate", "leader"
DUP = BUDGETS.index("dup")                # the dup fault's budget in a World's ``left``

BUGS = {
    "figure8": "a leader commits entries of earlier terms by counting replicas (Figure 8)",
    "volatile_vote": "votedFor is not persisted: after a restart a server votes twice in one term",
    "double_vote": "a server grants its vote to every candidate of its term (no votedFor check)",
    "no_log_check": "votes are granted without checking that the candidate's log is up to date",
    "stale_lease_read": "lease reads assume perfect clocks (lease = election timeout)",
    "membership_one_step": "single-server membership changes without committing an entry of the term first",
    "leader_overwrite": "a leader writes a client's value over its last uncommitted entry instead of appending",
    "no_prev_check": "a follower accepts AppendEntries without checking that its log matches at prevLogIndex",
}

LIVENESS = ("off", "fair", "unfair")

# Defaults of the bounds and faults, per bug flag ("none": the correct model).
COMMON = dict(servers=3, max_term=2, max_log=2, client_values=2, max_in_flight=1, membership=False,
              members=None, reads="none", election_timeout=3, max_time=0, faults="none")
DEFAULTS: dict[str, dict[str, Any]] = {
    "none": {},
    "figure8": dict(max_term=4, max_log=1, client_values=1),
    "volatile_vote": dict(max_term=1, faults="crash=1,restart"),
    "no_log_check": dict(),
    "double_vote": dict(),
    "stale_lease_read": dict(max_log=1, client_values=1, reads="lease", election_timeout=2, max_time=2,
                             faults="clock-jump=1"),
    # members=4: four servers in the first configuration (all of them at its default four), the rest spares.
    "membership_one_step": dict(servers=4, members=4, max_term=3, max_log=1, client_values=1, membership=True),
    "leader_overwrite": dict(),
    "no_prev_check": dict(max_term=3),
}


class Server(NamedTuple):
    """One server's state (see the module docstring)."""

    # server state
    currentTerm: int
    votedFor: str | None
    role: str
    # log
    log: tuple
    commitIndex: int
    # candidate-only
    votesGranted: frozenset
    # leader-only
    nextIndex: frozenset
    matchIndex: frozenset
    notify: frozenset          # peers not yet sent its latest commitIndex
    # lease reads only
    heardAt: int | None        # follower: its clock when it last heard from its leader
    leaseAcks: frozenset       # leader: (peer, latest of its stamps the peer acknowledged)
    readServed: bool           # leader: it has served this term's read


def last_term(log: tuple) -> int:
    """The term of the last entry of ``log``, 0 if it is empty."""
    return log[-1][0] if log else 0


def is_config(entry: tuple) -> bool:
    """Whether ``entry`` is a configuration entry ``(term, ("config", members))``."""
    return isinstance(entry[1], tuple) and entry[1][0] == "config"


def get(pairs: frozenset, key: str, default: Any = 0) -> Any:
    """The value for ``key`` in a frozenset of ``(key, value)`` pairs."""
    for k, v in pairs:
        if k == key:
            return v
    return default


def put(pairs: frozenset, key: str, value: Any) -> frozenset:
    """``pairs`` with ``key`` mapped to ``value``."""
    return frozenset((k, v) for k, v in pairs if k != key) | {(key, value)}


def entry_text(entry: tuple) -> str:
    """``(2, "v1")`` as ``v1@t2``; a configuration entry as ``config{n1,n2,n3}@t2``."""
    term, value = entry
    if is_config(entry):
        return "config{" + ",".join(value[1]) + f"}}@t{term}"
    return f"{value}@t{term}"


def log_text(log: Iterable[tuple]) -> str:
    """A log as ``[v1@t1, v1@t2]``."""
    return "[" + ", ".join(entry_text(e) for e in log) + "]"


class RaftServer(Actor):
    """The code every server runs: raft.tla's actions as handlers."""

    def __init__(self, servers: tuple[str, ...], max_term: int, max_log: int, values: tuple[str, ...],
                 bug: str, membership: bool, lease: int | None, election_timeout: int,
                 members: tuple[str, ...] | None = None) -> None:
        self.servers = servers
        self.members = servers if members is None else members   # the first configuration
        self.max_term, self.max_log, self.values = max_term, max_log, values
        self.bug = bug
        self.membership = membership
        self.lease = lease                       # None: no lease reads
        self.election_timeout = election_timeout
        self._timers: dict[tuple[str, Server], frozenset] = {}   # a cache of timers()
        self.message_types = ("RequestVote", "RequestVoteResponse", "AppendEntries", "AppendEntriesResponse")
        self.timer_names = (("ElectionTimeout", "RequestVote", "AppendEntries", "ClientRequest")
                            + (("RemoveServer",) if membership else ())
                            + (("AddServer",) if membership and self.members != servers else ())
                            + (("ClientRead",) if lease is not None else ()))
        self.durable_fields = (("currentTerm", "log") if bug == "volatile_vote"
                               else ("currentTerm", "votedFor", "log"))

    # -- helpers ---------------------------------------------------------------
    def config(self, log: tuple) -> tuple[str, ...]:
        """The members of the latest configuration in ``log`` (the first configuration if none)."""
        if self.membership:
            for entry in reversed(log):
                if is_config(entry):
                    return entry[1][1]
        return self.members

    @staticmethod
    def quorum(voters: Iterable[str], members: tuple[str, ...]) -> bool:
        """Whether ``voters`` include a majority of ``members``."""
        return 2 * len(set(voters) & set(members)) > len(members)

    def hears_leader(self, s: Server, now: int) -> bool:
        """Lease reads: less than an election timeout since it last heard from its leader."""
        return self.lease is not None and s.heardAt is not None and now < s.heardAt + self.election_timeout

    def step_down(self, s: Server, term: int) -> Server:
        """UpdateTerm: adopt a newer term as a follower that has not voted in it."""
        return s._replace(currentTerm=term, votedFor=None, role=FOLLOWER, votesGranted=frozenset(),
                          nextIndex=frozenset(), matchIndex=frozenset(), notify=frozenset(),
                          leaseAcks=frozenset(), readServed=False)

    def timers(self, me: str, s: Server) -> frozenset:
        """The timers armed in state ``s``: exactly the steps ``me`` may take on its own."""
        key = (me, s)
        found = self._timers.get(key)
        if found is None:
            found = self._timers[key] = self._compute_timers(me, s)
        return found

    def _compute_timers(self, me: str, s: Server) -> frozenset:
        want: list[Any] = []
        members = self.config(s.log)
        if s.role != LEADER:
            if s.currentTerm < self.max_term and me in members:
                want.append("ElectionTimeout")
            if s.role == CANDIDATE:
                want += [("RequestVote", p) for p in members if p != me and p not in s.votesGranted]
            return frozenset(want)
        for p in members:
            if p != me and self.has_news(s, p):
                want.append(("AppendEntries", p))
        if sum(not is_config(e) for e in s.log) < self.max_log:
            mine = {e[1] for e in s.log if e[0] == s.currentTerm}
            want += [("ClientRequest", v) for v in self.values if v not in mine]
        if self.may_change_config(s):
            if len(members) >= 3:
                want += [("RemoveServer", p) for p in members if p != me]
            want += [("AddServer", p) for p in self.servers if p not in members]
        if self.lease is not None and not s.readServed:
            want.append(("ClientRead",))
        return frozenset(want)

    @staticmethod
    def rearm(ctx: Context, before: frozenset, after: frozenset) -> None:
        """Arm the timers of ``after`` and cancel those of ``before`` not in it."""
        for timer in before - after:
            ctx.cancel_timer(timer)
        for timer in after - before:
            ctx.set_timer(timer)

    def may_change_config(self, s: Server) -> bool:
        """A leader may start a membership change (one server at a time)."""
        if not self.membership:
            return False
        if any(is_config(e) for e in s.log):
            return False                          # the bound: one change per log (a change in progress too)
        if self.bug == "membership_one_step":
            return True                           # the bug: no entry of this term committed yet
        return s.commitIndex > 0 and s.log[s.commitIndex - 1][0] == s.currentTerm

    # -- start and restart -----------------------------------------------------------
    @staticmethod
    def fresh() -> Server:
        """A server that has never run: term 0, no vote, empty log, follower."""
        return Server(currentTerm=0, votedFor=None, role=FOLLOWER, log=(), commitIndex=0,
                      votesGranted=frozenset(), nextIndex=frozenset(), matchIndex=frozenset(), notify=frozenset(),
                      heardAt=None, leaseAcks=frozenset(), readServed=False)

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Server:
        s = self.fresh()
        if durable is not None:
            # Restart: everything but the durable state is lost. With lease reads a
            # restarted server waits out an election timeout before it votes.
            s = self.restore(s, durable)
            if self.lease is not None:
                s = s._replace(heardAt=ctx.now())
        self.rearm(ctx, frozenset(), self.timers(node_id, s))
        return s

    # -- timers ----------------------------------------------------------------------
    def on_timer(self, me: str, s: Server, timer: Any, ctx: Context) -> Server:
        before = self.timers(me, s) - {timer}     # the timer that fired is disarmed
        if timer == "ElectionTimeout":
            s = self.timeout(me, s, ctx)
        elif timer[0] == "RequestVote":
            self.request_vote(me, s, timer[1], ctx)
        elif timer[0] == "AppendEntries":
            s = self.append_entries(me, s, timer[1], ctx)
        elif timer[0] == "ClientRequest":
            s = self.client_request(me, s, timer[1], ctx)
        elif timer[0] == "RemoveServer":
            s = self.remove_server(me, s, timer[1], ctx)
        elif timer[0] == "AddServer":
            s = self.add_server(me, s, timer[1], ctx)
        elif timer[0] == "ClientRead":
            s = self.client_read(me, s, ctx)
        self.rearm(ctx, before, self.timers(me, s))
        return s

    def timeout(self, me: str, s: Server, ctx: Context) -> Server:
        """Timeout: start an election in the next term and vote for itself."""
        if self.hears_leader(s, ctx.now()):
            return s                              # its leader is still alive: no election yet
        term = s.currentTerm + 1
        s = s._replace(currentTerm=term, role=CANDIDATE, votedFor=me, votesGranted=frozenset({me}))
        if self.quorum(s.votesGranted, self.config(s.log)):
            s = self.become_leader(me, s, ctx)
        return s

    @staticmethod
    def request_vote(me: str, s: Server, peer: str, ctx: Context) -> None:
        """RequestVote(i, j): the candidate asks ``peer`` for its vote."""
        ctx.send(peer, ("RequestVote", s.currentTerm, last_term(s.log), len(s.log)))

    def next_append(self, s: Server, peer: str) -> tuple:
        """The AppendEntries a leader sends ``peer`` now: the entry at nextIndex[peer], if any."""
        nxt = get(s.nextIndex, peer, 1)
        prev = nxt - 1
        prev_term = s.log[prev - 1][0] if prev > 0 else 0
        last = min(len(s.log), nxt)
        return ("AppendEntries", s.currentTerm, prev, prev_term, s.log[nxt - 1:last], min(s.commitIndex, last))

    @staticmethod
    def has_news(s: Server, peer: str) -> bool:
        """Whether a leader has something to tell ``peer``: entries, its leadership, or a new commitIndex."""
        acked = any(p == peer for p, _ in s.matchIndex)
        return not acked or get(s.nextIndex, peer, 1) <= len(s.log) or peer in s.notify

    def append_entries(self, me: str, s: Server, peer: str, ctx: Context) -> Server:
        """AppendEntries(i, j): send the entry at nextIndex[j] (or none: a heartbeat), if it is news to j."""
        msg = self.next_append(s, peer)
        if self.lease is not None:
            msg += (ctx.now(),)                   # the leader's clock: the lease counts from here
        ctx.send(peer, msg)
        return s._replace(notify=s.notify - {peer})

    def client_request(self, me: str, s: Server, value: str, ctx: Context) -> Server:
        """ClientRequest(i, v): the leader appends v to its log."""
        entry = (s.currentTerm, value)
        if self.bug == "leader_overwrite" and s.commitIndex < len(s.log):
            return s._replace(log=s.log[:-1] + (entry,))   # the bug: replaces its last uncommitted entry
        s = s._replace(log=s.log + (entry,))
        return self.advance_commit(me, s, ctx)

    def remove_server(self, me: str, s: Server, peer: str, ctx: Context) -> Server:
        """The leader appends a configuration without ``peer``; it takes effect at once."""
        members = tuple(m for m in self.config(s.log) if m != peer)
        entry = (s.currentTerm, ("config", members))
        s = s._replace(log=s.log + (entry,))
        return self.advance_commit(me, s, ctx)

    def add_server(self, me: str, s: Server, peer: str, ctx: Context) -> Server:
        """The leader appends a configuration with ``peer`` added; it takes effect at once."""
        members = tuple(m for m in self.servers if m in self.config(s.log) or m == peer)
        s = s._replace(log=s.log + ((s.currentTerm, ("config", members)),))
        return self.advance_commit(me, s, ctx)

    def client_read(self, me: str, s: Server, ctx: Context) -> Server:
        """A client reads at the leader: served from the state machine while the lease holds."""
        if not (self.lease_holds(me, s, ctx.now()) and self.knows_commit(s)):
            return s                              # the read waits
        ctx.invoke("read")
        ctx.ok("read", self.applied(s))
        return s._replace(readServed=True)

    # -- leases ----------------------------------------------------------------------
    def lease_start(self, me: str, s: Server) -> int | None:
        """The latest stamp a majority (the leader included) has acknowledged, or None."""
        members = self.config(s.log)
        stamps = sorted((t for p, t in s.leaseAcks if p in members), reverse=True)
        need = len(members) // 2 + 1 - (1 if me in members else 0)
        if need <= 0:
            return None
        return stamps[need - 1] if len(stamps) >= need else None

    def lease_holds(self, me: str, s: Server, now: int) -> bool:
        """Whether leader ``me`` holds a lease at local time ``now``."""
        start = self.lease_start(me, s) if s.role == LEADER else None
        return start is not None and now < start + self.lease

    @staticmethod
    def knows_commit(s: Server) -> bool:
        """Whether a leader's commitIndex covers every committed entry.

        It does once it has committed an entry of its own term, or when every
        entry of its log is committed (by Leader Completeness, its log holds
        every committed entry).
        """
        return s.commitIndex == len(s.log) or s.log[s.commitIndex - 1][0] == s.currentTerm

    @staticmethod
    def applied(s: Server) -> tuple:
        """The state machine, a list of the values written: the applied (non-configuration) values."""
        return tuple(e[1] for e in s.log[:s.commitIndex] if not is_config(e))

    # -- messages --------------------------------------------------------------------
    def on_message(self, me: str, s: Server, src: str, msg: tuple, ctx: Context) -> Server:
        before = self.timers(me, s)
        kind, term = msg[0], msg[1]
        if kind == "RequestVote" and term > s.currentTerm and self.hears_leader(s, ctx.now()):
            return s                              # leader stickiness: ignore a disruptive candidate
        if term > s.currentTerm:
            s = self.step_down(s, term)
        if kind == "RequestVote":
            s = self.handle_request_vote(me, s, src, msg, ctx)
        elif kind == "RequestVoteResponse":
            s = self.handle_request_vote_response(me, s, src, msg, ctx)
        elif kind == "AppendEntries":
            s = self.handle_append_entries(me, s, src, msg, ctx)
        elif kind == "AppendEntriesResponse":
            s = self.handle_append_entries_response(me, s, src, msg, ctx)
        self.rearm(ctx, before, self.timers(me, s))
        return s

    def handle_request_vote(self, me: str, s: Server, src: str, msg: tuple, ctx: Context) -> Server:
        """Grant the vote if the term is current, no other vote was cast, and the log is up to date."""
        _, term, cand_last_term, cand_last_index = msg
        log_ok = (cand_last_term > last_term(s.log)
                  or (cand_last_term == last_term(s.log) and cand_last_index >= len(s.log)))
        if self.bug == "no_log_check":
            log_ok = True
        vote_free = s.votedFor in (None, src) or self.bug == "double_vote"
        grant = term == s.currentTerm and log_ok and vote_free
        if grant:
            s = s._replace(votedFor=src)
        ctx.send(src, ("RequestVoteResponse", s.currentTerm, grant))
        return s

    def handle_request_vote_response(self, me: str, s: Server, src: str, msg: tuple, ctx: Context) -> Server:
        """Tally a vote of the current term; a majority of votes makes the candidate leader."""
        _, term, granted = msg
        if term < s.currentTerm or s.role != CANDIDATE or not granted:
            return s                              # stale, or a refusal, or already decided
        s = s._replace(votesGranted=s.votesGranted | {src})
        if self.quorum(s.votesGranted, self.config(s.log)):
            s = self.become_leader(me, s, ctx)
        return s

    def become_leader(self, me: str, s: Server, ctx: Context) -> Server:
        """BecomeLeader: nextIndex just past its log, matchIndex 0, for every other server."""
        ctx.record(("elected", me, s.currentTerm))
        peers = [p for p in self.servers if p != me]
        return s._replace(role=LEADER, votesGranted=frozenset(),
                          nextIndex=frozenset((p, len(s.log) + 1) for p in peers),
                          matchIndex=frozenset())

    def handle_append_entries(self, me: str, s: Server, src: str, msg: tuple, ctx: Context) -> Server:
        """Accept the entries if the log matches at prevLogIndex; delete conflicting entries."""
        _, term, prev, prev_term, entries, leader_commit = msg[:6]
        stamp = msg[6:]                           # lease reads: the leader's clock when it sent
        if term < s.currentTerm:
            ctx.send(src, ("AppendEntriesResponse", s.currentTerm, False, 0) + stamp)
            return s
        if s.role == LEADER:
            return s                              # another leader of this term: impossible in correct Raft
        if s.role == CANDIDATE:
            s = s._replace(role=FOLLOWER, votesGranted=frozenset())   # a leader of its term exists
        if self.lease is not None:
            s = s._replace(heardAt=ctx.now())
        log = s.log
        if prev > len(log) or (prev > 0 and log[prev - 1][0] != prev_term):
            if self.bug != "no_prev_check":
                ctx.send(src, ("AppendEntriesResponse", s.currentTerm, False, 0) + stamp)
                return s
            if entries:                           # the bug: writes the entries after its own prefix
                log = log[:prev] + entries
        elif entries:
            index = prev + 1
            if len(log) >= index and log[index - 1][0] != entries[0][0]:
                log = log[:index - 1] + entries   # conflict: delete the entry and all that follow
            elif len(log) == prev:
                log = log + entries               # no conflict: append
        match = prev + len(entries)
        commit = max(s.commitIndex, min(leader_commit, match))
        ctx.send(src, ("AppendEntriesResponse", s.currentTerm, True, match) + stamp)
        return s._replace(log=log, commitIndex=commit)

    def handle_append_entries_response(self, me: str, s: Server, src: str, msg: tuple, ctx: Context) -> Server:
        """Advance matchIndex and commit on success; on failure retry from the previous entry."""
        _, term, success, match = msg[:4]
        if term < s.currentTerm or s.role != LEADER:
            return s                              # stale
        if not success:
            return s._replace(nextIndex=put(s.nextIndex, src, max(get(s.nextIndex, src, 1) - 1, 1)))
        s = s._replace(nextIndex=put(s.nextIndex, src, match + 1),
                       matchIndex=put(s.matchIndex, src, max(get(s.matchIndex, src), match)))
        if self.lease is not None:
            s = s._replace(leaseAcks=put(s.leaseAcks, src, max(get(s.leaseAcks, src, -1), msg[4])))
        return self.advance_commit(me, s, ctx)

    def advance_commit(self, me: str, s: Server, ctx: Context) -> Server:
        """AdvanceCommitIndex: the highest index a majority stores, if its entry is of this term."""
        members = self.config(s.log)
        best = s.commitIndex
        for index in range(len(s.log), s.commitIndex, -1):
            holders = [p for p, m in s.matchIndex if m >= index] + [me]
            if self.quorum(holders, members):
                if self.bug == "figure8" or s.log[index - 1][0] == s.currentTerm:
                    best = index
                break
        if best == s.commitIndex:
            return s
        for index in range(s.commitIndex + 1, best + 1):
            ctx.record(("commit", me, s.currentTerm, index, s.log[index - 1]))
        return s._replace(commitIndex=best, notify=frozenset(p for p in members if p != me))

    # -- presentation ------------------------------------------------------------------
    def format_message(self, msg: tuple) -> str:
        kind = msg[0]
        if kind == "RequestVote":
            return f"RequestVote(term {msg[1]}, last entry {msg[3]}@t{msg[2]})"
        if kind == "RequestVoteResponse":
            return f"RequestVoteResponse(term {msg[1]}, {'granted' if msg[2] else 'refused'})"
        if kind == "AppendEntries":
            text = f"AppendEntries(term {msg[1]}, prev {msg[2]}@t{msg[3]}, {log_text(msg[4])}, commit {msg[5]}"
            return text + (f", sent at {msg[6]})" if len(msg) > 6 else ")")
        if kind == "AppendEntriesResponse":
            text = f"AppendEntriesResponse(term {msg[1]}, {'ok, match ' + str(msg[3]) if msg[2] else 'rejected'}"
            return text + (f", stamp {msg[4]})" if len(msg) > 4 else ")")
        return format_action(msg)

    def render(self, s: Server) -> Any:
        out: dict[str, Any] = {"term": s.currentTerm, "role": s.role, "votedFor": s.votedFor,
                               "log": log_text(s.log), "commitIndex": s.commitIndex}
        if s.role == CANDIDATE:
            out["votesGranted"] = sorted(s.votesGranted)
        if s.role == LEADER:
            out["nextIndex"] = dict(sorted(s.nextIndex))
            out["matchIndex"] = dict(sorted(s.matchIndex))
        if self.lease is not None:
            out["heardAt"] = s.heardAt
            if s.role == LEADER:
                out["leaseAcks"] = dict(sorted(s.leaseAcks))
        return out


class Raft(ActorModel):
    """``servers`` Raft servers on an unordered network, with the faults asked for.

    Parameters left None take the defaults of ``bug`` (see ``DEFAULTS``).
    """

    def __init__(self, servers: int | None = None, max_term: int | None = None, max_log: int | None = None,
                 client_values: int | None = None, bug: str = "none", max_in_flight: int | None = None,
                 membership: bool | None = None, reads: str | None = None,
                 election_timeout: int | None = None, max_time: int | None = None,
                 liveness: str = "off", faults: Any = None, network: Any = None,
                 members: int | None = None) -> None:
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        if liveness not in LIVENESS:
            raise ValueError(f"liveness must be one of {', '.join(LIVENESS)}")
        given = dict(servers=servers, max_term=max_term, max_log=max_log, client_values=client_values,
                     max_in_flight=max_in_flight, membership=membership, members=members, reads=reads,
                     election_timeout=election_timeout, max_time=max_time,
                     faults=None if faults in (None, "default") else faults)
        p = {**COMMON, **DEFAULTS[bug], **{k: v for k, v in given.items() if v is not None}}
        if p["servers"] < 1 or p["max_term"] < 0 or p["max_log"] < 0 or p["client_values"] < 1:
            raise ValueError("need servers >= 1, max_term >= 0, max_log >= 0 and client_values >= 1")
        if p["max_in_flight"] < 1:
            raise ValueError("max_in_flight must be at least 1")
        if p["reads"] not in ("none", "lease"):
            raise ValueError("reads must be none or lease")
        if p["reads"] == "lease" and p["max_time"] < 1:
            raise ValueError("lease reads need clocks: max_time >= 1")
        if bug == "stale_lease_read" and p["reads"] != "lease":
            raise ValueError("bug stale_lease_read needs reads=lease")
        if bug == "membership_one_step" and not p["membership"]:
            raise ValueError("bug membership_one_step needs membership=true")
        if members is None:                       # a default: at most all the servers
            p["members"] = p["servers"] if p["members"] is None else min(p["members"], p["servers"])
        if not 1 <= p["members"] <= p["servers"]:
            raise ValueError("members must be between 1 and servers")
        if p["members"] < p["servers"] and not p["membership"]:
            raise ValueError("spare servers (members < servers) need membership=true")
        self.bug, self.liveness = bug, liveness
        self.server_ids = tuple(f"n{i + 1}" for i in range(p["servers"]))
        self.members = self.server_ids[:p["members"]]
        self.values = tuple(f"v{i + 1}" for i in range(p["client_values"]))
        cfg: FaultConfig = as_fault_config(p["faults"])
        if cfg.dup is None:
            raise ValueError("raft: fault dup needs a budget (dup=K): each duplicate may exceed max_in_flight")
        lease = None
        if p["reads"] == "lease":
            if cfg.clock_jumps is None:
                raise ValueError("lease reads need a bounded number of clock jumps (clock-jumps=K)")
            # How far a follower's clock can gain on the leader's between hearing from it and timing out.
            self.max_drift = 2 * cfg.clock_skew + cfg.clock_jump * cfg.clock_jumps
            lease = p["election_timeout"] - (0 if bug == "stale_lease_read" else self.max_drift)
        self.lease = lease
        self.actor = RaftServer(self.server_ids, p["max_term"], p["max_log"], self.values, bug,
                                p["membership"], lease, p["election_timeout"], self.members)
        spares = self.server_ids[len(self.members):]
        super().__init__({sid: self.actor for sid in self.server_ids}, network=network or "unordered",
                         faults=cfg, max_in_flight=p["max_in_flight"], max_time=p["max_time"],
                         symmetry=[self.members, spares, self.values])   # members and spares differ
        # members only with spares: otherwise it is "all servers" whatever the flag
        self.settings = {k: v for k, v in p.items() if k != "faults" and (k != "members" or spares)}
        self.votes_durable = "votedFor" in self.actor.durable_fields
        self._restarts: dict[tuple, Server] = {}   # a crashed server's disk -> the state it restarts with

    def params(self) -> dict[str, Any]:
        """The parameters with the bug's defaults filled in, plus faults and network (what replay needs)."""
        return {**self.settings, "bug": self.bug, "liveness": self.liveness,
                "faults": self.faults.spec(), "network": self.network.kind}

    # -- steps ------------------------------------------------------------------------
    def successors(self, w: World):
        """The actor model's steps, each followed by discarding the messages nobody will use."""
        for action, nxt in super().successors(w):
            yield action, self.discard_useless(nxt)

    def within_boundary(self, w: World) -> bool:
        """At most ``max_in_flight`` messages in flight, plus one per duplicate the dup fault made."""
        made = 0 if not self.faults.dup else self.faults.dup - w.left[DUP]
        return self.network.count(w.net) <= self.max_in_flight + made

    def discard_useless(self, w: World) -> World:
        """``w`` without the responses their receiver is certain to ignore.

        A response from an older term, a vote response to a server that is no
        longer a candidate of that term (or a refusal), and an AppendEntries
        response to a server that is no longer leader of that term, would be
        ignored whenever delivered (terms never decrease, and a server is
        candidate or leader at most once per term); dropping them at once
        keeps equal states equal.
        """
        net_ops = self.network
        useless = {env for env in net_ops.messages(w.net) if self.ignored(w, env)}
        if not useless:
            return w
        return w._replace(net=net_ops.keep(w.net, lambda env: env not in useless))

    def ignored(self, w: World, env: tuple) -> bool:
        """Whether ``env`` is certain to change nothing whenever it arrives (but its own removal)."""
        src, dst, msg = env
        kind = msg[0]
        if kind == "AppendEntries":
            return False
        d = self.remembered(w, dst)
        if d is None:
            return False
        if kind == "RequestVote":
            # A vote request of the receiver's term that it will refuse, or grant again to a
            # candidate that has its vote already (or has stopped being a candidate).
            if msg[1] != d.currentTerm or not self.votes_durable or self.bug == "double_vote":
                return False
            if d.votedFor is None:
                return False
            if d.votedFor != src:
                return True
            c = self.remembered(w, src)
            return c is not None and (c.currentTerm != msg[1] or c.role != CANDIDATE or dst in c.votesGranted)
        if msg[1] != d.currentTerm:
            return msg[1] < d.currentTerm           # a response from an older term
        if kind == "RequestVoteResponse":
            return d.role != CANDIDATE or not msg[2] or src in d.votesGranted
        return d.role != LEADER                     # AppendEntriesResponse

    def remembered(self, w: World, node: str) -> Server | None:
        """``node``'s state, or for a crashed node the state it restarts with (None: never)."""
        i = self.index[node]
        s = w.nodes[i]
        if s is not None:
            return s
        disk = w.disk[i]
        if disk is None:
            return None
        s = self._restarts.get(disk)                # (a crashed server's disk recurs in many Worlds)
        return s if s is not None else remember(self._restarts, disk, self.actor.restore(self.actor.fresh(), disk))

    # -- what guides a sampled search (Model.abstract) -----------------------------------
    def abstract(self, w: World) -> tuple:
        """Whether each server leads, its term, commit index and log (entry terms, configurations
        marked by their size); with spares also whether it is in its own configuration; with lease
        reads also the ticks since it heard from a leader and, for a leader, its lease
        acknowledgements and clock. Sorted (servers are symmetric; a crashed server is ``(-1,)``),
        with the number of reads served."""
        servers = []
        spares = len(self.members) < len(self.server_ids)
        for i, s in enumerate(w.nodes):
            if s is None:
                servers.append((-1,))
                continue
            leads = s.role == LEADER
            summary = (leads, s.currentTerm, s.commitIndex,
                       tuple((e[0], len(e[1][1]) if is_config(e) else 0) for e in s.log))
            if spares:
                summary += (self.server_ids[i] in self.actor.config(s.log),)
            if self.lease is not None:
                since = -1 if s.heardAt is None else w.clocks[i] - s.heardAt
                summary += (since, len(s.leaseAcks), w.clocks[i]) if leads else (since, 0, -1)
            servers.append(summary)
        return tuple(sorted(servers)), sum(1 for e in w.history if e[0] == "ok")

    # -- what the properties read (properties.consensus.RaftView) ---------------------
    def servers(self, w: World) -> Iterable[tuple[str, Server]]:
        return self.live(w)

    def logs(self, w: World) -> list[tuple]:
        out = []
        for i, s in enumerate(w.nodes):
            if s is not None:
                out.append(s.log)
            elif w.disk[i] is not None:
                out.append(dict(w.disk[i])["log"])
        return out

    def committed(self, w: World) -> list[tuple[int, tuple, int]]:
        return [(e[3], e[4], e[2]) for e in w.history if e[0] == "commit"]

    def elected(self, w: World) -> list[tuple[str, int]]:
        return [(e[1], e[2]) for e in w.history if e[0] == "elected"]

    def properties(self) -> list[Property]:
        props = raft_properties(self, leader_change=self.settings["max_term"] >= 2)
        if self.settings["membership"]:
            props.append(sometimes("ServerRemoved", self.server_removed,
                                   "a configuration without one of the first configuration's servers is committed"))
        if len(self.members) < len(self.server_ids):
            props.append(sometimes("ServerAdded", self.server_added,
                                   "a configuration with a spare server is committed"))
        if self.lease is not None:
            props += [
                always("NoStaleReads", self.no_stale_reads,
                       "each read returns the value of the highest entry committed before it"),
                sometimes("ReadServed", lambda w: any(e[0] == "ok" for e in w.history),
                          "a leader serves a read from its lease"),
            ]
        return props + self.liveness_properties()

    def server_removed(self, w: World) -> bool:
        """Whether a configuration entry that leaves out a server of the first configuration has been committed."""
        first = set(self.members)
        return any(e[0] == "commit" and is_config(e[4]) and not first <= set(e[4][1][1]) for e in w.history)

    def server_added(self, w: World) -> bool:
        """Whether a configuration entry that holds a spare server has been committed."""
        first = set(self.members)
        return any(e[0] == "commit" and is_config(e[4]) and not set(e[4][1][1]) <= first for e in w.history)

    def no_stale_reads(self, w: World) -> bool:
        """Each read returns every value committed before it, in log order (the values, no more)."""
        committed: dict[int, Any] = {}
        for e in w.history:
            if e[0] == "commit":
                committed[e[3]] = e[4]
            elif e[0] == "ok" and e[2] == "read":
                top = max(committed, default=0)
                values = tuple(committed[i][1] for i in range(1, top + 1)
                               if i in committed and not is_config(committed[i]))
                if e[3] != values:
                    return False
        return True

    def liveness_properties(self) -> list[Property]:
        """LeaderEventuallyElected, judged per the ``liveness`` parameter.

        Every behaviour in which faults stop reaches a state where a running
        server is leader, or every running server is at ``max_term`` (where
        the bound stops elections; a vote split at the last term can never be
        retried). Only behaviours whose faults eventually stop are judged, but
        the state may come before the last fault: this is ``<>P``, not a
        promise of a leader after the faults. "fair": under weak fairness of
        each message's delivery, of each server's election timeout and of its
        other timers; it holds. "unfair": without fairness on election
        timeouts; a lasso where no election timer ever fires violates it.
        "off": not judged.
        """
        if self.liveness == "off":
            return []
        top = self.settings["max_term"]

        def elected(w: World) -> bool:
            states = [s for _, s in self.live(w)]
            return any(s.role == LEADER for s in states) or all(s.currentTerm >= top for s in states)
        fairness: list[Any] = [
            AFTER_FAULTS,
            WF("delivery", "deliver", per=lambda a: a[1:]),
            WF("sending", lambda a: a[0] == "timeout" and a[2] != "ElectionTimeout", per=lambda a: a[1:]),
        ]
        if self.liveness == "fair":
            fairness.append(WF("election timeout", lambda a: a[0] == "timeout" and a[2] == "ElectionTimeout",
                               per=lambda a: a[1]))
        return [eventually("LeaderEventuallyElected", elected, fairness,
                           "in every fair behaviour whose faults stop, some state (possibly before the last fault) "
                           "has a leader or every running server at max_term")]

    # -- presentation ----------------------------------------------------------------
    def describe(self, w: World, action: tuple, nxt: World) -> str:
        kind = action[0]
        if kind == "deliver":
            text = self.describe_delivery(w, action, nxt)
        elif kind == "timeout":
            text = self.describe_timer(w, action, nxt)
        elif kind == "crash":
            text = self.describe_crash(w, action[1])
        else:
            return super().describe(w, action, nxt)
        return text + self.describe_records(w, nxt)

    def describe_records(self, w: World, nxt: World) -> str:
        notes = []
        for e in nxt.history[len(w.history):]:
            if e[0] == "commit":
                notes.append(f"entry {e[3]} ({entry_text(e[4])}) is committed")
                if e[4][0] < e[2]:
                    notes[-1] += (f" by counting replicas, though it is from term {e[4][0]}, "
                                  f"not the leader's term {e[2]}")
            elif e[0] == "ok":
                notes.append(f"the client reads {e[3]}")
        return ("; " + ", ".join(notes)) if notes else ""

    def describe_crash(self, w: World, node: str) -> str:
        s = self.state_of(w, node)
        if not self.faults.restart:
            return f"{node} crashes for good (it was {s.role} of term {s.currentTerm})"
        kept = f"term {s.currentTerm}, log {log_text(s.log)}"
        if "votedFor" in self.actor.durable_fields:
            kept += f", votedFor {s.votedFor}"
            return f"{node} crashes; its disk keeps {kept}"
        return f"{node} crashes; its disk keeps {kept}, but not votedFor ({s.votedFor}): that was only in memory"

    def describe_timer(self, w: World, action: tuple, nxt: World) -> str:
        _, node, timer = action
        a, b = self.state_of(w, node), self.state_of(nxt, node)
        if timer == "ElectionTimeout":
            if b == a:
                return f"{node}'s election timer fires, but it heard from its leader at {a.heardAt}: it waits"
            others = [m for m in self.actor.config(b.log) if m != node]
            text = (f"{node}'s election timer fires: it becomes candidate for term {b.currentTerm}, "
                    f"votes for itself and asks {', '.join(others)} for votes")
            if b.role == LEADER:
                text += f"; it alone is a majority: {node} becomes leader of term {b.currentTerm}"
            return text
        what = timer[0]
        if what == "AppendEntries":
            peer = timer[1]
            sent = [m for src, dst, m in self.in_flight(nxt) if src == node and dst == peer]
            msg = next((m for m in sent if m[0] == "AppendEntries" and m[1] == a.currentTerm), None)
            if msg is not None and msg[4]:
                return (f"leader {node} sends {peer} entry {msg[2] + 1} ({entry_text(msg[4][0])}), "
                        f"after entry {msg[2]}@t{msg[3]}, commit {msg[5]}")
            if msg is not None:
                return f"leader {node} sends {peer} a heartbeat (after entry {msg[2]}@t{msg[3]}, commit {msg[5]})"
            return f"leader {node} sends {peer} AppendEntries"
        if what == "ClientRequest":
            if len(b.log) == len(a.log):
                return (f"a client asks leader {node} to write {timer[1]}: {node} overwrites its uncommitted "
                        f"entry {len(b.log)} ({entry_text(a.log[-1])}) with {entry_text(b.log[-1])}")
            return (f"a client asks leader {node} to write {timer[1]}: {node} appends entry {len(b.log)} "
                    f"({entry_text(b.log[-1])})")
        if what == "RequestVote":
            return f"candidate {node} sends {timer[1]} RequestVote for term {a.currentTerm}"
        if what in ("RemoveServer", "AddServer"):
            verb = "removing" if what == "RemoveServer" else "adding"
            return (f"leader {node} starts {verb} {timer[1]}: it appends entry {len(b.log)} "
                    f"{entry_text(b.log[-1])}, in effect on {node} at once")
        if what == "ClientRead":
            if b == a:
                return f"a client asks leader {node} to read: no valid lease at clock {self.clock(w, node)}, it waits"
            start = self.actor.lease_start(node, a)
            return (f"a client reads at leader {node}: its lease runs to {start + self.lease} "
                    f"and its clock reads {self.clock(w, node)}, so it answers from its state machine")
        return super().describe(w, action, nxt)

    def describe_delivery(self, w: World, action: tuple, nxt: World) -> str:
        _, src, dst, msg = action
        a, b = self.state_of(w, dst), self.state_of(nxt, dst)
        kind, term = msg[0], msg[1]
        pre = ""
        if kind == "RequestVote" and b == a and term > a.currentTerm:
            return (f"{dst} ignores {src}'s RequestVote for term {term}: it heard from its leader at "
                    f"{a.heardAt}, less than an election timeout ago")
        if term > a.currentTerm:
            pre = f"{dst} sees term {term} and " + ("steps down; " if a.role != FOLLOWER else "adopts it; ")
            a = self.actor.step_down(a, term)
        if kind == "RequestVote":
            if b.votedFor == src and a.votedFor != src:
                why = "" if self.bug != "no_log_check" else " (without comparing logs)"
                return pre + f"{dst} grants its vote to {src} for term {term}{why}"
            if term < a.currentTerm:
                return pre + f"{dst} refuses {src}'s stale RequestVote (term {term} < {a.currentTerm})"
            if a.votedFor not in (None, src):
                return pre + f"{dst} refuses to vote for {src}: it already voted for {a.votedFor} in term {term}"
            if a.votedFor == src:
                return pre + f"{dst} grants its vote to {src} for term {term} again"
            return pre + (f"{dst} refuses to vote for {src}: {src}'s log (last entry {msg[3]}@t{msg[2]}) is "
                          f"behind its own {log_text(a.log)}")
        if kind == "RequestVoteResponse":
            if term < a.currentTerm or a.role != CANDIDATE:
                return pre + f"{dst} ignores {src}'s vote response (term {term}; {dst} is {a.role} of term {a.currentTerm})"
            if not msg[2]:
                return pre + f"{dst} learns that {src} refused its vote"
            text = f"{dst} receives {src}'s vote for term {term} (votes: {', '.join(sorted(a.votesGranted | {src}))})"
            if b.role == LEADER:
                text += f": a majority, {dst} becomes leader of term {term} with log {log_text(b.log)}"
            return pre + text
        if kind == "AppendEntries":
            return pre + self.describe_append(src, dst, msg, a, b)
        if kind == "AppendEntriesResponse":
            if term < a.currentTerm or a.role != LEADER:
                return pre + f"{dst} ignores a stale AppendEntries response from {src}"
            if not msg[2]:
                return pre + (f"{src} rejected {dst}'s AppendEntries: {dst} will retry from entry "
                              f"{get(b.nextIndex, src, 1)}")
            return pre + f"leader {dst} learns that {src} stores its log up to entry {msg[3]}"
        return pre + super().describe(w, action, nxt)

    def describe_append(self, src: str, dst: str, msg: tuple, a: Server, b: Server) -> str:
        term, prev, prev_term, entries, commit = msg[1:6]
        if term < a.currentTerm:
            return f"{dst} rejects AppendEntries from {src}: term {term} is stale ({dst} is in term {a.currentTerm})"
        if a.role == LEADER:
            return f"{dst}, itself leader of term {term}, ignores AppendEntries from {src}, another leader of term {term}"
        if prev > 0 and (len(a.log) < prev or a.log[prev - 1][0] != prev_term):
            if self.bug != "no_prev_check":
                return (f"{dst} rejects AppendEntries from leader {src}: its log {log_text(a.log)} "
                        f"has no entry {prev}@t{prev_term}")
            return (f"{dst} accepts AppendEntries from leader {src} though its log {log_text(a.log)} has no entry "
                    f"{prev}@t{prev_term} (it does not check): its log is now {log_text(b.log)}"
                    + (f", commits and applies up to entry {b.commitIndex}" if b.commitIndex > a.commitIndex else ""))
        parts = []
        if b.log != a.log:
            index = prev + 1
            if len(a.log) >= index:
                lost = a.log[index - 1:]
                parts.append(f"{dst} overwrites {log_text(lost)} from entry {index} on with "
                             f"{entry_text(entries[0])} from leader {src}")
            else:
                parts.append(f"{dst} appends entry {index} ({entry_text(entries[0])}) from leader {src}")
        elif entries:
            parts.append(f"{dst} already holds entry {prev + 1} ({entry_text(entries[0])}) from leader {src}")
        else:
            parts.append(f"{dst} accepts a heartbeat from leader {src}")
        if b.commitIndex > a.commitIndex:
            parts.append(f"commits and applies up to entry {b.commitIndex}")
        return ", ".join(parts)


SPEC = ModelSpec(
    name="raft",
    summary="Raft: election, log replication and commitment (raft.tla), with its known bugs as flags",
    factory=Raft,
    params=(
        Param("servers", int, None, "number of servers (default per bug: 3; 4 for membership_one_step)"),
        Param("max_term", int, None, "no election past this term (default per bug)"),
        Param("max_log", int, None, "logs hold at most this many client entries (default per bug)"),
        Param("client_values", int, None, "values clients write: v1, v2, ... (default per bug)"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
        Param("max_in_flight", int, None, "states with more messages in flight are not explored; each duplicate the "
              "dup fault made adds one (default 1)"),
        Param("membership", bool, None, "single-server membership changes (default: only for membership_one_step)"),
        Param("members", int, None, "servers in the first configuration; the others are spares a leader may add "
              "(default: all; for membership_one_step 4, or all when fewer)"),
        Param("reads", str, None, "lease: leaders serve reads from a lease (default: only for stale_lease_read)",
              choices=("none", "lease")),
        Param("election_timeout", int, None, "election timeout in clock ticks, for lease reads (default per bug)"),
        Param("max_time", int, None, "clocks stop at this value (default per bug; 0: no clocks)"),
        Param("liveness", str, "off", "also judge LeaderEventuallyElected: with fair election timeouts (fair) or not (unfair)",
              choices=LIVENESS),
        Param("faults", str, "default", "the faults, in the --faults form (default: per bug)"),
        Param("network", str, "unordered", "message semantics: unordered, duplicating or fifo",
              choices=("unordered", "duplicating", "fifo")),
    ),
    bugs=BUGS,
    breaks={
        "figure8": ("LeaderCompleteness", "StateMachineSafety"),
        "volatile_vote": ("ElectionSafety", "LogMatching", "StateMachineSafety"),
        "no_log_check": ("LeaderCompleteness", "StateMachineSafety"),
        "double_vote": ("ElectionSafety",),
        "stale_lease_read": ("NoStaleReads",),
        "membership_one_step": ("LeaderCompleteness",),
        "leader_overwrite": ("LeaderAppendOnly", "LogMatching", "LeaderCompleteness", "StateMachineSafety"),
        "no_prev_check": ("LogMatching", "LeaderCompleteness", "StateMachineSafety"),
    },
    symmetry=True,
    faults=("partition", "one-way", "crash", "restart", "loss", "dup", "reorder",
            "clock-skew", "clock-jump"),
)
