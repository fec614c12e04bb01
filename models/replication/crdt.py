"""State-based CRDTs (Shapiro, Preguiça, Baquero & Zawirski, SSS 2011).

Each replica applies its own updates locally and gossips its whole state;
a replica that receives a state merges it into its own with a join: a merge
that is commutative, associative and idempotent, so loss, duplication,
reordering and partitions cannot make replicas disagree. Types:

- ``gcounter``: one count per replica; ``inc`` bumps the replica's own entry;
  merge takes entry-wise maxima; the value is the sum.
- ``pncounter``: two G-counters, increments and decrements; value P - N.
- ``orset`` (observed-remove set): ``add e`` adds ``(e, unique tag)``;
  ``remove e`` tombstones the tags of ``e`` the replica has seen; merge is
  the union of both; ``e`` is present while one of its tags is not
  tombstoned (a concurrent add wins over a remove).

Each state carries (as a ghost, for the properties only) the set of updates
whose effect it includes. Properties: strong eventual consistency, i.e. two
replicas that have received the same updates hold the same value; for the
counters, the value is the number of increments minus decrements received.

Bug ``lww_merge``: merge keeps the whole state with the later Lamport
timestamp (the incoming one on a tie) instead of joining: concurrent
updates are discarded and replicas that received the same updates diverge.
For the counters the first violation found is the lost increment
(``CountsUpdates``); for the OR-set it is divergence (``StrongConvergence``).

Bug ``add_merge`` (counters): merge adds the received counts to the own ones
instead of taking maxima; merge is no longer idempotent, so a state received
twice (duplicated or gossiped again) is counted twice (breaks
StrongConvergence and CountsUpdates).

Default bounds: 2 replicas; scripts gcounter ``inc;inc``, pncounter
``inc,dec;inc``, orset ``add x,remove x;add x``; faults: one partition
isolating a replica (losing messages), one lost and one duplicated message,
one crash with restart; at most 4 messages in flight. Correct: 5,699 /
40,499 / 46,396 distinct states; ``lww_merge``: found in 4 / 4 / 9 steps.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from splitbrain.models.actors import Actor, ActorModel, Context, World
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import always, sometimes

BUGS = {"lww_merge": "merge keeps the state with the later timestamp instead of joining: divergence",
        "add_merge": "counters: merge adds counts instead of taking maxima: a state received twice counts twice"}
TYPES = ("gcounter", "pncounter", "orset")
DEFAULT_OPS = {"gcounter": "inc;inc", "pncounter": "inc,dec;inc", "orset": "add x,remove x;add x"}
DEFAULT_FAULTS = "partition=1,shapes=isolate,partition-drop,loss=1,dup=1,crash=1,restart"


class Replica(NamedTuple):
    payload: Any         # the CRDT state
    clock: int           # Lamport timestamp of the payload (kept by the lww_merge bug only)
    seen: frozenset      # ghost: the updates (replica, k) the payload includes
    step: int            # the replica's next update in its script


# --- the three types: initial payload, update, merge, value --------------------------------

def initial(kind: str, n: int) -> Any:
    if kind == "gcounter":
        return (0,) * n
    if kind == "pncounter":
        return ((0,) * n, (0,) * n)
    return (frozenset(), frozenset())            # orset: (adds {(e, tag)}, tombstoned tags)


def update(kind: str, payload: Any, i: int, op: tuple, tag: Any) -> Any:
    """The payload after replica ``i`` applies ``op`` (``tag``: a unique id for an OR-set add)."""
    if kind == "gcounter":
        return payload[:i] + (payload[i] + 1,) + payload[i + 1:]
    if kind == "pncounter":
        p, n = payload
        if op[0] == "inc":
            return (update("gcounter", p, i, op, tag), n)
        return (p, update("gcounter", n, i, op, tag))
    adds, removed = payload
    if op[0] == "add":
        return (adds | {(op[1], tag)}, removed)
    return (adds, removed | {t for e, t in adds if e == op[1]})


def merge(kind: str, a: Any, b: Any) -> Any:
    """The join of two payloads."""
    if kind == "gcounter":
        return tuple(max(x, y) for x, y in zip(a, b))
    if kind == "pncounter":
        return (merge("gcounter", a[0], b[0]), merge("gcounter", a[1], b[1]))
    return (a[0] | b[0], a[1] | b[1])


def add_merge(kind: str, a: Any, b: Any) -> Any:
    """The bug add_merge: counters add entry-wise (an OR-set still joins)."""
    if kind == "gcounter":
        return tuple(x + y for x, y in zip(a, b))
    if kind == "pncounter":
        return (add_merge("gcounter", a[0], b[0]), add_merge("gcounter", a[1], b[1]))
    return merge(kind, a, b)


def value(kind: str, payload: Any) -> Any:
    if kind == "gcounter":
        return sum(payload)
    if kind == "pncounter":
        return sum(payload[0]) - sum(payload[1])
    adds, removed = payload
    return frozenset(e for e, t in adds if t not in removed)


def to_wire(kind: str, payload: Any) -> Any:
    """The payload as a message carries it: tuples only (an OR-set's sets sorted)."""
    return tuple(tuple(sorted(part)) for part in payload) if kind == "orset" else payload


def from_wire(kind: str, payload: Any) -> Any:
    return tuple(frozenset(part) for part in payload) if kind == "orset" else payload


def parse_scripts(kind: str, text: str) -> tuple[tuple[tuple, ...], ...]:
    """Replica scripts: replicas split by ``;``, updates by ``,`` (inc, dec, add E, remove E)."""
    allowed = {"gcounter": ("inc",), "pncounter": ("inc", "dec"), "orset": ("add", "remove")}[kind]
    scripts = []
    for part in text.split(";"):
        ops = []
        for item in part.split(","):
            words = tuple(item.split())
            if not words or words[0] not in allowed or len(words) != (2 if kind == "orset" else 1):
                raise ValueError(f"{kind} update {item.strip()!r}: expected one of "
                                 + ", ".join(f"{a} E" if kind == "orset" else a for a in allowed))
            ops.append(words)
        scripts.append(tuple(ops))
    return tuple(scripts)


class ReplicaActor(Actor):
    """A replica: applies its script's updates, gossips its state, merges what it receives."""

    durable_fields = ("payload", "clock", "seen", "step")

    def __init__(self, kind: str, replicas: tuple[str, ...], scripts: dict[str, tuple], lww: bool,
                 adds: bool = False) -> None:
        self.kind, self.replicas, self.scripts, self.lww, self.adds = kind, replicas, scripts, lww, adds

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Replica:
        state = self.restore(Replica(initial(self.kind, len(self.replicas)), 0, frozenset(), 0), durable)
        if state.step < len(self.scripts[node_id]):
            ctx.set_timer("update")
        if durable is not None:
            ctx.set_timer("gossip")
        return state

    def on_timer(self, node_id: str, state: Replica, timer: Any, ctx: Context) -> Replica:
        if timer == "gossip":
            # Send the whole state to every other replica.
            ctx.broadcast(("State", to_wire(self.kind, state.payload), state.clock, tuple(sorted(state.seen))),
                          to=self.replicas)
            return state
        # Apply the next local update and schedule gossip.
        op = self.scripts[node_id][state.step]
        uid = (node_id, state.step)
        payload = update(self.kind, state.payload, self.replicas.index(node_id), op, uid)
        clock = state.clock + 1 if self.lww else 0
        state = Replica(payload, clock, state.seen | {uid}, state.step + 1)
        if state.step < len(self.scripts[node_id]):
            ctx.set_timer("update")
        ctx.set_timer("gossip")
        return state

    def on_message(self, node_id: str, state: Replica, src: str, msg: tuple, ctx: Context) -> Replica:
        # Merge a received state into the own one (the bug: keep the later-stamped one whole).
        _, payload, clock, seen = msg
        payload, seen = from_wire(self.kind, payload), frozenset(seen)
        if self.lww:
            if clock < state.clock:
                return state._replace(seen=state.seen | seen)
            merged, clock = payload, clock
        elif self.adds:  # (the bug add_merge: not idempotent)
            merged, clock = add_merge(self.kind, state.payload, payload), 0
        else:
            merged, clock = merge(self.kind, state.payload, payload), 0
        new = state._replace(payload=merged, clock=clock, seen=state.seen | seen)
        if new.payload != state.payload:
            ctx.set_timer("gossip")
        return new


class Crdt(ActorModel):
    """``replicas`` replicas of one CRDT of type ``type``, each running its update script."""

    def __init__(self, type: str = "gcounter", replicas: int = 2, ops: str = "", bug: str = "none",
                 max_in_flight: int = 4, faults: Any = None, network: Any = None) -> None:
        if type not in TYPES:
            raise ValueError(f"unknown CRDT type {type!r} (types: {', '.join(TYPES)})")
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        if replicas < 1:
            raise ValueError("need replicas >= 1")
        scripts = parse_scripts(type, ops or DEFAULT_OPS[type])
        if len(scripts) > replicas:
            raise ValueError(f"{len(scripts)} update scripts for {replicas} replicas")
        scripts += ((),) * (replicas - len(scripts))
        self.kind = type
        self.replicas = tuple(f"r{i + 1}" for i in range(replicas))
        self.scripts = dict(zip(self.replicas, scripts))
        actor = ReplicaActor(type, self.replicas, self.scripts, bug == "lww_merge", bug == "add_merge")
        super().__init__({r: actor for r in self.replicas}, network=network or "unordered",
                         faults=DEFAULT_FAULTS if faults is None else faults, max_in_flight=max_in_flight)

    def value_of(self, state: Replica) -> Any:
        return value(self.kind, state.payload)

    def expected(self, seen: frozenset) -> int:
        """The counter value the updates ``seen`` should produce: increments minus decrements."""
        return sum(1 if self.scripts[r][k][0] == "inc" else -1 for r, k in seen)

    def convergence(self, w: World) -> bool:
        states = [s for _, s in self.live(w)]
        return all(self.value_of(a) == self.value_of(b) for a in states for b in states if a.seen == b.seen)

    def counts_updates(self, w: World) -> bool:
        if self.kind == "orset":
            return True
        return all(self.value_of(s) == self.expected(s.seen) for _, s in self.live(w))

    def converged_after_concurrency(self, w: World) -> bool:
        states = [s for _, s in self.live(w)]
        everything = {(r, k) for r in self.replicas for k in range(len(self.scripts[r]))}
        return len(states) == len(self.replicas) and all(s.seen == everything for s in states)

    def properties(self):
        return [
            always("StrongConvergence", self.convergence,
                   "replicas that have received the same updates hold the same value"),
            always("CountsUpdates", self.counts_updates,
                   "a counter's value is the increments minus decrements it has received"),
            sometimes("AllUpdatesEverywhere", self.converged_after_concurrency,
                      "every replica has received every update"),
        ]


SPEC = ModelSpec(
    name="crdt",
    summary="state-based CRDTs (G-counter, PN-counter, OR-set) gossiped over a faulty network",
    factory=Crdt,
    params=(
        Param("type", str, "gcounter", "the CRDT", choices=TYPES),
        Param("replicas", int, 2, "replicas"),
        Param("ops", str, "", "update scripts, replicas split by ';', updates by ',' "
                              "(default per type: " + "; ".join(f"{k}: {v}" for k, v in DEFAULT_OPS.items()) + ")"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
        Param("max_in_flight", int, 4, "states with more messages in flight are not explored"),
    ),
    bugs=BUGS,
    breaks={"lww_merge": ("CountsUpdates",), "add_merge": ("StrongConvergence", "CountsUpdates")},
    faults=("partition", "one-way", "loss", "dup", "crash", "restart"),
)
