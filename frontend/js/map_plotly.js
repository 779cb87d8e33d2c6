// The plotly map: the explorer's map before the WebGL map of map.js, kept for browsers without WebGL (plotly's SVG
// scatter) and as the benchmarks' baseline (?renderer=plotly, ?renderer=svg). The same interface as map.js's MapView;
// it colours by emotion only and selects with plotly's own box and lasso tools.

import { esc } from "./dom.js";
import { Markers, OverlaidMap, showHoverCard } from "./overlay.js";
import { colourOf } from "./palette.js";
import { clientToData, dataToClient } from "./plotly_axes.js";
import { VIEWS } from "./views.js";

/** plotly.js, loaded the first time this map is made (the WebGL map does not need its 4.6 MB). */
function loadPlotly() {
  if (window.Plotly) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const tag = document.createElement("script");
    tag.src = "/vendor/plotly.min.js";
    tag.addEventListener("load", resolve, { once: true });
    tag.addEventListener("error", () => reject(new Error("plotly.js did not load from /vendor/plotly.min.js")), { once: true });
    document.head.appendChild(tag);
  });
}

export class PlotlyMap extends OverlaidMap {
  /**
   * el: the plot container; wrap: its positioned parent, which holds the overlays and the hover card; webgl: plotly's
   * scattergl (else its SVG scatter).
   */
  constructor(el, wrap, handlers, webgl) {
    super();
    this.el = el;
    this.wrap = wrap;
    this.h = handlers; // {onSelect(i, event), onEmptyClick(v, a), onSelection(indices), onTargetDrag(v, a, phase)}
    this.cols = null;
    this.view = "label";
    this.traceIdx = []; // per trace: global point indices
    this.markers = new Markers(this, handlers.onTargetDrag);
    this.lastPointClick = 0;
    this.hover = wrap.querySelector(".hover-card");
    this.webgl = webgl;
    this.kind = webgl ? "plotly WebGL" : "plotly SVG";
    this.colours = false; // by emotion only
    this.loaded = loadPlotly();
  }

  /** Resolves when the map can draw (plotly.js is in). */
  ready() {
    return this.loaded;
  }

  /** Colour by emotion only (colouring by valence or arousal is the WebGL map's). */
  setColouring() {}

  /** Plot a run's columns (a Columns) in a view, fetching the view's x and y first. Resolves when plotly has drawn. */
  async render(run, cols, emotions, view) {
    const v = await this.take(run, cols, emotions, view);
    const byEmotion = new Map();
    cols.emotion.forEach((code, i) => {
      if (!byEmotion.has(code)) byEmotion.set(code, []);
      byEmotion.get(code).push(i);
    });
    const codes = [...byEmotion.keys()].sort((a, b) => a - b);
    this.traceIdx = codes.map((c) => byEmotion.get(c));
    const xs = cols[v.x], ys = cols[v.y];
    const small = cols.n <= 3000;
    const traces = codes.map((c, t) => {
      const idx = this.traceIdx[t];
      const name = cols.emotions[c];
      return {
        // plotly reads trace names and annotations as a subset of HTML: names go in escaped.
        type: this.webgl ? "scattergl" : "scatter", mode: "markers", name: `${esc(name)} (${idx.length})`,
        x: idx.map((i) => xs[i]), y: idx.map((i) => ys[i]),
        marker: { color: colourOf(name), size: small ? 6 : 4, opacity: small ? 0.8 : 0.55 },
        hoverinfo: "none",
      };
    });
    const layout = this.layout(v);
    const config = { responsive: true, displaylogo: false, scrollZoom: true,
                     modeBarButtonsToRemove: ["toImage", "autoScale2d"] };
    await Plotly.react(this.el, traces, layout, config);
    if (!this.bound) this.bind();
    this.placeMarkers();
  }

