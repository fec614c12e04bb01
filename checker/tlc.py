"""TLC, the TLA+ model checker, on the specifications our models mirror (``splitbrain bench --tlc``).

The specifications come from the user's checkout of https://github.com/tlaplus/Examples; for each
run their modules are copied into a fresh directory beside a configuration (and, where the constants
need a definition, a small wrapper module) that gives them the constants of the mirror's parameters.
TLC's figures are read from its output: states generated, distinct states, depth.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

from splitbrain.models.registry import UsageError

EXAMPLES_URL = "https://github.com/tlaplus/Examples"
TLC_URL = "https://github.com/tlaplus/tlaplus/releases"
JAVA_FLAGS = ("-XX:+UseParallelGC",)


class Counterpart(NamedTuple):
    """A specification of tlaplus/Examples with the constants that make it the model ``model`` with ``params``."""

    model: str
    params: dict[str, int]
    folder: str  # the specification's folder in the Examples checkout
    modules: tuple[str, ...]  # the modules TLC reads, copied from ``folder``
    root: str  # the module TLC checks (a wrapper of ours when a constant needs a definition)
    files: dict[str, str]  # what we write beside the copies: the .cfg and the wrapper module, if any
    summary: str  # the specification and its constants, in one line

    @property
    def config(self) -> str:
        """The name of our configuration file among ``files``."""
        return next(name for name in self.files if name.endswith(".cfg"))


def _set(names: list[str]) -> str:
    return "{" + ", ".join(names) + "}"


def _header(model: str, params: dict[str, int]) -> str:
    given = " ".join(f"-p {k}={v}" for k, v in params.items())
    return f"\\* Written by splitbrain bench: the constants of `splitbrain check {model} {given}`.\n"


def twophase(rms: int) -> Counterpart:
    """TwoPhase.tla with ``rms`` resource managers r1..rN (our ``twophase rms=N``)."""
    params = {"rms": rms}
    rm = [f"r{i + 1}" for i in range(rms)]
    cfg = (_header("twophase", params) + f"CONSTANT RM = {_set(rm)}\n"
           "INVARIANT TPTypeOK\nSPECIFICATION TPSpec\n")
    return Counterpart("twophase", params, "specifications/transaction_commit", ("TwoPhase.tla", "TCommit.tla"),
                       "TwoPhase", {"SplitbrainTwoPhase.cfg": cfg}, f"TwoPhase.tla, RM = {rms} values")


def paxos(acceptors: int, values: int, max_ballot: int) -> Counterpart:
    """Paxos.tla with acceptors a1..aN, values v1..vM, ballots 0..max_ballot and the majorities of the
    acceptors as quorums (our ``paxos``).

    ``Ballot`` is a definition in Paxos.tla (``Nat``), so a wrapper module defines the finite ballots
    and the configuration substitutes it, as MCPaxos.tla does.
    """
    params = {"acceptors": acceptors, "values": values, "max_ballot": max_ballot}
    acc = [f"a{i + 1}" for i in range(acceptors)]
    quorums = [_set(list(q)) for q in itertools.combinations(acc, acceptors // 2 + 1)]
    wrapper = ("---- MODULE SplitbrainPaxos ----\n"
               "\\* Written by splitbrain bench: Paxos with finitely many ballots.\n"
               f"EXTENDS Paxos\nSplitbrainBallot == 0..{max_ballot}\n====\n")
    cfg = (_header("paxos", params) + "CONSTANTS\n"
           f"  Acceptor = {_set(acc)}\n"
           f"  Value = {_set([f'v{i + 1}' for i in range(values)])}\n"
           f"  Quorum = {_set(quorums)}\n"
           "  None = None\n"
           "  Ballot <- SplitbrainBallot\n"
           "INVARIANT TypeOK\nSPECIFICATION Spec\n")
    return Counterpart("paxos", params, "specifications/Paxos", ("Paxos.tla",), "SplitbrainPaxos",
                       {"SplitbrainPaxos.tla": wrapper, "SplitbrainPaxos.cfg": cfg},
                       f"Paxos.tla, {acceptors} acceptors, {values} values, ballots 0..{max_ballot}, majorities")


def paxoscommit(rms: int, acceptors: int, max_ballot: int) -> Counterpart:
    """PaxosCommit.tla with RMs r1..rN, acceptors a1..aM, the majorities of the acceptors and ballots
    0..max_ballot (our ``paxoscommit``; 2, 3 and 1 are the shipped PaxosCommit.cfg)."""
    params = {"rms": rms, "acceptors": acceptors, "max_ballot": max_ballot}
    acc = [f"a{i + 1}" for i in range(acceptors)]
    majorities = [_set(list(m)) for m in itertools.combinations(acc, acceptors // 2 + 1)]
    cfg = (_header("paxoscommit", params) + "CONSTANTS\n"
           f"  RM = {_set([f'r{i + 1}' for i in range(rms)])}\n"
           f"  Acceptor = {_set(acc)}\n"
           f"  Majority = {_set(majorities)}\n"
           f"  Ballot = {_set([str(b) for b in range(max_ballot + 1)])}\n"
           "INVARIANT PCTypeOK\nSPECIFICATION PCSpec\n")
    return Counterpart("paxoscommit", params, "specifications/transaction_commit", ("PaxosCommit.tla", "TCommit.tla"),
                       "PaxosCommit", {"SplitbrainPaxosCommit.cfg": cfg},
                       f"PaxosCommit.tla, {rms} RMs, {acceptors} acceptors, ballots 0..{max_ballot}, majorities")


# Paxos.tla ends with a refinement mapping to Voting.tla (``V == INSTANCE Voting``, a THEOREM and the
# inductive invariant Inv, which uses V). Voting.tla EXTENDS TLAPS, a module of the TLA+ proof system
# that tla2tools.jar does not ship, so the copy stops before that line; Init, Next, Spec and TypeOK,
# all that TLC checks here, come before it.
_CUT = {"Paxos.tla": "V == INSTANCE Voting"}


def without_tail(text: str, marker: str) -> str | None:
    """``text`` (a TLA+ module) without its lines from the first that starts with ``marker`` to the
    module's closing ``====`` line, which is kept; None when no line starts with ``marker``."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(marker)), None)
    if start is None:
        return None
    end = next((i for i in range(len(lines) - 1, start, -1) if lines[i].startswith("====")), None)
    if end is None:
        return None
    return "".join(lines[:start] + lines[end:])


