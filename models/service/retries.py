"""Retries with a retry budget and idempotency keys (AWS Builders' Library; Finagle's RetryBudget).

The client ``c`` makes ``requests`` requests to the server ``s``, one after
the other. It sends a request and arms a timeout; when the timeout fires
before the acknowledgement arrives it retries, up to ``attempts`` attempts
per request, then gives up (the outcome is unknown: ``info``). The timer
may fire at any moment, so the checker covers every backoff schedule at
once: immediate, fixed, exponential, with equal, full or decorrelated jitter
are all particular delays of this one timer.

Two guards make retrying safe:

- **a retry budget** (a token bucket): each new request deposits ``budget``
  tokens, each retry spends one; with the bucket empty the client gives up
  instead of retrying, so retries cannot multiply the load on a struggling
  server;
- **an idempotency key**: every attempt of a request carries its key; the
  server remembers the keys it has applied and answers a repeated one from
  that table without applying it again.

By default one message may be lost (``loss=1``): a lost acknowledgement is
the classic reason a request that was applied gets retried.

Properties:

- ``AtMostOnce``: the server applies each request at most once;
- ``AttemptsWithinBudget``: the attempts sent stay within ``(1 + budget)``
  times the requests started;
- ``EveryRequestEnds`` (liveness): every request ends (acknowledged or given
  up), given fair delivery and timers once faults stop.

Bug flags:

- ``no_idempotency_key``: the server applies every attempt (breaks AtMostOnce);
- ``no_budget``: the client retries without spending tokens, up to
  ``attempts`` attempts each (breaks AttemptsWithinBudget).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from splitbrain.models.actors import Actor, ActorModel, Context, World
from splitbrain.models.faults import CRASH_FAULTS, NETWORK_FAULTS
from splitbrain.models.registry import ModelSpec, Param
from splitbrain.properties.kinds import AFTER_FAULTS, WF, always, eventually, sometimes

DEFAULT_FAULTS = "loss=1"
BUGS = {
    "no_idempotency_key": "the server applies every attempt: a retried request is applied twice",
    "no_budget": "the client retries without a budget: attempts multiply the load",
}


class Client(NamedTuple):
    k: int               # the request in progress (requests + 1: all done)
    tries: int           # attempts sent for request k
    attempts: int        # attempts sent in all
    tokens: int          # the retry budget's bucket


class Server(NamedTuple):
    applied: tuple       # the keys of the requests applied, in order (one entry per application)


class ClientActor(Actor):
    """Sends each request, retrying on timeout within the budget."""

    durable_fields = ("k", "attempts", "tokens")
    message_types = ("Ack",)
    timer_names = ("timeout",)

    def __init__(self, requests: int, attempts: int, budget: int, bug: str) -> None:
        self.requests, self.max_tries, self.budget, self.bug = requests, attempts, budget, bug

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Client:
        if durable is not None:  # a restarted client gives up the request it was making
            state = self.restore(Client(1, 0, 0, 0), durable)
            return self._next(state._replace(k=state.k + 1), ctx)
        return self._next(Client(1, 0, 0, 0), ctx)

    def _next(self, state: Client, ctx: Context) -> Client:
        if state.k > self.requests:
            return state._replace(tries=0)
        ctx.invoke("request", state.k)  # a new request: deposit its share of the budget
        ctx.send("s", ("Request", state.k))
        ctx.set_timer("timeout")
        return Client(state.k, 1, state.attempts + 1, state.tokens + self.budget)

    def on_timer(self, node_id: str, state: Client, timer: Any, ctx: Context) -> Client:
        can_retry = state.tries < self.max_tries and (state.tokens > 0 or self.bug == "no_budget")
        if not can_retry:  # out of attempts or of budget: give up, the outcome is unknown
            ctx.info("request", state.k)
            return self._next(state._replace(k=state.k + 1), ctx)
        ctx.send("s", ("Request", state.k))  # retry with the same key
        ctx.set_timer("timeout")
        tokens = state.tokens if self.bug == "no_budget" else state.tokens - 1
        return state._replace(tries=state.tries + 1, attempts=state.attempts + 1, tokens=tokens)

    def on_message(self, node_id: str, state: Client, src: str, msg: tuple, ctx: Context) -> Client:
        if msg[1] != state.k or state.k > self.requests:
            return state  # the acknowledgement of an attempt already settled
        ctx.cancel_timer("timeout")  # acknowledged: on to the next request
        ctx.ok("request", state.k)
        return self._next(state._replace(k=state.k + 1), ctx)


class ServerActor(Actor):
    """Applies a request and acknowledges it; a known key is acknowledged without applying it again."""

    durable_fields = ("applied",)
    message_types = ("Request",)

    def __init__(self, bug: str) -> None:
        self.bug = bug

    def on_start(self, node_id: str, ctx: Context, durable: Any = None) -> Server:
        return self.restore(Server(()), durable)

    def on_message(self, node_id: str, state: Server, src: str, msg: tuple, ctx: Context) -> Server:
        key = (src, msg[1])
        ctx.send(src, ("Ack", msg[1]))
        if key in state.applied and self.bug != "no_idempotency_key":
            return state  # a retry of a request already applied: answer from the table
        return Server(state.applied + (key,))


class Retries(ActorModel):
    """A client retrying requests to a server, with a retry budget and idempotency keys."""

    def __init__(self, requests: int = 2, attempts: int = 3, budget: int = 1, bug: str = "none",
                 faults: Any = None, network: Any = None) -> None:
        if requests < 1 or attempts < 1 or budget < 0:
            raise ValueError("need requests >= 1, attempts >= 1 and budget >= 0")
        if bug not in ("none", *BUGS):
            raise ValueError(f"unknown bug {bug!r}")
        self.requests, self.budget = requests, budget
        nodes: dict[str, Actor] = {"c": ClientActor(requests, attempts, budget, bug), "s": ServerActor(bug)}
        super().__init__(nodes, network=network or "unordered",
                         faults=DEFAULT_FAULTS if faults is None else faults)

    def at_most_once(self, w: World) -> bool:
        server = self.state_of(w, "s")
        return server is None or len(set(server.applied)) == len(server.applied)

    def within_budget(self, w: World) -> bool:
        client = self.state_of(w, "c")
        if client is None:
            return True
        started = min(client.k, self.requests)
        return client.attempts <= (1 + self.budget) * started

    def done(self, w: World) -> bool:
        client = self.state_of(w, "c")
        return client is not None and client.k > self.requests

    def metrics(self) -> dict[str, Callable[[list[World], list[Any]], float]]:
        """Per-walk measures for ``simulate --metric``."""
        return {
            "attempts": lambda states, actions: self._client_at_end(states).attempts,
            "attempts_per_request": self._attempts_per_request,
            "completion_ticks": self._completion_ticks,
        }

    def _client_at_end(self, states: list[World]) -> Client:
        """The client's last state in a walk (its initial one if it was down throughout)."""
        clients = [c for c in (self.state_of(w, "c") for w in states) if c is not None]
        return clients[-1] if clients else Client(1, 0, 0, 0)

    def _attempts_per_request(self, states: list[World], actions: list[Any]) -> float:
        """Attempts sent per request started, at the end of the walk."""
        client = self._client_at_end(states)
        return client.attempts / max(1, min(client.k, self.requests))

    def _completion_ticks(self, states: list[World], actions: list[Any]) -> float:
        """Steps until every request has ended (a walk that never gets there: its length, a lower bound)."""
        return next((i for i, w in enumerate(states) if self.done(w)), len(states) - 1)

    def properties(self):
        fair = [WF("delivery", "deliver", per=lambda a: a[1:]), WF("timers", "timeout", per=lambda a: a[1:]),
                WF("restart", "restart", per=lambda a: a[1]), AFTER_FAULTS]
        return [
            always("AtMostOnce", self.at_most_once, "the server applies each request at most once"),
            always("AttemptsWithinBudget", self.within_budget,
                   "attempts stay within (1 + budget) times the requests started"),
            eventually("EveryRequestEnds", self.done, fairness=fair,
                       description="every request is acknowledged or given up"),
            sometimes("Retried", lambda w: self.state_of(w, "c") is not None and self.state_of(w, "c").tries > 1,
                      "the client retries a request"),
        ]


SPEC = ModelSpec(
    name="retries",
    summary="a client retrying on timeout, with a retry budget (token bucket) and idempotency keys",
    factory=Retries,
    params=(
        Param("requests", int, 2, "requests the client makes, one after the other"),
        Param("attempts", int, 3, "attempts per request at most (the first one and its retries)"),
        Param("budget", int, 1, "retry tokens each new request deposits in the bucket"),
        Param("bug", str, "none", "a deliberate bug", choices=("none", *BUGS)),
    ),
    bugs=BUGS,
    breaks={"no_idempotency_key": ("AtMostOnce",), "no_budget": ("AttemptsWithinBudget",)},
    faults=NETWORK_FAULTS + CRASH_FAULTS,
)
