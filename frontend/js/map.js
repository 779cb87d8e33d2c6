// The map: the run's dataset on the VA plane (labelled or read by the heads), or its t-SNE / PCA, drawn straight from
// the binary columns by our own scatter: WebGL on a GPU (scatter.js), a CPU loop where WebGL is software or missing
// (splat.js), both smooth at 400,000 points. Colour by emotion, valence or arousal; the legend hides emotions. Wheel zooms, drag pans (or draws a box or a lasso, which
// select points for the CSV export), double-click goes home. Hover shows a face's thumbnail; click selects it; a click
// on empty space in a VA view (alt-click: anywhere) is a place to edit the selected face to.
// ?renderer=webgl or ?renderer=cpu picks the drawer; ?renderer=plotly / ?renderer=svg give the previous, plotly map
// (map_plotly.js), the benchmarks' baseline.

import { Markers, OverlaidMap, showHoverCard } from "./overlay.js";
import { drawAxes } from "./axes.js";
import { el } from "./dom.js";
import { countCodes, renderLegend } from "./legend.js";
import { PointIndex, pointsInPolygon } from "./pointindex.js";
import { colourOf, paletteTexels, rampByte, rampTexels } from "./palette.js";
import { PointLayer, softwareWebgl, webglContext } from "./scatter.js";
import { SplatLayer } from "./splat.js";
import { COLOURINGS } from "./views.js";
import { Viewport, extent } from "./viewport.js";

const TOOLS = { pan: "drag to pan, wheel to zoom", box: "drag a box to select points", lasso: "draw around points to select them" };
const HOVER_PX = 8; // how near the pointer a point must be to count as under it
const CLICK_PX = 4, CLICK_MS = 600, DOUBLE_MS = 500;
const VA_HOME = { x0: -1.15, x1: 1.15, y0: -1.15, y1: 1.15 };

/**
 * The map this browser draws best: WebGL where it runs on a GPU, else the CPU drawer; the URL's renderer= can ask for
 * webgl, cpu, or the plotly map (plotly: its scattergl, svg: its SVG scatter).
 */
export async function createMap(el, wrap, handlers, legend) {
  const asked = new URLSearchParams(location.search).get("renderer");
  if (asked === "plotly" || asked === "svg") {
    legend.hidden = true;
    const { PlotlyMap } = await import("./map_plotly.js");
    return new PlotlyMap(el, wrap, handlers, asked === "plotly");
  }
  const canvas = document.createElement("canvas");
  const gl = asked === "cpu" ? null : webglContext(canvas);
  const webgl = gl && (asked === "webgl" || !softwareWebgl(gl)) ? { canvas, gl } : null;
  return new MapView(el, wrap, handlers, legend, webgl);
}

export class MapView extends OverlaidMap {
  /** webgl: {canvas, gl} to draw with WebGL, null to draw on the CPU. */
  constructor(root, wrap, handlers, legend, webgl) {
    super();
    this.el = root;
    this.wrap = wrap;
    this.h = handlers; // {onSelect(i, event), onEmptyClick(v, a), onSelection(indices), onTargetDrag(v, a, phase)}
    this.legend = legend;
    this.kind = webgl ? "WebGL" : "CPU";
    this.colours = true; // can colour by valence or arousal
    this.cols = null;
    this.view = "label";
    this.colouring = "emotion";
    this.tool = "pan";
    this.hidden = new Set();
    this.visible = new Uint8Array(256).fill(1);
    this.frames = 0; // draws so far (the benchmarks' frame counter)
    this.hover = wrap.querySelector(".hover-card");
    this.vp = new Viewport();
    this.markers = new Markers(this, handlers.onTargetDrag);
    this.build(webgl);
  }

  ready() {
    return Promise.resolve();
  }

