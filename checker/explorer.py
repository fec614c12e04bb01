"""``splitbrain explore``: step through a model's states in a local web page.

The page (``explorer_assets/``: index.html, app.js, style.css, served from the
package, nothing fetched from outside) talks to a small JSON API served on
127.0.0.1 by the standard library's ThreadingHTTPServer:

- ``GET /api/state``: the current view (see :meth:`Session.view`);
- ``POST /api/step {"index": i}``: take the i-th enabled action;
- ``POST /api/back``, ``POST /api/forward``, ``POST /api/goto {"index": i}``:
  move along the path taken so far;
- ``POST /api/reset {"init": i}``: start again from the i-th initial state;
- ``POST /api/check``: an exhaustive bfs check of the model (``splitbrain
  check`` in a child process, stopped after a time limit); a counterexample
  becomes the path, with the cursor on its last state;
- ``POST /api/trace`` (body: a trace file's text): validate it as ``replay``
  does and make its states the path.

Every answer is the view as JSON; a mistake (a bad trace, an index out of
range) is HTTP 400 with ``{"error": "..."}``, shown in the page.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from splitbrain.checker.commands import add_model_args, build_model, project_config
from splitbrain.models.core import Model, format_action
from splitbrain.models.registry import UsageError
from splitbrain.properties.kinds import ALWAYS, ALWAYS_STEP, SOMETIMES
from splitbrain.traces.format import TraceError, from_json, load, to_jsonable
from splitbrain.traces.render import changes
from splitbrain.traces.replay import Divergence, execute, model_for, replay

DEFAULT_PORT = 8765
DEFAULT_CHECK_SECONDS = 60.0
ASSETS = {"/": ("index.html", "text/html"), "/index.html": ("index.html", "text/html"),
          "/app.js": ("app.js", "text/javascript"), "/style.css": ("style.css", "text/css")}


class ExplorerError(Exception):
    """A request the session cannot honour; its text is shown in the page (HTTP 400)."""


class Session:
    """One user's walk through a model: the path taken so far and a cursor on it.

    ``model_argv`` is the model part of the command line (``["paxos", "-p",
    "bug=x"]``): "run check" hands it to ``splitbrain check`` in a child
    process, so a long search never blocks the page and stops at
    ``check_seconds``.
    """

    def __init__(self, model: Model, model_argv: list[str], check_seconds: float = DEFAULT_CHECK_SECONDS,
                 config: Any = None):
        self.model = model
        self.model_argv = list(model_argv)
        self.check_seconds = check_seconds
        self.config = config
        self.props = list(model.properties())
        self.inits = list(model.init_states())
        if not self.inits:
            raise UsageError(f"model {model.name} has no initial state")
        self.lock = threading.RLock()
        self.check_process: subprocess.Popen | None = None
        self.reset(0)

    # -- moving ----------------------------------------------------------------
    def reset(self, init: int = 0) -> None:
        """Start again from initial state number ``init``."""
        with self.lock:
            if not 0 <= init < len(self.inits):
                raise ExplorerError(f"no initial state number {init} (the model has {len(self.inits)})")
            self.init = init
            self.actions: list[Any] = []
            self.states: list[Any] = [self.inits[init]]
            self.cursor = 0
            self.origin = "explore"
            self.note = ""

    def step(self, index: int) -> None:
        """Take enabled action number ``index`` in the current state; the path after the cursor is dropped."""
        with self.lock:
            enabled = self.enabled()
            if not 0 <= index < len(enabled):
                raise ExplorerError(f"no enabled action number {index} (there are {len(enabled)})")
            action, nxt = enabled[index]
            del self.actions[self.cursor:], self.states[self.cursor + 1:]
            self.actions.append(action)
            self.states.append(nxt)
            self.cursor += 1

    def goto(self, index: int) -> None:
        """Move the cursor to state ``index`` of the path (0: the initial state)."""
        with self.lock:
            if not 0 <= index < len(self.states):
                raise ExplorerError(f"no state number {index} on the path (0..{len(self.states) - 1})")
            self.cursor = index

    def back(self) -> None:
        """One state back on the path (stays at the initial state)."""
        with self.lock:
            self.goto(max(self.cursor - 1, 0))

    def forward(self) -> None:
        """One state forward on the path (stays at its end)."""
        with self.lock:
            self.goto(min(self.cursor + 1, len(self.states) - 1))

    def set_path(self, init: int, actions: list[Any], origin: str, note: str) -> None:
        """Make ``actions`` from initial state ``init`` the path, with the cursor on its last state."""
        states = execute(self.model, init, actions)
        with self.lock:
            self.init, self.actions, self.states = init, list(actions), states
            self.cursor = len(actions)
            self.origin, self.note = origin, note

    # -- what the page shows ---------------------------------------------------
    def enabled(self) -> list[tuple[Any, Any]]:
        """The enabled actions of the current state, each with the state it leads to."""
        return list(self.model.successors(self.states[self.cursor]))

    def view(self) -> dict[str, Any]:
        """Everything the page draws, as JSON-able data."""
        with self.lock:
            model, i = self.model, self.cursor
            state = self.states[i]
            shown = to_jsonable(model.render(state))
            enabled = self.enabled()
            path = [{"index": 0, "label": f"initial state {self.init}", "text": ""}]
            path += [{"index": k, "label": format_action(a), "text": model.describe(self.states[k - 1], a, self.states[k])}
                     for k, a in enumerate(self.actions, 1)]
            return {
                "model": model.name,
                "params": to_jsonable(model.params()),
                "index": i,
                "path": path,
                "origin": self.origin,
                "note": self.note,
                "init": self.init,
                "init_states": len(self.inits),
                "layout": "actors" if isinstance(shown, dict) and {"nodes", "net"} <= shown.keys() else "fields",
                "state": shown,
                "changes": changes(to_jsonable(model.render(self.states[i - 1])), shown) if i else [],
                "actions": [{"index": k, "label": format_action(a), "text": model.describe(state, a, nxt)}
                            for k, (a, nxt) in enumerate(enabled)],
                "deadlock": not enabled and not model.allow_deadlock,
                "outside_boundary": not model.within_boundary(state),
                "properties": [self.judge(p) for p in self.props],
                "can_back": i > 0,
                "can_forward": i < len(self.states) - 1,
            }

    def judge(self, prop: Any) -> dict[str, Any]:
        """A property's value in the current state; None where one state cannot judge it."""
        i = self.cursor
        out: dict[str, Any] = {"name": prop.name, "kind": prop.kind, "description": prop.description}
        try:
            if prop.kind == ALWAYS:
                value = bool(prop.condition(self.states[i]))
                text = "holds here" if value else "VIOLATED here"
            elif prop.kind == SOMETIMES:
                value = bool(prop.condition(self.states[i]))
                text = "reached here" if value else "not here"
            elif prop.kind == ALWAYS_STEP:
                if i == 0:
                    value, text = None, "judged on steps: no step taken yet"
                else:
                    value = bool(prop.condition(self.states[i - 1], self.actions[i - 1], self.states[i]))
                    text = "holds on the last step" if value else "VIOLATED by the last step"
            else:
                value, text = None, "liveness: judged on whole behaviours, not on one state (run check)"
        except Exception as exc:  # the model's predicate failed on this state: show it, keep serving
            value, text = None, f"error: {type(exc).__name__}: {exc}"
        out.update(value=value, text=text)
        return out

    # -- run check and load a trace --------------------------------------------
    def run_check(self) -> dict[str, Any]:
        """An exhaustive bfs check; a counterexample becomes the path. The check's summary."""
        with tempfile.TemporaryDirectory(prefix="splitbrain-explore-") as tmp:
            out = os.path.join(tmp, "trace.json")
            argv = [sys.executable, "-m", "splitbrain.checker.cli", "check", *self.model_argv,
                    "--engine", "bfs", "--json", "--quiet", "--trace-out", out]
            with self.lock:
                if self.check_process is not None:
                    raise ExplorerError("a check is already running")
                self.check_process = proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                             text=True)
            try:
                stdout, stderr = proc.communicate(timeout=self.check_seconds)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise ExplorerError(f"the check did not finish within {self.check_seconds:g} s: "
                                    f"run `splitbrain check {' '.join(self.model_argv)}` in a terminal") from None
            finally:
                with self.lock:
                    self.check_process = None
            if proc.returncode not in (0, 1, 3):
                lines = stderr.strip().splitlines() or [f"exit code {proc.returncode}"]
                raise ExplorerError(f"the check failed: {lines[-1]}")
            result = json.loads(stdout)
            summary = {key: result.get(key) for key in ("verdict", "distinct_states", "seconds", "complete", "properties")}
            if result.get("trace"):
                trace = load(out)
                note = (f"counterexample to {trace.property} ({trace.kind}) found by bfs in "
                        f"{result['distinct_states']:,} states: {len(trace.actions)} steps")
                if trace.loop_start is not None:
                    note += f"; the behaviour loops back to state {trace.loop_start}"
                self.set_path(trace.init, trace.actions, "check", note)
                summary["property"] = trace.property
            summary["message"] = self.note if result.get("trace") else \
                f"check: {result['verdict']} ({result['distinct_states']:,} distinct states)"
            return summary

    def load_trace(self, text: str) -> None:
        """Validate a trace file's text as ``replay`` does and make its behaviour the path."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ExplorerError(f"not a JSON trace: {exc}") from None
        try:
            trace = from_json(data, "the trace")
            if trace.model != self.model.name:
                raise ExplorerError(f"this trace is of model {trace.model}, the explorer runs {self.model.name}: "
                                    f"start `splitbrain explore {trace.model}` with the trace's parameters")
            theirs = model_for(trace, self.model_argv[0], self.config).params()
            if to_jsonable(theirs) != to_jsonable(self.model.params()):
                raise ExplorerError(f"this trace's parameters {json.dumps(to_jsonable(theirs))} differ from the "
                                    f"explorer's {json.dumps(to_jsonable(self.model.params()))}")
            report = replay(trace, self.model)
            steps = len(trace.actions) if report.reproduced or report.step is None else max(report.step - 1, 0)
            verdict = "reproduces" if report.reproduced else "does NOT reproduce"
            self.set_path(trace.init, trace.actions[:steps], "trace",
                          f"trace {verdict} its {trace.property} ({trace.kind}) outcome: {report.message}")
        except (TraceError, UsageError, Divergence) as exc:
            raise ExplorerError(str(exc)) from None
        except ExplorerError:
            raise
        except Exception as exc:  # the model's own code failed on this trace
            raise ExplorerError(f"the model raised {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        """Stop a check still running."""
        with self.lock:
            if self.check_process is not None:
                self.check_process.kill()


def _asset(name: str) -> bytes:
    return resources.files("splitbrain.checker").joinpath("explorer_assets", name).read_bytes()


def make_handler(session: Session) -> type[BaseHTTPRequestHandler]:
    """The request handler class serving ``session``'s page and JSON API."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "splitbrain-explore"

        def log_message(self, format: str, *args: Any) -> None:  # no line per request
            pass

        def send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type + "; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def send_json(self, status: int, data: Any) -> None:
            self.send(status, json.dumps(data, default=str).encode(), "application/json")

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ASSETS:
                name, kind = ASSETS[path]
                self.send(HTTPStatus.OK, _asset(name), kind)
            elif path == "/api/state":
                self.answer(lambda body: None)
            else:
                self.send_json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path}"})

        def do_POST(self) -> None:
            routes = {
                "/api/step": lambda body: session.step(_index(body, "index")),
                "/api/back": lambda body: session.back(),
                "/api/forward": lambda body: session.forward(),
                "/api/goto": lambda body: session.goto(_index(body, "index")),
                "/api/reset": lambda body: session.reset(_index(body, "init", 0)),
                "/api/trace": lambda body: session.load_trace(body),
                "/api/check": lambda body: session.run_check(),
            }
            path = self.path.split("?", 1)[0]
            if path not in routes:
                self.send_json(HTTPStatus.NOT_FOUND, {"error": f"no such call: {path}"})
                return
            self.answer(routes[path])

        def answer(self, act: Any) -> None:
            """Run ``act`` on the request body; answer with the view (and what ``act`` returned)."""
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            try:
                extra = act(body)
                data = session.view()
            except ExplorerError as exc:
                self.send_json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
                return
            except Exception as exc:  # the model's code failed: a message in the page, the server goes on
                self.send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(exc).__name__}: {exc}"})
                return
            if extra is not None:
                data["check"] = extra
            self.send_json(HTTPStatus.OK, data)

    return Handler


