// The map's points drawn by the CPU: each point stamped into the frame's pixels (alpha-blended, in draw order) by a
// plain loop over the typed-array columns, then put back in one putImageData. Where WebGL is software (SwiftShader,
// llvmpipe: no GPU, as on a headless server) it pays about half a microsecond a point just to set a point up, so
// 400,000 points cost 250 ms a frame there; this loop costs about 20 ms. The same interface as scatter.js's
// PointLayer, so the map does not care which one draws.

const FADE = 0.18; // unselected points' share of their opacity while a selection is shown

/** Pixel offsets (x, y) of a point stamp `k` device pixels wide: a square up to 3 px, a disc above. */
function stamp(k) {
  const out = [], r = k / 2;
  for (let dy = 0; dy < k; dy++) {
    for (let dx = 0; dx < k; dx++) {
      if (k <= 3 || (dx + 0.5 - r) ** 2 + (dy + 0.5 - r) ** 2 <= r * r + 0.25) out.push([dx, dy]);
    }
  }
  return out;
}

export class SplatLayer {
  constructor() {
    this.n = 0;
    this.values = null;
    this.picked = null;
    this.stamps = new Map();
  }

  setPoints(xs, ys, codes) {
    this.n = xs.length;
    this.xs = xs;
    this.ys = ys;
    this.codes = codes;
    this.values = null;
    this.picked = null;
  }

  setValues(bytes) {
    this.values = bytes;
  }

  setPicked(mask) {
    this.picked = mask;
  }

  setPalette(rgba) {
    this.palette = rgba;
  }

  setRamp(rgba) {
    this.ramp = rgba;
  }

  /**
   * Stamp every point into frame.canvas (a 2D canvas, its axes already drawn) inside frame.rect ([x, y, w, h], device
   * pixels): xf maps data to the rect's clip space ([-1, 1] both ways); size in device pixels.
   */
  draw(xf, size, opacity, frame) {
    const [rx, ry, W, H] = frame.rect.map(Math.round);
    if (!this.n || W < 1 || H < 1) return;
    const g = frame.canvas.getContext("2d", { willReadFrequently: true });
    const img = g.getImageData(rx, ry, W, H), d = img.data;
    const k = Math.max(1, Math.round(size)), half = k / 2;
    if (!this.stamps.has(k)) this.stamps.set(k, stamp(k));
    const pix = this.stamps.get(k), offs = pix.map(([dx, dy]) => dx + dy * W);
    const [sx, sy, tx, ty] = xf;
    const ax = (sx * W) / 2, bx = ((tx + 1) * W) / 2 - half + 0.5, ay = (-sy * H) / 2, by = ((1 - ty) * H) / 2 - half + 0.5;
    const { xs, ys, codes, values, picked, palette } = this, colours = values ? this.ramp : palette;
    const full = Math.round(opacity * 256), faded = Math.round(opacity * FADE * 256);
    for (let i = 0; i < this.n; i++) {
      const code = codes[i];
      if (palette[code * 4 + 3] === 0) continue; // a hidden emotion
      const u = Math.floor(xs[i] * ax + bx), v = Math.floor(ys[i] * ay + by);
      if (!(u > -k && v > -k && u < W && v < H)) continue; // off the frame, or not a number
      const c = (values ? values[i] : code) * 4, r = colours[c], gr = colours[c + 1], b = colours[c + 2];
      const a = picked && !picked[i] ? faded : full;
      const edge = k > 1 && (u < 0 || v < 0 || u + k > W || v + k > H); // a 1 px stamp never straddles it
      const base = v * W + u;
      for (let s = 0; s < offs.length; s++) {
        if (edge) {
          const px = u + pix[s][0], py = v + pix[s][1];
          if (px < 0 || py < 0 || px >= W || py >= H) continue;
        }
        const j = (base + offs[s]) * 4;
        d[j] += ((r - d[j]) * a) >> 8;
        d[j + 1] += ((gr - d[j + 1]) * a) >> 8;
        d[j + 2] += ((b - d[j + 2]) * a) >> 8;
      }
    }
    g.putImageData(img, rx, ry);
  }
}
