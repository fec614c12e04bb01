"""64-bit state fingerprints, built from the fingerprints of a state's parts.

A fingerprint depends only on the state's value, never on the process: not on
``PYTHONHASHSEED``, set iteration order or object identity. So processes (and
machines) exploring one model can share a seen-set of fingerprints.

It is canonical for Python equality, the equality the exact search uses to
tell states apart: equal values get one fingerprint. Each value is hashed
from a type tag, its length or count, and its contents: a scalar's canonical
bytes (an integer's 64-bit two's complement, a string's UTF-8, a float's
IEEE bits), or the fingerprints of its parts, chained in order for a tuple
or list, added up (so that order cannot matter) for a set or the pairs of a
dict. The mixing function is murmur3's 64-bit finaliser, a bijection with
full avalanche. Where Python calls values of two types equal, they share a
fingerprint: ``True`` is the integer 1, ``2.0`` the integer 2, ``-0.0`` is
``0.0``, a NamedTuple is the tuple of its fields, a set and a frozenset with
the same elements are one set, an IntEnum member is its integer. Supported:
None, bool, int, float, str, bytes, tuple, list, frozenset, set, dict,
NamedTuples, dataclasses (with ``eq``) and enums; anything else is a
TypeError naming the type.

Two different states can share a fingerprint only by a collision of the
64-bit mixing (of the states or of two of their parts). The collision
estimate reported is TLC's optimistic ``n * (g - n) / 2**64``, which treats
the fingerprint as a random function of the state; TLC's own fingerprints
are built from the parts of a value in the same way.
"""

from __future__ import annotations

import dataclasses
import struct
from enum import Enum
from typing import Any, Callable

FingerprintFn = Callable[[Any], int]

_MASK = (1 << 64) - 1
_SEED = 0x9E3779B97F4A7C15
_SET_KEY = 0xC2B2AE3D27D4EB4F  # set elements are mixed with this before they are added up
_DOUBLE = struct.Struct("<d")


def _fmix(h: int) -> int:
    """murmur3's 64-bit finaliser."""
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK
    return h ^ (h >> 33)


def _start(tag: str, n: int) -> int:
    return _fmix((ord(tag) << 56) ^ n ^ _SEED)


def _step(h: int, w: int) -> int:
    return _fmix(h ^ w)


def _of_bytes(tag: str, data: bytes) -> int:
    """A tagged byte string, as 8-byte little-endian words (the last padded with zeros)."""
    h = _start(tag, len(data))
    for i in range(0, len(data), 8):
        h = _step(h, int.from_bytes(data[i:i + 8], "little"))
    return h


def py_fingerprint(x: Any) -> int:
    """The 64-bit fingerprint of ``x``, computed in Python (``fingerprint`` is the C one when it is built)."""
    t = type(x)
    fp = _BY_TYPE.get(t) or _fingerprint_for(t)
    return fp(x)


fingerprint: FingerprintFn = py_fingerprint  # replaced below by the C function when it is built


def _none(x: None) -> int:
    return _start("N", 0)


def _int(x: int) -> int:
    if -(1 << 63) <= x < (1 << 63):
        return _step(_start("i", 8), x & _MASK)
    return _of_bytes("I", x.to_bytes((x.bit_length() + 8) >> 3, "little", signed=True))


def _float(x: float) -> int:
    if x.is_integer():  # 2.0 == 2
        return _int(int(x))
    return _step(_start("f", 8), int.from_bytes(_DOUBLE.pack(x), "little"))


def _str(x: str) -> int:
    return _of_bytes("s", str.encode(x, "utf-8", "surrogatepass"))


def _bytes(x: bytes | bytearray) -> int:
    return _of_bytes("b", bytes(x))


def _items(tag: str) -> Callable[[Any], int]:
    def fp(x: tuple | list) -> int:
        h = _start(tag, len(x))
        for v in x:
            h = _step(h, fingerprint(v))
        return h
    return fp


