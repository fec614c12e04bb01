"""The core subcommands: ``check``, ``replay``, ``list`` and ``bench``."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from splitbrain.checker.result import VIOLATION, CheckResult
from splitbrain.models import registry
from splitbrain.models.registry import UsageError
from splitbrain.traces.format import Trace, TraceError, load
from splitbrain.traces.render import render_trace
from splitbrain.traces.replay import replay

DEFAULT_TRACE_DIR = "splitbrain-traces"


def register(sub: Any) -> None:
    """Add check, replay, list and bench to the command line."""
    p = sub.add_parser("check", help="explore a model and judge its properties")
    add_model_args(p)
    p.add_argument("--engine", default="bfs", choices=["bfs", "dfs", "hypothesis"],
                   help="bfs: shortest counterexamples (default); dfs: depth-first; "
                        "hypothesis: sampled search with short counterexamples, for large configurations")
    p.add_argument("--budget", type=int, metavar="N",
                   help="hypothesis engine: number of examples (default 1000); --max-depth sets steps per example")
    p.add_argument("--seed", type=int, metavar="S", help="hypothesis engine: a different reproducible sample")
    p.add_argument("--max-depth", type=int, metavar="N", help="explore behaviours of at most N steps")
    p.add_argument("--fingerprint", action="store_true",
                   help="store 64-bit fingerprints instead of states (less memory; reports a collision estimate)")
    p.add_argument("--symmetry", action=argparse.BooleanOptionalAction, default=None,
                   help="store one state per symmetry class (default: on for the models that ask for it, "
                        "as 'splitbrain list' shows)")
    p.add_argument("--keep-going", action="store_true", help="do not stop at the first violation: report every violated property")
    p.add_argument("--no-deadlock", action="store_true", help="do not report states with no enabled action")
    add_output_args(p)
    p.set_defaults(func=run_check)

    p = sub.add_parser("replay", help="re-execute a trace file and check it reproduces its violation")
    p.add_argument("file", help="a trace file written by check (or a folder of them)")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the verdict line")
    p.set_defaults(func=run_replay)

    p = sub.add_parser("list", help="list the models, their parameters, bug flags and faults")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_list)

    p = sub.add_parser("bench", help="run the fixed benchmark set and print its figures")
    p.add_argument("--only", metavar="NAME", action="append", help="run only the entries whose name contains NAME")
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.set_defaults(func=run_bench)


def add_model_args(p: argparse.ArgumentParser) -> None:
    """MODEL and -p NAME=VALUE, shared by every command that builds a model."""
    p.add_argument("model", help="model name (see: splitbrain list)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a model parameter (repeatable)")
    p.add_argument("--faults", metavar="SPEC",
                   help="actor models: faults to inject, e.g. partition=1,crash=1,restart,loss,dup,"
                        "clock-skew=2,clock-jump=1,byzantine=1 (see models/faults.py; 'splitbrain list' "
                        "shows which a model supports)")
    p.add_argument("--network", choices=["unordered", "duplicating", "fifo"],
                   help="actor models: message semantics (default: the model's)")


def add_output_args(p: argparse.ArgumentParser) -> None:
    """--json, --trace-out and --quiet, shared by check and simulate."""
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--trace-out", metavar="FILE",
                   help=f"where to write the counterexample (default: {DEFAULT_TRACE_DIR}/MODEL-PROPERTY.json)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")


def parse_params(items: list[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` as a dict; UsageError for an item without '='."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"parameter {item!r}: expected NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def build_model(args: argparse.Namespace) -> Any:
    """The model named on the command line, with its parameters."""
    return registry.build(args.model, parse_params(args.param), **model_extras(args))


def model_extras(args: argparse.Namespace) -> dict[str, Any]:
    """Extra keyword arguments for the model factory (faults and network of actor models)."""
    from splitbrain.models.faults import FaultConfig

    faults, network = getattr(args, "faults", None), getattr(args, "network", None)
    if faults is None and network is None:
        return {}
    spec = registry.get(args.model)
    if not spec.faults:
        flag = "--faults" if faults is not None else "--network"
        raise UsageError(f"model {spec.name} does not support faults ({flag} applies to actor models)")
    extras: dict[str, Any] = {}
    if faults is not None:
        config = FaultConfig.parse(faults)
        unsupported = sorted(config.kinds() - set(spec.faults))
        if unsupported:
            raise UsageError(f"model {spec.name} does not support fault {unsupported[0]} "
                             f"(supported: {', '.join(spec.faults)})")
        extras["faults"] = config
    if network is not None:
        extras["network"] = network
    return extras


def run_check(args: argparse.Namespace) -> int:
    from splitbrain.checker.explore import check

    model = build_model(args)
    if args.engine == "hypothesis":
        from splitbrain.checker.hypothesis import check_from_args
        return report(check_from_args(model, args), args)
    if args.budget is not None or args.seed is not None:
        raise UsageError("--budget and --seed apply to --engine hypothesis only")
    has_symmetry = getattr(model, "has_symmetry", False)
    if args.symmetry and not has_symmetry:
        raise UsageError(f"model {args.model} declares no symmetry: --symmetry does not apply")
    symmetry = args.symmetry if args.symmetry is not None else (has_symmetry and registry.get(args.model).symmetry)
    if args.max_depth is not None and args.max_depth < 0:
        raise UsageError("--max-depth must be >= 0")
    progress = (not args.quiet and not args.json and sys.stderr.isatty())
    result = check(
        model, args.engine, fingerprint=args.fingerprint, symmetry=symmetry,
        max_depth=args.max_depth, check_deadlock=not args.no_deadlock,
        stop_at_first=not args.keep_going, progress=progress,
    )
    return report(result, args)


def trace_path(result: CheckResult, trace: Trace, out: str | None) -> Path:
    """Where to write ``trace``: --trace-out, or a default name in the trace folder."""
    if out:
        return Path(out)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{result.model}-{trace.property}")
    return Path(DEFAULT_TRACE_DIR) / f"{safe}.json"


def report(result: CheckResult, args: argparse.Namespace) -> int:
    """Print the result (text or JSON), write the counterexample; the exit code."""
    path = None
    if result.counterexample is not None:
        path = trace_path(result, result.counterexample, args.trace_out)
        try:
            result.counterexample.save(path)
        except OSError as exc:
            raise UsageError(f"cannot write trace {path}: {exc.strerror or exc}") from None
    if args.json:
        data = result.to_json()
        data["trace"] = str(path) if path else None
        print(json.dumps(data, default=str))
    else:
        print(format_result(result, path, color=sys.stdout.isatty()))
    if result.verdict == VIOLATION:
        return 1
    if result.verdict == "interrupted":
        return 130
    return 0


def format_result(result: CheckResult, trace_file: Path | None, color: bool = False) -> str:
    """The human-readable report of a check."""
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    lines = [f"Model {result.model} ({params})  engine {result.engine}"
             + ("  symmetry" if result.symmetry else "") + ("  fingerprints" if result.fingerprint else "")]
    lines.append(
        f"  {result.distinct_states:,} distinct states, {result.states_generated:,} generated, "
        f"depth {result.depth}, {result.seconds:.2f} s ({result.states_per_second:,.0f} states/s), "
        f"peak memory {result.peak_memory_mb:,.0f} MiB"
    )
    if result.fingerprint:
        lines.append(f"  fingerprint collision probability (optimistic estimate): {result.collision_probability:.2g}")
    for note in result.notes:
        lines.append(f"  {note}")
    if not result.complete and result.verdict != "interrupted":
        lines.append("  search stopped at the first violation (use --keep-going for all)" if result.violated
                     else f"  search bounded by max depth {result.max_depth}")
    if result.verdict == "interrupted":
        lines.append("  interrupted: figures so far")
    fairness = result.extra.get("fairness", {})
    for p in result.properties:
        mark = {True: "holds", False: "VIOLATED" if p.kind != "sometimes" else "NOT REACHED", None: "undecided"}[p.holds]
        note = f"  ({p.note})" if p.note else ""
        lines.append(f"  {p.kind:<10} {p.name:<32} {mark}{note}")
        if p.name in fairness:
            lines.append(f"  {'':<10}   assuming: {', '.join(fairness[p.name]) or 'no fairness'}")
    if result.counterexample is not None:
        lines.append("")
        lines.append(render_trace(result.counterexample, color=color))
        if trace_file:
            lines.append(f"\nTrace written to {trace_file}; replay with: splitbrain replay {trace_file}")
    lines.append(f"Verdict: {result.verdict}")
    return "\n".join(lines)


def run_replay(args: argparse.Namespace) -> int:
    path = Path(args.file)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if path.is_dir() and not files:
        raise UsageError(f"{path}: no trace files (*.json) in this folder")
    worst = 0
    for f in files:
        try:
            trace = load(f)
        except TraceError as exc:
            raise UsageError(str(exc)) from None
        outcome = replay(trace)
        if not args.quiet and len(files) == 1:
            print(render_trace(trace, color=sys.stdout.isatty()))
            print()
        if outcome.reproduced:
            print(f"{f}: reproduced: {outcome.message}")
        else:
            print(f"{f}: NOT reproduced: {outcome.message}")
            worst = 1
    return worst


def run_list(args: argparse.Namespace) -> int:
    specs = registry.specs()
    if args.json:
        out = []
        for spec in specs.values():
            out.append({
                "name": spec.name, "summary": spec.summary,
                "params": [{"name": p.name, "type": p.type.__name__, "default": p.default, "help": p.help,
                            **({"choices": list(p.choices)} if p.choices else {})} for p in spec.params],
                "bugs": spec.bugs, "faults": list(spec.faults), "symmetry": spec.symmetry,
            })
        print(json.dumps(out, indent=1))
        return 0
    for spec in specs.values():
        print(f"{spec.name}: {spec.summary}")
        for p in spec.params:
            choices = f" (one of: {', '.join(map(str, p.choices))})" if p.choices else ""
            default = "auto" if p.default is None else p.default
            print(f"    -p {f'{p.name}={default}':<26} {p.type.__name__:<5} {p.help}{choices}")
        for flag, text in spec.bugs.items():
            print(f"    bug={flag}: {text}")
        if spec.faults:
            print(f"    faults: {', '.join(spec.faults)}")
        if spec.symmetry:
            print("    check explores one state per symmetry class (--no-symmetry: every state)")
        print()
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from splitbrain.checker.bench import run

    return run(args.only, as_json=args.json)
