"""``lincheck --model`` for every knossos datatype: mutex, multi-register, cas-register,
set, unordered queue, FIFO queue, key-value; and ``--list-models``.

Each history is small enough to judge by hand; the comment says why."""

from __future__ import annotations

import pytest

from splitbrain.checker.cli import main
from splitbrain.properties.consistency import check
from splitbrain.properties.consistency.datatypes import ALIASES, DATATYPES, get_datatype


def edn(*events):
    """One Jepsen event map per line from (process, type, f, value) tuples (values already EDN)."""
    return "\n".join(f"{{:process {p}, :type :{t}, :f :{f}, :value {v}}}" for p, t, f, v in events) + "\n"


def op(p, f, value="nil", result=None, status="ok"):
    """An operation invoked and completed at once (sequential with its neighbours)."""
    return [(p, "invoke", f, value), (p, status, f, value if result is None else result)]


def lincheck(tmp_path, capsys, text, *argv):
    path = tmp_path / "h.edn"
    path.write_text(text)
    code = main(["lincheck", str(path), *argv])
    return code, capsys.readouterr().out


CASES = [
    # (id, model, events, expected exit code)
    # mutex: a second acquire while held is impossible; after a release it is fine
    ("mutex-double-acquire", "mutex", op(0, "acquire") + op(1, "acquire"), 1),
    ("mutex-acquire-release-acquire", "mutex", op(0, "acquire") + op(0, "release") + op(1, "acquire"), 0),
    ("mutex-release-unheld", "mutex", op(0, "release"), 1),
    # two overlapping acquires both succeed: in either order the second finds the lock held
    ("mutex-overlapping-acquires", "mutex",
     [(0, "invoke", "acquire", "nil"), (1, "invoke", "acquire", "nil"),
      (0, "ok", "acquire", "nil"), (1, "ok", "acquire", "nil")], 1),
    # an indeterminate acquire may not have happened
    ("mutex-info-acquire", "mutex", [(0, "invoke", "acquire", "nil"), (0, "info", "acquire", "nil")]
     + op(1, "acquire"), 0),
    # multi-register: a read after the write of x and y sees both, never one alone
    ("multi-register-torn-read", "multi-register",
     op(0, "txn", "[[:w :x 1] [:w :y 1]]") + op(1, "txn", "[[:r :x nil] [:r :y nil]]", "[[:r :x 1] [:r :y nil]]"), 1),
    ("multi-register-whole-read", "multi-register",
     op(0, "txn", "[[:w :x 1] [:w :y 1]]") + op(1, "txn", "[[:r :x nil] [:r :y nil]]", "[[:r :x 1] [:r :y 1]]"), 0),
    # a read overlapping the write may see none of it
    ("multi-register-concurrent-read", "multi-register",
     [(0, "invoke", "txn", "[[:w :x 1] [:w :y 1]]"), (1, "invoke", "txn", "[[:r :x nil] [:r :y nil]]"),
      (1, "ok", "txn", "[[:r :x nil] [:r :y nil]]"), (0, "ok", "txn", "[[:w :x 1] [:w :y 1]]")], 0),
    # a transaction reads its own write
    ("multi-register-own-write", "multi-register", op(0, "txn", "[[:w :x 2] [:r :x nil]]", "[[:w :x 2] [:r :x 2]]"), 0),
    # cas-register (knossos's name): a cas from the current value succeeds
    ("cas-register", "cas-register", op(0, "write", "1") + op(1, "cas", "[1 2]") + op(2, "read", "nil", "2"), 0),
    ("cas-register-stale", "cas-register", op(0, "write", "1") + op(1, "cas", "[1 2]") + op(2, "read", "nil", "1"), 1),
    # set: an element added is read
    ("set-read-after-add", "set", op(0, "add", "1") + op(1, "read", "nil", "#{1}"), 0),
    ("set-lost-add", "set", op(0, "add", "1") + op(1, "read", "nil", "#{}"), 1),
    # queues: enqueue 1 then 2; a dequeue returning 2 is legal only without FIFO order
    ("unordered-queue-any-order", "unordered-queue", op(0, "enqueue", "1") + op(0, "enqueue", "2")
     + op(1, "dequeue", "nil", "2"), 0),
    ("fifo-queue-out-of-order", "fifo-queue", op(0, "enqueue", "1") + op(0, "enqueue", "2")
     + op(1, "dequeue", "nil", "2"), 1),
    ("unordered-queue-never-enqueued", "unordered-queue", op(0, "enqueue", "1") + op(1, "dequeue", "nil", "3"), 1),
    ("unordered-queue-twice", "unordered-queue", op(0, "enqueue", "1") + op(1, "dequeue", "nil", "1")
     + op(2, "dequeue", "nil", "1"), 1),
    ("unordered-queue-empty", "unordered-queue", op(0, "enqueue", "1") + op(1, "dequeue", "nil", "nil"), 1),
]


@pytest.mark.parametrize("name,model,events,expected", CASES, ids=[c[0] for c in CASES])
def test_lincheck_model(tmp_path, capsys, name, model, events, expected):
    code, out = lincheck(tmp_path, capsys, edn(*events), "--model", model)
    assert code == expected, out
    assert f"({get_datatype(model).name}," in out


def test_key_value_alias(tmp_path, capsys):
    text = ('{:process 0, :type :invoke, :f :put, :key "k", :value "a"}\n'
            '{:process 0, :type :ok, :f :put, :key "k", :value "a"}\n'
            '{:process 1, :type :invoke, :f :get, :key "k", :value nil}\n'
            '{:process 1, :type :ok, :f :get, :key "k", :value ""}\n')
    code, out = lincheck(tmp_path, capsys, text, "--model", "key-value")
    assert code == 1 and "NOT linearizable (kv," in out  # the get misses the completed put


def test_models_are_inferred_from_their_operations(tmp_path, capsys):
    assert lincheck(tmp_path, capsys, edn(*op(0, "acquire"), *op(0, "release")))[1].count("(mutex,") == 1
    assert "(multi-register," in lincheck(tmp_path, capsys, edn(*op(0, "txn", "[[:w :x 1]]")))[1]


def test_list_models(capsys):
    assert main(["lincheck", "--list-models"]) == 0
    listing = capsys.readouterr().out
    for name, datatype in DATATYPES.items():
        assert name in listing and datatype.summary in listing
        for f in datatype.functions:
            assert f":{f} (" in listing
    for alias in ALIASES:
        assert alias in listing
    assert main(["lincheck", "--model", "help"]) == 0
    assert capsys.readouterr().out == listing


def test_a_list_append_history_points_to_txncheck(tmp_path, capsys):
    path = tmp_path / "la.edn"
    path.write_text(edn(*op(0, "txn", "[[:append :x 1]]")))
    assert main(["lincheck", str(path)]) == 2
    assert "check it with splitbrain txncheck" in capsys.readouterr().err


def test_new_models_through_the_api():
    from splitbrain.properties.consistency.history import Event, History

    acquire_twice = History.from_events([Event(0, "invoke", "acquire"), Event(0, "ok", "acquire"),
                                         Event(1, "invoke", "acquire"), Event(1, "ok", "acquire")])
    assert not check(acquire_twice, "mutex")
    assert check(acquire_twice, "mutex", "sequential").ok is False  # no order admits two holders
