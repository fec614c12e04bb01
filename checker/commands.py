"""The core subcommands: ``check``, ``replay``, ``list`` and ``bench``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from splitbrain.checker.backends import LOCAL, add_backend_args, backend_options
from splitbrain.checker.result import INTERRUPTED, OK, UNDECIDED, VIOLATION, CheckResult
from splitbrain.models import registry
from splitbrain.models.registry import UsageError
from splitbrain.traces.format import Trace, TraceError, load
from splitbrain.traces.render import render_trace
from splitbrain.traces.replay import replay

DEFAULT_TRACE_DIR = "splitbrain-traces"
DEFAULT_PROGRESS = 60.0  # seconds between progress lines, as TLC
REPLAY_EXIT_CODES = """exit codes:
  0  every trace reproduces its recorded outcome
  1  a well-formed trace no longer reproduces (an action is not enabled, a state
     differs, the property holds or is gone): the step and the reason are printed
  2  a usage error, or a trace file that is malformed or edited (bad JSON, a field
     of the wrong type, an unknown model or parameter, an initial state out of
     range): one line on stderr
With a folder, every file is replayed and the exit code is the worst one."""


CHECK_EXIT_CODES = """exit codes:
  0  bfs/dfs: the search was complete and every property holds (witnesses reached);
     hypothesis, swarm: no violation in the sample and every witness reached
  1  a property is violated (with a trace), a witness is never reached in a complete
     search, or with --strict: a declared action class never taken or a witness not
     reached
  2  a usage or model error: one line on stderr
  3  no violation, but something is undecided: --max-depth cut behaviours short, a
     liveness property could not be judged, or a witness was not reached in a bounded
     or sampled search
  130  interrupted (Ctrl-C): the figures so far are printed"""


def add_strict_arg(p: argparse.ArgumentParser) -> None:
    """--strict, shared by check and simulate."""
    p.add_argument("--strict", action="store_true",
                   help="fail (exit 1) when a declared action class is never taken or a witness is not reached")


def register(sub: Any) -> None:
    """Add check, replay, list and bench to the command line."""
    p = sub.add_parser("check", help="explore a model and judge its properties",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=CHECK_EXIT_CODES)
    add_model_args(p)
    p.add_argument("--engine", default=None, choices=["bfs", "dfs", "hypothesis", "swarm"],
                   help="bfs: shortest counterexamples (default, or the project config's engine); dfs: depth-first; "
                        "hypothesis: Hypothesis-generated and -shrunk step sequences; "
                        "swarm: guided random walks with swarm testing, for large configurations")
    p.add_argument("--budget", type=int, metavar="N",
                   help="sampled engines: Hypothesis examples (hypothesis) or walks (swarm); "
                        "--max-depth sets steps per example or from an initial state")
    p.add_argument("--seed", type=int, metavar="S", help="sampled engines: a different reproducible sample")
    p.add_argument("--profile", choices=["ci", "dev", "thorough"], default=None,
                   help="hypothesis engine: settings profile (default dev: random, 100 examples, example "
                        "database; ci: derandomized, 50 examples, no database; thorough: 2000 examples)")
    p.add_argument("--hypothesis-db", metavar="DIR",
                   help="hypothesis engine: the example database folder, where failures are kept and replayed "
                        "first by the next run (default .hypothesis/examples)")
    p.add_argument("--max-depth", type=int, metavar="N", help="explore behaviours of at most N steps")
    p.add_argument("--fingerprint", action="store_true",
                   help="store 64-bit fingerprints instead of states, the same in every process (reports a collision estimate)")
    p.add_argument("--symmetry", action=argparse.BooleanOptionalAction, default=None,
                   help="store one state per symmetry class (default: on for the models that ask for it, "
                        "as 'splitbrain list' shows)")
    p.add_argument("--keep-going", action="store_true", help="do not stop at the first violation: report every violated property")
    p.add_argument("--no-deadlock", action="store_true", help="do not report states with no enabled action")
    p.add_argument("--dot", metavar="FILE", help="also write the reachable state graph as Graphviz source "
                   "(small models: at most 10,000 states; initial states doubly outlined, violating ones red)")
    p.add_argument("--graphml", metavar="FILE", help="also write the reachable state graph as GraphML (as --dot)")
    add_strict_arg(p)
    add_backend_args(p, default_workers=1)
    add_output_args(p)
    p.add_argument("--progress", type=float, default=DEFAULT_PROGRESS, metavar="SECONDS",
                   help=f"a progress line on stderr every SECONDS (default {DEFAULT_PROGRESS:g}, as TLC; "
                        "0: none), also when stderr is not a terminal and with --json")
    p.set_defaults(func=run_check)

    p = sub.add_parser("replay", help="re-execute a trace file and check it reproduces its violation",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=REPLAY_EXIT_CODES)
    p.add_argument("file", help="a trace file written by check (or a folder of them)")
    p.add_argument("--model", metavar="MODEL",
                   help="the model to replay on: a name, path/to/file.py:Class or package.module:Class "
                        "(default: the trace's model name, looked up in the registry and the project config)")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the verdict line")
    p.set_defaults(func=run_replay)

    p = sub.add_parser("list", help="list the models, their parameters, bug flags and faults")
    p.add_argument("models", nargs="*", metavar="MODEL",
                   help="only these (names, path/to/file.py:Class or package.module:Class); "
                        "default: every built-in model and those of the project config")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_list)

    p = sub.add_parser("bench", help="run the fixed benchmark set and print its figures")
    p.add_argument("entries", nargs="*", metavar="ENTRY", help="run only these entries (names or globs, as --only)")
    p.add_argument("--only", metavar="NAME", action="append",
                   help="run only the entry called NAME, or those matching a glob such as 'paxos*' (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.add_argument("--tlc", metavar="JAR", type=Path,
                   help="also run TLC (tla2tools.jar, needs java) on the TLA+ specifications the entries mirror and "
                        "compare its figures and time; without ENTRY, only the entries that have one")
    p.add_argument("--tla-examples", metavar="DIR", type=Path, default=Path("Examples"),
                   help="a checkout of https://github.com/tlaplus/Examples, for --tlc (default: ./Examples)")
    p.add_argument("--tlc-workers", metavar="N", type=int, default=1,
                   help="TLC's worker threads, for --tlc (default 1: the entries run on one core)")
    p.set_defaults(func=run_bench)


def add_model_args(p: argparse.ArgumentParser) -> None:
    """MODEL and -p NAME=VALUE, shared by every command that builds a model."""
    p.add_argument("model", help="a model name (see: splitbrain list), path/to/file.py:Class or package.module:Class")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a model parameter (repeatable)")
    p.add_argument("--faults", metavar="SPEC",
                   help="actor models: faults to inject, e.g. partition=1,crash=1,restart,loss,dup,"
                        "clock-skew=2,clock-jump=1,byzantine=1 (see models/faults.py; 'splitbrain list' "
                        "shows which a model supports; default: the project config's faults)")
    p.add_argument("--network", choices=["unordered", "duplicating", "fifo"],
                   help="actor models: message semantics (default: the model's)")


def add_output_args(p: argparse.ArgumentParser) -> None:
    """--json, --trace-out and --quiet, shared by check and simulate."""
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--trace-out", metavar="FILE|DIR/",
                   help="where to write the counterexample: a file, or a folder (trailing slash, or an "
                        f"existing folder) to write it in under its default name (default: {DEFAULT_TRACE_DIR}/"
                        "MODEL-PROPERTY-HASH8.json, or the project config's trace_dir)")
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


def project_config(args: argparse.Namespace) -> registry.ProjectConfig:
    """The project config (``[tool.splitbrain]`` of the nearest pyproject.toml), read once per command."""
    if getattr(args, "config", None) is None:
        args.config = registry.project_config()
    return args.config


def build_model(args: argparse.Namespace) -> Any:
    """The model named on the command line (a name or a class reference), with its parameters."""
    return registry.build(args.model, parse_params(args.param), config=project_config(args), **model_extras(args))


def model_extras(args: argparse.Namespace) -> dict[str, Any]:
    """Extra keyword arguments for the model factory (faults and network of actor models).

    A model that supports faults gets the project config's ``faults`` unless --faults is given.
    """
    from splitbrain.models.faults import FaultConfig

    faults, network = getattr(args, "faults", None), getattr(args, "network", None)
    spec = registry.get(args.model, project_config(args))
    if faults is None and spec.faults:
        faults = project_config(args).faults
    if faults is None and network is None:
        return {}
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

    if args.progress < 0:
        raise UsageError("--progress must be >= 0 (0: no progress lines)")
    model = build_model(args)
    if args.dot or args.graphml:  # the reachable state graph (checker/graph.py), before the check
        from splitbrain.checker.graph import export_state_graph
        graph = export_state_graph(model, dot=args.dot, graphml=args.graphml, max_depth=args.max_depth)
        print(f"state graph: {graph.number_of_nodes()} states, {graph.number_of_edges()} steps written to "
              f"{' and '.join(f for f in (args.dot, args.graphml) if f)}", file=sys.stderr)
    args.engine = args.engine or project_config(args).engine or "bfs"
    if args.engine == "hypothesis":
        from splitbrain.checker.hypothesis import hypothesis_check
        if args.workers is not None or args.backend != LOCAL or args.ray_address is not None:
            raise UsageError("--workers, --backend and --ray-address apply to bfs and swarm, not to hypothesis")
        return report(hypothesis_check(model, **hypothesis_options(args)), args)
    if args.profile is not None or args.hypothesis_db is not None:
        raise UsageError("--profile and --hypothesis-db apply to --engine hypothesis only")
    if args.engine == "swarm":  # walks in chunks, on --workers of --backend (checker/sampled_parallel.py)
        from splitbrain.checker.sampled_parallel import swarm_chunked
        progress = sys.stderr if args.progress > 0 and not args.quiet else None  # a line per chunk
        return report(swarm_chunked(model, **swarm_options(args), **local_one(args)._asdict(), progress=progress), args)
    if args.budget is not None or args.seed is not None:
        raise UsageError("--budget and --seed apply to the sampled engines (hypothesis, swarm) only")
    has_symmetry = getattr(model, "has_symmetry", False)
    if args.symmetry and not has_symmetry:
        raise UsageError(f"model {args.model} declares no symmetry: --symmetry does not apply")
    spec = registry.get(args.model, project_config(args))
    symmetry = args.symmetry if args.symmetry is not None else (has_symmetry and spec.symmetry)
    if args.max_depth is not None and args.max_depth < 0:
        raise UsageError("--max-depth must be >= 0")
    progress = sys.stderr if args.progress > 0 and not args.quiet else False
    workers, backend, ray_address = local_one(args)
    result = check(
        model, args.engine, fingerprint=args.fingerprint, symmetry=symmetry,
        max_depth=args.max_depth, check_deadlock=not args.no_deadlock,
        stop_at_first=not args.keep_going, progress=progress, progress_interval=args.progress,
        workers=workers, backend=backend, ray_address=ray_address,
    )
    return report(result, args)


def local_one(args: argparse.Namespace) -> Any:
    """The backend options of ``check``: one worker here unless --workers asks for more (two workers cost
    about 1.4 times the CPU of one, bench entry paxoscommit-workers); on Ray, the cluster's CPUs."""
    return backend_options(args, 1 if args.backend == LOCAL else None)


