// The descent tab: a loss surface with contour bands, and optimisers racing over it.

import { send } from "./app.js";
import { clear, fmt, sequential, unpack } from "./draw.js";

const $ = (id) => document.getElementById(id);
const COLOURS = {
  sgd: "#d62728", momentum: "#2ca02c", nesterov: "#17becf", adagrad: "#9467bd",
  rmsprop: "#ff7f0e", adadelta: "#8c564b", adam: "#1f77b4", adamw: "#e377c2",
};
const NAMES = {
  sgd: "SGD", momentum: "Momentum", nesterov: "Nesterov", adagrad: "Adagrad",
  rmsprop: "RMSprop", adadelta: "Adadelta", adam: "Adam", adamw: "AdamW",
};
const SURFACE_NAMES = {
  bowl: "bowl", elongated: "elongated bowl", saddle: "saddle", rosenbrock: "Rosenbrock",
  beale: "Beale", network: "the network's loss",
};
const HINTS = {
  bowl: "The decks' bowl (w1 − 3)² + (w2 − 2)²: every method reaches the minimum (3, 2). " +
    "The adaptive ones (Adagrad, RMSprop, Adam) take steps of about their learning rate " +
    "whatever the size of the gradient, so they head for the minimum at an angle.",
  elongated: "Twenty times steeper across than along: plain gradient descent zig-zags across " +
    "the valley (its learning rate is limited by the steep direction) and crawls along it; " +
    "momentum builds up speed along the valley; RMSprop and Adam rescale each direction.",
  saddle: "w1² − w2² has no minimum. Starting almost on the ridge (w2 = 0.001), the gradient " +
    "along w2 is tiny at first: methods that divide by the gradient's size (Adagrad, RMSprop, " +
    "Adam) leave the saddle at once, momentum accelerates down the slope, SGD lingers.",
  rosenbrock: "A curved valley with a flat floor: SGD crawls, momentum and Nesterov overshoot " +
    "across the valley before following it to (1, 1), Adam follows its floor.",
  beale: "Flat plateaus and a narrow curved valley down to (3, 0.5): tiny gradients on the " +
    "plateaus stall SGD, the adaptive methods keep moving.",
  network: "The network tab's own training loss around its current weights (the centre), " +
    "along two random directions: a real loss surface, rarely a bowl. Its steepness depends " +
    "on the network: if a path leaves the window, lower that optimiser's learning rate. " +
    "Train the network, then pick this surface again to see it around the new weights.",
};
const BANDS = 16;

const state = { built: false, surface: null, start: null, paths: null, background: null, animation: 0 };

export function setup(options) {
  if (state.built) return;
  state.built = true;
  const select = $("surface");
  select.replaceChildren(...options.surfaces.map((name) => {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = SURFACE_NAMES[name] || name;
    return option;
  }));
  select.value = "rosenbrock";
  select.addEventListener("change", () => send({ type: "surface", surface: select.value }));
  $("racers").replaceChildren(...options.optimizers.map((name) => {
    const row = document.createElement("tr");
    row.innerHTML =
      `<td><input type="checkbox" id="race-${name}" ${name === "adamw" ? "" : "checked"}></td>` +
      `<td><span class="swatch" style="background:${COLOURS[name]}"></span> ${NAMES[name]}</td>` +
      `<td><input id="race-lr-${name}" size="6" title="learning rate"></td>` +
      `<td class="final" id="race-final-${name}"></td>`;
    return row;
  }));
  $("race-button").addEventListener("click", race);
  $("surface-canvas").addEventListener("click", (event) => {
    if (!state.surface) return;
    const canvas = event.currentTarget;
    const box = canvas.getBoundingClientRect();
    const [[x0, x1], [y0, y1]] = state.surface.bounds;
    const px = ((event.clientX - box.left) / box.width) * canvas.width;
    const py = ((event.clientY - box.top) / box.height) * canvas.height;
    state.start = [x0 + (px / canvas.width) * (x1 - x0), y1 - (py / canvas.height) * (y1 - y0)];
    state.paths = null;
    draw(1);
  });
}

export function shown() {
  if (!state.surface) send({ type: "surface", surface: $("surface").value });
}

export function requestDone(request) {
  if (request === "race") {
    $("race-button").disabled = false;
    $("race-button").textContent = "Race";
  }
}

function race() {
  if (!state.surface) return;
  const optimizers = {};
  for (const name of Object.keys(NAMES)) {
    if ($(`race-${name}`)?.checked) optimizers[name] = $(`race-lr-${name}`).value;
  }
  $("race-button").disabled = true;
  $("race-button").textContent = "racing…";
  send({ type: "race", surface: state.surface.surface, start: state.start,
         steps: $("race-steps").value, optimizers });
}

