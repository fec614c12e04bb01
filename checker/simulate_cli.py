"""``splitbrain simulate``: random walks through a model, reproducible by seed.

Exit codes (``SIMULATE_EXIT_CODES``): 0 no violation in the walks and every
witness reached, 1 a property violated (the trace is written and replays with
``splitbrain replay``), 2 a usage error, 3 no violation but a witness not
reached or a liveness property (which a sample cannot judge), 130
interrupted. A sample never says an invariant "holds".
"""

from __future__ import annotations

import argparse
from typing import Any

from splitbrain.checker.backends import LOCAL, add_backend_args, backend_options
from splitbrain.checker.commands import add_model_args, add_output_args, add_strict_arg, build_model, report
from splitbrain.checker.sampled_parallel import SIMULATE_CHUNK_RUNS, simulate_chunked
from splitbrain.models.registry import UsageError

DEFAULT_RUNS = 1000
DEFAULT_DEPTH = 100
SIMULATE_EXIT_CODES = f"""exit codes:
  0  no violation in the N walks of at most D steps, and every witness reached
     (a sample proves no invariant: the output says what was sampled)
  1  a property is violated (the trace is written), or with --strict: a declared
     action class never taken or a witness not reached
  2  a usage or model error: one line on stderr
  3  no violation, but a witness was not reached or a liveness property could not
     be judged (a sample cannot judge liveness)
  130  interrupted (Ctrl-C): the figures so far are printed

workers: the walks are taken in chunks of {SIMULATE_CHUNK_RUNS}, chunk k seeded from (--seed, k),
so --workers and --backend change where they run, never which walks are taken or
the figures. --workers defaults to 1 on this machine (a fork pool costs more than
small runs take) and to the cluster's CPUs with --backend ray."""


def register(sub: Any) -> None:
    """Add ``simulate`` to the command line."""
    p = sub.add_parser("simulate", help="random walks through a model (fast, no shrinking, reproducible by seed)",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=SIMULATE_EXIT_CODES)
    add_model_args(p)
    p.add_argument("--runs", type=int, default=DEFAULT_RUNS, metavar="N",
                   help=f"number of random walks (default {DEFAULT_RUNS})")
    p.add_argument("--depth", type=int, default=DEFAULT_DEPTH, metavar="D",
                   help=f"steps per walk at most (default {DEFAULT_DEPTH})")
    p.add_argument("--seed", type=int, metavar="S", help="random seed (default: a fresh one, printed)")
    p.add_argument("--swarm", action="store_true",
                   help="each walk switches off some fault kinds at random, one in four (swarm testing)")
    p.add_argument("--no-deadlock", action="store_true", help="do not report states with no enabled action")
    p.add_argument("--metric", action="append", default=[], metavar="NAME",
                   help="a per-walk measure the model declares (repeatable): its mean over the walks and a "
                        "95%% confidence interval, mean +- 1.96*s/sqrt(n) (normal approximation; s the sample "
                        "standard deviation), printed after the verdict and under \"metrics\" in --json")
    add_backend_args(p, default_workers=1)
    add_strict_arg(p)
    add_output_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from splitbrain.checker.simulate import metric_choices

    if args.runs < 1:
        raise UsageError("--runs must be >= 1")
    if args.depth < 0:
        raise UsageError("--depth must be >= 0")
    if args.seed is not None and args.seed < 0:
        raise UsageError("--seed must be >= 0")
    backend = backend_options(args, default_workers=1 if args.backend == LOCAL else None)
    model = build_model(args)
    unknown = [m for m in args.metric if m not in model.metrics()]
    if unknown:
        raise UsageError(f"--metric {unknown[0]}: no such metric; {metric_choices(model)}")
    result = simulate_chunked(model, args.runs, args.depth, args.seed, check_deadlock=not args.no_deadlock,
                              swarm=args.swarm, metrics=args.metric, **backend._asdict())
    code = report(result, args)
    if not args.json and "metrics" in result.extra:
        print("\n".join(format_metrics(result.extra["metrics"])))
    return code


def format_metrics(metrics: dict[str, dict[str, Any]]) -> list[str]:
    """The metrics table: per metric the walks, the mean and its 95% confidence interval."""
    width = max([len(name) for name in metrics] + [6])
    lines = ["metrics (mean over the walks, 95% CI: mean +- 1.96*s/sqrt(n)):",
             f"  {'metric':<{width}} {'walks':>7} {'mean':>12} {'95% CI':>27}"]
    for name, m in metrics.items():
        ci = "n/a" if m["ci95"] is None else f"[{m['ci95'][0]:.4g}, {m['ci95'][1]:.4g}]"
        lines.append(f"  {name:<{width}} {m['runs']:>7,} {m['mean']:>12.4g} {ci:>27}")
    return lines
