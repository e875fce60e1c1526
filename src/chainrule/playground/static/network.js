// The network tab: controls, and the frames the server sends while it trains.

import { send, showMessage } from "./app.js";
import {
  CLASS_COLOURS, clear, classColour, css, diverging, fmt, paintGrid, sequential, unpack,
} from "./draw.js";

const $ = (id) => document.getElementById(id);
const EXTENT = 6; // the plane is [-6, 6]^2
const SPEEDS = [1, 2, 5, 10, 20, 50, 100, 200, 500];
const LABELS = {
  cross_entropy: "cross-entropy", mse: "MSE", hinge: "hinge", sgd: "SGD", momentum: "Momentum",
  nesterov: "Nesterov", adagrad: "Adagrad", rmsprop: "RMSprop", adadelta: "Adadelta",
  adam: "Adam", adamw: "AdamW", piecewise_linear: "piecewise linear", leaky_relu: "leaky ReLU",
  relu: "ReLU", elu: "ELU", gelu: "GELU", log_softmax: "log-softmax", logsigmoid: "log-sigmoid",
};

const state = { options: null, settings: null, data: null, frame: null, built: false, said: null };

function fill(select, values) {
  select.replaceChildren(...values.map((v) => {
    const option = document.createElement("option");
    option.value = String(v);
    option.textContent = LABELS[v] || String(v);
    return option;
  }));
}

function change(settings) {
  send({ type: "settings", settings });
}

function build(options) {
  fill($("activation"), options.activations);
  fill($("loss"), options.losses);
  fill($("optimizer"), options.optimizers);
  fill($("steps_per_frame"), SPEEDS);
  $("datasets").replaceChildren(...options.datasets.map((name) => {
    const button = document.createElement("button");
    button.textContent = name;
    button.dataset.dataset = name;
    button.id = `dataset-${name}`;
    button.addEventListener("click", () => change({ dataset: name }));
    return button;
  }));
  $("features").replaceChildren(...options.features.map((name) => {
    const label = document.createElement("label");
    label.dataset.feature = name;
    label.textContent = name;
    label.addEventListener("click", () => {
      const chosen = new Set(state.settings.features);
      if (chosen.has(name)) chosen.delete(name); else chosen.add(name);
      change({ features: options.features.filter((f) => chosen.has(f)) });
    });
    return label;
  }));
  for (const element of document.querySelectorAll("#network [data-setting]")) {
    const key = element.dataset.setting;
    if (element.type === "range") {
      element.addEventListener("input", () => { $(`${key}-value`).textContent = element.value; });
    }
    element.addEventListener("change", () => {
      change({ [key]: element.type === "checkbox" ? element.checked : element.value });
    });
  }
  $("play").addEventListener("click", () => send({ type: state.frame?.running ? "pause" : "play" }));
  $("step").addEventListener("click", () => send({ type: "step" }));
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  $("new-data").addEventListener("click", () => send({ type: "new_data" }));
  $("add-layer").addEventListener("click", () => {
    const hidden = state.settings.hidden;
    change({ hidden: [...hidden, hidden.length ? hidden[hidden.length - 1] : 4] });
  });
  $("remove-layer").addEventListener("click", () => {
    change({ hidden: state.settings.hidden.slice(0, -1) });
  });
  $("show-test").addEventListener("change", drawBoundary);
  $("hessian-button").addEventListener("click", () => {
    $("hessian-button").disabled = true;
    $("hessian-result").textContent = "computing…";
    send({ type: "hessian", k: 3 });
  });
  $("landscape-button").addEventListener("click", () => {
    $("landscape-button").disabled = true;
    $("landscape-result").textContent = "computing…";
    send({ type: "landscape", steps: 25, span: 1.0 });
  });
}

export function setup(options, settings, reconnect) {
  state.options = options;
  if (!state.built) {
    build(options);
    state.built = true;
  }
  if (reconnect && state.settings) change(state.settings); // a new session: restore ours
  else applySettings(settings);
}

