"""The EDN reader: one edge case per syntax form of https://github.com/edn-format/edn,
pretty-printed Jepsen histories, and one clear line (file, line, column, what was
expected) for malformed input."""

from __future__ import annotations

import datetime
import math
import uuid
from decimal import Decimal

import pytest

from splitbrain.checker.cli import main
from splitbrain.properties.consistency.edn import (
    Char,
    EdnError,
    FrozenMap,
    Keyword,
    Symbol,
    Tagged,
    parse_edn,
    read_all,
    read_elements,
)
from splitbrain.properties.consistency.history import FAIL, INFO, OK
from splitbrain.properties.consistency.readers import read_history

# --- each syntax form ---------------------------------------------------------------------------

FORMS = [
    # (text, expected value)
    ("nil", None),
    ("true", True),
    ("false", False),
    ('"tab\\there \\"q\\" back\\\\slash \\u00e9 nl\\n"', 'tab\there "q" back\\slash \u00e9 nl\n'),
    ('"two\nlines"', "two\nlines"),
    ("\\c", "c"),
    ("\\newline", "\n"),
    ("\\space", " "),
    ("\\tab", "\t"),
    ("\\return", "\r"),
    ("\\u0041", "A"),
    ("\\(", "("),
    ("-42", -42),
    ("+7", 7),
    ("0", 0),
    ("12N", 12),
    ("3.5", 3.5),
    ("-1.5e3", -1500.0),
    ("1E-2", 0.01),
    ("2.50M", Decimal("2.50")),
    (":ok", "ok"),
    (":jepsen.history/op", "jepsen.history/op"),
    ("foo", "foo"),
    ("ns/name", "ns/name"),
    ("-foo", "-foo"),
    ("+", "+"),
    ("/", "/"),
    ("()", ()),
    ("(1 (2) [3])", (1, (2,), (3,))),
    ("[]", ()),
    ("[1,2 , 3]", (1, 2, 3)),
    ("{}", {}),
    ("{:a 1, :b {:c [2]}}", {"a": 1, "b": {"c": (2,)}}),
    ("#{}", frozenset()),
    ("#{1 :a \"s\"}", frozenset({1, "a", "s"})),
    ("; a comment\n5 ; another", 5),
    ("5 ;", 5),
    ("5;x", 5),
    ("[1 ;inside\n 2]", (1, 2)),
    ("#_ 1 2", 2),
    ("[1 #_ 2 3]", (1, 3)),
    ("[1 #_ #_ 2 3 4]", (1, 4)),
    ("[#_ [nested #_ x] y]", ("y",)),
    ("{:a 1 #_ :b #_ 2}", {"a": 1}),
    ("##Inf", math.inf),
    ("##-Inf", -math.inf),
]


@pytest.mark.parametrize("text,expected", FORMS, ids=[f[0] for f in FORMS])
def test_each_syntax_form(text, expected):
    assert parse_edn(text) == expected


def test_types_of_atoms():
    kw, sym, ch, s = parse_edn('[:a a \\a "a"]')
    assert (type(kw), type(sym), type(ch), type(s)) == (Keyword, Symbol, Char, str)
    assert repr(kw) == ":a" and kw == "a"  # compares with plain strings, as event maps need
    assert math.isnan(parse_edn("##NaN"))
    assert isinstance(parse_edn("12N"), int) and isinstance(parse_edn("2.5M"), Decimal)