def hypothesis_options(args: argparse.Namespace) -> dict[str, Any]:
    """``check --engine hypothesis``: the keyword arguments of ``hypothesis_check`` the options ask for."""
    from splitbrain.checker.hypothesis import CLI_PROFILE

    for flag, given in (("--symmetry", args.symmetry), ("--fingerprint", args.fingerprint)):
        if given:  # None (not given) and --no-symmetry are fine
            raise UsageError(f"{flag} applies to the exhaustive engines (bfs, dfs), not to hypothesis")
    if (args.budget is not None and args.budget < 1) or (args.max_depth is not None and args.max_depth < 1):
        raise UsageError("--budget and --max-depth must be >= 1 for the hypothesis engine")
    profile = args.profile or CLI_PROFILE
    if profile == "ci" and args.hypothesis_db is not None:
        raise UsageError("--hypothesis-db does not apply to --profile ci (derandomized, no example database)")
    return {"budget": args.budget, "max_depth": args.max_depth, "seed": args.seed,
            "check_deadlock": not args.no_deadlock, "profile_name": profile, "database": args.hypothesis_db}


def swarm_options(args: argparse.Namespace) -> dict[str, Any]:
    """``check --engine swarm``: the keyword arguments of ``swarm_check`` the options ask for."""
    for flag, given in (("--symmetry", args.symmetry), ("--fingerprint", args.fingerprint)):
        if given:  # None (not given) and --no-symmetry are fine
            raise UsageError(f"{flag} applies to the exhaustive engines (bfs, dfs), not to swarm")
    if (args.budget is not None and args.budget < 1) or (args.max_depth is not None and args.max_depth < 1):
        raise UsageError("--budget and --max-depth must be >= 1 for the swarm engine")
    return {"budget": args.budget, "max_depth": args.max_depth, "seed": args.seed,
            "check_deadlock": not args.no_deadlock}


