"""Readers for real history files.

- ``porcupine-etcd``: Jepsen etcd logs as Porcupine's test data has them, one
  event per line: ``INFO  jepsen.util - 2	:invoke	:cas	[3 0]``.
  ``:fail :cas`` is a compare-and-set that completed without applying (it
  returned false); ``:fail :read :timed-out`` is a read with no known result
  (it constrains nothing); ``:info ... :timed-out`` is indeterminate.
- ``porcupine-kv``: one EDN map per line with ``:key``, ``:f`` in get / put /
  append, as in Porcupine's key-value test data.
- ``jepsen-edn``: a Jepsen history, one EDN map per line (``{:process 0,
  :type :invoke, :f :write, :value 3}``), optionally wrapped in ``[ ... ]``.
  ``:ok`` completed, ``:fail`` did not happen, ``:info`` indeterminate;
  operations of the ``:nemesis`` process are not client operations and are
  skipped. ``:time`` is used as the time when every event has it.

Every reader raises :class:`models.registry.UsageError` for a malformed file:
one line naming the file, the line number and what is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from splitbrain.models.registry import UsageError
from splitbrain.properties.consistency.datatypes import DATATYPES, DataType
from splitbrain.properties.consistency.history import FAIL, INFO, INVOKE, OK, UNKNOWN, History, HistoryBuilder, HistoryError

FORMATS = ("porcupine-etcd", "porcupine-kv", "jepsen-edn")


def _fail(path: Path | str, line: int | None, message: str) -> UsageError:
    where = f"{path}:{line}" if line is not None else f"{path}"
    return UsageError(f"{where}: {message}")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(path, None, "no such file") from None
    except IsADirectoryError:
        raise _fail(path, None, "is a directory, not a history file") from None
    except UnicodeDecodeError as exc:
        line = text_line_of_offset(path.read_bytes(), exc.start)
        raise _fail(path, line, "not UTF-8 text") from None
    except OSError as exc:
        raise _fail(path, None, f"cannot read: {exc.strerror or exc}") from None
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line.rstrip("\r")


def text_line_of_offset(data: bytes, offset: int) -> int:
    """The 1-based line number of byte ``offset`` in ``data``."""
    return data.count(b"\n", 0, offset) + 1


# --- Porcupine etcd logs ----------------------------------------------------------

_ETCD_LINE = re.compile(r"^INFO\s+jepsen\.util\s+-\s+\S+\s+:\S+\s+:\S+")
_INT = re.compile(r"^-?\d+$")
_PAIR = re.compile(r"^\[\s*(-?\d+)\s+(-?\d+)\s*\]$")


def read_porcupine_etcd(path: str | Path) -> History:
    """A single-register history from a Porcupine/Jepsen etcd log."""
    path = Path(path)
    builder = HistoryBuilder()
    seen_event = False
    for number, line in _lines(path):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 6 or fields[0] != "INFO" or fields[1] != "jepsen.util" or fields[2] != "-" \
                or fields[4][:1] != ":" or fields[5][:1] != ":":
            raise _fail(path, number, "expected 'INFO jepsen.util - PROCESS :TYPE :F VALUE'")
        proc_text, kind, f, raw = fields[3], fields[4][1:], fields[5][1:], " ".join(fields[6:])
        if not proc_text.isdigit():
            raise _fail(path, number, f"process must be an integer, got {proc_text!r}")
        process = int(proc_text)
        if f not in ("read", "write", "cas"):
            raise _fail(path, number, f"unknown operation :{f} (expected :read, :write or :cas)")
        try:
            if kind == INVOKE:
                builder.invoke(process, f, _etcd_argument(f, raw, path, number), time=number, line=number)
            elif kind == OK:
                builder.complete(process, OK, f, _etcd_result(f, raw, path, number), time=number)
            elif kind == FAIL:
                if f == "cas":
                    _etcd_argument(f, raw, path, number)
                    builder.complete(process, OK, f, False, time=number)  # completed, did not apply
                elif raw == ":timed-out":
                    builder.complete(process, FAIL, f, None, time=number)  # unknown result: constrains nothing
                else:
                    raise _fail(path, number, f":fail :{f} must be ':timed-out', got {raw!r}")
            elif kind == INFO:
                builder.complete(process, INFO, f, None, time=number)
            else:
                raise _fail(path, number, f"unknown event type :{kind} (expected :invoke, :ok, :fail or :info)")
        except HistoryError as exc:
            raise _fail(path, number, str(exc)) from None
        seen_event = True
    if not seen_event:
        raise _fail(path, None, "empty history: no events")
    return builder.history(str(path))


def _etcd_argument(f: str, raw: str, path: Path, number: int) -> Any:
    if f == "read":
        if raw != "nil":
            raise _fail(path, number, f"a read is invoked with nil, got {raw!r}")
        return None
    if f == "write":
        if not _INT.match(raw):
            raise _fail(path, number, f"write value must be an integer, got {raw!r}")
        return int(raw)
    m = _PAIR.match(raw)
    if not m:
        raise _fail(path, number, f"cas value must be [FROM TO] with integers, got {raw!r}")
    return (int(m.group(1)), int(m.group(2)))


def _etcd_result(f: str, raw: str, path: Path, number: int) -> Any:
    if f == "read":
        if raw == "nil":
            return None
        if not _INT.match(raw):
            raise _fail(path, number, f"a read returns an integer or nil, got {raw!r}")
        return int(raw)
    if f == "cas":
        _etcd_argument(f, raw, path, number)
        return True
    return _etcd_argument(f, raw, path, number)


# --- EDN ---------------------------------------------------------------------------


class Keyword(str):
    """An EDN keyword such as ``:ok`` (the text without the colon)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return ":" + str(self)


