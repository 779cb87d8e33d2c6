// The edit target. Every move previews at once (at most one frame per animation frame, from each editor's sprite)
// while each editor asks for the exact edit latest-wins; the snap buttons move it to a named emotion's centre.

import { $, el, fmt } from "./dom.js";
import { syncUrl } from "./share.js";
import { S, probe, ui } from "./store.js";

const KEEP = 2000; // probe samples kept (the older half is dropped past this)
let frameQueued = false;

export function setTarget(v, a, phase = "end") {
  if (!S.face) return;
  S.target = [v, a];
  probe.lastMoveAt = performance.now();
  for (const ed of S.editors) ed.request(v, a);
  if (!frameQueued) {
    frameQueued = true;
    requestAnimationFrame(drawFrame);
  }
  if (phase === "end") syncUrl();
}

/** The target dragged on the map: kept on the unit disk and snapped like the pad's handle. */
export function dragTarget(v, a, phase) {
  const d = Math.hypot(v, a);
  if (d > 1) { v /= d; a /= d; }
  const [sv, sa] = ui.pad.snapped(v, a);
  setTarget(sv, sa, phase);
}

function drawFrame() {
  frameQueued = false;
  const [v, a] = S.target;
  ui.pad.setTarget(v, a);
  ui.map.setMarker("target", { va: true, x: v, y: a });
  let drawn = false;
  const t0 = performance.now();
  for (const ed of S.editors) {
    if (ed.shown === null || ed.shown[0] !== v || ed.shown[1] !== a) drawn = ed.preview(v, a) || drawn;
  }
  if (!drawn) return;
  record(probe.previewCostMs, performance.now() - t0);
  probe.previewFrames += 1;
  record(probe.frameTimes, performance.now());
}

function record(list, x) {
  list.push(x);
  if (list.length > KEEP) list.splice(0, KEEP / 2);
}

/** One button per named emotion of the run; a click moves the target to that emotion's centre. */
export function renderSnapButtons(emotions) {
  $("#snap-buttons").replaceChildren(...Object.entries(emotions || {}).map(([name, e]) => {
    const b = el("button", { title: `move the target to ${name}'s centre (V ${fmt(e.mu_v)}, A ${fmt(e.mu_a)})` }, name);
    b.addEventListener("click", () => setTarget(e.mu_v, e.mu_a, "end"));
    return b;
  }));
}
