// The map's frame, drawn on a 2D canvas under the points: the plot area, grid lines and ticks at round steps, the
// axis titles, and for VA views the zero lines and the unit circle of the circumplex.

const NICE = [1, 2, 2.5, 5, 10];

/** A round tick step giving about `count` ticks over `span`. */
export function tickStep(span, count) {
  const raw = span / Math.max(1, count), mag = 10 ** Math.floor(Math.log10(raw));
  return NICE.find((k) => k * mag >= raw) * mag;
}

/** The ticks of a window [lo, hi] at `step`, as [value, text] (text with as many decimals as the step has). */
function ticks(lo, hi, step) {
  const decimals = (String(+step.toPrecision(6)).split(".")[1] || "").length, out = [];
  for (let k = Math.ceil(lo / step); k * step <= hi; k++) {
    const text = (k * step).toFixed(decimals);
    out.push([k * step, /^-0(\.0*)?$/.test(text) ? text.slice(1) : text]);
  }
  return out;
}

/** Draw the frame of view `v` (name, va) for viewport `vp` onto canvas `c` (CSS size vp.w x vp.h, scale dpr). */
export function drawAxes(c, vp, v, dpr) {
  const g = c.getContext("2d"), p = vp.plot, w = vp.win;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, vp.w, vp.h);
  g.fillStyle = "#fff";
  g.fillRect(p.x, p.y, p.w, p.h);
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = "#555";
  g.lineWidth = 1;
  const sx = tickStep(w.x1 - w.x0, p.w / 90), sy = tickStep(w.y1 - w.y0, p.h / 70);
  g.textAlign = "center";
  g.textBaseline = "top";
  for (const [t, text] of ticks(w.x0, w.x1, sx)) {
    const [px] = vp.toPixel(t, 0), zero = v.va && Math.abs(t) < sx / 2;
    line(g, px, p.y, px, p.y + p.h, zero ? "#bbb" : "#eee");
    g.fillText(text, px, p.y + p.h + 4);
  }
  g.textAlign = "right";
  g.textBaseline = "middle";
  for (const [t, text] of ticks(w.y0, w.y1, sy)) {
    const [, py] = vp.toPixel(0, t), zero = v.va && Math.abs(t) < sy / 2;
    line(g, p.x, py, p.x + p.w, py, zero ? "#bbb" : "#eee");
    g.fillText(text, p.x - 5, py);
  }
  if (v.va) circle(g, vp);
  g.strokeStyle = "#ccc";
  g.strokeRect(p.x + 0.5, p.y + 0.5, p.w - 1, p.h - 1);
  titles(g, vp, v.va ? ["valence", "arousal"] : [`${v.name}, 1`, `${v.name}, 2`]);
}

function line(g, x0, y0, x1, y1, colour) {
  g.strokeStyle = colour;
  g.beginPath();
  g.moveTo(Math.round(x0) + 0.5, Math.round(y0) + 0.5);
  g.lineTo(Math.round(x1) + 0.5, Math.round(y1) + 0.5);
  g.stroke();
}

function circle(g, vp) {
  const p = vp.plot, [cx, cy] = vp.toPixel(0, 0), [kx, ky] = vp.scale;
  g.save();
  g.beginPath();
  g.rect(p.x, p.y, p.w, p.h);
  g.clip();
  g.strokeStyle = "#666";
  g.lineWidth = 1.2;
  g.beginPath();
  g.ellipse(cx, cy, kx, ky, 0, 0, 2 * Math.PI);
  g.stroke();
  g.restore();
}

function titles(g, vp, [x, y]) {
  const p = vp.plot;
  g.fillStyle = "#333";
  g.font = "12px system-ui, sans-serif";
  g.textAlign = "center";
  g.textBaseline = "bottom";
  g.fillText(x, p.x + p.w / 2, vp.h - 2);
  g.save();
  g.translate(12, p.y + p.h / 2);
  g.rotate(-Math.PI / 2);
  g.textBaseline = "middle";
  g.fillText(y, 0, 0);
  g.restore();
}
