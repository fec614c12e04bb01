"""History readers and ``splitbrain lincheck``: formats, detection, exit codes,
and one clear line (file, line number, problem) for every malformed input."""

from __future__ import annotations

import json

import pytest

from splitbrain.checker.cli import main
from splitbrain.models.registry import UsageError
from splitbrain.properties.consistency.history import FAIL, INFO, OK
from splitbrain.properties.consistency.readers import (
    Keyword,
    detect_format,
    parse_edn,
    parse_edn_line,
    read_history,
    read_jepsen_edn,
    read_porcupine_etcd,
)

ETCD_OK = """\
INFO  jepsen.util - 0\t:invoke\t:write\t3
INFO  jepsen.util - 1\t:invoke\t:read\tnil
INFO  jepsen.util - 0\t:ok\t:write\t3
INFO  jepsen.util - 1\t:ok\t:read\t3
INFO  jepsen.util - 2\t:invoke\t:cas\t[2 4]
INFO  jepsen.util - 2\t:fail\t:cas\t[2 4]
INFO  jepsen.util - 3\t:invoke\t:write\t1
INFO  jepsen.util - 3\t:info\t:write\t:timed-out
INFO  jepsen.util - 4\t:invoke\t:read\tnil
INFO  jepsen.util - 4\t:fail\t:read\t:timed-out
"""