// ---- settings -> controls -------------------------------------------------------------------
export function applySettings(settings) {
  state.settings = settings;
  for (const element of document.querySelectorAll("#network [data-setting]")) {
    const value = settings[element.dataset.setting];
    if (element.type === "checkbox") element.checked = Boolean(value);
    else element.value = String(value);
    if (element.type === "range") $(`${element.dataset.setting}-value`).textContent = value;
  }
  for (const button of $("datasets").children) {
    button.classList.toggle("active", button.dataset.dataset === settings.dataset);
  }
  for (const label of $("features").children) {
    label.classList.toggle("active", settings.features.includes(label.dataset.feature));
  }
  for (const label of $("hyper").querySelectorAll("label")) {
    label.hidden = !label.dataset.for.split(" ").includes(settings.optimizer);
  }
  const layers = settings.hidden.length;
  $("layer-count").textContent = String(layers);
  $("add-layer").disabled = layers >= state.options.max_layers;
  $("remove-layer").disabled = layers === 0;
  layoutNeuronButtons();
}

function layoutNeuronButtons() {
  const hidden = state.settings.hidden;
  const sizes = layerSizes();
  const row = $("neuron-buttons");
  row.replaceChildren(...hidden.map((n, i) => {
    const box = document.createElement("div");
    box.style.left = `${columnX(i + 1, sizes.length)}px`;
    const minus = document.createElement("button");
    minus.className = "mini";
    minus.textContent = "−";
    minus.disabled = n <= 1;
    minus.addEventListener("click", () => change({ hidden: hidden.map((m, j) => (j === i ? m - 1 : m)) }));
    const plus = document.createElement("button");
    plus.className = "mini";
    plus.textContent = "+";
    plus.disabled = n >= state.options.max_neurons;
    plus.addEventListener("click", () => change({ hidden: hidden.map((m, j) => (j === i ? m + 1 : m)) }));
    const count = document.createElement("span");
    count.textContent = String(n);
    count.title = `${n} neuron${n === 1 ? "" : "s"} in hidden layer ${i + 1}`;
    box.append(minus, count, plus);
    return box;
  }));
}

// ---- data and frames ------------------------------------------------------------------------
export function setData(data) {
  state.data = data;
  drawBoundary();
}

export function drawFrame(frame) {
  state.frame = frame;
  $("epoch").textContent = String(frame.epoch);
  $("step-count").textContent = String(frame.step);
  $("test-loss").textContent = frame.test_loss === null ? "diverged" : frame.test_loss.toFixed(3);
  $("train-loss").textContent = frame.train_loss === null ? "diverged" : frame.train_loss.toFixed(3);
  $("test-accuracy").textContent = frame.test_accuracy === null ? "—"
    : `${(100 * frame.test_accuracy).toFixed(1)}%`;
  $("play").textContent = frame.running ? "❚❚" : "▶";
  $("play").title = frame.running ? "pause" : "train";
  $("param-count").textContent = `${frame.parameters} parameters`;
  if (frame.message && frame.message !== state.said) showMessage(frame.message);
  state.said = frame.message;
  drawCurves(frame.history);
  drawBoundary();
  drawNetwork(frame.view);
  drawGradNorms(frame.grad_norms);
}

function drawCurves(history) {
  const canvas = $("curves");
  const ctx = clear(canvas);
  const W = canvas.width;
  const H = canvas.height;
  ctx.fillStyle = "#f7f9fa";
  ctx.fillRect(0, 0, W, H);
  const values = history.flatMap((p) => [p[1], p[2]]).filter((v) => v !== null);
  if (history.length < 2 || !values.length) return;
  const top = Math.max(...values) * 1.05 || 1;
  const first = history[0][0];
  const last = history[history.length - 1][0] || 1;
  const x = (s) => 4 + ((s - first) / Math.max(last - first, 1)) * (W - 8);
  const y = (v) => H - 4 - (v / top) * (H - 16);
  for (const [column, colour] of [[1, "#9aa7b2"], [2, "#1f2a33"]]) {
    ctx.beginPath();
    let started = false;
    for (const p of history) {
      if (p[column] === null) continue;
      if (started) ctx.lineTo(x(p[0]), y(p[column]));
      else ctx.moveTo(x(p[0]), y(p[column]));
      started = true;
    }
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.6;
    ctx.stroke();
  }
  ctx.fillStyle = "#66737f";
  ctx.font = "10px system-ui, sans-serif";
  ctx.fillText(fmt(top), 4, 10);
}

