"""``splitbrain lincheck FILE --html OUT``: a timeline per client, for every format lincheck reads.

The page must highlight exactly the operations the text output names as
unplaceable (the blocked one and its rivals), mark the operations the text
lists in the longest linearizable prefix, carry the text's explanation, and
draw one bar per operation the text counts.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from splitbrain.checker.cli import main

DATA = Path(__file__).resolve().parent / "data" / "porcupine"

# A register written with 1 (completed) and then read as nil: not linearizable.
EDN_BAD = """[{:process 0, :type :invoke, :f :write, :value 1, :time 10}
{:process :nemesis, :type :info, :f :start, :value nil, :time 11}
{:process 0, :type :ok, :f :write, :value 1, :time 12}
{:process 2, :type :invoke, :f :write, :value 2, :time 13}
{:process 2, :type :info, :f :write, :value 2, :time 14}
{:process 1, :type :invoke, :f :read, :value nil, :time 15}
{:process 1, :type :ok, :f :read, :value nil, :time 16}]
"""


class Page(HTMLParser):
    """Each operation bar's id and classes, and the explanation's text."""

    def __init__(self):
        super().__init__()
        self.ops: dict[int, set[str]] = {}
        self.explanation = ""
        self.srcs: list[str] = []
        self._in_pre = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        if tag == "g" and "op" in classes:
            self.ops[int(attrs["data-op"])] = classes
        self._in_pre = tag == "pre" and "explanation" in classes
        self.srcs += [attrs[k] for k in ("src", "href") if attrs.get(k)]

    def handle_endtag(self, tag):
        if tag == "pre":
            self._in_pre = False

    def handle_data(self, data):
        if self._in_pre:
            self.explanation += data


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def named_in(explanation: str) -> tuple[set[int], set[int]]:
    """(ids listed in the longest linearizable prefix, ids named anywhere else) in the text output."""
    prefix, others, in_prefix = set(), set(), False
    for line in explanation.splitlines():
        if line.startswith("Longest linearizable prefix"):
            in_prefix = True
            continue
        if not line.startswith("  "):
            in_prefix = False
        ids = {int(x) for x in re.findall(r"#(\d+)", line)}
        (prefix if in_prefix else others).update(ids)
    return prefix, others


@pytest.mark.parametrize("name", ["etcd", "kv", "edn"])
def test_timeline_highlights_what_the_text_output_names(capsys, tmp_path, name):
    if name == "edn":
        path = tmp_path / "h.edn"
        path.write_text(EDN_BAD)
    else:
        path = DATA / {"etcd": "jepsen/etcd_000.log", "kv": "kv/c10-bad.txt"}[name]
    code, text, _ = run(capsys, "lincheck", path)
    assert code == 1
    out = tmp_path / "t.html"
    code, again, err = run(capsys, "lincheck", path, "--html", out)
    def timeless(s):
        return re.sub(r"[\d.]+ s\)", "s)", s)

    assert code == 1 and timeless(again) == timeless(text) and f"timeline written to {out}" in err
    page = Page()
    page.feed(out.read_text())
    operations = int(re.search(r"(\d+) operations", text).group(1))
    assert sorted(page.ops) == list(range(operations))  # one bar per operation
    explanation = text.split("\n", 1)[1].split("\nevents of non-client")[0].strip()
    explanation = "\n".join(line for line in explanation.splitlines() if "(nemesis)" not in line)
    assert page.explanation.strip() == explanation
    prefix, others = named_in(explanation)
    blocked = int(re.search(r"just before operation #(\d+)", explanation).group(1))
    assert [i for i, c in page.ops.items() if "blocked" in c] == [blocked]
    assert {i for i, c in page.ops.items() if c & {"blocked", "involved"}} == others
    linearized = {i for i, c in page.ops.items() if "linearized" in c}
    assert prefix <= linearized and blocked not in linearized
    assert page.srcs == []  # self-contained


def test_edn_timeline_marks_failed_and_indeterminate_operations(capsys, tmp_path):
    path, out = tmp_path / "h.edn", tmp_path / "t.html"
    path.write_text(EDN_BAD)
    run(capsys, "lincheck", path, "--html", out)
    page = Page()
    page.feed(out.read_text())
    assert "indeterminate" in page.ops[1] and "blocked" in page.ops[2]  # write 2 timed out; the nil read


def test_timeline_of_a_linearizable_history_marks_nothing(capsys, tmp_path):
    out = tmp_path / "ok.html"
    code, text, _ = run(capsys, "lincheck", DATA / "jepsen/etcd_002.log", "--html", out)
    assert code == 0
    page = Page()
    page.feed(out.read_text())
    assert len(page.ops) == int(re.search(r"(\d+) operations", text).group(1))
    assert not any(c & {"blocked", "involved", "linearized"} for c in page.ops.values())
    assert page.explanation == ""


def test_html_with_json_keeps_stdout_json_and_a_bad_path_is_one_line(capsys, tmp_path):
    code, out, _ = run(capsys, "lincheck", DATA / "kv/c01-bad.txt", "--json", "--html", tmp_path / "k.html")
    assert code == 1 and json.loads(out)["satisfied"] is False
    code, out, err = run(capsys, "lincheck", DATA / "kv/c01-bad.txt", "--html", tmp_path / "no" / "such" / "k.html")
    assert code == 2 and err.count("\n") == 1 and "cannot write" in err
