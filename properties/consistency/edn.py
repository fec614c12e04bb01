"""A reader for EDN, the extensible data notation (https://github.com/edn-format/edn).

The whole format: whitespace and commas separate forms; ``;`` starts a comment
to the end of the line; ``#_`` discards the next form. Values map to Python as

- ``nil``, ``true``, ``false``: None, True, False;
- strings (escapes ``\\t \\r \\n \\b \\f \\\\ \\"`` and ``\\u`` with four hex digits): str;
- characters ``\\c``, ``\\newline``, ``\\space``, ``\\tab``, ``\\return``,
  ``\\formfeed``, ``\\backspace``, ``\\u0041`` (four hex digits): :class:`Char` (a one-letter str);
- integers (``42``, ``-7``, ``12N``): int; floats (``3.5``, ``1e-3``,
  ``2.50M``, ``##Inf``, ``##-Inf``, ``##NaN``): float, or Decimal with ``M``;
- keywords ``:a``, ``:ns/a``: :class:`Keyword`; symbols: :class:`Symbol`
  (both are str subclasses, so ``{:f :read}`` compares with plain strings);
- lists ``( )`` and vectors ``[ ]``: tuple; sets ``#{ }``: frozenset; maps
  ``{ }``: dict (a map used as a key or set element becomes a hashable
  :class:`FrozenMap`);
- tagged literals: ``#inst "..."`` a timezone-aware datetime, ``#uuid "..."``
  a UUID, any other tag a :class:`Tagged` (tag, value), kept as data.

Malformed text raises :class:`EdnError` carrying the line and column and what
was expected there.
"""

from __future__ import annotations

import datetime as _dt
import gc
import math
import re
import uuid
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator, NamedTuple


class Keyword(str):
    """An EDN keyword such as ``:ok`` (the text without the colon)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return ":" + str(self)


class Symbol(str):
    """An EDN symbol such as ``foo`` or ``jepsen.history/op``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


class Char(str):
    """An EDN character such as ``\\a`` (a one-letter string)."""

    __slots__ = ()


class Tagged(NamedTuple):
    """A tagged literal with a tag this reader does not interpret: ``#tag value``."""

    tag: str
    value: Any


class FrozenMap(dict):
    """An EDN map that is a key of another map or an element of a set (hashable)."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


class EdnError(ValueError):
    """Malformed EDN: ``line`` and ``column`` (1-based) say where, the message what was expected."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.message = message
        self.line = line
        self.column = column


# One token per match, after the whitespace, commas and comment before it: the end of the text,
# a vector of plain atoms on one line (read at once, for speed), a bracket, an atom, a newline
# (to count lines), a string, a # form, a character; anything else is a one-letter token that
# the reader rejects.
_TOKEN = re.compile(r"""
    [ \t\r\f\v,]*+ (?:;[^\n]*+)?
    ( \Z
    | \[[^\[\](){}"\#;\\\n]*\]
    | [\[\](){}]
    | [^\s,\[\](){}"\\;#][^\s,\[\](){}"\\;]*
    | \n
    | "(?:[^"\\]|\\.)*"
    | \#\{ | \#_ | \#\#[^\s,\[\](){}"\\;]+ | \#[A-Za-z][^\s,\[\](){}"\\;#]*
    | \\(?:[^\s,\[\](){}"\\;]+|[^\s])
    | \S )
""", re.VERBOSE)

