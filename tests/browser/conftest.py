"""Fixtures for the browser tests (marker ``browser``; run with ``python -m pytest -m browser``).

They drive Debian's headless chromium (``/usr/bin/chromium``, package ``chromium``)
with Playwright (``pip install -e '.[browser]'``); no Playwright-downloaded browser
is used. A missing chromium or Playwright is a failure here, never a skip.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder ``browser`` so the default suite leaves them out."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def _playwright() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[browser]'", pytrace=False)
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium", pytrace=False)
    with sync_playwright() as pw:
        yield pw


@pytest.fixture
def page(_playwright) -> Iterator[object]:
    """A Playwright sync Page in headless Debian chromium with a fresh user data dir."""
    with tempfile.TemporaryDirectory(prefix="splitbrain-chromium-") as profile:
        context = _playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=LAUNCH_ARGS,
        )
        try:
            pg = context.pages[0] if context.pages else context.new_page()
            pg.set_default_timeout(15_000)
            yield pg
        finally:
            context.close()


@pytest.fixture
def console_errors(page) -> list[str]:
    """Console messages of type error and uncaught page errors seen by ``page``."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors
