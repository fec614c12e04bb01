"""64-bit state fingerprints: xxh3 over a canonical byte encoding of the state.

A fingerprint depends only on the state's value, never on the process: not on
``PYTHONHASHSEED``, set iteration order or object identity. So processes (and
machines) exploring one model can share a seen-set of fingerprints.

The encoding is canonical for Python equality, the equality the exact search
uses to tell states apart: equal values encode alike, different values
encode differently. Every value is written as a type tag and its contents,
with lengths and counts written out; the elements of a set (the items of a
dict) are sorted by their encodings. Where Python calls values of two types
equal, they share an encoding: ``True`` is the integer 1, ``2.0`` the integer
2, ``-0.0`` is ``0.0``, a NamedTuple is the tuple of its fields, a set and a
frozenset with the same elements are one set, an IntEnum member is its
integer. So a search with fingerprints counts exactly the states an exact
search counts, but for collisions. Supported: None, bool, int, float, str,
bytes, tuple, list, frozenset, set, dict, NamedTuples, dataclasses (with
``eq``) and enums; anything else is a TypeError naming the type.

Two different states collide only when xxh3-64 maps their encodings to one
value, so TLC's optimistic estimate ``n * (g - n) / 2**64`` applies.
"""

from __future__ import annotations

import dataclasses
import struct
from enum import Enum
from typing import Any, Callable

from xxhash import xxh3_64_intdigest

Encoder = Callable[[Any], bytes]

_LEN = struct.Struct("<I").pack  # lengths and element counts
_FLOAT = struct.Struct("<d").pack


def fingerprint(state: Any) -> int:
    """The 64-bit fingerprint of ``state``: the same value in every process."""
    return xxh3_64_intdigest(encode(state))


def encode(x: Any) -> bytes:
    """The canonical byte encoding of ``x`` (what ``fingerprint`` hashes)."""
    t = type(x)
    enc = _ENCODERS.get(t) or _encoder_for(t)
    return enc(x)


py_encode = encode  # the pure-Python encoder (``encode`` is the C one when it is built)


class Fingerprinter:
    """Fingerprints for one search: ``fingerprint(state)``, remembering those of recent states.

    A search meets most states many times (TLC's states generated against
    distinct states), so the fingerprints of recent states are kept in a
    table keyed by the states themselves (emptied when it holds ``memo_size``
    entries): a state met again costs one dictionary lookup, as in an exact
    search. The fingerprints are the module-level ``fingerprint``'s. States
    must be hashable, as for an exact search.
    """

    def __init__(self, memo_size: int = 1 << 17) -> None:
        states = _Memo(memo_size)
        states.compute = lambda state: xxh3_64_intdigest(encode(state))  # the module's encode, C when built
        self.fingerprint: Callable[[Any], int] = states.__getitem__  # a C call when the state is known


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


# -- the encoding ---------------------------------------------------------------------
_TUPLE, _LIST, _SET, _DICT = b"(", b"[", b"{", b"d"


def _none(x: None) -> bytes:
    return b"N"


def _int(x: int) -> bytes:
    data = x.to_bytes((x.bit_length() + 8) >> 3, "little", signed=True)
    return b"i" + _LEN(len(data)) + data


def _bool(x: bool) -> bytes:
    return _ONE if x else _ZERO  # True == 1


def _float(x: float) -> bytes:
    if x.is_integer():  # 2.0 == 2
        return _int(int(x))
    return b"f" + _FLOAT(x)


def _str(x: str) -> bytes:
    data = str.encode(x, "utf-8", "surrogatepass")
    return b"s" + _LEN(len(data)) + data


def _bytes(x: bytes | bytearray) -> bytes:
    return b"b" + _LEN(len(x)) + bytes(x)


def _tuple(x: tuple) -> bytes:
    return _TUPLE + _LEN(len(x)) + b"".join([encode(v) for v in x])


def _list(x: list) -> bytes:
    return _LIST + _LEN(len(x)) + b"".join([encode(v) for v in x])


def _set(x: frozenset | set) -> bytes:
    return _SET + _LEN(len(x)) + b"".join(sorted([encode(v) for v in x]))


def _dict(x: dict) -> bytes:
    return _DICT + _LEN(len(x)) + b"".join(sorted([encode(k) + encode(v) for k, v in x.items()]))


_ZERO, _ONE = _int(0), _int(1)

_ENCODERS: dict[type, Encoder] = {
    type(None): _none, bool: _bool, int: _int, float: _float, str: _str, bytes: _bytes, bytearray: _bytes,
    tuple: _tuple, list: _list, frozenset: _set, set: _set, dict: _dict,
}


def _encoder_for(t: type) -> Encoder:
    """The encoder of a subclass of a supported type, a dataclass or an enum, remembered (else TypeError)."""
    _ENCODERS[t] = enc = _new_encoder(t)
    return enc


def _new_encoder(t: type) -> Encoder:
    # NamedTuples, IntEnum and StrEnum members are equal to the values of their base types.
    if issubclass(t, int):
        return lambda x: _int(int(x))
    if issubclass(t, float):
        return lambda x: _float(float(x))
    for base in (str, bytes, tuple, list, frozenset, set, dict):
        if issubclass(t, base):
            return _ENCODERS[base]
    name = _str(f"{t.__module__}.{t.__qualname__}")
    if issubclass(t, Enum):  # members of other enums are equal only to themselves
        return lambda x: b"e" + name + _str(x.name)
    if dataclasses.is_dataclass(t) and t.__dataclass_params__.eq:  # type: ignore[attr-defined]
        fields = tuple(f.name for f in dataclasses.fields(t) if f.compare)
        head = b"D" + name + _LEN(len(fields))
        return lambda x: head + b"".join([encode(getattr(x, f)) for f in fields])
    raise TypeError(
        f"cannot fingerprint a {t.__module__}.{t.__qualname__}: states must be built from None, bool, int, "
        "float, str, bytes, tuples, frozensets, NamedTuples, dataclasses (with eq) and enums"
    )


# The C encoder (checker/_fpcore.c, built at install when a compiler is there) writes the same
# bytes as the Python one above, several times faster; what it does not encode itself
# (dataclasses, other enums, ints beyond 64 bits) it hands to ``py_encode``.
try:
    from splitbrain.checker import _fpcore
except ImportError:  # no compiler at install: the pure-Python encoder, the same fingerprints
    _fpcore = None  # type: ignore[assignment]
else:
    _fpcore.set_fallback(py_encode)
    encode = _fpcore.encode  # noqa: F811