KV_OK = """\
{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
{:process 1, :type :invoke, :f :get, :key "0", :value nil}
{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}
{:process 1, :type :ok, :f :get, :key "0", :value ""}
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def lincheck(capsys, *argv):
    code = main(["lincheck", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


# --- what the readers make of the formats ------------------------------------------------


def test_etcd_log_semantics(tmp_path):
    ops = list(read_porcupine_etcd(write(tmp_path, "h.log", ETCD_OK)))
    write3, read, cas, write1, timed_out = ops
    assert (write3.f, write3.value, write3.status, write3.line) == ("write", 3, OK, 1)
    assert (read.result, read.call, read.ret) == (3, 2, 4)
    assert (cas.value, cas.status, cas.result) == ((2, 4), OK, False)  # completed, did not apply
    assert write1.status == INFO and write1.ret is None  # open until the end
    assert timed_out.status == FAIL  # a read with no result constrains nothing


def test_etcd_log_with_spaces_instead_of_tabs(tmp_path):
    text = ETCD_OK.replace("\t", "   ")
    assert len(read_porcupine_etcd(write(tmp_path, "h.log", text))) == 5


def test_jepsen_edn_history(tmp_path):
    text = """[{:process 0, :type :invoke, :f :write, :value 3, :time 10}
{:process :nemesis, :type :info, :f :start, :value nil, :time 11}
{:process 0, :type :ok, :f :write, :value 3, :time 12}
{:process 1, :type :invoke, :f :cas, :value [3 4], :time 13}
{:process 1, :type :fail, :f :cas, :value [3 4], :time 14}
{:process 2, :type :invoke, :f :read, :value nil, :time 15}
{:process 2, :type :ok, :f :read, :value 3, :time 16}]
"""
    history, datatype = read_jepsen_edn(write(tmp_path, "h.edn", text))
    assert datatype.name == "register"
    assert [op.f for op in history] == ["write", "cas", "read"]  # the nemesis is not a client
    assert history[0].call == 10 and history[0].ret == 12  # :time is used when every event has one
    assert history[1].status == FAIL  # in Jepsen's own terms a failed operation did not happen


def test_edn_values():
    value = parse_edn('{:a [1 -2 3.5] :b #{:x "y\\"z"} :c (nil true false) :d {:e sym}}')
    assert value == {"a": (1, -2, 3.5), "b": frozenset({"x", 'y"z'}), "c": (None, True, False), "d": {"e": "sym"}}
    assert isinstance(value[Keyword("b")].__iter__().__next__(), str)
    assert parse_edn_line('{:process 3, :type :ok, :f :get, :key "4", :value nil}') == \
        parse_edn('{:process 3, :type :ok, :f :get, :key "4", :value nil}')


def test_format_detection(tmp_path):
    assert detect_format(write(tmp_path, "a.txt", ETCD_OK)) == "porcupine-etcd"
    assert detect_format(write(tmp_path, "b.log", KV_OK)) == "porcupine-kv"
    assert detect_format(write(tmp_path, "c", '{:process 0, :type :invoke, :f :read, :value nil}\n')) == "jepsen-edn"
    with pytest.raises(UsageError, match="cannot tell the history format"):
        detect_format(write(tmp_path, "d.txt", "hello\n"))


def test_read_history_infers_the_data_type(tmp_path):
    path = write(tmp_path, "q.edn", '{:process 0, :type :invoke, :f :enqueue, :value 1}\n'
                                    '{:process 0, :type :ok, :f :enqueue, :value 1}\n')
    history, datatype, fmt = read_history(path)
    assert (datatype.name, fmt, len(history)) == ("queue", "jepsen-edn", 1)


# --- the command line -------------------------------------------------------------------------


def test_lincheck_exit_codes(tmp_path, capsys):
    good = write(tmp_path, "good.log", ETCD_OK)
    code, out, _ = lincheck(capsys, good)
    assert code == 0 and "linearizable" in out
    stale = write(tmp_path, "stale.log", ETCD_OK + "INFO  jepsen.util - 5\t:invoke\t:read\tnil\n"
                                                   "INFO  jepsen.util - 5\t:ok\t:read\tnil\n")
    code, out, _ = lincheck(capsys, stale)
    assert code == 1 and "NOT linearizable" in out and "line 11" in out
    code, out, _ = lincheck(capsys, stale, "--consistency", "sequential")
    assert code == 0


def test_lincheck_json(tmp_path, capsys):
    code, out, _ = lincheck(capsys, write(tmp_path, "kv.txt", KV_OK), "--json")
    row = json.loads(out)
    assert code == 0
    assert (row["format"], row["model"], row["operations"], row["satisfied"]) == ("porcupine-kv", "kv", 2, True)
    bad = KV_OK.replace(':value ""}', ':value "zzz"}')
    code, out, _ = lincheck(capsys, write(tmp_path, "bad.txt", bad), "--json")
    row = json.loads(out)
    assert code == 1 and not row["satisfied"] and row["involved"][0]["line"] == 2


def test_lincheck_format_and_model_options(tmp_path, capsys):
    path = write(tmp_path, "kv.edn", KV_OK)
    assert lincheck(capsys, path, "--format", "jepsen-edn", "--model", "kv")[0] == 0
    code, _, err = lincheck(capsys, path, "--model", "register", "--format", "jepsen-edn")
    assert code == 2 and "kv.edn:1: model register has no operation :append" in err
    code, _, err = lincheck(capsys, write(tmp_path, "e.log", ETCD_OK), "--model", "kv")
    assert code == 2 and "register history" in err


def test_readme_lincheck_edn_register_sequential(tmp_path, capsys):
    """README: ``splitbrain lincheck h.edn --model register --consistency sequential``.

    By hand: process 1 reads 0 after process 0's write of 3 completed. No
    real-time order admits that (not linearizable); ordering the read before
    the write does (sequentially consistent: the two are different processes).
    """
    h = write(tmp_path, "h.edn", """[{:process 0, :type :invoke, :f :write, :value 0}
{:process 0, :type :ok, :f :write, :value 0}
{:process 0, :type :invoke, :f :write, :value 3}
{:process 0, :type :ok, :f :write, :value 3}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 0}]
""")
    code, out, _ = lincheck(capsys, h, "--model", "register", "--consistency", "sequential")
    assert code == 0 and "sequential (register, 3 operations, jepsen-edn" in out
    code, out, _ = lincheck(capsys, h, "--model", "register")
    assert code == 1 and "NOT linearizable" in out


def test_lincheck_refuses_what_a_model_cannot_judge(tmp_path, capsys):
    code, _, err = lincheck(capsys, write(tmp_path, "kv.txt", KV_OK), "--consistency", "causal")
    assert code == 2 and "kv.txt: causal needs read/write histories" in err


MALFORMED = [
    # (file name, content, line, message)
    ("a.log", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nhello\n", 2, "expected 'INFO jepsen.util"),
    ("b.log", "INFO  jepsen.util - x\t:invoke\t:read\tnil\n", 1, "process must be an integer"),
    ("c.log", "INFO  jepsen.util - 0\t:invoke\t:delete\tnil\n", 1, "unknown operation :delete"),
    ("d.log", "INFO  jepsen.util - 0\t:invoke\t:write\tabc\n", 1, "write value must be an integer"),
    ("e.log", "INFO  jepsen.util - 0\t:invoke\t:cas\t[1]\n", 1, "cas value must be [FROM TO]"),
    ("f.log", "INFO  jepsen.util - 0\t:ok\t:read\t3\n", 1, "process 0 completes read but has no outstanding"),
    ("g.log", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:invoke\t:write\t1\n", 2,
     "process 0 invokes write while its read (line 1) is still outstanding"),
    ("h.log", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:write\t1\n", 2,
     "process 0 completes write but invoked read"),
    ("i.log", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:bogus\t:read\t1\n", 2,
     "unknown event type :bogus"),
    ("j.log", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\tfour\n", 2,
     "a read returns an integer or nil"),
    ("k.txt", '{:process 0, :type :invoke, :f :get, :key "1", :value nil\n', 1, "malformed EDN"),
    ("l.txt", '{:process 0, :type :invoke, :f :get, :key "1", :value nil}\n[1 2]\n', 2, "expected one event map"),
    ("m.edn", '{:process 0, :f :read, :value nil}\n', 1, "event has no :type"),
    ("n.edn", '{:process 0, :type :started, :f :read, :value nil}\n', 1, ":type must be :invoke"),
    ("o.edn", '{:process 0, :type :invoke, :f :put, :key "k", :value 5}\n', 1, "put needs a string value"),
    ("p.edn", '{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :read, :value "x}\n',
     2, "malformed EDN"),
    ("q.edn", '{:process 0, :type :invoke, :f :cas, :value 3}\n', 1, "cas needs a value [FROM TO]"),
    ("r.edn", '{:process 0, :type :invoke, :f :read, :value nil}\n{:process 1, :type :ok, :f :read, :value 1}\n', 2,
     "process 1 completes read but has no outstanding invocation"),
]


@pytest.mark.parametrize("name,text,line,message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_history_is_one_line_with_file_and_line(tmp_path, capsys, name, text, line, message):
    path = write(tmp_path, name, text)
    code, out, err = lincheck(capsys, path)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"splitbrain: error: {path}:{line}: ")
    assert message in err


def test_porcupine_kv_needs_keys(tmp_path, capsys):
    path = write(tmp_path, "nokey.txt", '{:process 0, :type :invoke, :f :get, :key "1", :value nil}\n'
                                        '{:process 0, :type :ok, :f :get, :value ""}\n')
    code, _, err = lincheck(capsys, path, "--format", "porcupine-kv")
    assert code == 2 and f"{path}:2: event has no :key" in err


def test_unreadable_files(tmp_path, capsys):
    code, _, err = lincheck(capsys, tmp_path / "missing.log")
    assert code == 2 and "missing.log: no such file" in err
    code, _, err = lincheck(capsys, write(tmp_path, "empty.log", "\n\n"))
    assert code == 2 and "empty.log: empty history: no events" in err
    binary = tmp_path / "bin.log"
    binary.write_bytes(b"INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\xff\xfe\n")
    code, _, err = lincheck(capsys, binary)
    assert code == 2 and "bin.log:2: not UTF-8 text" in err
    code, _, err = lincheck(capsys, tmp_path)
    assert code == 2 and "is a directory" in err
