// splitbrain explore: draws the view the JSON API returns and sends the user's clicks back.
"use strict";

const $ = (id) => document.getElementById(id);
let busy = false;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function showMessage(text, kind) {
  const box = $("message");
  box.textContent = text || "";
  box.className = text ? kind : "";
}

// A JSON value as nested tables and lists; every leaf carries data-path (keys joined by ".").
function renderValue(value, path) {
  if (Array.isArray(value) && value.length) {
    const list = el("ol", { className: "list", start: "0", "data-path": path });
    value.forEach((item, i) => list.append(el("li", {}, renderValue(item, `${path}.${i}`))));
    return list;
  }
  if (value !== null && typeof value === "object" && Object.keys(value).length) {
    return fieldsTable(value, path);
  }
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const empty = value === null || (typeof value === "object" && !Object.keys(value).length);
  return el("span", { className: empty ? "leaf empty" : "leaf", "data-path": path, text });
}

function fieldsTable(obj, path) {
  const body = el("tbody");
  for (const [key, item] of Object.entries(obj)) {
    const sub = path ? `${path}.${key}` : key;
    body.append(el("tr", { "data-field": sub }, el("th", { text: key }), el("td", {}, renderValue(item, sub))));
  }
  return el("table", { className: "fields" }, body);
}

// Actor models: one card per node, the messages in flight, then the rest of the world.
function renderActors(state) {
  const box = el("div");
  box.append(el("h3", { text: "Nodes" }));
  const nodes = el("div", { className: "nodes" });
  for (const [id, nodeState] of Object.entries(state.nodes)) {
    nodes.append(el("div", { className: "card node", "data-node": id },
      el("h3", { text: id }), renderValue(nodeState, `nodes.${id}`)));
  }
  box.append(nodes);
  box.append(el("h3", { text: `Messages in flight (${state.net.length})` }));
  box.append(el("div", { id: "net" }, renderValue(state.net, "net")));
  const rest = Object.fromEntries(Object.entries(state).filter(([key]) => key !== "nodes" && key !== "net"));
  if (Object.keys(rest).length) {
    box.append(el("h3", { text: "Timers, clocks, history and faults" }));
    box.append(fieldsTable(rest, ""));
  }
  return box;
}

function render(view) {
  $("model").textContent = view.model;
  $("params").textContent = Object.entries(view.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("  ");
  $("position").textContent = `state ${view.index} of ${view.path.length - 1}`;
  $("back").disabled = !view.can_back;
  $("forward").disabled = !view.can_forward;

  const path = $("path");
  path.replaceChildren();
  for (const step of view.path) {
    const button = el("button", { className: step.index === view.index ? "current" : "", "data-index": step.index,
                                  title: step.text }, el("span", { className: "num", text: String(step.index) }),
                      step.label);
    button.addEventListener("click", () => call("/api/goto", { index: step.index }));
    path.append(el("li", {}, button));
  }

  const state = $("state");
  state.replaceChildren(view.layout === "actors" ? renderActors(view.state) : renderValue(view.state, ""));
  state.dataset.index = String(view.index);
  const notes = [];
  if (view.deadlock) notes.push("deadlock: no action is enabled");
  if (view.outside_boundary) notes.push("outside the model's boundary: the checker does not explore it further");
  $("state-note").textContent = notes.join("; ");

  const changes = $("changes");
  changes.replaceChildren(...view.changes.map((line) => el("li", { text: line })));
  if (!view.changes.length) changes.append(el("li", { className: "leaf empty", text: view.index ? "nothing" : "(initial state)" }));

  const actions = $("actions");
  actions.replaceChildren();
  for (const action of view.actions) {
    const button = el("button", { className: "action", "data-index": action.index },
      el("span", { className: "label", text: action.label }),
      action.text !== action.label ? el("span", { className: "text", text: action.text }) : null);
    button.addEventListener("click", () => call("/api/step", { index: action.index }));
    actions.append(button);
  }
  if (!view.actions.length) actions.append(el("span", { className: "none", text: "no action is enabled" }));

  const props = $("properties").tBodies[0];
  props.replaceChildren();
  for (const p of view.properties) {
    const kind = p.value === null ? "unjudged" : (p.value || p.kind === "sometimes" ? "true" : "false");
    props.append(el("tr", { className: kind, "data-prop": p.name, title: p.description || "" },
      el("td", { text: p.kind }), el("td", { text: p.name }), el("td", { text: p.text })));
  }
}

async function call(url, body) {
  if (busy) return;
  busy = true;
  document.body.classList.add("busy");
  try {
    const options = url === "/api/state" ? {} : { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body || {}) };
    const response = await fetch(url, options);
    const data = await response.json();
    if (!response.ok) {
      showMessage(data.error, "error");
      return;
    }
    render(data);
    if (data.check) showMessage(data.check.message, data.check.verdict === "violation" ? "error" : "info");
    else if (url !== "/api/state" && data.note && (url === "/api/trace")) showMessage(data.note, "info");
    else if (url !== "/api/state") showMessage("", "");
  } catch (err) {
    showMessage(`the explorer server does not answer: ${err}`, "error");
  } finally {
    busy = false;
    document.body.classList.remove("busy");
  }
}

function setup() {
  $("back").addEventListener("click", () => call("/api/back"));
  $("forward").addEventListener("click", () => call("/api/forward"));
  $("reset").addEventListener("click", () => call("/api/reset", { init: 0 }));
  $("run-check").addEventListener("click", () => {
    showMessage("checking every reachable state…", "info");
    call("/api/check");
  });
  $("trace-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (file) call("/api/trace", await file.text());
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.tagName === "INPUT") return;
    if (event.key === "ArrowLeft") call("/api/back");
    if (event.key === "ArrowRight") call("/api/forward");
  });
  call("/api/state");
}

setup();