_INT = re.compile(r"[+-]?(?:0|[1-9]\d*)N?\Z")
_FLOAT = re.compile(r"[+-]?(?:0|[1-9]\d*)(?:\.\d*)?(?:[eE][+-]?\d+)?M?\Z")
_SYMBOL_PART = r"(?:[A-Za-z*!_?$%&=<>]|[+\-.](?![0-9]))[A-Za-z0-9*!_?$%&=<>.+\-:#']*"
_SYMBOL = re.compile(rf"(?:{_SYMBOL_PART}(?:/{_SYMBOL_PART})?|/)\Z")
_CHARS = {"newline": "\n", "return": "\r", "space": " ", "tab": "\t", "formfeed": "\f", "backspace": "\b"}
_ESCAPES = {"t": "\t", "r": "\r", "n": "\n", "b": "\b", "f": "\f", "\\": "\\", '"': '"'}
_ESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|.)', re.DOTALL)
_SYMBOLIC = {"##Inf": math.inf, "##-Inf": -math.inf, "##NaN": math.nan}
_CLOSER = {"[": "]", "(": ")", "{": "}", "#{": "}"}
_OPENERS = frozenset(_CLOSER)
_CLOSERS = frozenset(_CLOSER.values())
_DISCARD = object()  # a pending #_ in a frame's modifiers


def _inst(text: Any) -> _dt.datetime:
    if not isinstance(text, str):
        raise ValueError("#inst needs a string")
    return _dt.datetime.fromisoformat(text)


def _uuid(text: Any) -> uuid.UUID:
    if not isinstance(text, str):
        raise ValueError("#uuid needs a string")
    return uuid.UUID(text)


TAG_READERS = {"inst": _inst, "uuid": _uuid}


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: building millions of small containers (none of them
    in a reference cycle) otherwise triggers full collections over and over."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_all(text: str) -> list[tuple[int, Any]]:
    """Every top-level form of ``text`` with the line it starts on."""
    with paused_gc():
        return _Reader(text).run(unwrap=False)


def read_elements(text: str) -> list[tuple[int, Any]]:
    """The elements of a document that is one vector or list, else its top-level forms, with lines.

    This is how a history file is laid out: ``[{...} {...}]``, ``({...} {...})``
    or a sequence of ``{...}`` maps.
    """
    with paused_gc():
        return _Reader(text).run(unwrap=True)