function drawBoundary() {
  const canvas = $("boundary");
  const ctx = clear(canvas);
  const W = canvas.width;
  const H = canvas.height;
  const view = state.frame?.view;
  if (view) {
    const maps = view.boundary.map(unpack);
    paintGrid(ctx, view.grid, classColour(maps), 0, 0, W, H);
  }
  ctx.strokeStyle = "rgba(0, 0, 0, 0.12)";
  ctx.beginPath();
  ctx.moveTo(W / 2, 0); ctx.lineTo(W / 2, H); ctx.moveTo(0, H / 2); ctx.lineTo(W, H / 2);
  ctx.stroke();
  if (!state.data) return;
  const px = (v) => ((v + EXTENT) / (2 * EXTENT)) * W;
  const py = (v) => ((EXTENT - v) / (2 * EXTENT)) * H;
  const sets = [[state.data.train, "#ffffff"]];
  if ($("show-test").checked) sets.push([state.data.test, "#1f2a33"]);
  for (const [points, edge] of sets) {
    for (const [x1, x2, label] of points) {
      ctx.beginPath();
      ctx.arc(px(x1), py(x2), 3.6, 0, 2 * Math.PI);
      ctx.fillStyle = css(CLASS_COLOURS[label]);
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = edge;
      ctx.stroke();
    }
  }
}

// ---- the network diagram --------------------------------------------------------------------
let NODE = 40; // the side of a neuron's picture: as large as the tallest layer allows
const MARGIN_LEFT = 70;
const MARGIN_RIGHT = 30;

function layerSizes() {
  const classes = state.data ? state.data.classes : 2;
  return [state.settings.features.length, ...state.settings.hidden, classes === 2 ? 1 : classes];
}

function columnX(i, n) {
  const width = $("network-canvas").width;
  return MARGIN_LEFT + 26 + (i * (width - MARGIN_LEFT - MARGIN_RIGHT - 52)) / (n - 1);
}

function rowY(j, count, height) {
  return height / 2 + (j - (count - 1) / 2) * (NODE + 12);
}

function drawNetwork(view) {
  const canvas = $("network-canvas");
  const ctx = clear(canvas);
  const H = canvas.height;
  const n = view.layers.length;
  NODE = Math.max(24, Math.min(52, Math.floor((H - 50) / Math.max(...view.layers)) - 12));
  const at = (l, j) => [columnX(l, n), rowY(j, view.layers[l], H)];
  for (let l = 0; l < n - 1; l++) {
    const weights = view.weights[l];
    for (let i = 0; i < view.layers[l + 1]; i++) {
      for (let j = 0; j < view.layers[l]; j++) {
        const w = weights[i][j];
        const [x1, y1] = at(l, j);
        const [x2, y2] = at(l + 1, i);
        const xa = x1 + NODE / 2;
        const xb = x2 - NODE / 2;
        ctx.beginPath();
        ctx.moveTo(xa, y1);
        ctx.bezierCurveTo((xa + xb) / 2, y1, (xa + xb) / 2, y2, xb, y2);
        ctx.lineWidth = Math.min(Math.max(Math.abs(w) * 1.6, 0.3), 7);
        ctx.strokeStyle = css(diverging(w === null ? 0 : Math.sign(w)), 0.25 + 0.6 * Math.min(Math.abs(w), 1));
        ctx.stroke();
      }
    }
  }
  const side = view.grid / 2;
  ctx.font = "12px ui-monospace, Menlo, Consolas, monospace";
  ctx.textBaseline = "middle";
  for (let l = 0; l < n; l++) {
    for (let j = 0; j < view.layers[l]; j++) {
      const [x, y] = at(l, j);
      const values = unpack(view.pictures[l][j]);
      paintGrid(ctx, side, (i) => diverging(values[i]), x - NODE / 2, y - NODE / 2, NODE, NODE);
      ctx.strokeStyle = l === n - 1 ? "#183d4e" : "#9aa7b2";
      ctx.lineWidth = l === n - 1 ? 2 : 1;
      ctx.strokeRect(x - NODE / 2 + 0.5, y - NODE / 2 + 0.5, NODE - 1, NODE - 1);
      if (l === 0) {
        ctx.fillStyle = "#1f2a33";
        ctx.textAlign = "right";
        ctx.fillText(view.features[j], x - NODE / 2 - 8, y);
      }
    }
  }
  ctx.textAlign = "center";
  ctx.fillStyle = "#66737f";
  ctx.font = "11px system-ui, sans-serif";
  const bottom = rowY(view.layers[0] - 1, view.layers[0], H) + NODE / 2 + 14;
  ctx.fillText("features", columnX(0, n), Math.min(bottom, H - 8));
  const out = rowY(view.layers[n - 1] - 1, view.layers[n - 1], H) + NODE / 2 + 14;
  ctx.fillText("output", columnX(n - 1, n), Math.min(out, H - 8));
}

