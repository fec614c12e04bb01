"""Sequential specifications of the objects clients operate on.

In Porcupine's spirit a data type is an initial state and a step function;
the checkers know nothing else about it. ``step(state, f, value, result)``
returns the state after operation ``f(value)`` returned ``result``, or
:data:`INVALID` when that result is impossible in ``state``. For an
indeterminate operation ``result`` is :data:`~splitbrain.properties.consistency.history.UNKNOWN`:
the step applies the operation's effect and accepts any result.

A *keyed* data type is a map of independent objects, one per ``Operation.key``;
its ``init`` and ``step`` describe one object. Linearizability is local, so
the linearizability checker checks each key on its own (Porcupine's
partitioning); the other checkers use the product of the per-key objects.

States are small hashable values (ints, strings, tuples, frozensets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from splitbrain.properties.consistency.history import FAIL, INFO, OK, UNKNOWN, Operation

INVALID = object()  # a step's answer when the result is impossible in that state
NOT_PINNED = object()  # pinned_state's answer for an operation legal in more than one state

Step = Callable[[Any, str, Any, Any], Any]


@dataclass(frozen=True)
class DataType:
    """An object's sequential specification.

    ``functions`` maps each operation name to what it is: ``"read"`` (never
    changes the state), ``"write"`` (changes it whatever the state) or
    ``"update"`` (depends on the state). ``check(f, value, result)`` returns an
    error message for an argument or result of the wrong shape; readers call
    it with ``result=UNKNOWN`` at an invocation and ``value=UNKNOWN`` at a
    completion.

    ``unchanged(op)`` says a completed update's result shows it changed
    nothing (a cas that returned false). Optional, for speed: ``pin(op)`` is the one state in which observer
    ``op`` is legal (a read's result), or :data:`NOT_PINNED`;
    ``reachable(state, target)`` is False only when no sequence of updates
    other than writes can turn ``state`` into ``target``.
    """

    name: str
    init: Any
    step: Step
    functions: dict[str, str]
    keyed: bool = False
    registers: bool = False  # reads return whole written values (reads-from is defined)
    check: Callable[[str, Any, Any], str | None] = field(default=lambda f, v, r: None)
    unchanged: Callable[[Operation], bool] | None = None
    pin: Callable[[Operation], Any] | None = None
    reachable: Callable[[Any, Any], bool] | None = None
    summary: str = ""

    def is_read(self, f: str) -> bool:
        """True when ``f`` never changes the state."""
        return self.functions.get(f) == "read"

    def is_observer(self, op: Operation) -> bool:
        """True when ``op``, wherever it is legal, leaves the state unchanged.

        Reads, and completed operations whose result says they changed
        nothing (a cas that returned false, a dequeue from an empty queue).
        """
        if self.functions.get(op.f) == "read":
            return True
        return op.status == OK and self.unchanged is not None and self.unchanged(op)

    def pinned_state(self, op: Operation) -> Any:
        """The one state in which observer ``op`` is legal, or :data:`NOT_PINNED`."""
        if self.pin is None or op.status != OK:
            return NOT_PINNED
        return self.pin(op)

    def accesses(self, op: Operation) -> list[tuple[str, Any]] | None:
        """The whole values ``op`` read and wrote, as ``[("r"|"w", value), ...]``.

        Used by the checkers that need a reads-from relation (causal
        consistency, session guarantees). A successful cas reads FROM and
        writes TO; an indeterminate write or cas may have written its value;
        a failed operation accessed nothing. None when ``op`` is not a read
        or write of a whole value (an append, a set or queue operation), so
        that no reads-from relation can be derived.
        """
        if not self.registers:
            return None
        kind = self.functions.get(op.f)
        if op.status == FAIL:
            return []
        if kind == "read":
            return [("r", op.result)] if op.status == OK else []
        if kind == "write":
            return [("w", op.value)]
        if op.f == "cas":
            if op.status == INFO:
                return [("w", op.value[1])]
            return [("r", op.value[0]), ("w", op.value[1])] if op.result is not False else []
        return None

    def stepper(self, ops: Sequence[Operation]) -> tuple[Any, Callable[[Any, Operation], Any]]:
        """The initial state and ``apply(state, op)`` for a history of ``ops``.

        For a keyed type operating on more than one key the state is the
        tuple of per-key states (the product of independent objects).
        """
        step = self.step

        def apply(state: Any, op: Operation) -> Any:
            return step(state, op.f, op.value, UNKNOWN if op.status == INFO else op.result)

        keys = list(dict.fromkeys(op.key for op in ops)) if self.keyed else []
        if len(keys) <= 1:
            return self.init, apply
        index = {k: i for i, k in enumerate(keys)}

        def apply_keyed(state: tuple, op: Operation) -> Any:
            i = index[op.key]
            nxt = apply(state[i], op)
            if nxt is INVALID:
                return INVALID
            return state[:i] + (nxt,) + state[i + 1:]

        return (self.init,) * len(keys), apply_keyed


# --- register: read / write / compare-and-set ----------------------------------

def _register_step(state: Any, f: str, value: Any, result: Any) -> Any:
    if f == "read":
        return state if result is UNKNOWN or result == state else INVALID
    if f == "write":
        return value
    # cas [from to]: applies exactly when the register holds `from`
    frm, to = value
    if result is UNKNOWN:
        return to if state == frm else state
    if result is False:
        return state if state != frm else INVALID
    return to if state == frm else INVALID


def _register_check(f: str, value: Any, result: Any) -> str | None:
    if f == "cas" and value is not UNKNOWN and not (isinstance(value, tuple) and len(value) == 2):
        return f"cas needs a value [FROM TO], got {value!r}"
    return None


REGISTER = DataType(
    "register", None, _register_step, {"read": "read", "write": "write", "cas": "update"},
    registers=True, check=_register_check,
    unchanged=lambda op: op.f == "cas" and op.result is False,
    pin=lambda op: op.result if op.f == "read" else NOT_PINNED,
    summary="one register: read, write, cas [FROM TO]; starts nil",
)

# --- key-value store: get / put / append (per key) -----------------------------


def _kv_step(state: str, f: str, value: Any, result: Any) -> Any:
    if f == "get":
        return state if result is UNKNOWN or result == state else INVALID
    if f == "put":
        return value
    return state + value  # append


def _kv_check(f: str, value: Any, result: Any) -> str | None:
    if f in ("put", "append") and value is not UNKNOWN and not isinstance(value, str):
        return f"{f} needs a string value, got {value!r}"
    if f == "get" and result is not UNKNOWN and result is not None and not isinstance(result, str):
        return f"get must return a string, got {result!r}"
    return None


KV = DataType(
    "kv", "", _kv_step, {"get": "read", "put": "write", "append": "update"}, keyed=True, registers=True, check=_kv_check,
    pin=lambda op: op.result if op.f == "get" else NOT_PINNED,
    reachable=lambda state, target: isinstance(target, str) and target.startswith(state),  # appends only extend
    summary="string values by key: get, put, append; a key never written reads as \"\"",
)

# --- set: add / remove / read ----------------------------------------------------


def _set_step(state: frozenset, f: str, value: Any, result: Any) -> Any:
    if f == "add":
        return state | {value}
    if f == "remove":
        return state - {value}
    if f == "contains":
        if result is UNKNOWN or bool(result) == (value in state):
            return state
        return INVALID
    # read: the whole set
    if result is UNKNOWN or _as_set(result) == state:
        return state
    return INVALID


def _as_set(result: Any) -> frozenset | None:
    """A read's result as a set (None when it is not a collection)."""
    if isinstance(result, (str, bytes)):
        return None
    try:
        return frozenset(result)
    except TypeError:
        return None


def _set_pin(op: Operation) -> Any:
    found = _as_set(op.result) if op.f == "read" else None
    return NOT_PINNED if found is None else found


def _set_check(f: str, value: Any, result: Any) -> str | None:
    if f == "read" and result is not UNKNOWN and result is not None and not isinstance(result, (tuple, frozenset)):
        return f"read must return a collection, got {result!r}"
    return None


SET = DataType(
    "set", frozenset(), _set_step,
    {"add": "update", "remove": "update", "contains": "read", "read": "read"}, check=_set_check,
    pin=lambda op: _set_pin(op),
    summary="a set: add V, remove V, contains V -> true/false, read -> all elements",
)

# --- FIFO queue: enqueue / dequeue -----------------------------------------------


def _queue_step(state: tuple, f: str, value: Any, result: Any) -> Any:
    if f == "enqueue":
        return state + (value,)
    # dequeue: the head, or nil when empty
    if result is UNKNOWN:
        return state[1:]
    if result is None:
        return state if not state else INVALID
    return state[1:] if state and state[0] == result else INVALID


QUEUE = DataType(
    "queue", (), _queue_step, {"enqueue": "update", "dequeue": "update"},
    unchanged=lambda op: op.f == "dequeue" and op.result is None,
    pin=lambda op: () if op.f == "dequeue" and op.result is None else NOT_PINNED,
    summary="a FIFO queue: enqueue V, dequeue -> head (nil when empty)",
)

# --- multi-register: transactions of reads and writes over named registers ----------

_READS = ("r", "read")
_WRITES = ("w", "write")


def _micro_ops(value: Any) -> tuple | None:
    """``value`` as a tuple of ``(f, key, v)`` micro-operations, or None when it is not one."""
    if not isinstance(value, tuple) or not all(
            isinstance(m, tuple) and len(m) == 3 and m[0] in _READS + _WRITES for m in value):
        return None
    return value


def _multi_register_step(state: frozenset, f: str, value: Any, result: Any) -> Any:
    regs = dict(state)
    done = _micro_ops(result) if result is not UNKNOWN else None
    for i, (mf, k, v) in enumerate(value):
        if mf in _WRITES:
            regs[k] = v
        elif done is not None and i < len(done) and regs.get(k) != done[i][2]:
            return INVALID  # the read returned another value than the register held
    return frozenset(regs.items())


def _multi_register_check(f: str, value: Any, result: Any) -> str | None:
    for what, x in (("value", value), ("result", result)):
        if isinstance(x, tuple) and any(isinstance(m, tuple) and m[:1] == ("append",) for m in x):
            return "a txn with :append is a list-append history: check it with splitbrain txncheck"
        if x is not UNKNOWN and x is not None and _micro_ops(x) is None:
            return f"txn {what} must be a vector of [:r KEY VALUE] / [:w KEY VALUE], got {x!r}"
    if value is not UNKNOWN and result is not UNKNOWN and result is not None and len(result) != len(value):
        return "txn result must have one entry per micro-operation"
    return None


def _read_only(op: Operation) -> bool:
    return op.f == "txn" and all(m[0] in _READS for m in op.value)


MULTI_REGISTER = DataType(
    "multi-register", frozenset(), _multi_register_step, {"txn": "update"}, check=_multi_register_check,
    unchanged=_read_only,
    summary="named registers read and written atomically: txn [[:r K V] [:w K V] ...]; every register starts nil",
)

# --- mutex: acquire / release ----------------------------------------------------


def _mutex_step(held: bool, f: str, value: Any, result: Any) -> Any:
    if f == "acquire":
        return INVALID if held else True
    return False if held else INVALID  # release: only while held


MUTEX = DataType(
    "mutex", False, _mutex_step, {"acquire": "update", "release": "update"},
    summary="a lock: acquire (only when free), release (only when held); starts free",
)

# --- unordered queue: enqueue / dequeue in any order ------------------------------


def _unordered_step(state: frozenset, f: str, value: Any, result: Any) -> Any:
    counts = dict(state)
    if f == "enqueue":
        counts[value] = counts.get(value, 0) + 1
        return frozenset(counts.items())
    if result is UNKNOWN:
        return state  # which element an indeterminate dequeue took is unknown: taken as none
    if result is None:
        return state if not counts else INVALID
    if counts.get(result, 0) == 0:
        return INVALID
    counts[result] -= 1
    if not counts[result]:
        del counts[result]
    return frozenset(counts.items())


UNORDERED_QUEUE = DataType(
    "unordered-queue", frozenset(), _unordered_step, {"enqueue": "update", "dequeue": "update"},
    unchanged=lambda op: op.f == "dequeue" and op.result is None,
    pin=lambda op: frozenset() if op.f == "dequeue" and op.result is None else NOT_PINNED,
    summary="a bag: enqueue V, dequeue -> any element enqueued and not yet dequeued (nil when empty)",
)

DATATYPES: dict[str, DataType] = {d.name: d for d in (REGISTER, MULTI_REGISTER, MUTEX, SET, QUEUE, UNORDERED_QUEUE, KV)}
# knossos's names for the same specifications
ALIASES: dict[str, str] = {"cas-register": "register", "fifo-queue": "queue", "key-value": "kv"}


def get_datatype(name: str) -> DataType:
    """The data type called ``name`` (ValueError naming the known ones)."""
    try:
        return DATATYPES[ALIASES.get(name, name)]
    except KeyError:
        raise ValueError(f"unknown data type {name!r} (known: {', '.join([*DATATYPES, *ALIASES])})") from None