class EdnError(ValueError):
    """Malformed EDN text (the message says what and at which column)."""


_EDN_TOKEN = re.compile(r"""
    (?P<ws>[\s,]+|;[^\n]*)
  | (?P<open>\#\{|[\[({])
  | (?P<close>[\])}])
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<atom>[^\s,\[\](){}"]+)
""", re.VERBOSE)
_NUMBER = re.compile(r"^[+-]?\d+N?$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\d*\.\d+|\d+)([eE][+-]?\d+)?M?$")
_STRING_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def parse_edn(text: str) -> Any:
    """The value of one EDN form (maps become dicts with Keyword keys).

    Vectors and lists become tuples, sets frozensets, ``nil`` None.
    """
    tokens = []
    pos = 0
    while pos < len(text):
        m = _EDN_TOKEN.match(text, pos)
        if not m:
            if text[pos] == '"':
                raise EdnError(f"unterminated string at column {pos + 1}")
            raise EdnError(f"unexpected character {text[pos]!r} at column {pos + 1}")
        if m.lastgroup != "ws":
            tokens.append((m.lastgroup, m.group(), pos + 1))
        pos = m.end()
    if not tokens:
        raise EdnError("no value")
    value, i = _edn_form(tokens, 0)
    if i != len(tokens):
        raise EdnError(f"unexpected {tokens[i][1]!r} after the value at column {tokens[i][2]}")
    return value


_CLOSERS = {"[": "]", "(": ")", "{": "}", "#{": "}"}


def _edn_form(tokens: list[tuple[str, str, int]], i: int) -> tuple[Any, int]:
    kind, text, col = tokens[i]
    if kind == "open":
        items = []
        i += 1
        while True:
            if i >= len(tokens):
                raise EdnError(f"{text!r} opened at column {col} is never closed")
            if tokens[i][0] == "close":
                if tokens[i][1] != _CLOSERS[text]:
                    raise EdnError(f"{tokens[i][1]!r} at column {tokens[i][2]} does not close {text!r} at column {col}")
                i += 1
                break
            item, i = _edn_form(tokens, i)
            items.append(item)
        if text == "{":
            if len(items) % 2:
                raise EdnError(f"the map at column {col} has a key without a value")
            try:
                return {items[j]: items[j + 1] for j in range(0, len(items), 2)}, i
            except TypeError:
                raise EdnError(f"the map at column {col} has an unhashable key") from None
        if text == "#{":
            try:
                return frozenset(items), i
            except TypeError:
                raise EdnError(f"the set at column {col} has an unhashable element") from None
        return tuple(items), i
    if kind == "close":
        raise EdnError(f"unexpected {text!r} at column {col}")
    if kind == "string":
        return re.sub(r"\\(.)", lambda m: _STRING_ESCAPES.get(m.group(1), m.group(1)), text[1:-1]), i + 1
    return _edn_atom(text), i + 1


