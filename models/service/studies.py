"""Two measured studies of retrying clients: plain discrete-event simulations, seeded.

``backoff``: N clients contend on one optimistic-concurrency row, as in the
AWS Architecture Blog post "Exponential Backoff And Jitter" (Marc Brooker,
2015). Each client reads the row's version, then writes conditionally on it;
when another client wrote in between, the write fails and the client sleeps
by its backoff policy and starts again. Parameters as in the post: base 5 ms,
cap 2000 ms; every call takes a network delay drawn from normal(10, 2) ms
(cut at 0) and acts at the server when it ends. A call is a read or a write,
so an attempt is two calls. Policies, for the n-th retry (n = 0, 1, ...):

- ``none``: retry at once;
- ``exponential``: sleep min(cap, base * 2**n);
- ``equal``: half of that, plus uniform(0, the other half);
- ``full``: uniform(0, min(cap, base * 2**n));
- ``decorrelated``: min(cap, uniform(base, 3 * the previous sleep)), starting from base.

What the published study found, qualitatively: no backoff is worst in
calls; plain exponential backoff helps but the clients stay clustered and
keep colliding, so it needs far more calls and far more time than the
jittered policies; full and equal jitter need far fewer calls (equal
slightly more than full, and more time); decorrelated jitter does a little
more work than full jitter but finishes a little sooner. Our figures show
the same (see ``splitbrain study backoff``). Where this model differs: the
completion time of no backoff is the shortest of all, at far more calls
(the row is never idle).

``metastable``: a server with a FIFO queue of ``capacity`` and a fixed
service rate; requests arrive at random (Poisson) at a normal rate below the
service rate, then at a spike rate above it for a while, then at the normal
rate again. A client waits ``timeout`` ticks for an attempt, then retries (up
to ``retries`` times); the server does not know a client gave up and still
serves the stale copy. A request dropped at a full queue looks to its client
like a timeout. Without a retry budget the spike leaves the queue long
enough that every attempt times out, the retries multiply the offered load
above the service rate, and the system stays overloaded after the spike:
goodput (answers a client still waits for) near zero, the queue full of
requests whose clients have given up. With a token-bucket retry budget (each
new request deposits ``budget_ratio`` tokens, each retry spends one) the
offered load falls back below the service rate and the queue drains.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass
from typing import Callable

# -- backoff and jitter -----------------------------------------------------------
POLICIES = ("none", "exponential", "equal", "full", "decorrelated")
CLIENT_COUNTS = (10, 25, 50, 75, 100, 125, 150)
BASE_MS = 5.0
CAP_MS = 2000.0
DELAY_MEAN_MS = 10.0
DELAY_SD_MS = 2.0
BACKOFF_REPETITIONS = 20


def backoff_sleep(policy: str, retry: int, previous: float, rng: random.Random) -> float:
    """The sleep in ms before retry number ``retry`` (0 for the first) under ``policy``.

    ``previous`` is the previous sleep (decorrelated jitter grows from it).
    """
    ceiling = min(CAP_MS, BASE_MS * 2.0 ** min(retry, 60))
    if policy == "none":
        return 0.0
    if policy == "exponential":
        return ceiling
    if policy == "equal":
        return ceiling / 2 + rng.uniform(0, ceiling / 2)
    if policy == "full":
        return rng.uniform(0, ceiling)
    if policy == "decorrelated":
        return min(CAP_MS, rng.uniform(BASE_MS, previous * 3))
    raise ValueError(f"unknown backoff policy {policy!r} (one of {', '.join(POLICIES)})")


def contend(policy: str, clients: int, rng: random.Random) -> tuple[int, float]:
    """One run: ``clients`` clients each write the row once; (total calls, ms until all have written)."""
    def delay() -> float:
        return max(0.0, rng.gauss(DELAY_MEAN_MS, DELAY_SD_MS))

    version = 0
    calls = 0
    retries = [0] * clients
    previous = [BASE_MS] * clients
    seen = [0] * clients  # the version each client read
    events: list[tuple[float, int, str]] = []  # (time the call acts at the server, client, "read"/"write")
    for c in range(clients):
        heapq.heappush(events, (delay(), c, "read"))
        calls += 1
    finished = 0.0
    while events:
        now, c, kind = heapq.heappop(events)
        if kind == "read":
            seen[c] = version
            heapq.heappush(events, (now + delay(), c, "write"))
            calls += 1
        elif seen[c] == version:  # the conditional write succeeds
            version += 1
            finished = now
        else:  # conflict: back off, then read again
            sleep = backoff_sleep(policy, retries[c], previous[c], rng)
            previous[c] = sleep
            retries[c] += 1
            heapq.heappush(events, (now + sleep + delay(), c, "read"))
            calls += 1
    return calls, finished


@dataclass(frozen=True)
class BackoffRow:
    """Mean figures for one policy and client count over ``repetitions`` runs."""

    policy: str
    clients: int
    calls: float
    completion_ms: float
    repetitions: int


def backoff_study(seed: int = 0, repetitions: int = BACKOFF_REPETITIONS,
                  client_counts: tuple[int, ...] = CLIENT_COUNTS,
                  policies: tuple[str, ...] = POLICIES) -> list[BackoffRow]:
    """Mean total calls and completion time per (policy, client count); the same seed, the same figures."""
    rows = []
    for policy in policies:
        for n in client_counts:
            rng = random.Random(f"{seed}/{policy}/{n}")
            runs = [contend(policy, n, rng) for _ in range(repetitions)]
            rows.append(BackoffRow(policy, n, sum(r[0] for r in runs) / repetitions,
                                   sum(r[1] for r in runs) / repetitions, repetitions))
    return rows


# -- a metastable retry storm -------------------------------------------------------
@dataclass(frozen=True)
class StormConfig:
    """The metastable study's parameters (rates per tick, durations in ticks)."""

    service_rate: int = 10
    capacity: int = 200
    normal_rate: float = 6.0
    spike_rate: float = 20.0
    spike_start: int = 30
    spike_end: int = 50
    ticks: int = 200
    timeout: int = 5
    retries: int = 3
    budget_ratio: float = 0.1  # tokens a new request deposits (the retry budget)
    budget_cap: float = 10.0
    bucket: int = 10  # ticks per reported row


