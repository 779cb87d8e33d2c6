// The view in the URL (run, map view, colouring, selected face, VA target, compare run) and the "Copy link" button.

import { S } from "./store.js";
import { writeUrlState } from "./state.js";

export function syncUrl() {
  const sel = S.face && S.face.kind === "sample" ? S.cols.ids[S.face.index] : null;
  const t = S.face && S.target ? S.target : [null, null];
  writeUrlState({ run: S.run, view: S.view, colour: S.colour === "emotion" ? null : S.colour, sel, v: t[0], a: t[1], cmp: S.cmp });
}

export function bindShare(button) {
  button.addEventListener("click", async () => {
    syncUrl();
    try { await navigator.clipboard.writeText(location.href); button.textContent = "Link copied"; }
    catch { prompt("Copy this link", location.href); }
    setTimeout(() => { button.textContent = "Copy link"; }, 1500);
  });
}
