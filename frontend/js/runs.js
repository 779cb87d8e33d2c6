// The runs: the run and compare selects, loading a run onto the map (its detail and its points, then its face
// restored), switching the compared run, and the map's view and colouring selects.

import * as api from "./api.js";
import { Columns, DETAIL_COLUMNS } from "./columns.js";
import { $, el } from "./dom.js";
import { setupEditors } from "./editors.js";
import { showError } from "./errors.js";
import { clearFace, selectSample, uploadFile } from "./face.js";
import { hideInterp } from "./interp.js";
import { renderMetrics } from "./metrics.js";
import { syncUrl } from "./share.js";
import { S, probe, ui } from "./store.js";
import { renderSnapButtons } from "./target.js";
import { COLOURINGS, VIEWS } from "./views.js";

const runOption = (r) => el("option", { value: r.name }, `${r.name} (${r.kind}, ${r.dataset || "?"})`);

/** Fill the selects from the run list and load the run the URL asks for (or the best one). */
export async function showRuns(runs, url) {
  S.runs = runs;
  const ready = runs.filter((r) => r.status === "ready");
  const broken = runs.filter((r) => r.status !== "ready");
  if (!ready.length) {
    $("#map-status").textContent = "No run is ready to serve. " + broken.map((r) => `${r.name}: ${r.error}`).join("; ");
    return;
  }
  $("#run").replaceChildren(...ready.map(runOption));
  $("#compare-run").replaceChildren(...ready.map(runOption));
  $("#view").replaceChildren(...Object.entries(VIEWS).map(([k, v]) => el("option", { value: k }, v.name)));
  $("#colour").replaceChildren(...Object.entries(COLOURINGS).map(([k, v]) => el("option", { value: k }, v.name)));
  const preferred = ready.find((r) => r.name === url.run) || ready.find((r) => r.kind === "levasa") || ready[0];
  if (url.run && preferred.name !== url.run) showError(`run '${url.run}' is not served here; showing ${preferred.name}`);
  S.view = VIEWS[url.view] ? url.view : "label";
  $("#view").value = S.view;
  S.colour = COLOURINGS[url.colour] ? url.colour : "emotion";
  $("#colour").value = S.colour;
  $("#colour").disabled = !ui.map.colours;
  if ($("#colour").disabled) $("#colour").title = "the plotly map colours by emotion only";
  if (url.cmp && ready.some((r) => r.name === url.cmp) && url.cmp !== preferred.name) {
    S.cmp = url.cmp;
    $("#compare-on").checked = true;
    $("#compare-run").value = url.cmp;
  } else {
    const other = ready.find((r) => r.name !== preferred.name && r.dataset === preferred.dataset) ||
                  ready.find((r) => r.name !== preferred.name);
    if (other) $("#compare-run").value = other.name;
  }
  if (broken.length) $("#map-status").dataset.broken = broken.map((r) => r.name).join(", ") + " (reasons at /api/ready)";
  await loadRun(preferred.name, url);
}

/** Put run `name` on the map; restore: {sel, v, a} from the URL or the run switched from. */
export async function loadRun(name, restore = {}) {
  S.run = name;
  $("#run").value = name;
  $("#map-status").textContent = `Loading ${name}…`;
  try {
    const columns = api.readRun(name).then(async (d) => {
      const c = await Columns.load(name, d); // the manifest rides in the run's detail: no extra round trip
      await c.need(["ids", "emotion"]);
      return [d, c];
    });
    const [[detail, cols]] = await Promise.all([columns, ui.map.ready()]);
    probe.marks = probe.marks || { data: performance.now() };
    await plotRun(name, detail, cols);
    cols.need(DETAIL_COLUMNS).catch((err) => showError(`${name}: ${err.message}`)); // for hover, faces and export
  } catch (err) {
    $("#map-status").textContent = `${name}: ${err.message}`;
    showError(`${name}: ${err.message}`);
    return;
  }
  if (S.cmp) S.cmpDetail = await api.readRun(S.cmp).catch(() => null);
  renderMetrics();
  await restoreFace(name, restore);
  probe.ready = true;
  syncUrl();
}

async function plotRun(name, detail, cols) {
  S.detail = detail;
  S.cols = cols;
  S.idOf = cols.ids;
  for (const [k, v] of Object.entries(VIEWS)) {
    $("#view").querySelector(`option[value="${k}"]`).disabled = !v.va && !cols.has(v.x);
  }
  ui.pad.setEmotions(detail.emotions);
  renderSnapButtons(detail.emotions);
  ui.map.colouring = S.colour;
  await ui.map.render(name, cols, detail.emotions, S.view);
  if (!probe.marks.plotted) probe.marks.plotted = performance.now();
  S.view = ui.map.view;
  $("#view").value = S.view;
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  if (probe.paintMs === null) probe.paintMs = performance.now();
  probe.n = cols.n;
  const broken = $("#map-status").dataset.broken;
  $("#map-status").textContent = `${cols.n.toLocaleString()} faces of ${detail.dataset} (of ${cols.n_dataset.toLocaleString()}), ` +
    `${detail.kind} run, ${ui.map.kind} map.` + (broken ? ` Not loaded: ${broken}.` : "");
}

/** After a run loads: the dataset face asked for (by id), else the upload (re-encoded by the new run), else none. */
async function restoreFace(name, restore) {
  const keepUpload = S.face && S.face.kind === "upload" ? S.face.file : null;
  S.face = null;
  hideInterp();
  if (restore.sel !== null && restore.sel !== undefined) {
    const i = S.cols.indexOf(restore.sel);
    if (i === undefined) showError(`face #${restore.sel} is not in ${name}'s map`);
    else await selectSample(i, restore.v !== null && restore.a !== null ? [restore.v, restore.a] : null);
  } else if (keepUpload) {
    await uploadFile(keepUpload);
  } else {
    clearFace();
  }
}

async function compareChanged() {
  const on = $("#compare-on").checked, name = $("#compare-run").value;
  if (on && name === S.run) {
    showError("Pick another run to compare with (it is the one on the map).");
    $("#compare-on").checked = false;
    return;
  }
  S.cmp = on ? name : null;
  S.cmpDetail = S.cmp ? await api.readRun(S.cmp).catch((err) => { showError(err.message); return null; }) : null;
  renderMetrics();
  syncUrl();
  if (S.face) await setupEditors();
}

export function bindRunControls() {
  $("#run").addEventListener("change", (e) => {
    const sel = S.face && S.face.kind === "sample" ? S.cols.ids[S.face.index] : null;
    const t = S.target || [null, null];
    if (S.cmp === e.target.value) { S.cmp = null; $("#compare-on").checked = false; }
    loadRun(e.target.value, { sel, v: t[0], a: t[1] });
  });
  $("#view").addEventListener("change", async (e) => {
    S.view = e.target.value;
    await ui.map.render(S.run, S.cols, S.detail.emotions, S.view);
    syncUrl();
  });
  $("#colour").addEventListener("change", async (e) => {
    S.colour = e.target.value;
    await ui.map.setColouring(S.colour);
    syncUrl();
  });
  $("#compare-on").addEventListener("change", compareChanged);
  $("#compare-run").addEventListener("change", () => $("#compare-on").checked && compareChanged());
}
