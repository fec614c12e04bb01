"""The ``splitbrain`` command line.

Each subcommand lives in a module with ``register(subparsers)``; the parser it
adds sets ``func`` to a function taking the parsed arguments and returning the
exit code: 0 all properties hold, 1 a property is violated, 2 a usage or model
error (one clear line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from splitbrain.models.registry import UsageError

# One line per subcommand module; each defines register(subparsers).
SUBCOMMAND_MODULES = [
    "splitbrain.checker.commands",
    "splitbrain.checker.simulate_cli",
    "splitbrain.checker.prove_cli",
    "splitbrain.checker.partition_cli",
    "splitbrain.checker.lincheck_cli",
    "splitbrain.checker.txncheck_cli",
    "splitbrain.checker.study_cli",
    "splitbrain.checker.show_cli",
    "splitbrain.checker.explorer",
]


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and one line for a usage mistake."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"splitbrain: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every registered subcommand."""
    parser = _Parser(
        prog="splitbrain",
        description="Model checker and fault-injection test suite for distributed protocols.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for mod in SUBCOMMAND_MODULES:
        importlib.import_module(mod).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed as one line
        return exc.code if isinstance(exc.code, int) else 2
    try:
        code = args.func(args)
    except UsageError as exc:
        print(f"splitbrain: error: {exc}", file=sys.stderr)
        code = 2
    except BrokenPipeError:
        code = 0
    return code


if __name__ == "__main__":
    sys.exit(main())