  build(webgl) {
    this.axesCanvas = el("canvas", { class: "map-axes" });
    this.pointsCanvas = webgl ? webgl.canvas : null;
    if (webgl) webgl.canvas.className = "map-points";
    this.layer = webgl ? new PointLayer(webgl.canvas, webgl.gl) : new SplatLayer();
    this.layer.setRamp(rampTexels());
    this.labels = el("div", { class: "map-labels" });
    this.lasso = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    this.lasso.setAttribute("class", "map-lasso");
    this.lassoPath = document.createElementNS("http://www.w3.org/2000/svg", "path");
    this.lasso.appendChild(this.lassoPath);
    this.toolbar = el("div", { class: "map-tools", role: "toolbar", "aria-label": "map tools" },
      ...Object.entries(TOOLS).map(([k, title]) => el("button", { type: "button", "data-tool": k, title }, k)),
      el("button", { type: "button", "data-tool": "reset", title: "back to the whole view (or double-click)" }, "reset"));
    this.el.replaceChildren(...[this.axesCanvas, this.pointsCanvas, this.labels, this.lasso, this.toolbar].filter(Boolean));
    this.setTool("pan");
    this.bind();
    this.pointsCanvas?.addEventListener("webglcontextlost", (e) => {
      e.preventDefault();
      this.h.onError?.("The map's WebGL context was lost; reload the page to draw it again.");
    });
  }

  /** Plot a run's columns (a Columns) in a view, fetching the view's x and y first. Resolves once drawn. */
  async render(run, cols, emotions, view) {
    const newRun = cols !== this.cols;
    const v = await this.take(run, cols, emotions, view);
    const xs = cols[v.x], ys = cols[v.y];
    this.layer.setPoints(xs, ys, cols.emotion);
    this.index = null; // built on the first hover or click: the first paint does not wait for it
    if (newRun) {
      this.hidden.clear();
      if (this.selected) this.h.onSelection([]); // indices of another run's points
      this.selected = null;
      this.counts = countCodes(cols.emotion);
    } else if (this.selected) {
      this.layer.setPicked(this.selected.mask);
    }
    this.applyPalette();
    if (this.colouring !== "emotion") await this.setColouring(this.colouring, false);
    this.vp.setHome(v.va ? VA_HOME : extent(xs, ys), !!v.va);
    this.resize();
    this.placeLabels();
    this.renderLegend();
    this.draw();
    this.rendered = this.view; // the view now on screen (tests wait for it)
  }

  /** Colour the points by `name` (a COLOURINGS key); fetches the column it needs once. */
  async setColouring(name, redraw = true) {
    const spec = COLOURINGS[name] || COLOURINGS.emotion;
    this.colouring = COLOURINGS[name] ? name : "emotion";
    if (!this.cols) return;
    if (spec.column && this.cols.has(spec.column)) {
      await this.cols.need([spec.column]);
      if (this.rampCols !== this.cols) this.rampBytes = {}; // the ramp's bytes, once per run and column
      this.rampCols = this.cols;
      this.rampBytes[spec.column] ??= Uint8Array.from(this.cols[spec.column], rampByte);
      this.layer.setValues(this.rampBytes[spec.column]);
    } else {
      this.colouring = "emotion";
      this.layer.setValues(null);
    }
    if (redraw) {
      this.renderLegend();
      this.requestDraw();
    }
  }

  applyPalette() {
    this.visible.fill(1);
    for (const c of this.hidden) this.visible[c] = 0;
    this.layer.setPalette(paletteTexels(this.cols.emotions, this.hidden));
  }

  renderLegend() {
    renderLegend(this.legend, this.cols.emotions, this.counts, this.hidden, COLOURINGS[this.colouring],
                 (code) => this.toggleEmotion(code));
  }

  toggleEmotion(code) {
    if (this.hidden.has(code)) this.hidden.delete(code);
    else this.hidden.add(code);
    this.applyPalette();
    this.renderLegend();
    this.requestDraw();
    if (this.hover) this.hover.hidden = true;
  }

  /** Is point i drawn (its emotion not hidden)? */
  shown(i) {
    return this.visible[this.cols.emotion[i]] === 1;
  }

  setTool(tool) {
    this.tool = tool;
    for (const b of this.toolbar.querySelectorAll("button[data-tool]")) {
      if (b.dataset.tool !== "reset") b.setAttribute("aria-pressed", String(b.dataset.tool === tool));
    }
    this.el.dataset.tool = tool;
  }

