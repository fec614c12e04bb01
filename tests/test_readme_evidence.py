"""README claims that are about the repository itself rather than about a model."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands() -> list[str]:
    """The indented command lines of README.md's "Quick start" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ") and line.strip()]


def test_ci_runs_exactly_the_quick_start_commands():
    """README: "`.ci/run` runs exactly these two commands, then the browser tests"."""
    commands = quick_start_commands()
    assert len(commands) == 2 and commands[0].endswith("splitbrain check paxos")
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    ci = [line.strip() for line in script
          if line.strip() and not line.lstrip().startswith("#") and not line.startswith(("set ", "cd "))]
    assert ci[:2] == commands
    assert ci[-1] == "python -m pytest -m browser"  # the rest installs chromium and Playwright for it