def _edn_atom(text: str) -> Any:
    """The value of an atom: nil, true, false, a keyword, a number or a symbol."""
    value = _ATOMS.get(text, _MISSING)
    if value is _MISSING:
        value = _parse_atom(text)
        if len(_ATOMS) < 10_000:  # atoms repeat (keywords, small numbers); values are immutable
            _ATOMS[text] = value
    return value


_ATOMS: dict[str, Any] = {}
_MISSING = object()


def _parse_atom(text: str) -> Any:
    if text == "nil":
        return None
    if text == "true":
        return True
    if text == "false":
        return False
    if text.startswith(":") and len(text) > 1:
        return Keyword(text[1:])
    if _NUMBER.match(text):
        return int(text.rstrip("N"))
    if _FLOAT.match(text):
        return float(text.rstrip("M"))
    return text  # a symbol


_ATOM = r'[^\s,{}\[\]()"#;]+'
_STR = r'"(?:[^"\\]|\\.)*"'
_FLAT_MAP = re.compile(rf"^\{{(?:[\s,]*:{_ATOM}\s+(?:{_STR}|{_ATOM}))*[\s,]*\}}$")
_FLAT_PAIR = re.compile(rf"(?<![^\s,{{]):({_ATOM})\s+({_STR}|{_ATOM})")


_SIMPLE_VALUE = r'nil|-?\d+|"[^"\\]*"'
_COMMON_EVENT = re.compile(  # the usual shape of a Jepsen / Porcupine event line
    rf'^\{{:process (\d+), :type :(invoke|ok|fail|info), :f :([\w\-]+), '
    rf'(?::key ({_SIMPLE_VALUE}), )?:value ({_SIMPLE_VALUE})\}}$')
_K_PROCESS, _K_TYPE, _K_F, _K_KEY, _K_VALUE = (Keyword(k) for k in ("process", "type", "f", "key", "value"))


def _simple_value(raw: str) -> Any:
    if raw == "nil":
        return None
    if raw[0] == '"':
        return raw[1:-1]
    return int(raw)


def parse_edn_line(text: str) -> Any:
    """``parse_edn`` with fast paths for the usual event line and for flat maps."""
    m = _COMMON_EVENT.match(text)
    if m:
        process, kind, f, key, value = m.groups()
        event = {_K_PROCESS: int(process), _K_TYPE: _edn_atom(":" + kind), _K_F: _edn_atom(":" + f)}
        if key is not None:
            event[_K_KEY] = _simple_value(key)
        event[_K_VALUE] = _simple_value(value)
        return event
    if _FLAT_MAP.match(text):
        out: dict[Any, Any] = {}
        for key, raw in _FLAT_PAIR.findall(text):
            if raw.startswith('"'):
                value: Any = raw[1:-1]
                if "\\" in value:
                    value = re.sub(r"\\(.)", lambda m: _STRING_ESCAPES.get(m.group(1), m.group(1)), value)
            else:
                value = _edn_atom(raw)
            out[Keyword(key)] = value
        return out
    return parse_edn(text)


