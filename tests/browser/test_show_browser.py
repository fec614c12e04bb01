"""The pages of ``splitbrain show`` and ``lincheck --html`` in headless chromium.

The Raft Figure 8 chart: no console errors, one lifeline per server, one
arrow per delivered message (both counted from the trace file), and a click
on a step shows that step's state panel. The lincheck timeline: no console
errors, the operation that cannot be placed highlighted, a click describes
an operation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from splitbrain.checker.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIGURE8 = ROOT / "traces" / "corpus" / "raft_figure8__StateMachineSafety.json"
ETCD_BAD = ROOT / "tests" / "data" / "porcupine" / "jepsen" / "etcd_000.log"


@pytest.fixture
def figure8_page(tmp_path, page, console_errors):
    out = tmp_path / "f.html"
    assert main(["show", str(FIGURE8), "--format", "html", "-o", str(out)]) == 0
    page.goto(out.as_uri())
    page.wait_for_load_state("load")
    return page


def test_figure8_chart_loads_with_a_lifeline_per_server_and_an_arrow_per_delivery(figure8_page, console_errors):
    data = json.loads(FIGURE8.read_text())
    page = figure8_page
    assert page.locator("svg .lifeline").count() == data["params"]["servers"] == 3
    deliveries = sum(1 for a in data["actions"] if a[0] == "deliver")
    assert page.locator("svg .arrow.delivered").count() == deliveries == 17
    # the page opens on the last step, where the property is violated
    assert page.locator(f'.state-panel[data-step="{len(data["actions"])}"]').is_visible()
    assert page.locator(".state-panel:visible").count() == 1
    assert console_errors == []


def test_clicking_a_step_shows_every_nodes_state_there(figure8_page, console_errors):
    page = figure8_page
    page.locator('.step-row[data-step="24"]').click()
    panel = page.locator('.state-panel[data-step="24"]')
    assert panel.is_visible() and page.locator(".state-panel:visible").count() == 1
    assert panel.locator(".node-state").count() == 3
    text = panel.inner_text()
    assert "committed by counting replicas" in text  # step 24's description
    assert "nodes.n1.commitIndex: 0 -> 1" in text  # the change from step 23
    assert "selected" in (page.locator('.step-row[data-step="24"]').get_attribute("class") or "")
    page.keyboard.press("ArrowUp")
    assert page.locator('.state-panel[data-step="23"]').is_visible()
    assert console_errors == []


def test_lincheck_timeline_loads_and_describes_an_operation(tmp_path, page, console_errors):
    out = tmp_path / "t.html"
    assert main(["lincheck", str(ETCD_BAD), "--html", str(out)]) == 1
    page.goto(out.as_uri())
    page.wait_for_load_state("load")
    blocked = page.locator(".op.blocked")
    assert blocked.count() == 1 and blocked.get_attribute("data-op") == "43"  # the text output names #43
    blocked.click()
    assert page.locator("#info").inner_text().startswith("#43 process 11: read")
    assert console_errors == []