def _set(x: frozenset | set) -> int:
    total = sum(_fmix(fingerprint(v) ^ _SET_KEY) for v in x) & _MASK
    return _step(_start("{", len(x)), total)


def _dict(x: dict) -> int:
    pair = _start(":", 2)
    total = sum(_fmix(_step(_step(pair, fingerprint(k)), fingerprint(v)) ^ _SET_KEY) for k, v in x.items()) & _MASK
    return _step(_start("d", len(x)), total)


_BY_TYPE: dict[type, FingerprintFn] = {
    type(None): _none, bool: _int, int: _int, float: _float, str: _str, bytes: _bytes, bytearray: _bytes,
    tuple: _items("("), list: _items("["), frozenset: _set, set: _set, dict: _dict,
}


def _fingerprint_for(t: type) -> FingerprintFn:
    """The fingerprint function of a subclass of a supported type, a dataclass or an enum, remembered (else TypeError)."""
    _BY_TYPE[t] = fp = _new_fingerprint(t)
    return fp


def _new_fingerprint(t: type) -> FingerprintFn:
    # NamedTuples, IntEnum and StrEnum members are equal to the values of their base types.
    if issubclass(t, int):
        return lambda x: _int(int(x))
    if issubclass(t, float):
        return lambda x: _float(float(x))
    for base in (str, bytes, tuple, list, frozenset, set, dict):
        if issubclass(t, base):
            return _BY_TYPE[base]
    name = _str(f"{t.__module__}.{t.__qualname__}")
    if issubclass(t, Enum):  # members of other enums are equal only to themselves
        head = _start("e", 2)
        return lambda x: _step(_step(head, name), _str(x.name))
    if dataclasses.is_dataclass(t) and t.__dataclass_params__.eq:  # type: ignore[attr-defined]
        fields = tuple(f.name for f in dataclasses.fields(t) if f.compare)
        head = _step(_start("D", len(fields)), name)

        def of_dataclass(x: Any) -> int:
            h = head
            for f in fields:
                h = _step(h, fingerprint(getattr(x, f)))
            return h
        return of_dataclass
    raise TypeError(
        f"cannot fingerprint a {t.__module__}.{t.__qualname__}: states must be built from None, bool, int, "
        "float, str, bytes, tuples, frozensets, NamedTuples, dataclasses (with eq) and enums"
    )


class Fingerprinter:
    """Fingerprints for one search: ``fingerprint(state)``.

    With the C part built this is the C function itself (it remembers the
    fingerprints of recent tuples and frozensets by identity: a successor
    shares most parts with its state). Without it, the fingerprints of recent
    states are kept in a table keyed by the states themselves (emptied when it
    holds ``memo_size`` entries), as the pure-Python fingerprint is slow.
    The fingerprints are the module-level ``fingerprint``'s.
    """

    def __init__(self, memo_size: int = 1 << 17) -> None:
        if fingerprint is not py_fingerprint:
            self.fingerprint: FingerprintFn = fingerprint
            return
        states = _Memo(memo_size)
        states.compute = py_fingerprint
        self.fingerprint = states.__getitem__


class _Memo(dict):
    """A dictionary that computes a missing value with ``compute`` (set by its owner).

    It is emptied when it holds ``size`` entries.
    """

    __slots__ = ("compute", "size")
    compute: Callable[[Any], Any]

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __missing__(self, key: Any) -> Any:
        value = self.compute(key)
        if len(self) >= self.size:
            self.clear()
        self[key] = value
        return value


# The C fingerprint (checker/_fpcore.c, built at install when a compiler is there) gives the same
# values as the Python one above, several times faster; what it does not fingerprint itself
# (dataclasses, other enums, ints beyond 64 bits, strings with lone surrogates, bytearrays) it
# hands to ``py_fingerprint``.
try:
    from splitbrain.checker import _fpcore
except ImportError:  # no compiler at install: the pure-Python fingerprint, the same values
    _fpcore = None  # type: ignore[assignment]
else:
    _fpcore.set_fallback(py_fingerprint)
    fingerprint = _fpcore.fingerprint