def parse_edn(text: str) -> Any:
    """The value of a text holding exactly one EDN form."""
    reader = _Reader(text)
    forms = reader.run(unwrap=False)
    if len(forms) != 1:
        if not forms:
            raise EdnError("expected a value, found the end of the text", *reader.position(len(reader.tokens)))
        raise reader.error("expected the end of the text after the first value", reader.top_starts[1])
    return forms[0][1]


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[str] = _TOKEN.findall(text)
        self.top_starts: list[int] = []  # token index where each top-level form starts

    def error(self, message: str, index: int) -> EdnError:
        return EdnError(message, *self.position(index))

    def position(self, index: int) -> tuple[int, int]:
        """Line and column of token ``index`` (found again by a slower scan: errors only)."""
        start = len(self.text)
        for count, m in enumerate(_TOKEN.finditer(self.text)):  # one match per entry of self.tokens
            if count == index:
                start = m.start(1)
                break
        line = self.text.count("\n", 0, start) + 1
        return line, start - (self.text.rfind("\n", 0, start) + 1) + 1

    def run(self, unwrap: bool) -> list[tuple[int, Any]]:
        """The top-level forms with their lines (with ``unwrap``, see :func:`read_elements`)."""
        # the collection being read is held in locals (a frame: opener, items, pending #_ and tags,
        # its line and token index, and the lines of its elements when it is at the top level);
        # the collections around it are saved on the stack
        opener, items, pending, open_line, open_index, lines = "", [], [], 1, -1, []
        top_items, top_lines = items, lines
        top_pending = pending
        stack: list[tuple] = []
        children: list[list[tuple[int, Any]] | None] = []  # the elements of each top-level vector or list
        line = 1
        atoms = _ATOM_CACHE
        missing = _MISSING
        for i, tok in enumerate(self.tokens):
            value = atoms.get(tok, missing)  # the common case: a keyword, number or symbol seen before
            if value is not missing:
                if pending or lines is not None:
                    self._place(value, line, i, None, pending, items, lines, children if not stack else None)
                else:
                    items.append(value)
                continue
            if not tok:  # the end of the text
                continue
            if tok[0] == "[" and len(tok) > 1:  # a vector of atoms on one line, read at once
                value = tuple([atoms.get(p, missing) for p in tok[1:-1].split()])
                if "," in tok or missing in value:
                    value = self._flat_vector(tok, i)
                if pending or lines is not None:
                    self._place(value, line, i, None, pending, items, lines, children if not stack else None)
                else:
                    items.append(value)
                continue
            if tok == "\n":
                line += 1
                continue
            if tok in _OPENERS:
                stack.append((opener, items, pending, open_line, open_index, lines))
                opener, items, pending, open_line, open_index = tok, [], [], line, i
                lines = [] if len(stack) == 1 and tok in ("[", "(") else None
                continue
            start, start_index, elements = line, i, None
            if tok in _CLOSERS:
                if not stack:
                    raise self.error(f"unexpected {tok!r}: no collection is open", i)
                if _CLOSER[opener] != tok or pending:
                    self._close_error(opener, open_index, pending, tok, i)
                value = tuple(items) if tok != "}" else self._build(opener, items, open_index)
                if lines is not None:
                    elements = list(zip(lines, items))
                start, start_index = open_line, open_index
                opener, items, pending, open_line, open_index, lines = stack.pop()
            elif tok[0] == '"':
                if len(tok) == 1:
                    raise self.error("expected a closing '\"' for the string starting here", i)
                value = tok[1:-1]
                if "\\" in value:
                    value = self._unescape(value, i)
                line += tok.count("\n")
            elif tok[0] == "#" and tok != "#":
                if tok == "#_":
                    pending.append(_DISCARD)
                    continue
                if tok in _SYMBOLIC:
                    value = _SYMBOLIC[tok]
                elif tok.startswith("##"):
                    raise self.error(f"unknown symbolic value {tok} (expected ##Inf, ##-Inf or ##NaN)", i)
                else:
                    pending.append((tok[1:], i))
                    continue
            else:
                value = self._atom(tok, i)
                if len(atoms) < 20_000:  # atoms repeat (keywords, small numbers); values are immutable
                    atoms[tok] = value
            if pending or lines is not None:
                self._place(value, start, start_index, elements, pending, items, lines,
                            children if not stack else None)
            else:
                items.append(value)
        if stack:
            where_line, where_col = self.position(open_index)
            raise EdnError(f"expected {_CLOSER[opener]!r} to close {opener!r} opened at line "
                           f"{where_line}, column {where_col}, found the end of the text", where_line, where_col)
        if top_pending:
            raise self.error(f"expected a form after {_describe(top_pending[-1])}, found the end of the text",
                             len(self.tokens))
        if unwrap and len(top_items) == 1 and children[0] is not None:
            return children[0]
        return list(zip(top_lines, top_items))

    def _flat_vector(self, tok: str, i: int) -> tuple:
        """The vector of atoms that token ``i`` is, such as ``[:append 3 4]``."""
        parts = tok[1:-1].replace(",", " ").split()
        atoms = _ATOM_CACHE
        values = [atoms.get(p, _MISSING) for p in parts]
        if _MISSING in values:
            for j, p in enumerate(parts):
                if values[j] is _MISSING:
                    values[j] = self._atom(p, i)
                    if len(atoms) < 20_000:
                        atoms[p] = values[j]
        return tuple(values)

    def _close_error(self, opener: str, open_index: int, pending: list, tok: str, i: int) -> None:
        if pending:
            raise self.error(f"expected a form after {_describe(pending[-1])} before {tok!r}", i)
        where_line, where_col = self.position(open_index)
        raise self.error(f"expected {_CLOSER[opener]!r} to close {opener!r} "
                         f"opened at line {where_line}, column {where_col}, found {tok!r}", i)

    def _place(self, value: Any, line: int, index: int, elements: list[tuple[int, Any]] | None,
               pending: list, items: list, lines: list | None, children: list | None) -> None:
        """Add a complete form to a collection, after its pending tags and discards (innermost first)."""
        while pending:
            mod = pending.pop()
            if mod is _DISCARD:
                return
            value = self._tag(mod, value)
        items.append(value)
        if lines is not None:
            lines.append(line)
        if children is not None:
            self.top_starts.append(index)
            children.append(elements)

    def _build(self, opener: str, items: list, index: int) -> Any:
        """The map or set of ``items`` (the collection opened by token ``index``)."""
        if opener == "{":
            if len(items) % 2:
                raise self.error("expected a value for every key of the map opened here", index)
            try:
                out = dict(zip(items[::2], items[1::2]))
            except TypeError:
                out = dict(zip([_freeze(k) for k in items[::2]], items[1::2]))
            if len(out) * 2 != len(items):
                raise self.error("duplicate key in the map opened here", index)
            return out
        try:
            out_set = frozenset(items)
        except TypeError:
            out_set = frozenset(_freeze(x) for x in items)
        if len(out_set) != len(items):
            raise self.error("duplicate element in the set opened here", index)
        return out_set

    def _unescape(self, body: str, index: int) -> str:
        def one(m: re.Match[str]) -> str:
            code = m.group(1)
            if code[0] == "u" and len(code) == 5:
                return chr(int(code[1:], 16))
            if code in _ESCAPES:
                return _ESCAPES[code]
            raise self.error(f"unknown string escape \\{code} (expected \\t \\r \\n \\b \\f \\\\ \\\" or \\u and four hex digits)",
                             index)
        return _ESCAPE.sub(one, body)

    def _tag(self, mod: tuple[str, int], value: Any) -> Any:
        tag, index = mod
        reader = TAG_READERS.get(tag)
        if reader is None:
            if not _SYMBOL.match(tag) or not tag[0].isalpha():
                raise self.error(f"expected a tag symbol after '#', found #{tag}", index)
            return Tagged(tag, value)
        try:
            return reader(value)
        except ValueError as exc:
            raise self.error(f"#{tag} {value!r}: {exc}", index) from None

    def _atom(self, tok: str, index: int) -> Any:
        if tok == "nil":
            return None
        if tok == "true":
            return True
        if tok == "false":
            return False
        first = tok[0]
        if first == ":":
            name = tok[1:]
            if not name or name[0] in ":/" or name.endswith("/"):
                raise self.error(f"expected a keyword like :name or :ns/name, found {tok}", index)
            return Keyword(name)
        if first == "\\":
            body = tok[1:]
            if body in _CHARS:
                return Char(_CHARS[body])
            if len(body) == 5 and body[0] == "u":
                return Char(chr(int(body[1:], 16)))
            if len(body) == 1:
                return Char(body)
            raise self.error(f"expected a character like \\a or \\newline, found {tok}", index)
        if first.isdigit() or (first in "+-" and len(tok) > 1 and tok[1].isdigit()):
            if _INT.match(tok):
                return int(tok.rstrip("N"))
            if _FLOAT.match(tok):
                if tok.endswith("M"):
                    try:
                        return Decimal(tok[:-1])
                    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
                        pass
                return float(tok)
            raise self.error(f"expected a number like 42, 12N, 3.5, 1e-3 or 2.50M, found {tok}", index)
        if _SYMBOL.match(tok):
            return Symbol(tok)
        if first == '"':
            raise self.error('expected a closing \'"\' for the string starting here', index)
        raise self.error(f"unexpected character {first!r}", index)


def _describe(mod: Any) -> str:
    return "#_" if mod is _DISCARD else f"#{mod[0]}"


def _freeze(x: Any) -> Any:
    if isinstance(x, dict):
        return FrozenMap({_freeze(k): _freeze(v) for k, v in x.items()})
    if isinstance(x, tuple):
        return tuple(_freeze(a) for a in x)
    return x


_ATOM_CACHE: dict[str, Any] = {}
_MISSING = object()
