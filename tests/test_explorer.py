"""``splitbrain explore``: the JSON API behind the page, driven with urllib (no browser).

The server runs in a thread on a free port; every expected state comes from the
model itself (its successors, its render) or from a corpus trace's recorded states.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from splitbrain.checker.cli import main
from splitbrain.checker.explorer import Session, serve
from splitbrain.models import registry
from splitbrain.models.core import format_action
from splitbrain.models.registry import UsageError
from splitbrain.traces.format import load, to_jsonable

CORPUS = Path(__file__).resolve().parent.parent / "traces" / "corpus"
BUG = "minority_quorum"  # any single acceptor is a quorum: Consistency fails (paxos's declared mutant)


@pytest.fixture
def explorer():
    """(base URL, session, model) for paxos with bug=minority_quorum, served in a thread."""
    model = registry.build("paxos", {"bug": BUG})
    session = Session(model, ["paxos", "-p", f"bug={BUG}"], check_seconds=120)
    server = serve(session, 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", session, model
    finally:
        server.shutdown()
        server.server_close()


def call(base: str, path: str, body: object = None, raw: bytes | None = None) -> tuple[int, dict]:
    """(HTTP status, JSON answer) of GET ``path`` (no body) or POST ``path``."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    if data is None and path != "/api/state":
        data = b""
    request = urllib.request.Request(base + path, data=data, method="GET" if data is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_initial_state_and_enabled_actions_are_the_models(explorer):
    base, _, model = explorer
    status, view = call(base, "/api/state")
    init = next(iter(model.init_states()))
    successors = list(model.successors(init))
    assert status == 200
    assert view["index"] == 0 and not view["can_back"] and not view["can_forward"]
    assert view["state"] == to_jsonable(model.render(init))
    assert view["layout"] == "fields"  # paxos is not an actor model
    assert len(view["actions"]) == len(successors)
    assert [a["label"] for a in view["actions"]] == [format_action(a) for a, _ in successors]


def test_step_back_and_forward(explorer):
    base, _, model = explorer
    init = next(iter(model.init_states()))
    first_action, first = list(model.successors(init))[1]
    second_action, second = list(model.successors(first))[0]

    _, view = call(base, "/api/step", {"index": 1})
    assert view["index"] == 1 and view["state"] == to_jsonable(model.render(first))
    assert view["path"][1]["label"] == format_action(first_action)
    assert view["changes"], "a step that changes the state lists what changed"
    _, view = call(base, "/api/step", {"index": 0})
    assert view["index"] == 2 and view["state"] == to_jsonable(model.render(second))

    _, view = call(base, "/api/back")
    assert view["index"] == 1 and view["state"] == to_jsonable(model.render(first)) and view["can_forward"]
    _, view = call(base, "/api/back")
    assert view["index"] == 0 and view["state"] == to_jsonable(model.render(init)) and not view["can_back"]
    _, view = call(base, "/api/forward")
    _, view = call(base, "/api/forward")
    assert view["index"] == 2 and view["state"] == to_jsonable(model.render(second)) and not view["can_forward"]
    _, view = call(base, "/api/goto", {"index": 0})
    assert view["index"] == 0
    # Stepping from the middle of the path drops the states after the cursor, as a browser's history does.
    _, view = call(base, "/api/step", {"index": 0})
    assert len(view["path"]) == 2 and not view["can_forward"]


def test_properties_are_judged_on_the_current_state(explorer):
    base, _, model = explorer
    _, view = call(base, "/api/state")
    init = next(iter(model.init_states()))
    props = {p.name: p for p in model.properties()}
    assert [p["name"] for p in view["properties"]] == list(props)
    for shown in view["properties"]:
        assert shown["value"] == bool(props[shown["name"]].condition(init)), shown
    assert {p["name"]: p["value"] for p in view["properties"]}["ValueChosen"] is False  # nothing chosen at start


def test_liveness_and_step_properties_say_one_state_does_not_judge_them():
    model = registry.build("paxos", {"liveness": "fair"})
    session = Session(model, ["paxos", "-p", "liveness=fair"])
    liveness = [p for p in session.view()["properties"] if p["kind"] not in ("always", "sometimes")]
    assert liveness, "paxos -p liveness=fair declares a liveness property"
    assert all(p["value"] is None and "not on one state" in p["text"] for p in liveness)


def test_run_check_on_a_bug_flag_ends_on_a_violating_state(explorer):
    base, session, model = explorer
    status, view = call(base, "/api/check")
    assert status == 200, view
    assert view["check"]["verdict"] == "violation"
    violated = view["check"]["property"]
    assert violated == "Consistency"
    assert view["index"] == len(view["path"]) - 1 and view["origin"] == "check"
    last = session.states[-1]
    prop = next(p for p in model.properties() if p.name == violated)
    assert not prop.condition(last)
    assert all(prop.condition(s) for s in session.states[:-1]), "bfs gives the first violating state"
    assert {p["name"]: p["value"] for p in view["properties"]}[violated] is False
    # The path is a real behaviour: each state is a successor of the one before.
    for before, action, after in zip(session.states, session.actions, session.states[1:]):
        assert (action, after) in list(model.successors(before))


def test_load_a_corpus_trace(explorer):
    base, _, _ = explorer
    path = CORPUS / f"paxos_{BUG}__Consistency.json"
    trace = load(path)
    status, view = call(base, "/api/trace", raw=path.read_bytes())
    assert status == 200, view
    assert len(view["path"]) == len(trace.actions) + 1 and view["index"] == len(trace.actions)
    assert view["state"] == trace.states[-1]  # the rendering the trace file recorded
    assert "reproduces" in view["note"]
    assert {p["name"]: p["value"] for p in view["properties"]}["Consistency"] is False


@pytest.mark.parametrize("raw, words", [
    (b"this is not json", "not a JSON trace"),
    (b'{"format": "something else"}', "not a splitbrain trace"),
    (json.dumps({**json.loads((CORPUS / f"paxos_{BUG}__Consistency.json").read_text()), "actions": "x"}).encode(),
     "field 'actions'"),
    ((CORPUS / "om_n3_m1.json").read_bytes(), "this trace is of model om"),
    ((CORPUS / "paxos_two_proposals__Msg2aUnique.json").read_bytes(), "parameters"),
])
def test_a_bad_trace_is_a_message_and_the_server_goes_on(explorer, raw, words):
    base, _, _ = explorer
    status, answer = call(base, "/api/trace", raw=raw)
    assert status == 400 and words in answer["error"], answer
    status, view = call(base, "/api/state")
    assert status == 200 and view["index"] == 0


def test_bad_requests_are_400_or_404(explorer):
    base, _, _ = explorer
    assert call(base, "/api/step", {"index": 999})[0] == 400
    assert call(base, "/api/step", {"index": "0"})[0] == 400
    assert call(base, "/api/goto", {"index": 5})[0] == 400
    assert call(base, "/api/nothing", {})[0] == 404


def test_the_page_and_its_assets_are_served_locally(explorer):
    base, _, _ = explorer
    for name, kind in (("/", "text/html"), ("/app.js", "text/javascript"), ("/style.css", "text/css")):
        with urllib.request.urlopen(base + name, timeout=10) as response:
            text = response.read().decode()
            assert response.headers["Content-Type"].startswith(kind) and text
            assert "http://" not in text and "https://" not in text, f"{name} fetches nothing from outside"


def test_a_taken_port_is_a_usage_error():
    session = Session(registry.build("paxos", {}), ["paxos"])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(UsageError, match="cannot serve"):
            serve(session, sock.getsockname()[1])


@pytest.mark.parametrize("argv, words", [
    (["explore", "no_such_model"], "unknown model"),
    (["explore", "paxos", "-p", "bug=nope"], "bug"),
    (["explore", "paxos", "--port", "70000"], "--port"),
    (["explore", "paxos", "--faults", "crash=1"], "does not support faults"),
])
def test_a_bad_model_or_option_is_one_line_and_exit_2(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err


def test_an_actor_model_is_shown_as_nodes_and_messages_in_flight():
    model = registry.build("raft", {})
    session = Session(model, ["raft"])
    session.step(0)
    view = session.view()
    assert view["layout"] == "actors"
    assert set(view["state"]["nodes"]) == set(model.node_ids)
    assert view["state"]["net"] == to_jsonable(model.render(session.states[1]))["net"]


def test_ctrl_c_stops_the_server_cleanly():
    # Ctrl-C as from a terminal: the server starts with SIGINT at its default action, whatever this process
    # inherited (a job started in the background of a shell, for one, runs with SIGINT ignored, and so
    # would the server: once a run of the suite left the server waiting here).
    proc = subprocess.Popen([sys.executable, "-m", "splitbrain.checker.cli", "explore", "paxos", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    first = proc.stdout.readline()
    assert first.startswith("splitbrain explore: paxos at http://127.0.0.1:"), first
    url = first.split(" at ")[1].split()[0]
    with urllib.request.urlopen(url + "api/state", timeout=30) as response:
        assert json.loads(response.read())["model"] == "paxos"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "stopped" in out and err == ""
