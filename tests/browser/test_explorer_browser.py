"""``splitbrain explore paxos`` in headless chromium: load, click through actions, back/forward, run check.

Run with ``python -m pytest -m browser`` (see tests/browser/conftest.py).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from splitbrain.checker.explorer import Session, serve
from splitbrain.models import registry
from splitbrain.traces.format import load, to_jsonable

pytestmark = pytest.mark.browser


def start(params: dict[str, str]) -> tuple[Any, Session, Any]:
    model = registry.build("paxos", params)
    session = Session(model, ["paxos", *[f"-p{k}={v}" for k, v in params.items()]], check_seconds=120)
    server = serve(session, 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, session, model


@pytest.fixture
def paxos() -> Iterator[tuple[str, Any]]:
    server, _, model = start({})
    yield f"http://127.0.0.1:{server.server_address[1]}/", model
    server.shutdown()
    server.server_close()


@pytest.fixture
def paxos_bug() -> Iterator[tuple[str, Session, Any]]:
    server, session, model = start({"bug": "minority_quorum"})
    yield f"http://127.0.0.1:{server.server_address[1]}/", session, model
    server.shutdown()
    server.server_close()


def api_state(base: str) -> dict:
    with urllib.request.urlopen(base + "api/state", timeout=30) as response:
        return json.loads(response.read())


def leaves(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(data-path, text) of every leaf the page draws for ``value`` (the rule of app.js's renderValue)."""
    if isinstance(value, list) and value:
        return [leaf for i, item in enumerate(value) for leaf in leaves(item, f"{path}.{i}")]
    if isinstance(value, dict) and value:
        return [leaf for key, item in value.items() for leaf in leaves(item, f"{path}.{key}" if path else key)]
    return [(path, value if isinstance(value, str) else json.dumps(value, separators=(",", ":")))]


def shown_leaves(page: Any) -> list[tuple[str, str]]:
    return [tuple(x) for x in page.eval_on_selector_all(
        "#state .leaf", "els => els.map(e => [e.dataset.path, e.textContent])")]


def wait_for_index(page: Any, index: int) -> None:
    page.wait_for_selector(f'#state[data-index="{index}"]')


def test_page_loads_without_console_errors(page, console_errors, paxos):
    base, model = paxos
    page.goto(base)
    wait_for_index(page, 0)
    assert page.inner_text("#model") == "paxos"
    init = next(iter(model.init_states()))
    assert page.locator("#actions button.action").count() == len(list(model.successors(init)))
    assert shown_leaves(page) == leaves(to_jsonable(model.render(init)))
    assert page.locator("#properties tbody tr").count() == len(model.properties())
    assert console_errors == []


def test_clicking_actions_back_and_forward(page, console_errors, paxos):
    base, model = paxos
    page.goto(base)
    wait_for_index(page, 0)
    state = next(iter(model.init_states()))
    picks = [1, 0, 0, 2]  # indexes into the enabled actions, each one enabled at its step (checked below)
    for step, pick in enumerate(picks, 1):
        successors = list(model.successors(state))
        assert pick < len(successors)
        page.click(f'#actions button.action[data-index="{pick}"]')
        wait_for_index(page, step)
        state = successors[pick][1]
        view = api_state(base)
        assert view["index"] == step
        assert view["state"] == to_jsonable(model.render(state))
        assert shown_leaves(page) == leaves(view["state"])
        assert page.locator("#path li").count() == step + 1
        assert page.locator("#actions button.action").count() == len(view["actions"])
    last = shown_leaves(page)

    page.click("#back")
    wait_for_index(page, len(picks) - 1)
    assert shown_leaves(page) == leaves(api_state(base)["state"]) != last
    page.click("#back")
    wait_for_index(page, len(picks) - 2)
    page.click("#forward")
    wait_for_index(page, len(picks) - 1)
    page.click("#forward")
    wait_for_index(page, len(picks))
    assert shown_leaves(page) == last
    assert page.is_disabled("#forward") and not page.is_disabled("#back")
    page.click('#path li button[data-index="0"]')
    wait_for_index(page, 0)
    assert page.is_disabled("#back")
    assert console_errors == []


def test_run_check_reaches_the_violation(page, console_errors, paxos_bug):
    base, session, model = paxos_bug
    page.goto(base)
    wait_for_index(page, 0)
    page.click("#run-check")
    page.wait_for_selector("#message.error", timeout=120_000)
    assert "counterexample to Consistency" in page.inner_text("#message")
    steps = len(session.actions)
    wait_for_index(page, steps)
    assert page.locator("#path li").count() == steps + 1
    assert page.get_attribute('#properties tr[data-prop="Consistency"]', "class") == "false"
    consistency = next(p for p in model.properties() if p.name == "Consistency")
    assert not consistency.condition(session.states[-1])
    assert shown_leaves(page) == leaves(to_jsonable(model.render(session.states[-1])))
    page.click("#back")
    wait_for_index(page, steps - 1)
    assert page.get_attribute('#properties tr[data-prop="Consistency"]', "class") == "true"
    assert console_errors == []


def test_load_a_trace_file_in_the_page(page, console_errors, paxos_bug, tmp_path):
    base, session, model = paxos_bug
    corpus = Path(__file__).resolve().parents[2] / "traces" / "corpus"
    trace = load(corpus / "paxos_minority_quorum__Consistency.json")
    page.goto(base)
    wait_for_index(page, 0)
    page.set_input_files("#trace-file", str(corpus / "paxos_minority_quorum__Consistency.json"))
    wait_for_index(page, len(trace.actions))
    assert "reproduces" in page.inner_text("#message")
    assert shown_leaves(page) == leaves(trace.states[-1])  # the rendering the trace file recorded
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "nope"}')
    page.set_input_files("#trace-file", str(bad))
    page.wait_for_selector("#message.error")
    assert "not a splitbrain trace" in page.inner_text("#message")
    assert page.get_attribute("#state", "data-index") == str(len(trace.actions))  # the page kept its state
    # Chromium logs the HTTP 400 answer itself as a console error: that one is expected, nothing else.
    assert [e for e in console_errors if "400" not in e] == []


def test_an_actor_model_shows_one_card_per_node(page, console_errors):
    model = registry.build("raft", {})
    server = serve(Session(model, ["raft"]), 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        wait_for_index(page, 0)
        cards = page.eval_on_selector_all("#state .node", "els => els.map(e => e.dataset.node)")
        assert cards == list(model.node_ids)
        page.click('#actions button.action[data-index="0"]')
        wait_for_index(page, 1)
        view = api_state(f"http://127.0.0.1:{server.server_address[1]}/")
        assert page.locator("#net li").count() == len(view["state"]["net"])
        assert sorted(shown_leaves(page)) == sorted(leaves(view["state"]))  # the page puts net right after nodes
        assert console_errors == []
    finally:
        server.shutdown()
        server.server_close()