  resize() {
    const r = this.wrap.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    this.dpr = dpr;
    this.vp.resize(r.width, r.height);
    const p = this.vp.plot, a = this.axesCanvas, c = this.pointsCanvas;
    a.width = Math.round(r.width * dpr);
    a.height = Math.round(r.height * dpr);
    Object.assign(a.style, { width: `${r.width}px`, height: `${r.height}px` });
    if (c) {
      c.width = Math.round(p.w * dpr);
      c.height = Math.round(p.h * dpr);
      Object.assign(c.style, { left: `${p.x}px`, top: `${p.y}px`, width: `${p.w}px`, height: `${p.h}px` });
    }
    this.lasso.setAttribute("viewBox", `0 0 ${r.width} ${r.height}`);
  }

  /** Point size and opacity for the number of points shown and the zoom. */
  style() {
    const n = this.layer.n, base = n <= 3000 ? 6 : n <= 50000 ? 4 : n <= 200000 ? 3 : 2;
    return { size: Math.min(12, base * Math.sqrt(Math.max(1, this.vp.zoom))),
             opacity: n <= 3000 ? 0.8 : n <= 50000 ? 0.6 : 0.45 };
  }

  requestDraw() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.draw();
    });
  }

  draw() {
    if (!this.cols) return;
    const s = this.style(), p = this.vp.plot, dpr = this.dpr;
    drawAxes(this.axesCanvas, this.vp, this.viewSpec, dpr);
    this.layer.draw(this.vp.clip(), s.size * dpr, s.opacity,
                    { canvas: this.axesCanvas, rect: [p.x * dpr, p.y * dpr, p.w * dpr, p.h * dpr] });
    this.placeLabels();
    this.markers.placeAll();
    this.frames++;
  }

  /** The emotions' names at their centres (VA views), as HTML over the points. */
  placeLabels() {
    const v = this.viewSpec;
    if (!v.va) {
      this.labels.replaceChildren();
      return;
    }
    const names = Object.keys(this.emotions);
    if (this.labels.childElementCount !== names.length) {
      this.labels.replaceChildren(...names.map((n) => el("span", { class: "emotion-label", style: `color:${colourOf(n)}` }, n)));
    }
    names.forEach((n, k) => {
      const e = this.emotions[n], [px, py] = this.vp.toPixel(e.mu_v, e.mu_a), lab = this.labels.children[k];
      lab.hidden = !this.vp.inPlot(px, py);
      lab.style.transform = `translate(${px}px, ${py - 10}px) translate(-50%, -50%)`;
    });
  }

  // --- pointer ---

  bind() {
    const root = this.el;
    root.addEventListener("pointerdown", (e) => this.down(e));
    root.addEventListener("pointermove", (e) => this.move(e));
    root.addEventListener("pointerup", (e) => this.up(e));
    root.addEventListener("pointercancel", () => this.cancel());
    root.addEventListener("pointerleave", () => { if (!this.drag) this.hover.hidden = true; });
    root.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    // A double press anywhere on the map resets the view. Watched in the capture phase on the wrapper, so it holds
    // when the first press put the edit target's marker under the pointer and the second lands on the marker.
    this.wrap.addEventListener("pointerdown", (e) => this.doublePress(e), { capture: true });
    this.toolbar.addEventListener("click", (e) => {
      const b = e.target.closest("button[data-tool]");
      if (!b) return;
      if (b.dataset.tool === "reset") { this.vp.reset(); this.requestDraw(); } else this.setTool(b.dataset.tool);
    });
    document.addEventListener("keydown", (e) => { if (e.key === "Escape" && this.selected) this.select(null); });
    new ResizeObserver(() => { if (this.cols) { this.resize(); this.draw(); } }).observe(this.wrap);
  }

  doublePress(e) {
    if (e.button !== 0 || e.target.closest(".map-tools")) return;
    const last = this.lastPress, now = { t: e.timeStamp, x: e.clientX, y: e.clientY };
    this.lastPress = now;
    if (!last || now.t - last.t > DOUBLE_MS || Math.hypot(now.x - last.x, now.y - last.y) > CLICK_PX) return;
    this.lastPress = null;
    this.vp.reset();
    this.requestDraw();
  }

  local(e) {
    const r = this.wrap.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  down(e) {
    if (e.button !== 0 || e.target.closest(".map-tools") || !this.cols) return;
    const [x, y] = this.local(e);
    this.el.setPointerCapture(e.pointerId);
    this.drag = { x, y, last: [x, y], t: performance.now(), moved: false, path: [[x, y]] };
    this.hover.hidden = true;
  }

  move(e) {
    const d = this.drag, [x, y] = this.local(e);
    if (!d) {
      this.hoverAt(e.clientX, e.clientY);
      return;
    }
    if (!d.moved && Math.hypot(x - d.x, y - d.y) > CLICK_PX) d.moved = true;
    if (!d.moved) return;
    if (this.tool === "pan") {
      this.vp.pan(x - d.last[0], y - d.last[1]);
      this.requestDraw();
    } else {
      const [px, py] = d.path[d.path.length - 1];
      if (this.tool === "box") d.path = boxPath(d.x, d.y, x, y);
      else if (Math.hypot(x - px, y - py) >= 2) d.path.push([x, y]);
      this.lassoPath.setAttribute("d", `M${d.path.map((p) => p.join(",")).join("L")}Z`);
    }
    d.last = [x, y];
  }

  up(e) {
    const d = this.drag;
    this.drag = null;
    if (!d) return;
    if (d.moved) {
      if (this.tool !== "pan") this.select(d.path);
      this.lassoPath.setAttribute("d", "");
      return;
    }
    if (performance.now() - d.t <= CLICK_MS) this.click(e);
  }

  cancel() {
    this.drag = null;
    this.lassoPath.setAttribute("d", "");
  }

  wheel(e) {
    if (!this.cols) return;
    e.preventDefault();
    const [x, y] = this.local(e);
    this.vp.zoomAt(x, y, Math.exp(-Math.max(-300, Math.min(300, e.deltaY)) * 0.0025));
    this.requestDraw();
  }

  /** The point under a page pixel (within HOVER_PX, emotion shown), or -1. */
  pick(clientX, clientY) {
    const r = this.wrap.getBoundingClientRect(), px = clientX - r.left, py = clientY - r.top;
    if (!this.vp.inPlot(px, py)) return -1;
    const v = this.viewSpec;
    if (!this.index) this.index = new PointIndex(this.cols[v.x], this.cols[v.y]);
    const [x, y] = this.vp.toData(px, py), [kx, ky] = this.vp.scale;
    const radius = Math.max(HOVER_PX, this.style().size / 2 + 2);
    return this.index.nearest(x, y, radius / kx, radius / ky, (i) => this.shown(i));
  }

  hoverAt(clientX, clientY) {
    this.hoverXY = [clientX, clientY];
    if (this.hoverPending) return;
    this.hoverPending = requestAnimationFrame(() => {
      this.hoverPending = 0;
      const [cx, cy] = this.hoverXY, i = this.pick(cx, cy);
      if (i < 0) this.hover.hidden = true;
      else showHoverCard(this.hover, this.wrap, this.run, this.cols, i, cx, cy);
    });
  }

  click(e) {
    if (this.tool !== "pan" && this.selected) this.select(null);
    const va = this.viewSpec.va ? this.toData(e.clientX, e.clientY) : null;
    const onPlane = va && Math.hypot(va[0], va[1]) <= 1.0001;
    if (e.altKey) {
      if (onPlane) this.h.onEmptyClick(va[0], va[1]);
      return;
    }
    const i = this.pick(e.clientX, e.clientY);
    if (i >= 0) this.h.onSelect(i, e);
    else if (onPlane) this.h.onEmptyClick(va[0], va[1]);
  }

  /** Select the points inside a polygon (wrapper pixels), or none (null). */
  select(path) {
    const v = this.viewSpec;
    const hit = path ? pointsInPolygon(this.cols[v.x], this.cols[v.y], this.vp, path, (i) => this.shown(i)) : null;
    this.selected = hit && hit.indices.length ? hit : null;
    this.layer.setPicked(this.selected ? this.selected.mask : null);
    this.draw();
    this.h.onSelection(this.selected ? Array.from(this.selected.indices) : []);
  }

  // --- coordinates and markers ---

  /** Page pixel -> data coordinates of the current view (null before the first plot). */
  toData(clientX, clientY) {
    if (!this.cols) return null;
    const r = this.wrap.getBoundingClientRect();
    return this.vp.toData(clientX - r.left, clientY - r.top);
  }

  /** Data coordinates -> pixel offset inside the wrapper (null before the first plot). */
  toPixel(x, y) {
    return this.cols && Number.isFinite(x) && Number.isFinite(y) ? this.vp.toPixel(x, y) : null;
  }

}

const boxPath = (x0, y0, x1, y1) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
