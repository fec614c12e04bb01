"""OM(m), the oral messages algorithm of Lamport, Shostak and Pease (1982).

A commander sends an order to ``n - 1`` lieutenants. In OM(m), m > 0, each
lieutenant then acts as the commander of OM(m - 1) to pass on the value it
received to the other lieutenants; each lieutenant finally takes the majority
of the value it received directly and the values the sub-instances gave it
(RETREAT when there is no majority). In OM(0) a lieutenant uses the value it
received.

The generals are actors (``splitbrain.models.actors``) and the traitors are the actor
layer's Byzantine nodes: the checker picks m of them (the commander may be
one), and a traitor may at any moment send any message of its universe, each
with either value, to anyone: every traitor strategy is explored. Exactly m
traitors covers fewer, since a traitor may behave loyally.

Every message is written as the path of generals it went through:
``("OM", ("C", "L2"), v)`` to L1 means "L2 says the commander said v". A
lieutenant keeps the first value it hears along each path, passes it on when
the path is shorter than m + 1, and decides once it has heard along every
path. (The algorithm assumes that a missing message is noticed and read as
RETREAT; a traitor that stays silent is the same as one that says RETREAT,
which the adversary does, so waiting for every message loses no strategy.)
The loyal commander picks its order by firing one of its two timers.

Interactive consistency: IC1, all loyal lieutenants obey the same order;
IC2, if the commander is loyal, every loyal lieutenant obeys its order.
OM(m) satisfies both when n > 3m: n = 4, m = 1 holds; n = 3, m = 1 does not
(a configuration outside the theorem, not a bug: its trace is in the corpus).

Bug variants (``bug=...``), mistakes in the lieutenant's decision:

- ``trust_commander``: a lieutenant obeys the value the commander sent it,
  ignoring what the others relay (breaks IC1 under a traitor commander).
- ``majority_without_direct``: the majority is taken over the relayed values
  only, leaving out the value received directly (breaks IC2).
"""

from __future__ import annotations

from collections import Counter
from itertools import permutations
from typing import Any, Iterable, NamedTuple

from splitbrain.models.actors import Actor, ActorModel, Context, World
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import Property, always, sometimes

ATTACK, RETREAT = "attack", "retreat"
VALUES = (ATTACK, RETREAT)
COMMANDER = "C"
BUGS = {
    "trust_commander": "a lieutenant obeys the commander's value, ignoring the relayed ones",
    "majority_without_direct": "the majority leaves out the value received directly",
}

Path = tuple[str, ...]


class Commander(NamedTuple):
    order: str | None  # None until the commander has chosen


class Lieutenant(NamedTuple):
    heard: frozenset  # (path, value): the first value heard along each path
    decided: str | None


def majority(values: list[str]) -> str:
    """The value most of ``values`` are, or RETREAT when no value has a strict majority."""
    top, count = Counter(values).most_common(1)[0]
    return top if 2 * count > len(values) else RETREAT


def claim(path: Path, value: str) -> str:
    """``("C", "L2"), "attack"`` as ``C said attack`` (what the last sender claims)."""
    text = value
    for p in reversed(path[:-1]):
        text = f"{p} said {text}"
    return text


class CommanderActor(Actor):
    """Chooses an order (one of its timers fires) and sends it to every lieutenant."""

    def __init__(self, lieutenants: tuple[str, ...]) -> None:
        self.lieutenants = lieutenants

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Commander:
        for v in VALUES:
            ctx.set_timer(("order", v))
        return Commander(None)

    def on_timer(self, node_id: str, state: Commander, timer: tuple, ctx: Context) -> Commander:
        # Order: the commander decides v and tells every lieutenant.
        v = timer[1]
        for other in VALUES:
            ctx.cancel_timer(("order", other))
        ctx.broadcast(("OM", (COMMANDER,), v), to=self.lieutenants)
        return Commander(v)

    def byzantine_messages(self, node_id: str, nodes: tuple[str, ...]) -> Iterable[tuple[str, Any]]:
        """A traitor commander may tell each lieutenant either order."""
        return [(j, ("OM", (COMMANDER,), v)) for j in self.lieutenants for v in VALUES]

    def format_message(self, msg: tuple) -> str:
        return claim(msg[1], msg[2])