function drawGradNorms(norms) {
  const top = Math.max(...norms, 1e-12);
  const cells = [];
  norms.forEach((v, i) => {
    const name = document.createElement("span");
    name.textContent = i === norms.length - 1 ? "output" : `layer ${i + 1}`;
    const track = document.createElement("span");
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = `${(100 * v) / top}%`;
    track.append(bar);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = fmt(v);
    cells.push(name, track, value);
  });
  $("grad-norms").replaceChildren(...cells);
}

// ---- on demand: Hessian and landscape ------------------------------------------------------
export function requestDone(request) {
  if (request === "hessian") $("hessian-button").disabled = false;
  if (request === "landscape") $("landscape-button").disabled = false;
}

export function showHessian(m) {
  requestDone("hessian");
  const scale = Math.max(Math.abs(m.largest[0]), 1e-12);
  const verdict = m.smallest < -0.01 * scale
    ? "a clearly negative eigenvalue: the loss curves down along some direction (a saddle)"
    : "no clearly negative eigenvalue: locally convex, as near a minimum";
  $("hessian-result").innerHTML =
    `largest λ: <b>${m.largest.map((v) => fmt(v)).join(", ")}</b><br>` +
    `smallest λ: <b>${fmt(m.smallest)}</b><br>${verdict}.<br>` +
    `${m.parameters} parameters, at step ${m.step} (${m.seconds.toFixed(2)} s).`;
}

export function showLandscape(m) {
  requestDone("landscape");
  const canvas = $("landscape-canvas");
  canvas.hidden = false;
  const ctx = clear(canvas);
  const size = m.alphas.length;
  const flat = m.losses.flat().filter((v) => v !== null);
  const low = Math.min(...flat);
  const high = Math.max(...flat);
  const scale = Math.log1p(high - low) || 1;
  // cell (row r from the top, column c) is alpha = alphas[c], beta = betas[size - 1 - r]
  paintGrid(ctx, size, (i) => {
    const r = Math.floor(i / size);
    const c = i % size;
    const v = m.losses[c][size - 1 - r];
    return v === null ? [255, 255, 255] : sequential(Math.log1p(v - low) / scale);
  }, 0, 0, canvas.width, canvas.height);
  const cx = canvas.width / 2;
  const cy = canvas.height / 2;
  ctx.strokeStyle = "#ffffff";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(cx - 7, cy); ctx.lineTo(cx + 7, cy); ctx.moveTo(cx, cy - 7); ctx.lineTo(cx, cy + 7);
  ctx.stroke();
  const centre = m.losses[(size - 1) / 2]?.[(size - 1) / 2];
  $("landscape-result").innerHTML =
    `loss at the weights (+): <b>${fmt(centre)}</b>; over the window <b>${fmt(low)}</b> to ` +
    `<b>${fmt(high)}</b> (dark: low). Step ${m.step}; α, β in [${m.alphas[0]}, ` +
    `${m.alphas[size - 1]}] along filter-normalised random directions.`;
}