def trace_path(trace: Trace, out: str | None, default_dir: str | Path | None = None) -> Path:
    """Where to write ``trace``: --trace-out (a file, or a folder for the default name), else the trace folder.

    The default name is ``MODEL-PROPERTY-HASH8.json`` (see ``Trace.file_name``),
    so different counterexamples never overwrite each other.
    """
    if out and not (out.endswith(("/", os.sep)) or Path(out).is_dir()):
        return Path(out)
    folder = Path(out) if out else Path(default_dir or DEFAULT_TRACE_DIR)
    return folder / trace.file_name()


def save_trace(result: CheckResult, args: argparse.Namespace) -> Path | None:
    """Write the counterexample where the options say; None (and a one-line warning) when that fails."""
    trace = result.counterexample
    if trace is None:
        return None
    path = trace_path(trace, args.trace_out, project_config(args).trace_dir)
    try:
        return trace.save(path)
    except OSError as exc:
        print(f"splitbrain: warning: cannot write trace {path}: {exc.strerror or exc}", file=sys.stderr)
        return None


def replay_command(path: Path | str, model_name: str) -> str:
    """The command that replays the trace at ``path``: with --model for a model that has no registered name."""
    origin = registry.origin_of(model_name)
    return f"splitbrain replay {path}" + (f" --model {origin}" if origin else "")