def _edn_events(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each event map with its line number (an enclosing ``[ ... ]`` is allowed)."""
    for number, line in _lines(path):
        body = line.strip()
        if not body or body.startswith(";") or body in ("[", "]"):
            continue
        if body.startswith("[{"):  # the first event of a history written as one vector
            body = body[1:]
        if body.endswith("}]"):  # the last one
            body = body[:-1]
        try:
            value = parse_edn_line(body)
        except EdnError as exc:
            raise _fail(path, number, f"malformed EDN: {exc}") from None
        if not isinstance(value, dict):
            raise _fail(path, number, "expected one event map {:process ..., :type ..., :f ..., :value ...}")
        yield number, value  # Keyword keys compare and hash as the plain strings


def _edn_history(path: Path, datatype: DataType | None, *, require_key: bool) -> tuple[History, DataType | None]:
    builder = HistoryBuilder()
    events = list(_edn_events(path))
    if not events:
        raise _fail(path, None, "empty history: no events")
    use_time = all(isinstance(ev.get("time"), (int, float)) and not isinstance(ev.get("time"), bool)
                   for _, ev in events)
    inferred = datatype
    for number, ev in events:
        for field in ("process", "type", "f"):
            if field not in ev:
                raise _fail(path, number, f"event has no :{field}")
        process, kind, f = ev["process"], ev["type"], ev["f"]
        if process == "nemesis" or (isinstance(process, Keyword) and process == "nemesis"):
            continue
        if not isinstance(kind, Keyword) or kind not in (INVOKE, OK, FAIL, INFO):
            raise _fail(path, number, f":type must be :invoke, :ok, :fail or :info, got {_edn_show(kind)}")
        if not isinstance(f, (Keyword, str)):
            raise _fail(path, number, f":f must be a keyword, got {_edn_show(f)}")
        if isinstance(process, bool) or not isinstance(process, (int, str)):
            raise _fail(path, number, f":process must be an integer, got {_edn_show(process)}")
        f = str(f)
        if require_key and "key" not in ev:
            raise _fail(path, number, "event has no :key")
        if inferred is None:
            inferred = infer_datatype_of(f)
        if inferred is not None and f not in inferred.functions:
            raise _fail(path, number, f"model {inferred.name} has no operation :{f} "
                                      f"(it has {', '.join(':' + g for g in inferred.functions)})")
        value = ev.get("value")
        time = ev["time"] if use_time else number
        try:
            if kind == INVOKE:
                problem = inferred.check(f, value, UNKNOWN) if inferred is not None else None
                if problem:
                    raise _fail(path, number, problem)
                builder.invoke(_process(process), f, value, key=ev.get("key"), time=time, line=number)
            else:
                problem = inferred.check(f, UNKNOWN, value) if kind == OK and inferred is not None else None
                if problem:
                    raise _fail(path, number, problem)
                builder.complete(_process(process), str(kind), f, value, time=time)
        except HistoryError as exc:
            raise _fail(path, number, str(exc)) from None
    return builder.history(str(path)), inferred


def _process(x: Any) -> Any:
    return x if isinstance(x, int) else str(x)


def _edn_show(x: Any) -> str:
    if isinstance(x, Keyword):
        return ":" + x
    if x is None:
        return "nil"
    return repr(x)


_INFER = {"read": None, "write": "register", "cas": "register", "get": "kv", "put": "kv", "append": "kv",
          "add": "set", "remove": "set", "contains": "set", "enqueue": "queue", "dequeue": "queue"}


def infer_datatype_of(f: str) -> DataType | None:
    """The data type an operation name points to (None: not decisive, e.g. read)."""
    name = _INFER.get(f)
    return DATATYPES[name] if name else None


def read_porcupine_kv(path: str | Path, datatype: DataType | None = None) -> History:
    """A key-value history (get / put / append by key) from Porcupine's EDN logs."""
    history, _ = _edn_history(Path(path), datatype or DATATYPES["kv"], require_key=True)
    return history


def read_jepsen_edn(path: str | Path, datatype: DataType | None = None) -> tuple[History, DataType]:
    """A Jepsen EDN history and the data type it is about (``datatype``, or inferred)."""
    history, inferred = _edn_history(Path(path), datatype, require_key=False)
    return history, inferred or DATATYPES["register"]


# --- detection ---------------------------------------------------------------------


def detect_format(path: str | Path) -> str:
    """The format of ``path``, from its first event line (then its extension)."""
    path = Path(path)
    first = ""
    for _, line in _lines(path):
        if line.strip() and not line.strip().startswith(";") and line.strip() not in ("[", "]"):
            first = line.strip()
            break
    if _ETCD_LINE.match(first):
        return "porcupine-etcd"
    if first.startswith("{") or first.startswith("[{"):
        return "porcupine-kv" if ":key" in first and re.search(r":f\s+:(get|put|append)\b", first) else "jepsen-edn"
    if path.suffix == ".log":
        return "porcupine-etcd"
    if path.suffix == ".edn":
        return "jepsen-edn"
    raise _fail(path, None, "cannot tell the history format (give --format porcupine-etcd, porcupine-kv or jepsen-edn)")


def read_history(path: str | Path, fmt: str | None = None,
                 datatype: DataType | None = None) -> tuple[History, DataType, str]:
    """The history in ``path``, its data type and format (detected when not given)."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt == "porcupine-etcd":
        if datatype is not None and datatype.name != "register":
            raise UsageError(f"{path}: an etcd log is a register history, not {datatype.name}")
        return read_porcupine_etcd(path), DATATYPES["register"], fmt
    if fmt == "porcupine-kv":
        return read_porcupine_kv(path, datatype), datatype or DATATYPES["kv"], fmt
    if fmt == "jepsen-edn":
        history, inferred = read_jepsen_edn(path, datatype)
        return history, inferred, fmt
    raise UsageError(f"unknown history format {fmt!r} (known: {', '.join(FORMATS)})")
