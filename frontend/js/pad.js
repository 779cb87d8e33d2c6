// The edit pad: a small circumplex (valence across, arousal up) with the face's own VA and a handle for the target.
// Drag the handle, click anywhere, or use the arrow keys; near a named emotion's centre the handle snaps to it.

import { colourOf } from "./palette.js";

const SNAP = 0.07; // snap radius in VA units

export class VAPad {
  constructor(canvas, onChange) {
    this.c = canvas;
    this.ctx = canvas.getContext("2d");
    this.onChange = onChange; // (v, a, phase: "move" | "end")
    this.emotions = {};
    this.target = null;
    this.origin = null;
    this.snap = true;
    this.bind();
  }

  get size() { return this.c.width; }
  toPx(v, a) { const s = this.size, r = s * 0.44; return [s / 2 + v * r, s / 2 - a * r]; }
  toVA(x, y) {
    const s = this.size, r = s * 0.44;
    let v = (x - s / 2) / r, a = (s / 2 - y) / r;
    const d = Math.hypot(v, a);
    if (d > 1) { v /= d; a /= d; } // the circumplex: targets stay on the unit disk
    return [v, a];
  }

  /** The nearest emotion centre within the snap radius, or the point itself. */
  snapped(v, a) {
    if (!this.snap) return [v, a, null];
    for (const [name, e] of Object.entries(this.emotions)) {
      if (Math.hypot(v - e.mu_v, a - e.mu_a) < SNAP) return [e.mu_v, e.mu_a, name];
    }
    return [v, a, null];
  }

  bind() {
    const c = this.c;
    const at = (e) => {
      const r = c.getBoundingClientRect();
      return this.toVA((e.clientX - r.left) * (c.width / r.width), (e.clientY - r.top) * (c.height / r.height));
    };
    c.addEventListener("pointerdown", (e) => {
      if (!this.target) return;
      e.preventDefault();
      c.setPointerCapture(e.pointerId);
      this.dragging = true;
      this.emit(...at(e), "move");
    });
    c.addEventListener("pointermove", (e) => { if (this.dragging) this.emit(...at(e), "move"); });
    const end = (e) => {
      if (!this.dragging) return;
      this.dragging = false;
      this.emit(...at(e), "end");
    };
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
    c.addEventListener("keydown", (e) => {
      const step = e.shiftKey ? 0.2 : 0.05;
      const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[e.key];
      if (!d || !this.target) return;
      e.preventDefault();
      let [v, a] = [this.target[0] + d[0], this.target[1] + d[1]];
      const n = Math.hypot(v, a);
      if (n > 1) { v /= n; a /= n; }
      this.onChange(v, a, "end");
    });
  }

  emit(v, a, phase) {
    const [sv, sa] = this.snapped(v, a);
    this.onChange(sv, sa, phase);
  }

  setTarget(v, a) { this.target = v === null ? null : [v, a]; this.draw(); }
  setOrigin(v, a) { this.origin = v === null ? null : [v, a]; this.draw(); }
  setEmotions(em) { this.emotions = em || {}; this.draw(); }

  draw() {
    const { ctx } = this, s = this.size;
    ctx.clearRect(0, 0, s, s);
    ctx.strokeStyle = "#ccc";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(s * 0.06, s / 2); ctx.lineTo(s * 0.94, s / 2);
    ctx.moveTo(s / 2, s * 0.06); ctx.lineTo(s / 2, s * 0.94);
    ctx.stroke();
    ctx.strokeStyle = "#666";
    ctx.beginPath();
    ctx.arc(s / 2, s / 2, s * 0.44, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillStyle = "#777";
    ctx.fillText("valence", s - 44, s / 2 + 12);
    ctx.fillText("arousal", s / 2 + 4, 12);
    for (const [name, e] of Object.entries(this.emotions)) {
      const [x, y] = this.toPx(e.mu_v, e.mu_a);
      ctx.fillStyle = colourOf(name);
      ctx.beginPath(); ctx.arc(x, y, 3, 0, 2 * Math.PI); ctx.fill();
      ctx.fillText(name, x + 4, y - 3);
    }
    if (this.origin) {
      const [x, y] = this.toPx(...this.origin);
      ctx.strokeStyle = "#222"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.arc(x, y, 5, 0, 2 * Math.PI); ctx.stroke();
      if (this.target) {
        const [tx, ty] = this.toPx(...this.target);
        ctx.setLineDash([3, 3]); ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(tx, ty); ctx.stroke(); ctx.setLineDash([]);
      }
    }
    if (this.target) {
      const [x, y] = this.toPx(...this.target);
      ctx.fillStyle = "#e63946"; ctx.strokeStyle = "#fff"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(x, y, 8, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    }
  }
}