class TlcRun(NamedTuple):
    """What one TLC run reported."""

    verdict: str  # "ok", "violation", or "error" (TLC did not check the model: a parse error, a crash)
    distinct: int | None
    generated: int | None
    depth: int | None
    message: str | None  # TLC's error line, for a violation or an error
    version: str | None


_TOTALS = re.compile(r"^([\d,]+) states generated, ([\d,]+) distinct states found, ([\d,]+) states left on queue\.",
                     re.MULTILINE)
_DEPTH = re.compile(r"^The depth of the complete state graph search is (\d+)\.", re.MULTILINE)
_VERSION = re.compile(r"^TLC2 Version (\S+)", re.MULTILINE)
_VIOLATIONS = ("Error: Invariant", "Error: Deadlock reached", "Error: Temporal properties were violated",
               "Error: Action property", "Error: The following behavior", "Error: Assumption")


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def parse_output(text: str) -> TlcRun:
    """TLC's figures and verdict from its standard output."""
    totals = _TOTALS.findall(text)
    depth = _DEPTH.search(text)
    version = _VERSION.search(text)
    generated, distinct = (_int(totals[-1][0]), _int(totals[-1][1])) if totals else (None, None)
    errors = [line.strip() for line in text.splitlines() if line.startswith("Error:")]
    violation = next((line for line in errors if line.startswith(_VIOLATIONS)), None)
    if violation is not None:
        verdict, message = "violation", violation
    elif "Model checking completed. No error has been found." in text:
        verdict, message = "ok", None
    else:
        verdict, message = "error", _error_line(text)
    return TlcRun(verdict, distinct, generated, int(depth.group(1)) if depth else None, message,
                  version.group(1) if version else None)


def _error_line(text: str) -> str:
    """The line (or two) of TLC's output that best says why it checked nothing."""
    lines = [line.strip() for line in text.splitlines()]
    files = [line.split(" ")[2].rsplit("/", 1)[-1] for line in lines if line.startswith("Parsing file ")]
    for i, line in enumerate(lines):
        if line == "***Parse Error***":  # the parser's expectation, then what it found, in the last file read
            found = "; ".join(ln for ln in lines[i + 1:i + 3] if ln)
            return f"{files[-1]}: {found}" if files else found
        if line.startswith(("Fatal errors while parsing", "*** Errors:")):
            after = [ln for ln in lines[i + 1:] if ln and not ln.startswith(("In module", "*** Errors"))]
            where = after[0] if after and after[0].startswith("line ") else None
            message = next((ln for ln in after if not ln.startswith("line ")), None)
            if message:
                return f"{message} ({where})" if where else message
    first = next((i for i, line in enumerate(lines) if line.startswith("Error:")), None)
    if first is not None:  # its message may go on over the following lines
        rest = itertools.takewhile(lambda ln: ln and not ln.startswith(("Error:", "Finished in")), lines[first + 1:])
        return " ".join([lines[first], *rest])
    return next((line for line in reversed(lines) if line), "TLC printed nothing")


