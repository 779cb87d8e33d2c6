// The map: the run's dataset on the VA plane (labelled or read by the heads), or its t-SNE / PCA, as a WebGL scatter
// coloured by emotion. Hover shows the face's thumbnail; click selects it; empty space in a VA view is a place to edit
// the selected face to. Markers for the selected face, an upload and the edit target are HTML overlays, so moving them
// while dragging costs a CSS transform instead of a WebGL redraw of 30,000 points.

import { thumbnailUrl } from "./api.js";
import { DETAIL_COLUMNS } from "./columns.js";
import { el, esc } from "./dom.js";
import { colourOf } from "./palette.js";
import { clientToData, dataToClient } from "./plotly_axes.js";

export const VIEWS = {
  label: { name: "VA labels", x: "label_v", y: "label_a", va: true },
  head: { name: "VA read by the model", x: "head_v", y: "head_a", va: true },
  tsne_v: { name: "t-SNE of z_v", x: "tsne_v_x", y: "tsne_v_y" },
  tsne_a: { name: "t-SNE of z_a", x: "tsne_a_x", y: "tsne_a_y" },
  tsne_z: { name: "t-SNE of z_z", x: "tsne_z_x", y: "tsne_z_y" },
  pca_v: { name: "PCA of z_v", x: "pca_v_x", y: "pca_v_y" },
  pca_a: { name: "PCA of z_a", x: "pca_a_x", y: "pca_a_y" },
  pca_z: { name: "PCA of z_z", x: "pca_z_x", y: "pca_z_y" },
};

const webgl = (() => {
  if (new URLSearchParams(location.search).get("renderer") === "svg") return false; // benchmarks' baseline
  try {
    const c = document.createElement("canvas");
    return !!(c.getContext("webgl2") || c.getContext("webgl"));
  } catch {
    return false;
  }
})();

export class MapView {
  /** el: the plot container; wrap: its positioned parent, which holds the overlays and the hover card. */
  constructor(el, wrap, handlers) {
    this.el = el;
    this.wrap = wrap;
    this.h = handlers; // {onSelect(i, event), onEmptyClick(v, a), onSelection(indices), onTargetDrag(v, a, phase)}
    this.cols = null;
    this.view = "label";
    this.traceIdx = []; // per trace: global point indices
    this.markers = {};
    this.lastPointClick = 0;
    this.hover = wrap.querySelector(".hover-card");
    this.webgl = webgl;
  }

  /** Plot a run's columns (a Columns) in a view, fetching the view's x and y first. Resolves when plotly has drawn. */
  async render(run, cols, emotions, view) {
    this.run = run;
    this.cols = cols;
    this.emotions = emotions || {};
    this.view = VIEWS[view] && (VIEWS[view].va || cols.has(VIEWS[view].x)) ? view : "label";
    const v = VIEWS[this.view];
    await cols.need([v.x, v.y, "emotion"]);
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
    const i = this.traceIdx[p.curveNumber][p.pointIndex];
    const c = this.cols;
    const img = this.hover.querySelector("img");
    img.src = thumbnailUrl(this.run, c.ids[i]);
    const va = c.label_v && c.head_v ? [
      el("br"), `label V ${c.label_v[i].toFixed(2)} A ${c.label_a[i].toFixed(2)}`,
      el("br"), `model V ${c.head_v[i].toFixed(2)} A ${c.head_a[i].toFixed(2)}`] : [el("br"), "…"];
    if (!c.head_v) c.need(DETAIL_COLUMNS); // still on their way: the next hover has them
    this.hover.querySelector(".txt").replaceChildren(el("b", {}, c.emotions[c.emotion[i]]), ` #${c.ids[i]}`, ...va);
    const r = this.wrap.getBoundingClientRect();
    const x = (ev.event ? ev.event.clientX : r.left) - r.left, y = (ev.event ? ev.event.clientY : r.top) - r.top;
    this.hover.style.left = `${Math.min(x + 14, r.width - 150)}px`;
    this.hover.style.top = `${Math.max(4, y - 110)}px`;
    this.hover.hidden = false;
    this.hover.dataset.id = c.ids[i];
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

  /** The page-pixel position of point i in the current view (for tests and tours). */
  pointClient(i) {
    const v = VIEWS[this.view];
    const p = this.toPixel(this.cols[v.x][i], this.cols[v.y][i]);
    const w = this.wrap.getBoundingClientRect();
    return p && [p[0] + w.left, p[1] + w.top];
  }

  /**
   * Overlay markers by name: {kind: "target" | "origin" | "upload" | "selected", x, y, va: true if in VA units, or
   * index: a dataset point (placed in any view)}. null removes the marker.
   */
  setMarker(name, spec) {
    if (!spec) {
      if (this.markers[name]) this.markers[name].el.remove();
      delete this.markers[name];
      return;
    }
    let m = this.markers[name];
    if (!m) {
      const el = document.createElement("div");
      el.className = `marker marker-${name}`;
      el.title = { target: "drag to edit the face", origin: "where the model places the face",
                   upload: "your upload", selected: "selected face", second: "second face" }[name] || name;
      this.wrap.appendChild(el);
      m = this.markers[name] = { el };
      if (name === "target") this.makeDraggable(el);
    }
    m.spec = spec;
    this.placeMarker(m);
  }

  placeMarkers() {
    for (const m of Object.values(this.markers)) this.placeMarker(m);
  }

  placeMarker(m) {
    const s = m.spec, v = VIEWS[this.view];
    let xy = null;
    if (s.index !== undefined && this.cols) xy = [this.cols[v.x][s.index], this.cols[v.y][s.index]];
    else if (s.va && v.va) xy = [s.x, s.y];
    const p = xy && this.toPixel(xy[0], xy[1]);
    m.el.hidden = !p;
    if (p) m.el.style.transform = `translate(${p[0]}px, ${p[1]}px)`;
  }

  makeDraggable(el) {
    el.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      e.stopPropagation();
      el.setPointerCapture(e.pointerId);
      const move = (ev) => {
        const va = this.toData(ev.clientX, ev.clientY);
        if (va) this.h.onTargetDrag(va[0], va[1], "move");
      };
      const up = (ev) => {
        el.removeEventListener("pointermove", move);
        el.removeEventListener("pointerup", up);
        el.removeEventListener("pointercancel", up);
        const va = this.toData(ev.clientX, ev.clientY);
        if (va) this.h.onTargetDrag(va[0], va[1], "end");
      };
      el.addEventListener("pointermove", move);
      el.addEventListener("pointerup", up);
      el.addEventListener("pointercancel", up);
    });
  }
}
