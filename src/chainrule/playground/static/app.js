// The page's connection to the server, its tabs and its messages.
//
// One WebSocket per page: the server owns this page's training session. Every request is
// {"type": ..., ...}; the replies are dispatched by their "type" to the tab that draws them.

import * as network from "./network.js";
import * as descent from "./descent.js";
import * as graph from "./graph.js";

const $ = (id) => document.getElementById(id);
let socket = null;
let everConnected = false;
let messageTimer = null;

export function send(request) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(request));
}

export function showMessage(text) {
  $("message-text").textContent = text;
  $("message").hidden = false;
  clearTimeout(messageTimer);
  messageTimer = setTimeout(hideMessage, 10000);
}

export function hideMessage() {
  $("message").hidden = true;
}

const handlers = {
  hello: (m) => {
    network.setup(m.options, m.settings, everConnected);
    descent.setup(m.options);
    graph.setup();
    everConnected = true;
  },
  settings: (m) => network.applySettings(m.settings),
  data: (m) => network.setData(m),
  frame: (m) => network.drawFrame(m),
  hessian: (m) => network.showHessian(m),
  landscape: (m) => network.showLandscape(m),
  surface: (m) => descent.showSurface(m),
  race: (m) => descent.showRace(m),
  graph: (m) => graph.showGraph(m),
  error: (m) => {
    if (m.settings) network.applySettings(m.settings);
    if (m.request === "graph") graph.showError(m.message);
    else showMessage(m.message);
    network.requestDone(m.request);
    descent.requestDone(m.request);
  },
};

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  // ?seed=N in the page's address makes its weights and mini-batches repeatable
  const seed = new URLSearchParams(location.search).get("seed");
  const query = seed === null ? "" : `?seed=${encodeURIComponent(seed)}`;
  socket = new WebSocket(`${scheme}://${location.host}/ws${query}`);
  socket.onopen = () => {
    $("status").textContent = "connected";
    $("status").className = "status live";
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    const handler = handlers[message.type];
    if (handler) handler(message);
  };
  socket.onclose = () => {
    $("status").textContent = "disconnected: reconnecting…";
    $("status").className = "status down";
    setTimeout(connect, 1500);
  };
}

function showTab(name) {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.classList.toggle("active", tab.dataset.tab === name);
  }
  for (const panel of document.querySelectorAll(".panel")) {
    panel.classList.toggle("active", panel.id === name);
  }
  if (name === "descent") descent.shown();
  if (name === "graph") graph.shown();
}

window.addEventListener("DOMContentLoaded", () => {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => showTab(tab.dataset.tab));
  }
  $("message-close").addEventListener("click", hideMessage);
  connect();
});