def _index(body: str, key: str, default: int | None = None) -> int:
    """The integer ``key`` of a JSON request body."""
    try:
        data = json.loads(body) if body.strip() else {}
    except ValueError:
        raise ExplorerError("the request body is not JSON") from None
    value = data.get(key, default) if isinstance(data, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ExplorerError(f"the request needs an integer {key!r}")
    return value


def serve(session: Session, port: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    """A server for ``session`` bound to 127.0.0.1:``port`` (0: any free port); not yet serving."""
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(session))
    except OSError as exc:
        raise UsageError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc} (try --port 0)") from None
    server.daemon_threads = True
    return server


def model_argv(args: argparse.Namespace) -> list[str]:
    """The model part of the command line, for ``splitbrain check`` in a child process."""
    argv = [args.model]
    for item in args.param:
        argv += ["-p", item]
    for flag in ("faults", "network"):
        if getattr(args, flag, None) is not None:
            argv += [f"--{flag}", getattr(args, flag)]
    return argv


def register(sub: Any) -> None:
    """Add ``explore`` to the command line."""
    p = sub.add_parser("explore", help="step through a model's states in a local web page")
    add_model_args(p)
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0: any free port)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.add_argument("--check-seconds", type=float, default=DEFAULT_CHECK_SECONDS, metavar="S",
                   help=f"'run check' in the page stops after S seconds (default {DEFAULT_CHECK_SECONDS:g})")
    p.set_defaults(func=run_explore)


def run_explore(args: argparse.Namespace) -> int:
    """Serve the explorer for the model on the command line until Ctrl-C; the exit code."""
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: expected 0..65535")
    if args.check_seconds <= 0:
        raise UsageError("--check-seconds must be > 0")
    model = build_model(args)
    try:
        session = Session(model, model_argv(args), args.check_seconds, project_config(args))
    except UsageError:
        raise
    except Exception as exc:  # the model's own code failed on its initial states
        raise UsageError(f"model {args.model}: computing its initial states raised {type(exc).__name__}: {exc}") from None
    server = serve(session, args.port)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"splitbrain explore: {model.name} at {url} (Ctrl-C stops)", flush=True)
    if args.open:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nsplitbrain explore: stopped", flush=True)
    finally:
        session.close()
        server.server_close()
    return 0
