// Drawing helpers shared by the tabs: packed pictures, colour maps, number formats.

export const ORANGE = [245, 147, 34];
export const BLUE = [8, 119, 189];
export const GREEN = [58, 157, 93];
export const MID = [232, 234, 235];
export const CLASS_COLOURS = [ORANGE, BLUE, GREEN];

// The inverse of protocol.pack: base64 bytes b -> b / 127.5 - 1 in [-1, 1].
export function unpack(text) {
  const raw = atob(text);
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i) / 127.5 - 1;
  return out;
}

const mix = (a, b, t) => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t,
                          a[2] + (b[2] - a[2]) * t];

// Orange for negative values, grey-white at 0, blue for positive ones.
export function diverging(v, strength = 1) {
  const t = Math.min(Math.abs(v), 1) * strength;
  return mix(MID, v < 0 ? ORANGE : BLUE, t);
}

// A perceptual sequential map (viridis, by five stops) for t in [0, 1].
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
export function sequential(t) {
  const x = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  return mix(VIRIDIS[i], VIRIDIS[i + 1], x - i);
}

// Paint a size x size grid (row 0 at the top) into (x, y, w, h) of ctx, colour(i) per cell.
export function paintGrid(ctx, size, colour, x, y, w, h, smooth = true) {
  const off = document.createElement("canvas");
  off.width = size;
  off.height = size;
  const octx = off.getContext("2d");
  const image = octx.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const c = colour(i);
    image.data[4 * i] = c[0];
    image.data[4 * i + 1] = c[1];
    image.data[4 * i + 2] = c[2];
    image.data[4 * i + 3] = 255;
  }
  octx.putImageData(image, 0, 0);
  ctx.save();
  ctx.imageSmoothingEnabled = smooth;
  ctx.drawImage(off, x, y, w, h);
  ctx.restore();
}

// A class map from packed maps: one map (2p - 1, two classes) or one per class.
export function classColour(maps) {
  if (maps.length === 1) return (i) => diverging(maps[0][i], 0.8);
  const k = maps.length;
  return (i) => {
    let best = 0;
    let rgb = [0, 0, 0];
    for (let c = 0; c < k; c++) {
      const p = (maps[c][i] + 1) / 2;
      best = Math.max(best, p);
      rgb = [rgb[0] + p * CLASS_COLOURS[c][0], rgb[1] + p * CLASS_COLOURS[c][1],
             rgb[2] + p * CLASS_COLOURS[c][2]];
    }
    return mix(MID, rgb, Math.max(0, (best - 1 / k) / (1 - 1 / k)) * 0.8);
  };
}

export function css(rgb, alpha = 1) {
  return `rgba(${rgb[0] | 0}, ${rgb[1] | 0}, ${rgb[2] | 0}, ${alpha})`;
}

// Short numbers for the page: 3 significant digits, exponent form when tiny or huge.
export function fmt(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toString();
}

export function clear(canvas) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  return ctx;
}