class Tlc(NamedTuple):
    """How ``bench --tlc`` runs TLC: the jar, the Examples checkout, and TLC's worker threads."""

    jar: Path
    examples: Path
    workers: int = 1


def check_setup(tlc: Tlc, counterparts: list[Counterpart]) -> None:
    """UsageError, in one line, unless java, the jar and every module the counterparts read are present
    (and Paxos.tla has the line its copy stops before)."""
    if shutil.which("java") is None:
        raise UsageError("bench --tlc needs java on PATH (TLC runs on Java 11 or later)")
    if not tlc.jar.is_file():
        raise UsageError(f"no TLC jar at {tlc.jar} (download tla2tools.jar from {TLC_URL})")
    try:
        with zipfile.ZipFile(tlc.jar) as jar:
            is_tlc = "tlc2/TLC.class" in jar.namelist()
    except (zipfile.BadZipFile, OSError):
        is_tlc = False
    if not is_tlc:
        raise UsageError(f"{tlc.jar} is not a TLC jar (it has no tlc2/TLC.class; download tla2tools.jar from {TLC_URL})")
    if tlc.workers < 1:
        raise UsageError(f"--tlc-workers must be at least 1, not {tlc.workers}")
    if not tlc.examples.is_dir():
        raise UsageError(f"no tlaplus/Examples checkout at {tlc.examples} "
                         f"(git clone {EXAMPLES_URL}, then --tla-examples with its path)")
    for part in counterparts:
        for module in part.modules:
            if not (tlc.examples / part.folder / module).is_file():
                raise UsageError(f"{tlc.examples} has no {part.folder}/{module}; "
                                 f"--tla-examples must be a checkout of {EXAMPLES_URL}")
            _copy_text(tlc.examples / part.folder / module)


def _copy_text(path: Path) -> str:
    """The text of the module at ``path`` as TLC is to read it (Paxos.tla without its tail)."""
    text = path.read_text()
    if path.name not in _CUT:
        return text
    cut = without_tail(text, _CUT[path.name])
    if cut is None:
        raise UsageError(f"{path} has no line starting {_CUT[path.name]!r}; "
                         f"--tla-examples must be a checkout of {EXAMPLES_URL}")
    return cut


def prepare(part: Counterpart, examples: Path, directory: Path) -> None:
    """Write into ``directory`` the modules ``part`` reads (from ``examples``) and our files."""
    for module in part.modules:
        (directory / module).write_text(_copy_text(examples / part.folder / module))
    for name, text in part.files.items():
        (directory / name).write_text(text)


def command(tlc: Tlc, part: Counterpart, metadir: Path) -> list[str]:
    """The command line of one TLC run, to be run in the directory ``prepare`` filled."""
    return ["java", *JAVA_FLAGS, "-cp", str(tlc.jar.resolve()), "tlc2.TLC", "-workers", str(tlc.workers),
            "-metadir", str(metadir), "-config", part.config, f"{part.root}.tla"]


def run(tlc: Tlc, part: Counterpart) -> dict[str, Any]:
    """Run TLC on ``part``: its figures, the wall and CPU seconds of the whole java process, its peak memory.

    UsageError when TLC checked nothing (the specification did not parse, TLC failed to start).
    """
    with tempfile.TemporaryDirectory(prefix="splitbrain-tlc-") as tmp:
        directory = Path(tmp)
        prepare(part, tlc.examples, directory)
        out = directory / "tlc.out"
        with out.open("wb") as sink:
            start = time.perf_counter()
            proc = subprocess.Popen(command(tlc, part, directory / "meta"), cwd=directory, stdout=sink,
                                    stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        text = out.read_text(errors="replace")
    result = parse_output(text)
    if result.verdict == "error":
        raise UsageError(f"TLC did not check {part.summary}: {result.message}")
    # ru_maxrss is in KiB on Linux, in bytes on macOS
    peak = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return {"verdict": result.verdict, "distinct": result.distinct, "generated": result.generated,
            "depth": result.depth, "seconds": round(seconds, 2),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2), "workers": tlc.workers,
            "peak_memory_mb": round(peak), "message": result.message, "version": result.version,
            "spec": part.summary}