def report(result: CheckResult, args: argparse.Namespace) -> int:
    """Print the result (text or JSON), write the counterexample; the exit code."""
    path = save_trace(result, args)
    strict = getattr(args, "strict", False)
    failures = result.strict_failures() if strict else []
    if args.json:
        data = result.to_json()
        data["trace"] = str(path) if path else None
        if strict:
            data["strict_failures"] = failures
        print(json.dumps(data, default=str))
    else:
        print(format_result(result, path, color=sys.stdout.isatty()))
        for reason in failures:
            print(f"strict: {reason}")
    return exit_code(result, strict)


def exit_code(result: CheckResult, strict: bool = False) -> int:
    """0 ok, 1 a violation (or, with ``strict``, a coverage failure), 3 undecided, 130 interrupted."""
    if result.verdict == INTERRUPTED:
        return 130
    if result.verdict == VIOLATION or (strict and result.strict_failures()):
        return 1
    if result.verdict == UNDECIDED:
        return 3
    return 0


def format_coverage(result: CheckResult) -> list[str]:
    """The coverage table: per action class taken / new states, per property judged; warnings."""
    cov = result.coverage
    if cov is None:
        return []
    sampled = result.engine in ("simulate", "hypothesis", "swarm")
    width = max([len(a.name) for a in cov.actions] + [len(p.name) for p in cov.properties] + [12])
    lines = ["  coverage:", f"    {'action class':<{width}} {'taken':>12} {'new states':>12}"]
    for a in cov.actions:
        lines.append(f"    {a.name:<{width}} {a.taken:>12,} {a.new_states:>12,}")
    if not cov.actions:
        lines.append("    (no step taken)")
    lines.append(f"    {'property':<{width}} {'judged on':>12}")
    for p in cov.properties:
        unit = "steps" if p.kind == "always_step" else "states"
        reached = "" if p.reached is None else ("  reached" if p.reached else "  NOT REACHED")
        lines.append(f"    {p.name:<{width}} {p.judged:>12,} {unit}{reached}")
    what = "taken by the walks" if sampled else "taken"
    for name in cov.never_taken:
        lines.append(f"  warning: action class {name!r} was never {what}")
    return lines


def verdict_line(result: CheckResult) -> str:
    """The last line: the verdict, and exactly what it rests on."""
    sample = result.extra.get("sample")
    if result.verdict == OK:
        if sample:
            return f"Verdict: ok: no violation in {sample}, and every witness reached"
        return "Verdict: ok: the search was complete and every property holds"
    if result.verdict == UNDECIDED:
        names = ", ".join(p.name for p in result.undecided)
        return f"Verdict: undecided: no violation found, but not decided: {names}"
    return f"Verdict: {result.verdict}"


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
    sampled = result.engine in ("simulate", "hypothesis", "swarm")
    if not result.complete and result.verdict != INTERRUPTED:
        if result.violated:
            lines.append("  search stopped at the first violation (use --keep-going for all)")
        elif not sampled:
            lines.append(f"  search bounded by max depth {result.max_depth}: states were left unexpanded, "
                         "so what was not violated is undecided")
    if result.verdict == INTERRUPTED:
        lines.append("  interrupted: figures so far")
    fairness = result.extra.get("fairness", {})
    for p in result.properties:
        mark = p.status.upper() if p.holds is False else p.status
        note = f"  ({p.note})" if p.note else ""
        lines.append(f"  {p.kind:<11} {p.name:<32} {mark}{note}")
        if p.name in fairness:
            lines.append(f"  {'':<11}   assuming: {', '.join(fairness[p.name]) or 'no fairness'}")
    lines += format_coverage(result)
    if result.counterexample is not None:
        lines.append("")
        lines.append(render_trace(result.counterexample, color=color))
        if trace_file:
            lines.append(f"\nTrace written to {trace_file}; replay with: {replay_command(trace_file, result.model)}")
    lines.append(verdict_line(result))
    return "\n".join(lines)