@dataclass(frozen=True)
class StormRow:
    """One time bucket: per-tick means of attempts sent (offered load) and of answers a client still
    waited for (goodput); the queue length at the bucket's end, after that tick's service."""

    start: int
    end: int
    offered: float
    goodput: float
    queue: int


def poisson(rate: float, rng: random.Random) -> int:
    """A Poisson-distributed count with mean ``rate`` (Knuth's multiplication method; small rates)."""
    limit, k, p = math.exp(-rate), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def storm(budget: bool, config: StormConfig = StormConfig(), seed: int = 0) -> list[StormRow]:
    """Run the retry-storm simulation, with or without a retry budget; one row per time bucket."""
    rng = random.Random(f"{seed}/storm")  # the same arrivals for both variants
    queue: deque[tuple[int, int]] = deque()  # (request, attempt)
    waiting: dict[int, tuple[int, int]] = {}  # request -> (attempt, deadline tick)
    deadlines: dict[int, list[int]] = {}  # tick -> requests whose attempt times out then
    tokens = config.budget_cap
    next_id = 0
    rows: list[StormRow] = []
    offered = goodput = 0

    def send(request: int, attempt: int, now: int) -> None:
        nonlocal offered
        offered += 1
        waiting[request] = (attempt, now + config.timeout)
        deadlines.setdefault(now + config.timeout, []).append(request)
        if len(queue) < config.capacity:
            queue.append((request, attempt))  # else dropped: the client sees a timeout

    for now in range(config.ticks):
        rate = config.spike_rate if config.spike_start <= now < config.spike_end else config.normal_rate
        for _ in range(poisson(rate, rng)):  # new requests
            tokens = min(config.budget_cap, tokens + config.budget_ratio)
            send(next_id, 0, now)
            next_id += 1
        for request in deadlines.pop(now, []):  # timeouts: retry or give up
            attempt, deadline = waiting.get(request, (-1, -1))
            if deadline != now:
                continue  # answered, or a later attempt is pending
            del waiting[request]
            if attempt < config.retries and (not budget or tokens >= 1):
                if budget:
                    tokens -= 1
                send(request, attempt + 1, now)
        for _ in range(min(config.service_rate, len(queue))):  # the server
            request, attempt = queue.popleft()
            if waiting.get(request, (-1, -1))[0] == attempt:
                del waiting[request]
                goodput += 1
        if (now + 1) % config.bucket == 0 or now + 1 == config.ticks:
            start = rows[-1].end if rows else 0
            span = now + 1 - start
            rows.append(StormRow(start, now + 1, offered / span, goodput / span, len(queue)))
            offered = goodput = 0
    return rows


def metastable_study(seed: int = 0, config: StormConfig = StormConfig()) -> dict[str, list[StormRow]]:
    """The storm without and with a retry budget, on the same arrivals."""
    return {"no budget": storm(False, config, seed), "retry budget": storm(True, config, seed)}


STUDIES: dict[str, Callable[..., object]] = {"backoff": backoff_study, "metastable": metastable_study}
