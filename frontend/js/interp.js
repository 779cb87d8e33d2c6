// Between two faces: shift-click a second dataset face and the strip shows the decoded path from the first face's
// latent to the second's, in INTERP_STEPS even steps.

import * as api from "./api.js";
import { $, el } from "./dom.js";
import { showError } from "./errors.js";
import { S, ui } from "./store.js";

const INTERP_STEPS = 9;

export function hideInterp() {
  S.second = null;
  $("#interp").hidden = true;
  ui.map.setMarker("second", null);
}

export async function pickSecond(j) {
  if (S.face.kind !== "sample") {
    showError("Interpolation runs between two dataset faces: click one, then shift-click another.");
    return;
  }
  const i = S.face.index, c = S.cols, name = (k) => c.emotions[c.emotion[k]];
  S.second = j;
  ui.map.setMarker("second", { index: j });
  $("#interp").hidden = false;
  $("#interp-hint").textContent = `#${c.ids[i]} (${name(i)}) to #${c.ids[j]} (${name(j)}), ` +
    `${INTERP_STEPS} steps through the latent space of ${S.run}`;
  const strip = $("#interp-strip");
  strip.replaceChildren();
  try {
    const [a, b] = await Promise.all([api.readSample(S.run, c.ids[i]), api.readSample(S.run, c.ids[j])]);
    const ts = Array.from({ length: INTERP_STEPS }, (_, k) => k / (INTERP_STEPS - 1));
    const imgs = await api.decodeMany(S.run, ts.map((t) => a.latent.map((x, d) => x + t * (b.latent[d] - x))));
    if (S.second !== j) return; // another face was picked meanwhile
    strip.replaceChildren(...imgs.map((png, k) =>
      el("img", { src: `data:image/png;base64,${png}`, alt: `step ${k}`, title: `t = ${ts[k].toFixed(2)}` })));
  } catch (err) {
    showError(err.message);
  }
}