def run_replay(args: argparse.Namespace) -> int:
    """Replay each trace file; a bad file is one line on stderr (2) and the others still run."""
    path = Path(args.file)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if path.is_dir() and not files:
        raise UsageError(f"{path}: no trace files (*.json) in this folder")
    worst = 0
    for f in files:
        code = _replay_file(f, args, show=not args.quiet and len(files) == 1)
        worst = max(worst, code)
    return worst


def _replay_file(f: Path, args: argparse.Namespace, show: bool) -> int:
    """Replay one trace file and print its verdict line; the exit code (0, 1 or 2)."""
    from splitbrain.traces.replay import model_for

    try:
        trace = load(f)
        outcome = replay(trace, model_for(trace, args.model, project_config(args)))
    except (TraceError, UsageError) as exc:
        text = str(exc)
        print(f"splitbrain: error: {text if text.startswith(str(f)) else f'{f}: {text}'}", file=sys.stderr)
        return 2
    except Exception as exc:  # the model's own code failed on this trace: still one line, never a traceback
        print(f"splitbrain: error: {f}: the model raised {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if show:
        print(render_trace(trace, color=sys.stdout.isatty()))
        print()
    if outcome.reproduced:
        print(f"{f}: reproduced: {outcome.message}")
        return 0
    print(f"{f}: NOT reproduced: {outcome.message}")
    return 1


def listed_specs(args: argparse.Namespace) -> dict[str, registry.ModelSpec]:
    """The models ``list`` shows: those named, else the built-in ones and the project config's."""
    config = project_config(args)
    names = args.models or list(registry.specs()) + list(config.models)
    return {name: registry.get(name, config) for name in names}


def property_table(spec: registry.ModelSpec) -> list[dict[str, Any]]:
    """The model's properties (built with its defaults, plus those a bug flag's defaults add),
    each with its kind and the bug flags declared to break it (``spec.breaks``)."""
    found: dict[str, str] = {}
    for raw in [{}] + [{"bug": flag} for flag in spec.bugs]:
        try:
            model = registry.build(spec.origin or spec.name, raw)
        except UsageError:  # a parameter without a default: nothing to list
            continue
        for p in model.properties():
            found.setdefault(p.name, p.kind)
    return [{"name": name, "kind": kind,
             "broken_by": [flag for flag, props in spec.breaks.items() if name in props]}
            for name, kind in found.items()]


def run_list(args: argparse.Namespace) -> int:
    specs = listed_specs(args)
    if args.json:
        out = []
        for spec in specs.values():
            out.append({
                "name": spec.name, "summary": spec.summary,
                "params": [{"name": p.name, "type": p.type.__name__, "default": p.default, "help": p.help,
                            **({"choices": list(p.choices)} if p.choices else {})} for p in spec.params],
                "bugs": spec.bugs, "faults": list(spec.faults), "symmetry": spec.symmetry,
                "properties": property_table(spec),
            })
        print(json.dumps(out, indent=1))
        return 0
    for spec in specs.values():
        print(f"{spec.name}: {spec.summary}")
        if spec.origin:
            print(f"    from {spec.origin}")
        for p in spec.params:
            choices = f" (one of: {', '.join(map(str, p.choices))})" if p.choices else ""
            default = "REQUIRED" if p.required else "auto" if p.default is None else p.default
            print(f"    -p {f'{p.name}={default}':<26} {p.type.__name__:<5} {p.help}{choices}")
        for flag, text in spec.bugs.items():
            print(f"    bug={flag}: {text}")
        for prop in property_table(spec):
            broken = f"broken by {', '.join(prop['broken_by'])}" if prop["broken_by"] else ""
            print(f"    {prop['kind']:<12} {prop['name']:<28} {broken}".rstrip())
        if spec.faults:
            print(f"    faults: {', '.join(spec.faults)}")
        if spec.symmetry:
            print("    check explores one state per symmetry class (--no-symmetry: every state)")
        print()
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from splitbrain.checker.bench import run
    from splitbrain.checker.tlc import Tlc

    only = [*args.entries, *(args.only or [])] or None
    with_tlc = Tlc(args.tlc, args.tla_examples, args.tlc_workers) if args.tlc is not None else None
    return run(only, as_json=args.json, with_tlc=with_tlc)
