"""Readers for real history files.

- ``porcupine-etcd``: Jepsen etcd logs as Porcupine's test data has them, one
  event per line: ``INFO  jepsen.util - 2	:invoke	:cas	[3 0]``.
  ``:fail :cas`` is a compare-and-set that completed without applying (it
  returned false); ``:fail :read :timed-out`` is a read with no known result
  (it constrains nothing); ``:info ... :timed-out`` is indeterminate.
- ``porcupine-kv``: one EDN map per line with ``:key``, ``:f`` in get / put /
  append, as in Porcupine's key-value test data.
- ``jepsen-edn``: a Jepsen history of event maps (``{:process 0, :type
  :invoke, :f :write, :value 3}``) in any EDN layout (:mod:`.edn`): a
  top-level vector or list, or a sequence of maps, each map on one line or
  pretty-printed over several, record literals ``#jepsen.history.Op{...}``
  included. ``:ok`` completed, ``:fail`` did not happen, ``:info``
  indeterminate; events of non-client processes (``:nemesis``) are kept on
  :attr:`History.nemesis` for display and left out of the check. ``:time``
  is used as the time when every event has it. An operation's line is the
  line its invocation map starts on.

Every reader raises :class:`models.registry.UsageError` for a malformed file:
one line naming the file, the line number and what is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from splitbrain.models.registry import UsageError
from splitbrain.properties.consistency.datatypes import DATATYPES, DataType
from splitbrain.properties.consistency.edn import EdnError, Keyword, Tagged, parse_edn, read_elements
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


def parse_edn_line(text: str) -> Any:
    """The value of one EDN form (kept for callers of the line-based reader: same as ``parse_edn``)."""
    return parse_edn(text)


def _text(path: Path) -> str:
    """The whole file, or a UsageError naming it (and the line, for text that is not UTF-8)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(path, None, "no such file") from None
    except IsADirectoryError:
        raise _fail(path, None, "is a directory, not a history file") from None
    except UnicodeDecodeError as exc:
        raise _fail(path, text_line_of_offset(path.read_bytes(), exc.start), "not UTF-8 text") from None
    except OSError as exc:
        raise _fail(path, None, f"cannot read: {exc.strerror or exc}") from None


def read_edn_events(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """Each event map of an EDN history file with the line it starts on.

    The file may be one vector or list of maps, or a sequence of maps, laid out
    over any number of lines; a record literal ``#jepsen.history.Op{...}``
    counts as its map. UsageError (file, line, what was expected) otherwise.
    """
    path = Path(path)
    try:
        forms = read_elements(_text(path))
    except EdnError as exc:
        raise _fail(path, exc.line, f"malformed EDN at column {exc.column}: {exc.message}") from None
    events = []
    for number, value in forms:
        if isinstance(value, Tagged) and isinstance(value.value, dict):
            value = value.value
        if not isinstance(value, dict):
            raise _fail(path, number, "expected one event map {:process ..., :type ..., :f ..., :value ...}")
        events.append((number, value))  # Keyword keys compare and hash as the plain strings
    return events


def is_client(process: Any) -> bool:
    """False for Jepsen's non-client process, the fault injector ``:nemesis``."""
    return process != "nemesis"


def _edn_history(path: Path, datatype: DataType | None, *, require_key: bool) -> tuple[History, DataType | None]:
    builder = HistoryBuilder()
    events = read_edn_events(path)
    if not events:
        raise _fail(path, None, "empty history: no events")
    use_time = all(isinstance(ev.get("time"), (int, float)) and not isinstance(ev.get("time"), bool)
                   for _, ev in events)
    inferred = datatype
    nemesis: list[tuple[int, str, str, Any]] = []
    for number, ev in events:
        for field in ("process", "type", "f"):
            if field not in ev:
                raise _fail(path, number, f"event has no :{field}")
        process, kind, f = ev["process"], ev["type"], ev["f"]
        if not is_client(process):
            nemesis.append((number, str(kind), str(f), ev.get("value")))
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
    return builder.history(str(path), tuple(nemesis)), inferred


def _process(x: Any) -> Any:
    return x if isinstance(x, int) else str(x)


def _edn_show(x: Any) -> str:
    if isinstance(x, Keyword):
        return ":" + x
    if x is None:
        return "nil"
    return repr(x)


_INFER = {"read": None, "write": "register", "cas": "register", "get": "kv", "put": "kv", "append": "kv",
          "add": "set", "remove": "set", "contains": "set", "enqueue": "queue", "dequeue": "queue",
          "acquire": "mutex", "release": "mutex", "txn": "multi-register"}


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
        if line.strip() and not line.strip().startswith(";") and line.strip() not in ("[", "]", "(", ")"):
            first = line.strip()
            break
    if _ETCD_LINE.match(first):
        return "porcupine-etcd"
    if first.startswith(("{", "[", "(", "#")):
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