class LieutenantActor(Actor):
    """Passes on what it hears (OM(m - 1)) and decides by majority once it has heard everything."""

    def __init__(self, lieutenants: tuple[str, ...], m: int, bug: str = "none") -> None:
        self.lieutenants, self.m, self.bug = lieutenants, m, bug

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Lieutenant:
        return Lieutenant(frozenset(), None)

    def on_message(self, node_id: str, state: Lieutenant, src: str, msg: tuple, ctx: Context) -> Lieutenant:
        _, path, v = msg
        if state.decided or path[-1] != src or node_id in path or len(path) > self.m + 1:
            return state
        if any(p == path for p, _ in state.heard):
            return state  # only the first value along a path counts
        # Relay: act as commander of OM(m - k) and pass the value on.
        if len(path) <= self.m:
            relay = path + (node_id,)
            ctx.broadcast(("OM", relay, v), to=[j for j in self.lieutenants if j not in relay])
        heard = state.heard | {(path, v)}
        if len(heard) < len(self.paths(node_id)):
            return Lieutenant(heard, None)
        # Decide: the majority of what came directly and through each sub-instance.
        return Lieutenant(heard, self.decision(dict(heard), node_id, (COMMANDER,)))

    def paths(self, me: str) -> list[Path]:
        """Every path along which lieutenant ``me`` hears a value."""
        others = [j for j in self.lieutenants if j != me]
        return [(COMMANDER,) + rest for k in range(self.m + 1) for rest in permutations(others, k)]

    def decision(self, heard: dict[Path, str], me: str, path: Path) -> str:
        """``me``'s outcome of the OM instance whose commander ends ``path``."""
        direct = heard.get(path, RETREAT)
        if len(path) == self.m + 1 or self.bug == "trust_commander":  # OM(0): use the value received
            return direct
        subs = [self.decision(heard, me, path + (j,)) for j in self.lieutenants if j != me and j not in path]
        if self.bug == "majority_without_direct":
            return majority(subs)  # (the bug: the direct value is left out)
        return majority([direct] + subs)

    def byzantine_messages(self, node_id: str, nodes: tuple[str, ...]) -> Iterable[tuple[str, Any]]:
        """A traitor lieutenant may claim anything along every path that ends with it."""
        out = []
        others = [j for j in self.lieutenants if j != node_id]
        for k in range(self.m):
            for middle in permutations(others, k):
                path = (COMMANDER,) + middle + (node_id,)
                out += [(j, ("OM", path, v)) for j in others if j not in path for v in VALUES]
        return out

    def format_message(self, msg: tuple) -> str:
        return claim(msg[1], msg[2])

    def render(self, state: Lieutenant) -> Any:
        out: dict[str, Any] = {"heard": sorted(f"{p[-1]}: {claim(p, v)}" for p, v in state.heard)}
        if state.decided:
            out["decided"] = state.decided
        return out


class OralMessages(ActorModel):
    """OM(m) with ``n`` generals (commander C, lieutenants L1..Ln-1) and m traitors."""

    def __init__(self, n: int = 4, m: int = 1, bug: str = "none") -> None:
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        self.bug = bug
        if n < 2:
            raise ValueError("n must be at least 2 (a commander and a lieutenant)")
        if not 0 <= m <= n - 2:
            raise ValueError("m must be between 0 and n - 2")
        self.n, self.m = n, m
        lieutenants = tuple(f"L{i}" for i in range(1, n))
        self.lieutenants = lieutenants
        nodes: dict[str, Actor] = {COMMANDER: CommanderActor(lieutenants)}
        lieutenant = LieutenantActor(lieutenants, m, bug)
        nodes.update({j: lieutenant for j in lieutenants})
        super().__init__(nodes, faults=f"byzantine={m}" if m else None)

    def params(self) -> dict[str, Any]:
        return {"n": self.n, "m": self.m, "bug": self.bug}

    # -- properties -------------------------------------------------------------
    def properties(self) -> list[Property]:
        return [
            always("IC1", self.ic1, "all loyal lieutenants obey the same order"),
            always("IC2", self.ic2, "if the commander is loyal, every loyal lieutenant obeys its order"),
            sometimes("AllDecided", self.all_decided, "every loyal lieutenant decides"),
        ]

    def decisions(self, w: World) -> dict[str, str | None]:
        """Each loyal lieutenant's decision (None until it decides)."""
        return {j: s.decided for j, s in self.live(w) if j != COMMANDER}

    def ic1(self, w: World) -> bool:
        """IC1: all loyal lieutenants that have decided obey the same order."""
        return len({v for v in self.decisions(w).values() if v is not None}) <= 1

    def ic2(self, w: World) -> bool:
        """IC2: if the commander is loyal, every loyal lieutenant that has decided obeys it."""
        if COMMANDER in w.byzantine:
            return True
        order = self.state_of(w, COMMANDER).order
        return all(v is None or v == order for v in self.decisions(w).values())

    def all_decided(self, w: World) -> bool:
        return all(v is not None for v in self.decisions(w).values())

    # -- presentation -------------------------------------------------------------
    def truth(self, w: World, path: Path) -> str | None:
        """What the last sender of ``path`` really got from the one before it (None: unknown)."""
        if len(path) < 2 or path[-2] in w.byzantine:
            return None
        before = self.state_of(w, path[-2])
        if len(path) == 2:
            return before.order
        return dict(before.heard).get(path[:-2])

    def describe(self, w: World, action: tuple, nxt: World) -> str:
        if action[0] == "byzantine":
            _, b, dst, msg = action
            text = f"{b} (traitor) tells {dst}: {claim(msg[1], msg[2])}"
            truth = self.truth(w, msg[1])
            if truth is not None and truth != msg[2]:
                text += f"  (a lie: {msg[1][-2]} said {claim(msg[1][:-1], truth)})"
        elif action[0] == "deliver":
            _, src, dst, msg = action
            text = f"{src} tells {dst}: {claim(msg[1], msg[2])}"
        elif action[0] == "timeout":
            text = f"C orders {action[2][1]}"
        else:
            text = super().describe(w, action, nxt)
        before, after = self.decisions(w), self.decisions(nxt)
        for j, v in after.items():
            if v is not None and before.get(j) is None:
                text += f"; {j} decides {v}"
        return text


SPEC = ModelSpec(
    name="om",
    summary="Oral messages OM(m) of Lamport, Shostak and Pease: interactive consistency with m traitors",
    factory=OralMessages,
    params=(
        Param("n", int, 4, "number of generals (one commander, n - 1 lieutenants)"),
        Param("m", int, 1, "rounds of relaying, and the number of traitors the checker picks"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
    ),
    bugs=dict(BUGS),
    breaks={"trust_commander": ("IC1",), "majority_without_direct": ("IC2",)},
)
