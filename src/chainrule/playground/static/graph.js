// The graph tab: an expression's computational graph, forward values, and backward node by node.

import { send } from "./app.js";
import { fmt } from "./draw.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const BOX_W = 104;
const BOX_H = 60;
const FILL = { leaf: "#fde2b8", constant: "#ffffff", op: "#dbe9f6", output: "#cdebc5" };

// The decks' worked example (SPEC section 5): L = 8, gradients 8, 8, 16, -4.
const state = {
  built: false, graph: null, expression: null, revealed: 0,
  values: { a: 1, b: 2, w: 2, t: 4 },
};

export function setup() {
  if (state.built) return;
  state.built = true;
  $("graph-evaluate").addEventListener("click", evaluate);
  $("expression").addEventListener("keydown", (event) => { if (event.key === "Enter") evaluate(); });
  $("graph-step").addEventListener("click", () => reveal(state.revealed + 1));
  $("graph-all").addEventListener("click", () => reveal(Infinity));
}

export function shown() {
  if (!state.graph) evaluate();
}

function evaluate() {
  const expression = $("expression").value;
  send({ type: "graph", expression, values: state.values });
}

export function showError(message) {
  $("graph-error").textContent = message;
  $("graph-error").hidden = false;
}

const order = () => state.graph.backward.filter((id) => state.graph.nodes[id].kind !== "constant");
const name = (node) => (node.kind === "leaf" ? node.label : `v${node.id}`);

export function showGraph(m) {
  $("graph-error").hidden = true;
  const sameExpression = m.expression === state.expression;
  state.graph = m;
  state.expression = m.expression;
  if (!sameExpression) state.revealed = 0;
  for (const leaf of m.leaves) {
    const node = m.nodes.find((n) => n.kind === "leaf" && n.label === leaf);
    state.values[leaf] = node.value;
  }
  buildLeaves();
  reveal(state.revealed);
}

function buildLeaves() {
  const head = document.createElement("tr");
  head.innerHTML = "<th>leaf</th><th>value</th><th>dL/d leaf</th>";
  const rows = state.graph.leaves.map((leaf) => {
    const row = document.createElement("tr");
    const nameCell = document.createElement("td");
    nameCell.textContent = leaf;
    const valueCell = document.createElement("td");
    const input = document.createElement("input");
    input.id = `value-${leaf}`;
    input.value = String(state.values[leaf]);
    input.addEventListener("change", () => {
      state.values[leaf] = input.value;
      evaluate();
    });
    valueCell.append(input);
    const gradCell = document.createElement("td");
    gradCell.className = "grad";
    gradCell.id = `grad-${leaf}`;
    row.append(nameCell, valueCell, gradCell);
    return row;
  });
  $("leaves").replaceChildren(head, ...rows);
}

function reveal(count) {
  const g = state.graph;
  if (!g) return;
  const steps = order();
  state.revealed = Math.min(count, steps.length);
  const shown = new Set(steps.slice(0, state.revealed));
  for (const leaf of g.leaves) {
    const node = g.nodes.find((n) => n.kind === "leaf" && n.label === leaf);
    $(`grad-${leaf}`).textContent = shown.has(node.id) ? fmt(node.grad, 6) : "?";
  }
  const current = state.revealed ? steps[state.revealed - 1] : null;
  $("chain").textContent = current === null ? "Forward pass done: every node holds its value. " +
    "Press “Backward step” to send dL/dL = 1 back through the graph." : chainText(current);
  $("graph-step").disabled = state.revealed >= steps.length;
  $("graph-output").textContent = `L = ${fmt(g.value, 6)} · backward: ${state.revealed} of ` +
    `${steps.length} nodes${g.warning ? ` · ${g.warning}` : ""}`;
  drawGraph(shown, current);
}

function consumers(id) {
  const out = [];
  for (const v of state.graph.nodes) {
    v.inputs.forEach((u, p) => { if (u === id) out.push([v, v.local[p]]); });
  }
  return out;
}

