"""Consensus properties: Raft's five safety guarantees (Figure 3 of the Raft paper).

Each guarantee is a plain function over the servers' logs and roles, and
:func:`raft_properties` states them as properties (Leader Append-Only as an
``always_step`` property, a claim about each step; the others as ``always``
invariants), with the witnesses that show a model does something, over any
model that offers a :class:`RaftView`:

- Election Safety: at most one leader can be elected in a given term.
- Leader Append-Only: a leader never overwrites or deletes entries in its
  log; it only appends new entries.
- Log Matching: if two logs contain an entry with the same index and term,
  then the logs are identical in all entries up through the given index.
- Leader Completeness: if a log entry is committed in a given term, then
  that entry will be present in the logs of the leaders for all
  higher-numbered terms.
- State Machine Safety: if a server has applied a log entry at a given
  index to its state machine, no other server will ever apply a different
  log entry for the same index.

A log is a tuple of entries, an entry a ``(term, value)`` pair, and indexes
count from 1 as in the paper. "Committed" and "elected" are history
variables: the ``(index, entry, term)`` triples a leader of ``term`` declared
committed, and the ``(server, term)`` pairs of every election won (nothing in
a server's state remembers them after a crash or a step down, so a model
records them as they happen).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, Iterable, Protocol, Sequence

from splitbrain.properties.kinds import Property, always, always_step, sometimes

Entry = tuple[int, Any]            # (term, value)
Log = tuple[Entry, ...]
Committed = tuple[int, Entry, int]  # (index, entry, term it was committed in)


def election_safety(elected: Iterable[tuple[str, int]]) -> bool:
    """At most one server is elected per term; ``elected``: the ``(server, term)`` of each election."""
    terms = [term for _, term in set(elected)]
    return len(terms) == len(set(terms))


def leader_append_only(before: Iterable[tuple[str, int, Log]], after: Iterable[tuple[str, int, Log]]) -> bool:
    """On one step, each server leader of the same term before and after only appended to its log.

    ``before`` and ``after``: the ``(server, term, log)`` of each leader
    before and after the step.
    """
    was = {(sid, term): log for sid, term, log in before}
    for sid, term, log in after:
        old = was.get((sid, term))
        if old is not None and log[:len(old)] != old:
            return False
    return True


def log_matching(logs: Sequence[Log]) -> bool:
    """Two logs holding an entry of the same index and term are identical up to that index."""
    for a, b in combinations(logs, 2):
        for i in range(min(len(a), len(b)) - 1, -1, -1):
            if a[i][0] == b[i][0]:          # the highest index where the terms agree
                if a[: i + 1] != b[: i + 1]:
                    return False
                break
    return True


def leader_completeness(leaders: Iterable[tuple[int, Log]], committed: Iterable[Committed]) -> bool:
    """Every entry committed in a term is in the log of each leader (``(term, log)``) of a higher term."""
    committed = list(committed)
    for term, log in leaders:
        for index, entry, in_term in committed:
            if in_term < term and (len(log) < index or log[index - 1] != entry):
                return False
    return True


def state_machine_safety(applied: Iterable[Log], committed: Iterable[Committed]) -> bool:
    """No two different entries are ever applied (or committed) at the same index.

    ``applied``: the prefix of each server's log its state machine has
    applied; ``committed``: every entry ever declared committed.
    """
    at: dict[int, Entry] = {}
    for index, entry, _ in committed:
        if at.setdefault(index, entry) != entry:
            return False
    for prefix in applied:
        for index, entry in enumerate(prefix, 1):
            if at.setdefault(index, entry) != entry:
                return False
    return True


def committed_after_leader_change(logs: Iterable[Log], committed: Sequence[Committed]) -> bool:
    """Some entry was committed in a term T while an entry written in an earlier term exists.

    Only a leader writes entries of its term, so an entry of term t < T shows
    that a leader of term t came before the leader that committed in term T.
    """
    if not committed:
        return False
    last = max(term for _, _, term in committed)
    terms = {entry[0] for _, entry, _ in committed}
    for log in logs:
        terms.update(entry[0] for entry in log)
    return any(t < last for t in terms)


class RaftView(Protocol):
    """What the Raft properties read from a model's state."""

    def servers(self, state: Any) -> Iterable[tuple[str, Any]]:
        """``(id, server)`` of each running server; a server has ``currentTerm``, ``role``,
        ``log`` and ``commitIndex``."""

    def elected(self, state: Any) -> Iterable[tuple[str, int]]:
        """The ``(server, term)`` of every election won so far, by servers up or crashed."""

    def logs(self, state: Any) -> list[Log]:
        """Every server's log, the disk copy for a crashed server."""

    def committed(self, state: Any) -> list[Committed]:
        """Every ``(index, entry, term)`` a leader of ``term`` has committed so far."""


LEADER = "leader"


def raft_properties(view: RaftView, leader_change: bool = True) -> list[Property]:
    """Raft's five safety properties, and the witnesses, over ``view``.

    ``leader_change``: also state the witness CommittedAfterLeaderChange (leave
    it out when the model's bounds allow a single term only).
    """

    recent: dict[int, tuple[Any, list]] = {}   # the leaders' logs of the last few states asked about, by identity

    def leader_logs(state: Any) -> list[tuple[str, int, Log]]:
        """``(server, term, log)`` of each leader of ``state``."""
        # Several properties ask of one state, and a step property asks of a state once per step from it.
        found = recent.pop(id(state), None)
        if found is not None and found[0] is state:
            recent[id(state)] = found                  # now the most recent
            return found[1]
        if len(recent) >= 4:
            del recent[next(iter(recent))]             # forget the least recent
        out = [(sid, s.currentTerm, s.log) for sid, s in view.servers(state) if s.role == LEADER]
        recent[id(state)] = (state, out)
        return out

    def append_only(before: Any, nxt: Any) -> bool:
        logs = leader_logs(before)
        if not logs:
            return True
        after = leader_logs(nxt)
        return after == logs or leader_append_only(logs, after)   # (most steps leave the leaders as they were)

    props = [
        always("ElectionSafety", lambda w: election_safety(view.elected(w)),
               "at most one server is ever elected leader in a given term (crashed leaders count)"),
        always_step("LeaderAppendOnly", lambda w, _, nxt: append_only(w, nxt),
                    "on every step, a leader of the same term before and after only appends to its log"),
        always("LogMatching", lambda w: log_matching(view.logs(w)),
               "two logs with an entry of the same index and term are identical up to that index"),
        always("LeaderCompleteness",
               lambda w: leader_completeness(((term, log) for _, term, log in leader_logs(w)), view.committed(w)),
               "an entry committed in a term is in the logs of the leaders of all higher terms"),
        always("StateMachineSafety",
               lambda w: state_machine_safety((s.log[:s.commitIndex] for _, s in view.servers(w)), view.committed(w)),
               "no two servers apply different entries at the same index"),
        sometimes("LeaderElected", lambda w: bool(leader_logs(w)), "some server becomes leader"),
        sometimes("EntryCommitted", lambda w: bool(view.committed(w)), "a leader commits an entry"),
    ]
    if leader_change:
        props.append(sometimes(
            "CommittedAfterLeaderChange", lambda w: committed_after_leader_change(view.logs(w), view.committed(w)),
            "an entry is committed by a leader whose term follows another leader's"))
    return props