def test_tagged_literals():
    assert parse_edn('#inst "1985-04-12T23:20:50.52Z"') == datetime.datetime(
        1985, 4, 12, 23, 20, 50, 520000, tzinfo=datetime.timezone.utc)
    assert parse_edn('#uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"') == uuid.UUID("f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
    # an unknown tag is kept as data, with its value read as usual
    assert parse_edn("#myapp/Person {:first \"Fred\"}") == Tagged("myapp/Person", {"first": "Fred"})
    assert parse_edn("[#a #b 1]") == (Tagged("a", Tagged("b", 1)),)
    assert parse_edn("#_ #inst \"2020-01-01T00:00:00Z\" 3") == 3  # the discard takes the tagged form
    assert parse_edn("#t #_ 1 2") == Tagged("t", 2)  # the tag takes the form after the discarded one


def test_maps_and_collections_as_keys_and_elements():
    value = parse_edn("{{:a 1} :map-key, [1 2] :vector-key, #{1} :set-key}")
    assert value[FrozenMap({"a": 1})] == "map-key" and value[(1, 2)] == "vector-key"
    assert value[frozenset({1})] == "set-key"
    assert parse_edn("#{{:x 1} [2]}") == frozenset({FrozenMap({"x": 1}), (2,)})


def test_read_all_and_elements_with_lines():
    assert read_all("1 [2\n3] \n:x") == [(1, 1), (1, (2, 3)), (3, "x")]
    text = "(\n{:a 1}\n\n  {:b\n 2})\n"
    assert read_elements(text) == [(2, {"a": 1}), (4, {"b": 2})]
    assert read_elements("[{:a 1} #_ {:b 2}\n{:c 3}]") == [(1, {"a": 1}), (2, {"c": 3})]
    assert read_elements("{:a 1}\n{:b 2}") == [(1, {"a": 1}), (2, {"b": 2})]


MALFORMED = [
    # (text, line, column, what the message says)
    ("{:a 1", 1, 1, "expected '}' to close '{' opened at line 1, column 1, found the end of the text"),
    ("[1\n  2)", 2, 4, "expected ']' to close '[' opened at line 1, column 1, found ')'"),
    ("]", 1, 1, "unexpected ']': no collection is open"),
    ('\n\n  "abc', 3, 3, "expected a closing '\"'"),
    ('"\\q"', 1, 1, "unknown string escape \\q"),
    ("{:a}", 1, 1, "expected a value for every key"),
    ("{:a 1 :a 2}", 1, 1, "duplicate key"),
    ("#{1 1}", 1, 1, "duplicate element"),
    ("[#_]", 1, 4, "expected a form after #_ before ']'"),
    ("#_", 1, 3, "expected a form after #_, found the end of the text"),
    ("12abc", 1, 1, "expected a number"),
    (":", 1, 1, "expected a keyword"),
    ("\\xyz", 1, 1, "expected a character"),
    ("##Foo", 1, 1, "unknown symbolic value ##Foo"),
    ('#inst "yesterday"', 1, 1, "#inst"),
    ("#1 2", 1, 1, "unexpected character '#'"),
    ("1 2", 1, 3, "expected the end of the text after the first value"),
]


@pytest.mark.parametrize("text,line,column,message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_edn_names_line_column_and_expectation(text, line, column, message):
    with pytest.raises(EdnError) as info:
        parse_edn(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert message in info.value.message


# --- Jepsen histories as Jepsen writes them ----------------------------------------------------------

PRETTY = """\
;; a history pretty-printed by Clojure: multi-line maps in a top-level list
({:type :invoke,
  :f :write,
  :value 3,
  :process 0,
  :time 10,
  :index 0}
 {:type :info,
  :f :start-partition,
  :value nil,
  :process :nemesis,
  :time 11,
  :index 1}
 {:type :ok, :f :write, :value 3, :process 0, :time 12, :index 2}
 {:type :invoke, :f :read, :value nil, :process 1, :time 13, :index 3}
 #jepsen.history.Op{:type :info, :f :read, :value nil, :process 1, :time 14, :index 4}
 {:type :invoke, :f :cas, :value [3 4], :process 2, :time 15, :index 5}
 {:type :fail, :f :cas, :value [3 4], :process 2, :time 16, :index 6,
  :error "precondition failed"}
 {:type :info,
  :f :stop-partition,
  :value #{"n1" "n2"},
  :process :nemesis,
  :time 17,
  :index 7})
"""


def test_pretty_printed_history(tmp_path):
    path = tmp_path / "history.edn"
    path.write_text(PRETTY)
    history, datatype, fmt = read_history(path)
    assert (fmt, datatype.name, len(history)) == ("jepsen-edn", "register", 3)
    write, read, cas = history
    assert (write.status, write.line, write.call, write.ret) == (OK, 2, 10, 12)
    assert (read.status, read.line) == (INFO, 15)  # a record literal #jepsen.history.Op{...} is its map
    assert cas.status == FAIL
    # nemesis operations are kept for display and left out of the check
    assert [(line, kind, f) for line, kind, f, _ in history.nemesis] == [
        (8, "info", "start-partition"), (20, "info", "stop-partition")]


def test_pretty_printed_history_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "history.edn"
    path.write_text(PRETTY)
    assert main(["lincheck", str(path)]) == 0
    out = capsys.readouterr().out
    assert "linearizable (register, 3 operations" in out
    assert "2 events of non-client processes (nemesis) were read and not checked" in out


def test_a_sequence_of_multi_line_maps(tmp_path):
    text = "{:process 0\n :type :invoke\n :f :add\n :value 1}\n{:process 0\n :type :ok\n :f :add\n :value 1}\n"
    path = tmp_path / "set.edn"
    path.write_text(text)
    history, datatype, _ = read_history(path)
    assert (datatype.name, len(history), history[0].line) == ("set", 1, 1)


def test_malformed_history_is_one_line_with_file_line_and_column(tmp_path, capsys):
    path = tmp_path / "bad.edn"
    path.write_text("[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :ok, :f :read,\n"
                    "  :value [1 2}]\n")
    assert main(["lincheck", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}:3: malformed EDN at column 14: expected ']' to close '[' opened at line 3, column 10" in err
