"""docs/tutorial.md works as written: every command in it runs and prints what it shows.

The commands are read from the tutorial's ``console`` blocks (``$ COMMAND``,
``# exit N`` when it is not 0, then the output lines it shows: ``...`` skips
lines, a line ending in ``...`` is a prefix) and run in a copy of
docs/tutorial/. ``splitbrain`` commands run in-process; ``python`` ones in a
child process. Every ``python`` block of the tutorial is an excerpt of one of
its files.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from splitbrain.checker.cli import build_parser, main
from splitbrain.checker.commands import build_model
from splitbrain.checker.explorer import Session, model_argv

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "tutorial.md"
FILES = ROOT / "docs" / "tutorial"
EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")


def commands() -> list[tuple[str, int, list[str]]]:
    """(command, expected exit code, expected output lines) for each ``$`` line, in order."""
    out: list[tuple[str, int, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(), re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                code = EXIT.search(line)
                out.append((EXIT.sub("", line[2:]).strip(), int(code.group(1)) if code else 0, []))
            else:
                out[-1][2].append(line.rstrip())
    return out


COMMANDS = commands()
SPLITBRAIN = [c for c in COMMANDS if c[0].startswith("splitbrain ")]
PYTHON = [c for c in COMMANDS if c[0].startswith("python ") and not c[0].startswith("python -m pytest ")]
PYTEST = [c for c in COMMANDS if c[0].startswith("python -m pytest ")]
pytest_plugins = ["pytester"]


def missing_line(expected: list[str], actual: list[str]) -> str | None:
    """The first expected line not found (in order) in ``actual``; None when all are there."""
    pos = 0
    for line in expected:
        if line.strip() == "...":
            continue
        prefix = line.endswith("...")
        want = line[:-3] if prefix else line
        while pos < len(actual) and not (actual[pos].startswith(want) if prefix else actual[pos] == want):
            pos += 1
        if pos == len(actual):
            return line
        pos += 1
    return None


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    for f in FILES.glob("*.py"):
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_tutorial_has_its_commands():
    assert len(SPLITBRAIN) >= 10 and len(PYTHON) == 2 and len(PYTEST) == 1
    assert all(c[0].split()[0] in ("splitbrain", "python") for c in COMMANDS)


def test_every_splitbrain_command_prints_what_the_tutorial_shows(workdir, capsys):
    for command, code, expected in SPLITBRAIN:  # in order: show and replay read the trace check wrote
        argv = shlex.split(command)[1:]
        if argv[0] == "explore":  # serves until Ctrl-C: see the next test
            continue
        assert main(argv) == code, command
        captured = capsys.readouterr()
        lines = [line.rstrip() for line in (captured.out + captured.err).splitlines()]
        missing = missing_line(expected, lines)
        assert missing is None, f"{command}: the tutorial shows {missing!r}, the command printed:\n" + "\n".join(lines)
    # 33 states: the tutorial's figure for two clients (a regression figure, from splitbrain itself).
    assert (workdir / "dup.json").is_file() and (workdir / "chart.html").is_file()


def test_the_explorer_command_finds_the_counterexample_with_run_check(workdir):
    (command, _, _), = [c for c in SPLITBRAIN if c[0].startswith("splitbrain explore ")]
    args = build_parser().parse_args(shlex.split(command)[1:])
    session = Session(build_model(args), model_argv(args), check_seconds=60)  # what the command serves
    summary = session.run_check()  # the page's "Run check"
    assert summary["verdict"] == "violation" and summary["property"] == "MutualExclusion", summary
    assert session.cursor == len(session.actions) == 10
    assert session.view()["properties"][0] == {
        "name": "MutualExclusion", "kind": "always", "description": "", "value": False, "text": "VIOLATED here"}


@pytest.mark.parametrize("command, code, expected", PYTHON, ids=[c[0] for c in PYTHON])
def test_every_python_command_prints_what_the_tutorial_shows(workdir, command, code, expected):
    argv = shlex.split(command)
    proc = subprocess.run([sys.executable, *argv[1:]], cwd=workdir, capture_output=True, text=True, timeout=120)
    lines = [line.rstrip() for line in (proc.stdout + proc.stderr).splitlines()]
    assert proc.returncode == code, "\n".join(lines)
    missing = missing_line(expected, lines)
    assert missing is None, f"{command}: the tutorial shows {missing!r}, it printed:\n" + "\n".join(lines)


def test_the_pytest_gate_passes(pytester):
    (command, code, expected), = PYTEST
    for f in FILES.glob("*.py"):
        shutil.copy(f, pytester.path / f.name)
    result = pytester.runpytest_inprocess(*shlex.split(command)[3:], "-p", "no:cacheprovider")
    assert result.ret == code
    result.assert_outcomes(passed=2)  # the two tests of test_lock.py
    assert missing_line(expected, [line.rstrip() for line in result.outlines]) is None


def test_every_python_excerpt_is_in_the_tutorials_files():
    sources = [f.read_text() for f in FILES.glob("*.py")]
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 5
    for block in blocks:
        assert any(block in text for text in sources), f"not in docs/tutorial/*.py:\n{block}"
