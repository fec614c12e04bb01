"""Stable 64-bit hashing for partitioners.

Python's built-in ``hash`` is salted per process for strings, so a partitioner
built on it would place the same key on different nodes in different runs.
Everything here is a pure function of its argument's value: ``stable_hash``
hashes a key (int, str, bytes, or a tuple of those) with BLAKE2b, and ``mix64``
is the SplitMix64 finaliser, a cheap bijection on 64-bit integers used to
combine two hashes (rendezvous weights).
"""

from __future__ import annotations

import hashlib
from typing import Any

MASK64 = (1 << 64) - 1


def encode(value: Any) -> bytes:
    """A byte string that identifies ``value``; equal values give equal bytes.

    Types are tagged so that ``1``, ``"1"`` and ``b"1"`` differ; tuples are
    length-prefixed so that nesting is unambiguous.
    """
    if isinstance(value, bool):
        raise TypeError("bool is not a key type (use int)")
    if isinstance(value, int):
        return b"i%d;" % value
    if isinstance(value, str):
        data = value.encode("utf-8")
        return b"s%d:" % len(data) + data
    if isinstance(value, bytes):
        return b"b%d:" % len(value) + value
    if isinstance(value, tuple):
        return b"t%d(" % len(value) + b"".join(encode(v) for v in value) + b")"
    raise TypeError(f"cannot hash {type(value).__name__} stably (use int, str, bytes or tuples of them)")


def stable_hash(value: Any) -> int:
    """A 64-bit hash of ``value`` that is the same in every process and run."""
    return int.from_bytes(hashlib.blake2b(encode(value), digest_size=8).digest(), "big")


def mix64(z: int) -> int:
    """The SplitMix64 finaliser: a well-mixing bijection on 64-bit integers."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)
