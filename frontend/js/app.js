// The explorer's wiring: the map, the edit pad, the upload and the header's controls, each handed to the module of
// its feature; then the run list and the emotion palette are read (in parallel) and the first run is loaded.
// window.__levasa (store.js) exposes timings and a few handles for the browser tests and benchmarks.

import * as api from "./api.js";
import { $ } from "./dom.js";
import { bindErrorBanner, showError } from "./errors.js";
import { rejectUpload, selectSample, uploadFile } from "./face.js";
import { pickSecond } from "./interp.js";
import { createMap } from "./map.js";
import { VAPad } from "./pad.js";
import { loadPalette } from "./palette.js";
import { bindRunControls, showRuns } from "./runs.js";
import { bindExport, setSelection } from "./selection.js";
import { bindShare } from "./share.js";
import { readUrlState } from "./state.js";
import { S, ui } from "./store.js";
import { dragTarget, setTarget } from "./target.js";
import { bindUpload } from "./upload.js";

bindErrorBanner();

const mapHandlers = {
  onSelect: (i, ev) => (ev.shiftKey && S.face ? pickSecond(i) : selectSample(i)),
  onEmptyClick: (v, a) => {
    if (!S.face) { showError("Select a face (click a point) or upload one first; then click the plane to imagine it there."); return; }
    setTarget(v, a, "end");
  },
  onSelection: (idx) => setSelection(idx, $("#export-csv")),
  onTargetDrag: dragTarget,
  onError: showError,
};

ui.pad = new VAPad($("#pad"), setTarget);
$("#snap").addEventListener("change", (e) => { ui.pad.snap = e.target.checked; });
$("#reset-target").addEventListener("click", () => S.origin && setTarget(S.origin[0], S.origin[1], "end"));

bindRunControls();
bindShare($("#share"));
bindExport($("#export-csv"));
bindUpload($("#dropzone"), $("#file"), uploadFile, (msg) => rejectUpload(msg));

async function start() {
  ui.map = await createMap($("#map"), $("#map-wrap"), mapHandlers, $("#map-legend"));
  const url = readUrlState();
  const [runs, palette] = await Promise.allSettled([api.listRuns(), loadPalette()]);
  if (palette.status === "rejected") {
    showError(`Could not read the emotion palette (${palette.reason.message}); the map shows every emotion in grey.`);
  }
  if (runs.status === "rejected") {
    $("#map-status").textContent = `Could not list the runs: ${runs.reason.message}`;
    return;
  }
  await showRuns(runs.value, url);
}

start().catch((err) => { showError(`The page failed to start: ${err.message}`); console.error(err); });
