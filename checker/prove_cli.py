"""``splitbrain prove MODEL``: inductive-invariant proofs for every cluster size.

Prints, for each conjunct of the invariant, its verdict and time for ``Init``
and for each action; then the goals and the vacuity checks; then the first
counterexample to induction, if any. ``--drop CONJUNCT`` leaves a conjunct out
to show why it is there (its CTI) or that it is redundant.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from splitbrain.checker.commands import parse_params
from splitbrain.checker.induction import (
    CLAIM, ENABLED, FAILED, GOAL, INIT, PROVED, STEP, UNKNOWN, Check, Report, prove,
)
from splitbrain.models.registry import UsageError
from splitbrain.properties import proofs

EXIT_PROVED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNKNOWN = 3

_MARK = {PROVED: "ok", FAILED: "CTI", UNKNOWN: "??"}
_WIDTH = 100  # widest table printed; wider reports print one block per action

EPILOG = """\
exit codes:
  0  proved (with --drop: the conjunct is redundant)
  1  a check failed: its counterexample is printed (with --drop: the conjunct is needed)
  2  usage error: unknown proof, conjunct or parameter
  3  unknown: z3 gave no answer within the timeout for some check (try a larger --timeout)
"""


def register(sub: Any) -> None:
    """Add ``prove`` to the command line."""
    p = sub.add_parser(
        "prove",
        help="prove a protocol's safety for every cluster size with z3 (inductive invariants)",
        description="Check that a protocol's invariant holds initially, is preserved by every action, "
        "and implies its safety property, for any number of nodes, values and ballots. "
        f"Proofs: {', '.join(sorted(proofs.PROOFS))}.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help=f"proof name ({', '.join(sorted(proofs.PROOFS))})")
    p.add_argument("--drop", metavar="CONJUNCT",
                   help="leave this conjunct out: show the CTI that makes it necessary, or say it is redundant")
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="seconds z3 may spend on each check (default 30)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a proof parameter, e.g. -p bug=ignore_highest_vote for paxos (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the proof and print it; returns the exit code."""
    if not args.timeout > 0:
        raise UsageError(f"--timeout must be positive (got {args.timeout:g})")
    spec = proofs.get(args.model)
    proof = proofs.build(args.model, parse_params(args.param))
    names = proof.conjunct_names()
    if args.drop is not None and args.drop not in names:
        known = ", ".join(names) or "none"
        raise UsageError(f"proof {spec.name} has no conjunct {args.drop!r} (conjuncts: {known})")
    report = prove(proof, drop=args.drop, timeout=args.timeout)
    code = exit_code(report)
    if args.json:
        print(json.dumps(dict(report.to_json(), exit_code=code, summary=summary(report, proof, args.timeout))))
    else:
        print(render(report, proof, args.timeout))
    return code


def exit_code(report: Report) -> int:
    """0 proved, 1 a check failed, 3 some check unknown."""
    return {PROVED: EXIT_PROVED, FAILED: EXIT_FAILED, UNKNOWN: EXIT_UNKNOWN}[report.verdict]


def render(report: Report, proof: Any, timeout: float) -> str:
    """The report as text: a table of checks, the first CTI, a verdict line."""
    out = [f"{proof.name}: {proof.summary}"]
    if report.dropped:
        doc = next((c.doc for c in getattr(proof, "conjuncts", []) if c.name == report.dropped), "")
        out.append(f"without the conjunct {report.dropped}" + (f": {doc}" if doc else ""))
    out.append("")
    if any(c.kind == CLAIM for c in report.checks):
        out += _claims_table(report, proof)
    else:
        out += _matrix(report)
    out.append("")
    first = next((c for c in report.checks if c.verdict == FAILED), None)
    if first is not None and first.counterexample is not None:
        out.append(first.counterexample.text())
        out.append("")
    out.append(summary(report, proof, timeout))
    return "\n".join(out)


def _cell(check: Check | None) -> str:
    if check is None:
        return "-"
    return f"{_MARK[check.verdict]:<3} {check.seconds:5.2f}s"