  layout(v) {
    const base = {
      margin: { l: 56, r: 12, t: 12, b: 48 }, dragmode: "zoom", hovermode: "closest", hoverdistance: 10, uirevision: this.view,
      legend: { orientation: "h", y: -0.14, font: { size: 11 } }, plot_bgcolor: "#fff", paper_bgcolor: "#fff",
    };
    if (!v.va) {
      return { ...base, xaxis: { title: { text: `${v.name}, 1` }, zeroline: false },
               yaxis: { title: { text: `${v.name}, 2` }, zeroline: false } };
    }
    const ax = { range: [-1.15, 1.15], zeroline: true, zerolinecolor: "#bbb", gridcolor: "#eee", dtick: 0.5 };
    const annotations = Object.entries(this.emotions).map(([name, e]) => ({
      x: e.mu_v, y: e.mu_a, text: esc(name), showarrow: false, font: { size: 12, color: colourOf(name) },
      bgcolor: "rgba(255,255,255,0.75)", yshift: 10,
    }));
    return {
      ...base,
      xaxis: { ...ax, title: { text: "valence" } },
      yaxis: { ...ax, title: { text: "arousal" }, scaleanchor: "x", scaleratio: 1 },
      shapes: [{ type: "circle", xref: "x", yref: "y", x0: -1, y0: -1, x1: 1, y1: 1,
                 line: { color: "#666", width: 1.2 }, layer: "below" }],
      annotations,
    };
  }

  bind() {
    this.bound = true;
    const gd = this.el;
    gd.on("plotly_hover", (ev) => this.showHover(ev));
    gd.on("plotly_unhover", () => { this.hover.hidden = true; });
    gd.on("plotly_click", (ev) => {
      const p = ev.points && ev.points[0];
      if (!p) return;
      this.lastPointClick = performance.now();
      const e = ev.event || {};
      if (e.altKey && VIEWS[this.view].va) { // alt-click: a place to edit to, even on top of other faces
        const va = this.toData(e.clientX, e.clientY);
        if (va && Math.hypot(va[0], va[1]) <= 1.0001) this.h.onEmptyClick(va[0], va[1]);
        return;
      }
      this.h.onSelect(this.traceIdx[p.curveNumber][p.pointIndex], e);
    });
    gd.on("plotly_selected", (ev) => {
      const pts = (ev && ev.points) || [];
      this.h.onSelection(pts.map((p) => this.traceIdx[p.curveNumber][p.pointIndex]));
    });
    gd.on("plotly_deselect", () => this.h.onSelection([]));
    gd.on("plotly_relayout", () => this.placeMarkers());
    gd.on("plotly_afterplot", () => this.placeMarkers());
    // A click on empty space (no point under it) in a VA view: edit the selected face to that point. Plotly covers
    // the page with a drag shield on mousedown, so the click is pieced together from pointerdown on the plot and
    // pointerup anywhere, and it counts only when plotly reported no point click for it.
    gd.addEventListener("pointerdown", (e) => { this.down = { x: e.clientX, y: e.clientY, t: performance.now() }; }, true);
    document.addEventListener("pointerup", (e) => {
      const d = this.down;
      this.down = null;
      if (!d || Math.hypot(e.clientX - d.x, e.clientY - d.y) > 4 || performance.now() - d.t > 600) return;
      setTimeout(() => {
        if (this.lastPointClick > d.t || !VIEWS[this.view].va) return;
        const va = this.toData(e.clientX, e.clientY);
        if (va && Math.hypot(va[0], va[1]) <= 1.0001) this.h.onEmptyClick(va[0], va[1]);
      }, 30);
    });
    new ResizeObserver(() => this.placeMarkers()).observe(this.wrap);
  }

  showHover(ev) {
    const p = ev.points && ev.points[0];
    if (!p) return;
    const r = this.wrap.getBoundingClientRect(), e = ev.event || { clientX: r.left, clientY: r.top };
    showHoverCard(this.hover, this.wrap, this.run, this.cols, this.traceIdx[p.curveNumber][p.pointIndex], e.clientX, e.clientY);
  }

  /** Page pixel -> data coordinates of the current view (null before the first plot). */
  toData(clientX, clientY) {
    return clientToData(this.el, clientX, clientY);
  }

  /** Data coordinates -> pixel offset inside the wrapper (null before the first plot). */
  toPixel(x, y) {
    const p = dataToClient(this.el, x, y);
    if (!p) return null;
    const w = this.wrap.getBoundingClientRect();
    return [p[0] - w.left, p[1] - w.top];
  }

}