function paintSurface(surface) {
  // Bilinear interpolation of the grid to every pixel, banded; band edges are contour lines.
  const canvas = $("surface-canvas");
  const W = canvas.width;
  const H = canvas.height;
  const n = surface.grid;
  const values = unpack(surface.values);
  const t = (r, c) => (values[r * n + c] + 1) / 2;
  const level = new Float32Array(W * H);
  for (let py = 0; py < H; py++) {
    const gy = (py / (H - 1)) * (n - 1);
    const r = Math.min(Math.floor(gy), n - 2);
    const fy = gy - r;
    for (let px = 0; px < W; px++) {
      const gx = (px / (W - 1)) * (n - 1);
      const c = Math.min(Math.floor(gx), n - 2);
      const fx = gx - c;
      level[py * W + px] = (1 - fy) * ((1 - fx) * t(r, c) + fx * t(r, c + 1))
        + fy * ((1 - fx) * t(r + 1, c) + fx * t(r + 1, c + 1));
    }
  }
  const image = new ImageData(W, H);
  for (let i = 0; i < W * H; i++) {
    const band = Math.min(Math.floor(level[i] * BANDS), BANDS - 1);
    const right = i % W < W - 1 ? Math.min(Math.floor(level[i + 1] * BANDS), BANDS - 1) : band;
    const below = i + W < W * H ? Math.min(Math.floor(level[i + W] * BANDS), BANDS - 1) : band;
    const base = sequential(0.15 + (0.85 * band) / (BANDS - 1));
    const edge = band !== right || band !== below;
    const lift = edge ? 0.35 : 0.55; // lighter fill, darker contour lines
    image.data[4 * i] = base[0] + (255 - base[0]) * lift;
    image.data[4 * i + 1] = base[1] + (255 - base[1]) * lift;
    image.data[4 * i + 2] = base[2] + (255 - base[2]) * lift;
    image.data[4 * i + 3] = 255;
  }
  state.background = image;
}

export function showSurface(m) {
  state.surface = m;
  state.start = m.start;
  state.paths = null;
  $("surface").value = m.surface;
  $("surface-formula").textContent = m.formula;
  $("surface-hint").textContent = HINTS[m.surface] || "";
  $("race-steps").value = String(m.steps);
  for (const [name, lr] of Object.entries(m.lrs)) {
    if ($(`race-lr-${name}`)) $(`race-lr-${name}`).value = String(lr);
    if ($(`race-final-${name}`)) $(`race-final-${name}`).textContent = "";
  }
  paintSurface(m);
  draw(1);
}

export function showRace(m) {
  requestDone("race");
  if (m.view) {
    state.surface = m.view;
    paintSurface(m.view);
  }
  state.paths = m.paths;
  for (const name of Object.keys(NAMES)) {
    const cell = $(`race-final-${name}`);
    if (!cell) continue;
    const end = m.final[name];
    cell.textContent = !end ? "" : end.diverged ? "diverged"
      : `f = ${fmt(end.value)} at (${fmt(end.point[0])}, ${fmt(end.point[1])})`;
  }
  const began = performance.now();
  const duration = 2500;
  const animation = ++state.animation;
  const tick = (now) => {
    if (animation !== state.animation) return;
    const progress = Math.min((now - began) / duration, 1);
    draw(progress);
    if (progress < 1) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

function draw(progress) {
  const canvas = $("surface-canvas");
  const ctx = clear(canvas);
  if (!state.surface || !state.background) return;
  ctx.putImageData(state.background, 0, 0);
  const W = canvas.width;
  const H = canvas.height;
  const [[x0, x1], [y0, y1]] = state.surface.bounds;
  const px = (x) => ((x - x0) / (x1 - x0)) * W;
  const py = (y) => ((y1 - y) / (y1 - y0)) * H;
  ctx.fillStyle = "#1f2a33";
  ctx.font = "11px system-ui, sans-serif";
  const [u, v] = state.surface.surface === "network" ? ["α", "β"] : ["w1", "w2"];
  ctx.fillText(`${u} ∈ [${x0}, ${x1}], ${v} ∈ [${y0}, ${y1}]`, 8, H - 8);
  if (state.surface.minimum) {
    const [mx, my] = state.surface.minimum;
    ctx.fillStyle = "#ffffff";
    ctx.strokeStyle = "#1f2a33";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    for (let k = 0; k < 10; k++) {
      const r = k % 2 ? 4 : 10;
      const a = (Math.PI * k) / 5 - Math.PI / 2;
      ctx.lineTo(px(mx) + r * Math.cos(a), py(my) + r * Math.sin(a));
    }
    ctx.closePath();
    ctx.fill();
    ctx.stroke();
  }
  if (state.paths) {
    const longest = Math.max(...Object.values(state.paths).map((p) => p.length));
    const upto = Math.max(1, Math.round(progress * longest));
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, 0, W, H);
    ctx.clip();
    // A diverging path is drawn until it is far outside the window (huge coordinates
    // would make the canvas draw garbage).
    const far = (x, y) => Math.abs(px(x)) > 20 * W || Math.abs(py(y)) > 20 * H;
    for (const [name, path] of Object.entries(state.paths)) {
      const shown = [];
      for (const point of path.slice(0, upto)) {
        shown.push(point);
        if (far(point[0], point[1])) break;
      }
      ctx.beginPath();
      shown.forEach(([x, y], i) => (i ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
      ctx.strokeStyle = COLOURS[name];
      ctx.lineWidth = 2.2;
      ctx.stroke();
      const [ex, ey] = shown[shown.length - 1];
      if (far(ex, ey)) continue;
      ctx.beginPath();
      ctx.arc(px(ex), py(ey), 4.5, 0, 2 * Math.PI);
      ctx.fillStyle = COLOURS[name];
      ctx.fill();
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 1.2;
      ctx.stroke();
    }
    ctx.restore();
  }
  if (state.start) {
    ctx.beginPath();
    ctx.arc(px(state.start[0]), py(state.start[1]), 6, 0, 2 * Math.PI);
    ctx.fillStyle = "#ffffff";
    ctx.fill();
    ctx.strokeStyle = "#1f2a33";
    ctx.lineWidth = 2;
    ctx.stroke();
  }
}
