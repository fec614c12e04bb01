"""A lock service: clients ask a server for one lock, hold it, and give it back.

The model of docs/tutorial.md. The server keeps the holder and a queue of
waiting clients; each client acquires the lock once.

    Acquire   client -> server   "may I have the lock?"
    Grant     server -> client   "it is yours"
    Release   client -> server   "I am done with it"

Bug flags: ``stale_grant`` (a client takes every Grant, also one it did not
ask for: the tutorial's first version) and ``grant_while_held`` (the server
grants without looking at the holder).
"""

from __future__ import annotations

from typing import NamedTuple

from splitbrain import always, sometimes
from splitbrain.models.actors import Actor, ActorModel


class Lock(NamedTuple):
    """The server's state."""

    holder: str | None  # the client that holds the lock, None when it is free
    queue: tuple  # the clients waiting for it, in order of arrival


class Server(Actor):
    """Grants the lock to one client at a time, the others wait in a queue."""

    def __init__(self, bug: str = "none"):
        self.bug = bug

    def on_start(self, node_id, ctx, durable=None):
        return Lock(holder=None, queue=())

    def on_message(self, node_id, lock, src, msg, ctx):
        if msg[0] == "Acquire":
            if src == lock.holder or src in lock.queue:  # asked before (a duplicate)
                return lock
            if lock.holder is None or self.bug == "grant_while_held":
                ctx.send(src, ("Grant",))
                return lock._replace(holder=src)
            return lock._replace(queue=lock.queue + (src,))
        if msg[0] == "Release" and lock.holder == src:
            if lock.queue:  # hand the lock to the next client in line
                ctx.send(lock.queue[0], ("Grant",))
                return Lock(holder=lock.queue[0], queue=lock.queue[1:])
            return Lock(holder=None, queue=())
        return lock


class Client(Actor):
    """idle -> waiting (sent Acquire) -> holding (got Grant) -> done (sent Release)."""

    def __init__(self, bug: str = "none"):
        self.bug = bug

    def on_start(self, node_id, ctx, durable=None):
        ctx.set_timer("want")  # wants the lock at some moment
        return "idle"

    def on_timer(self, node_id, state, timer, ctx):
        if timer == "want":
            ctx.send("server", ("Acquire",))
            return "waiting"
        ctx.send("server", ("Release",))  # timer "done": finished with the lock
        return "done"

    def on_message(self, node_id, state, src, msg, ctx):
        if msg[0] == "Grant" and (state == "waiting" or self.bug == "stale_grant"):
            ctx.set_timer("done")  # uses the lock for a while
            return "holding"
        return state  # a Grant it did not ask for: ignore it


def holders(world) -> int:
    """How many clients think they hold the lock."""
    return sum(1 for node in world.nodes if node == "holding")


class LockService(ActorModel):
    """A lock server and its clients; at most one client holds the lock."""

    bugs = {"stale_grant": "a client takes every Grant, also a duplicate of one it already used",
            "grant_while_held": "the server grants the lock without checking that it is free"}
    breaks = {"stale_grant": ("MutualExclusion",), "grant_while_held": ("MutualExclusion",)}

    def __init__(self, clients: int = 2, bug: str = "none", network: str = "unordered", faults: str = "none"):
        nodes = {"server": Server(bug)}
        nodes.update({f"c{i}": Client(bug) for i in range(1, clients + 1)})
        super().__init__(
            nodes,
            [always("MutualExclusion", lambda w: holders(w) <= 1),
             sometimes("LockHeld", lambda w: holders(w) == 1)],
            network=network,
            faults=faults,
        )
