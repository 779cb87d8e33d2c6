// The map's coordinate frame: which part of the data plane the plot area shows, and the conversions between data
// coordinates and pixels (relative to the map's wrapper). Pan and zoom move the shown window; home is the window a
// view opens on (VA views: the unit disc with a margin, equal scales; projections: their points' extent).

const MARGIN = { l: 52, r: 12, t: 10, b: 40 }; // room for the ticks and axis titles

export class Viewport {
  constructor() {
    this.w = 1;
    this.h = 1;
    this.home = { x0: -1, x1: 1, y0: -1, y1: 1 };
    this.equal = true;
    this.win = { ...this.home };
  }

  /** The plot area inside the wrapper, in CSS pixels. */
  get plot() {
    return { x: MARGIN.l, y: MARGIN.t, w: Math.max(1, this.w - MARGIN.l - MARGIN.r),
             h: Math.max(1, this.h - MARGIN.t - MARGIN.b) };
  }

  resize(w, h) {
    const keep = this.win;
    this.w = Math.max(1, w);
    this.h = Math.max(1, h);
    this.win = this.fitted(keep);
  }

  /** Open on a window (equal: one data unit is as long on both axes). */
  setHome(win, equal) {
    this.equal = equal;
    this.home = win;
    this.win = this.fitted(win);
  }

  reset() {
    this.win = this.fitted(this.home);
  }

  /** The smallest window holding `win` whose scales are equal, when the view asks for equal scales. */
  fitted(win) {
    if (!this.equal) return { ...win };
    const p = this.plot, cx = (win.x0 + win.x1) / 2, cy = (win.y0 + win.y1) / 2;
    const k = Math.max((win.x1 - win.x0) / p.w, (win.y1 - win.y0) / p.h); // data units per pixel
    return { x0: cx - (k * p.w) / 2, x1: cx + (k * p.w) / 2, y0: cy - (k * p.h) / 2, y1: cy + (k * p.h) / 2 };
  }

  /** Pixels per data unit along x and y. */
  get scale() {
    const p = this.plot, w = this.win;
    return [p.w / (w.x1 - w.x0), p.h / (w.y1 - w.y0)];
  }

  toPixel(x, y) {
    const p = this.plot, w = this.win, [kx, ky] = this.scale;
    return [p.x + (x - w.x0) * kx, p.y + (w.y1 - y) * ky];
  }

  toData(px, py) {
    const p = this.plot, w = this.win, [kx, ky] = this.scale;
    return [w.x0 + (px - p.x) / kx, w.y1 - (py - p.y) / ky];
  }

  inPlot(px, py) {
    const p = this.plot;
    return px >= p.x && px <= p.x + p.w && py >= p.y && py <= p.y + p.h;
  }

  /** Zoom by `factor` (> 1: in) keeping the data point under pixel (px, py) where it is. */
  zoomAt(px, py, factor) {
    const [x, y] = this.toData(px, py), w = this.win;
    this.win = { x0: x - (x - w.x0) / factor, x1: x + (w.x1 - x) / factor,
                 y0: y - (y - w.y0) / factor, y1: y + (w.y1 - y) / factor };
  }

  /** Move the window by a pointer's travel of (dx, dy) pixels: the data follow the pointer. */
  pan(dx, dy) {
    const [kx, ky] = this.scale, w = this.win;
    this.win = { x0: w.x0 - dx / kx, x1: w.x1 - dx / kx, y0: w.y0 + dy / ky, y1: w.y1 + dy / ky };
  }

  /** How far in the view is zoomed (1 at home). */
  get zoom() {
    const h = this.fitted(this.home);
    return (h.x1 - h.x0) / (this.win.x1 - this.win.x0);
  }

  /** [sx, sy, tx, ty]: data -> clip space of a canvas that covers the plot area exactly. */
  clip() {
    const w = this.win, sx = 2 / (w.x1 - w.x0), sy = 2 / (w.y1 - w.y0);
    return [sx, sy, -1 - w.x0 * sx, -1 - w.y0 * sy];
  }
}

/** The extent of finite values in xs and ys, padded by 4% (a window to open a projection on). */
export function extent(xs, ys) {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i], y = ys[i];
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  if (!(x1 >= x0)) return { x0: -1, x1: 1, y0: -1, y1: 1 };
  const px = (x1 - x0) * 0.04 || 1, py = (y1 - y0) * 0.04 || 1;
  return { x0: x0 - px, x1: x1 + px, y0: y0 - py, y1: y1 + py };
}
