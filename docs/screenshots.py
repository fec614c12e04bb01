"""Screenshots of splitbrain's browser views, for the docs: run by hand, from the repository's root.

    pip install -e '.[browser]'          # Playwright (its Python package only)
    apt-get install -y chromium          # Debian's headless chromium, /usr/bin/chromium
    python docs/screenshots.py           # writes docs/img/*.png

It saves

- docs/img/explorer.png: ``splitbrain explore paxos``, a few steps in;
- docs/img/chart-raft-figure8.png: ``splitbrain show
  traces/corpus/raft_figure8__StateMachineSafety.json --format html``;
- docs/img/lincheck-timeline.png: ``splitbrain lincheck
  tests/data/porcupine/kv/c10-bad.txt --html``.

A console error in a page stops the script (exit 1). No tests depend on it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from splitbrain.checker.explorer import Session, serve
from splitbrain.models import registry

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
# Ballot 0 starts, two acceptors promise, the leader proposes v1, one acceptor votes for it.
PAXOS_STEPS = ["Phase1a(0)", "Phase1b(a1, 0)", "Phase1b(a2, 0)", "Phase2a(0, v1, (a1, a2), None)", "Phase2b(a1, 0, v1)"]


def splitbrain(*argv: str) -> None:
    """Run a splitbrain command; a failure stops the script with its message."""
    proc = subprocess.run([sys.executable, "-m", "splitbrain.checker.cli", *argv], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"splitbrain {' '.join(argv)} failed: {proc.stderr.strip()}")


def shoot(page: Page, url: str, name: str, errors: list[str], before: object = None) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if before is not None:
        before(page)
    if errors:
        sys.exit(f"{name}: console errors: {errors}")
    path = OUT / name
    page.screenshot(path=str(path), full_page=True)
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    session = Session(registry.build("paxos", {}), ["paxos"])
    for label in PAXOS_STEPS:
        session.step([a["label"] for a in session.view()["actions"]].index(label))
    server = serve(session, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        chart, timeline = Path(tmp) / "figure8.html", Path(tmp) / "lincheck.html"
        splitbrain("show", "traces/corpus/raft_figure8__StateMachineSafety.json", "--format", "html", "-o", str(chart))
        splitbrain("lincheck", "tests/data/porcupine/kv/c10-bad.txt", "--html", str(timeline))
        context = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=ARGS,
                                                        viewport={"width": 1360, "height": 860})
        page = context.pages[0] if context.pages else context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        shoot(page, f"http://127.0.0.1:{server.server_address[1]}/", "explorer.png", errors,
              lambda p: p.wait_for_selector(f'#state[data-index="{len(PAXOS_STEPS)}"]'))
        shoot(page, chart.as_uri(), "chart-raft-figure8.png", errors)
        shoot(page, timeline.as_uri(), "lincheck-timeline.png", errors)
        context.close()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
