// What sits on top of either map: the hover card (a face's thumbnail and its VA) and the HTML markers (the selected
// face, an upload, the edit target and its drag handle). Markers are HTML so moving one while dragging costs a CSS
// transform, not a redraw of every point. A map gives toPixel / toData (wrapper pixels <-> its view's data).

import { thumbnailUrl } from "./api.js";
import { DETAIL_COLUMNS } from "./columns.js";
import { el } from "./dom.js";
import { VIEWS } from "./views.js";

const TITLES = { target: "drag to edit the face", origin: "where the model places the face", upload: "your upload",
                 selected: "selected face", second: "second face" };

/** Show point i's card by the pointer at (clientX, clientY). */
export function showHoverCard(card, wrap, run, cols, i, clientX, clientY) {
  const c = cols;
  const img = card.querySelector("img");
  const src = thumbnailUrl(run, c.ids[i]);
  if (img.getAttribute("src") !== src) img.src = src;
  const ready = c.holds(DETAIL_COLUMNS); // each column arrives on its own: read none until all are in
  const va = ready ? [
    el("br"), `label V ${c.label_v[i].toFixed(2)} A ${c.label_a[i].toFixed(2)}`,
    el("br"), `model V ${c.head_v[i].toFixed(2)} A ${c.head_a[i].toFixed(2)}`] : [el("br"), "…"];
  if (!ready) c.need(DETAIL_COLUMNS); // still on their way: the next hover has them
  card.querySelector(".txt").replaceChildren(el("b", {}, c.emotions[c.emotion[i]]), ` #${c.ids[i]}`, ...va);
  const r = wrap.getBoundingClientRect();
  const x = clientX - r.left, y = clientY - r.top;
  card.style.left = `${Math.min(x + 14, r.width - 150)}px`;
  card.style.top = `${Math.max(4, y - 110)}px`;
  card.hidden = false;
  card.dataset.id = c.ids[i];
}

export class Markers {
  /** map: {wrap, cols, view (a VIEWS entry), toPixel(x, y), toData(clientX, clientY)}; onDrag(v, a, phase). */
  constructor(map, onDrag) {
    this.map = map;
    this.onDrag = onDrag;
    this.all = {};
  }

  /**
   * A marker by name: {x, y, va: true (VA units, shown in VA views)} or {index: a dataset point (shown in any view)};
   * null removes it.
   */
  set(name, spec) {
    if (!spec) {
      if (this.all[name]) this.all[name].el.remove();
      delete this.all[name];
      return;
    }
    let m = this.all[name];
    if (!m) {
      const div = document.createElement("div");
      div.className = `marker marker-${name}`;
      div.title = TITLES[name] || name;
      this.map.wrap.appendChild(div);
      m = this.all[name] = { el: div };
      if (name === "target") this.draggable(div);
    }
    m.spec = spec;
    this.place(m);
  }

  placeAll() {
    for (const m of Object.values(this.all)) this.place(m);
  }

  place(m) {
    const s = m.spec, map = this.map, v = map.viewSpec;
    let xy = null;
    if (s.index !== undefined && map.cols) xy = [map.cols[v.x][s.index], map.cols[v.y][s.index]];
    else if (s.va && v.va) xy = [s.x, s.y];
    const p = xy && map.toPixel(xy[0], xy[1]);
    m.el.hidden = !p;
    if (p) m.el.style.transform = `translate(${p[0]}px, ${p[1]}px)`;
  }

  draggable(div) {
    div.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      e.stopPropagation();
      div.setPointerCapture(e.pointerId);
      const report = (ev, phase) => {
        const va = this.map.toData(ev.clientX, ev.clientY);
        if (va) this.onDrag(va[0], va[1], phase);
      };
      const move = (ev) => report(ev, "move");
      const up = (ev) => {
        div.removeEventListener("pointermove", move);
        div.removeEventListener("pointerup", up);
        div.removeEventListener("pointercancel", up);
        report(ev, "end");
      };
      div.addEventListener("pointermove", move);
      div.addEventListener("pointerup", up);
      div.addEventListener("pointercancel", up);
    });
  }
}

/**
 * What both maps share: markers placed from the view's columns, and points' page pixels. A map sets wrap, cols, view
 * and markers (a Markers) and gives toPixel(x, y) (data -> wrapper pixels).
 */
export class OverlaidMap {
  get viewSpec() {
    return VIEWS[this.view];
  }

  /** Take a run's columns and a view (one the run has, else the labelled VA); resolves with the view's spec once its
   * x, y and emotion columns are in. */
  async take(run, cols, emotions, view) {
    this.run = run;
    this.cols = cols;
    this.emotions = emotions || {};
    this.view = VIEWS[view] && (VIEWS[view].va || cols.has(VIEWS[view].x)) ? view : "label";
    const v = VIEWS[this.view];
    await cols.need([v.x, v.y, "emotion"]);
    return v;
  }

  /** The page-pixel position of point i in the current view (for tests and tours). */
  pointClient(i) {
    const v = this.viewSpec, p = this.toPixel(this.cols[v.x][i], this.cols[v.y][i]);
    const w = this.wrap.getBoundingClientRect();
    return p && [p[0] + w.left, p[1] + w.top];
  }

  setMarker(name, spec) {
    this.markers.set(name, spec);
  }

  placeMarkers() {
    this.markers.placeAll();
  }
}