function chainText(id) {
  const node = state.graph.nodes[id];
  if (id === state.graph.output) return `dL/d${name(node)} = 1 (the output itself)`;
  const terms = consumers(id);
  const symbolic = terms.map(([v]) => `dL/d${name(v)} · d${name(v)}/d${name(node)}`).join(" + ");
  const numeric = terms.map(([v, local]) => `${fmt(v.grad)} × ${fmt(local)}`).join(" + ");
  return `dL/d${name(node)} = ${symbolic}\n         = ${numeric}\n         = ${fmt(node.grad, 6)}`;
}

function element(tag, attributes, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function drawGraph(shown, current) {
  const g = state.graph;
  const svg = $("graph-svg");
  const columns = Math.max(...g.nodes.map((n) => n.column)) + 1;
  const rows = Math.max(...g.nodes.map((n) => n.row)) + 1;
  const colW = Math.max(BOX_W + 46, Math.min(170, 700 / columns));
  const rowH = BOX_H + 22;
  const width = Math.max(760, 40 + columns * colW);
  const height = Math.max(300, 30 + rows * rowH);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  const pos = (n) => [20 + n.column * colW, 20 + n.row * rowH];
  const defs = element("defs", {});
  const marker = element("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
    markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
  marker.append(element("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8795a1" }));
  defs.append(marker);
  const parts = [defs];
  for (const v of g.nodes) {
    v.inputs.forEach((u, p) => {
      const [xa, ya] = pos(g.nodes[u]);
      const [xb, yb] = pos(v);
      const x1 = xa + BOX_W;
      const y1 = ya + BOX_H / 2;
      const x2 = xb;
      const y2 = yb + BOX_H / 2 + (p - (v.inputs.length - 1) / 2) * 12;
      const hot = shown.has(v.id) && g.nodes[u].kind !== "constant";
      // An edge over several columns runs along the gap above the lower of its two rows.
      const long = v.column - g.nodes[u].column > 1;
      const gap = 20 + Math.max(g.nodes[u].row, v.row) * rowH - 11;
      const d = long
        ? `M ${x1} ${y1} C ${x1 + 24} ${y1}, ${x1 + 24} ${gap}, ${x1 + 40} ${gap} ` +
          `L ${x2 - 40} ${gap} C ${x2 - 24} ${gap}, ${x2 - 24} ${y2}, ${x2 - 2} ${y2}`
        : `M ${x1} ${y1} C ${(x1 + x2) / 2} ${y1}, ${(x1 + x2) / 2} ${y2}, ${x2 - 2} ${y2}`;
      parts.push(element("path", { d, class: `edge${hot && current === u ? " hot" : ""}`,
        "marker-end": "url(#arrow)" }));
      if (hot && v.local[p] !== null) {
        const [lx, ly] = long ? [x2 - 56, gap - 3] : [(x1 + x2) / 2, (y1 + y2) / 2 - 5];
        parts.push(element("text", { x: lx, y: ly, class: "local", "text-anchor": "middle" },
          `×${fmt(v.local[p])}`));
      }
    });
  }
  for (const n of g.nodes) {
    const [x, y] = pos(n);
    const kind = n.id === g.output ? "output" : n.kind;
    const group = element("g", { class: `node${n.id === current ? " current" : ""}`,
      id: `node-${n.id}` });
    group.append(element("rect", { x, y, width: BOX_W, height: BOX_H, rx: 8, fill: FILL[kind],
      stroke: "#8795a1", "stroke-dasharray": n.kind === "constant" ? "4 3" : "none" }));
    group.append(element("text", { x: x + 8, y: y + 19, class: "label" }, n.label));
    if (n.kind === "op") {
      group.append(element("text", { x: x + BOX_W - 8, y: y + 17, "text-anchor": "end",
        fill: "#66737f", "font-size": "10" }, name(n)));
    }
    group.append(element("text", { x: x + 8, y: y + 36 }, `= ${fmt(n.value, 5)}`));
    if (shown.has(n.id)) {
      group.append(element("text", { x: x + 8, y: y + 52, class: "grad" }, `∂ ${fmt(n.grad, 5)}`));
    }
    parts.push(group);
  }
  svg.replaceChildren(...parts);
}