def _matrix(report: Report) -> list[str]:
    """Conjuncts down, Init and the actions across."""
    conjuncts = [c for c in report.conjuncts if c != report.dropped]
    columns = ["Init", *report.actions]
    by_key = {(c.kind, c.conjunct, c.action): c for c in report.checks}
    width = max([len(c) for c in conjuncts] + [len("enabled in Inv"), len("conjunct")]) + 2
    colw = max([len(a) for a in columns] + [10]) + 2

    def row(label: str, cells: list[str]) -> str:
        return label.ljust(width) + "".join(c.ljust(colw) for c in cells).rstrip()

    def column(action: str | None) -> list[Check | None]:
        kind = INIT if action is None else STEP
        return [by_key.get((kind, name, action)) for name in conjuncts]

    keys: list[str | None] = [None, *report.actions]
    enabled = {a: by_key.get((ENABLED, None, a)) for a in report.actions}
    lines = []
    if width + colw * len(columns) <= _WIDTH:  # a table: conjuncts down, Init and actions across
        lines.append(row("conjunct", columns))
        for i, name in enumerate(conjuncts):
            lines.append(row(name, [_cell(column(a)[i]) for a in keys]))
        lines.append(row("(per column)", [_cell(_merge(column(a))) for a in keys]))
        if any(enabled.values()):
            lines.append(row("enabled in Inv", [""] + [_cell(enabled[a]) for a in report.actions]))
    else:  # too wide: one block per column
        for a, title in zip(keys, columns):
            extra = f"   enabled in Inv: {_cell(enabled[a])}" if a is not None and enabled.get(a) else ""
            lines.append(f"{title.ljust(width + 2)}{_cell(_merge(column(a)))}{extra}")
            for name, check in zip(conjuncts, column(a)):
                lines.append(f"  {name.ljust(width)}{_cell(check)}")
    lines.append("")
    for c in report.checks:
        if c.kind == GOAL:
            lines.append(f"goal {c.conjunct}: Inv => {c.conjunct}   {_cell(c)}")
    lines.append("")
    lines.append("ok = proved   CTI = counterexample to induction   ?? = unknown (no answer within the timeout)")
    lines.append("enabled in Inv: the action can happen in some state satisfying Inv (else its proof is vacuous)")
    return lines


def _merge(checks: list[Check | None]) -> Check | None:
    """One cell for a column: its worst verdict and total time."""
    checks = [c for c in checks if c is not None]
    if not checks:
        return None
    verdict = FAILED if any(c.verdict == FAILED for c in checks) else (
        UNKNOWN if any(c.verdict == UNKNOWN for c in checks) else PROVED)
    return Check(checks[0].kind, None, checks[0].action, verdict, sum(c.seconds for c in checks))


def _claims_table(report: Report, proof: Any) -> list[str]:
    docs = {c.name: c.doc for c in getattr(proof, "claims", [])}
    width = max(len(c.conjunct or "") for c in report.checks) + 2
    lines = []
    for c in report.checks:
        lines.append(f"{(c.conjunct or '').ljust(width)}{_cell(c)}   {docs.get(c.conjunct, '')}")
    for c in report.checks:
        if c.verdict == PROVED and c.counterexample is not None:
            lines += ["", c.counterexample.text()]
    return lines


def summary(report: Report, proof: Any, timeout: float) -> str:
    """The verdict in one sentence."""
    n, secs = len(report.checks), report.seconds
    goals = ", ".join(g.name for g in getattr(proof, "goals", [])) or "its goals"
    if report.verdict == UNKNOWN:
        unknown = [c.label for c in report.checks if c.verdict == UNKNOWN]
        shown = "; ".join(unknown[:3]) + (f"; and {len(unknown) - 3} more" if len(unknown) > 3 else "")
        return (f"UNKNOWN: z3 gave no answer within {timeout:g}s for {len(unknown)} of {n} checks: "
                f"{shown} (try a larger --timeout)")
    if report.verdict == FAILED:
        failed = report.failures()
        if report.dropped:
            return (f"NEEDED: without {report.dropped}, {failed[0].label} fails (counterexample above), "
                    f"so {report.dropped} is necessary ({len(failed)} of {n} checks failed)")
        return f"FAILED: {len(failed)} of {n} checks failed; the first counterexample is shown above"
    if not report.conjuncts:
        return f"PROVED: every claim holds ({n} claims in {secs:.2f}s)"
    if report.dropped:
        return (f"REDUNDANT: without {report.dropped} the invariant is still inductive and implies {goals}, "
                f"so {report.dropped} is not needed ({n} checks in {secs:.2f}s)")
    return (f"PROVED: Init => Inv, every action preserves Inv, and Inv => {goals}, for every size "
            f"({n} checks in {secs:.2f}s)")
