// The explorer: wires the map, the upload, the edit pad and one face editor per run (two when comparing), and keeps
// the view in the URL. window.__levasa exposes timings and a few handles for the browser tests and benchmarks.

import * as api from "./api.js";
import { FaceEditor } from "./editor.js";
import { MapView, VIEWS } from "./map.js";
import { VAPad } from "./pad.js";
import { readUrlState, writeUrlState } from "./state.js";
import { bindUpload, cropUrl } from "./upload.js";

const $ = (sel) => document.querySelector(sel);
const fmt = (x) => (x >= 0 ? "+" : "") + x.toFixed(2);
const INTERP_STEPS = 9;

const S = {
  runs: [], run: null, detail: null, cols: null, idOf: null, indexOf: null, view: "label",
  cmp: null, cmpDetail: null,
  face: null, // {kind: "sample", index, id} | {kind: "upload", file, enc: {run: FaceEncoding}}
  target: null, origin: null, second: null, selection: [],
  editors: [],
};

const probe = (window.__levasa = {
  ready: false, n: 0, paintMs: null, previewFrames: 0, frameTimes: [], previewCostMs: [], settles: [], lastMoveAt: 0,
  errors: [],
  state: S,
  pointClient: (i) => map.pointClient(i),
});

// ---------- errors ----------
function showError(msg) {
  // While the banner is up, messages stack (the newest last, three at most) so none hides another.
  const box = $("#error .msg");
  const shown = $("#error").hidden ? [] : box.textContent.split("\n").filter(Boolean);
  box.textContent = [...shown.filter((m) => m !== msg), msg].slice(-3).join("\n");
  $("#error").hidden = false;
  probe.errors.push(msg);
}
$("#error .close").addEventListener("click", () => { $("#error").hidden = true; });

// ---------- map ----------
const map = new MapView($("#map"), $("#map-wrap"), {
  onSelect: (i, ev) => (ev.shiftKey && S.face ? pickSecond(i) : selectSample(i)),
  onEmptyClick: (v, a) => {
    if (!S.face) { showError("Select a face (click a point) or upload one first; then click the plane to imagine it there."); return; }
    setTarget(v, a, "end");
  },
  onSelection: (idx) => {
    S.selection = idx;
    const b = $("#export-csv");
    b.disabled = idx.length === 0;
    b.textContent = idx.length ? `Export ${idx.length.toLocaleString()} points (CSV)` : "Export selection (CSV)";
  },
  onTargetDrag: (v, a, phase) => {
    const d = Math.hypot(v, a);
    if (d > 1) { v /= d; a /= d; }
    const [sv, sa] = pad.snapped(v, a);
    setTarget(sv, sa, phase);
  },
});

// ---------- pad ----------
const pad = new VAPad($("#pad"), (v, a, phase) => setTarget(v, a, phase));
$("#snap").addEventListener("change", (e) => { pad.snap = e.target.checked; });
$("#reset-target").addEventListener("click", () => S.origin && setTarget(S.origin[0], S.origin[1], "end"));

// ---------- the target: preview every frame, exact edit latest-wins ----------
let frameQueued = false;
function setTarget(v, a, phase = "end") {
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

function drawFrame() {
  frameQueued = false;
  const [v, a] = S.target;
  pad.setTarget(v, a);
  map.setMarker("target", { va: true, x: v, y: a });
  let drawn = false;
  const t0 = performance.now();
  for (const ed of S.editors) if (ed.shown === null || ed.shown[0] !== v || ed.shown[1] !== a) drawn = ed.preview(v, a) || drawn;
  if (drawn) {
    probe.previewCostMs.push(performance.now() - t0);
    if (probe.previewCostMs.length > 2000) probe.previewCostMs.splice(0, 1000);
    probe.previewFrames += 1;
    probe.frameTimes.push(performance.now());
    if (probe.frameTimes.length > 2000) probe.frameTimes.splice(0, 1000);
  }
}

function onExact(ed, want) {
  if (S.target && want[0] === S.target[0] && want[1] === S.target[1]) {
    probe.settles.push(performance.now() - probe.lastMoveAt);
  }
}

function onEditorError(ed, err) {
  ed.setNote(err.message);
  if (err.status >= 500 || !err.status) showError(`${ed.run}: ${err.message}`);
}

// ---------- runs ----------
function plotlyLoaded() {
  if (window.Plotly) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const tag = document.getElementById("plotly-js");
    tag.addEventListener("load", resolve, { once: true });
    tag.addEventListener("error", () => reject(new Error("plotly.js did not load from /vendor/plotly.min.js")), { once: true });
  });
}

async function init() {
  const url = readUrlState();
  try {
    S.runs = await api.listRuns();
  } catch (err) {
    $("#map-status").textContent = `Could not list the runs: ${err.message}`;
    return;
  }
  const ready = S.runs.filter((r) => r.status === "ready");
  const broken = S.runs.filter((r) => r.status !== "ready");
  if (!ready.length) {
    $("#map-status").textContent = "No run is ready to serve. " + broken.map((r) => `${r.name}: ${r.error}`).join("; ");
    return;
  }
  const opt = (r) => `<option value="${r.name}">${r.name} (${r.kind}, ${r.dataset || "?"})</option>`;
  $("#run").innerHTML = ready.map(opt).join("");
  $("#compare-run").innerHTML = ready.map(opt).join("");
  $("#view").innerHTML = Object.entries(VIEWS).map(([k, v]) => `<option value="${k}">${v.name}</option>`).join("");
  const preferred = ready.find((r) => r.name === url.run) || ready.find((r) => r.kind === "levasa") || ready[0];
  if (url.run && preferred.name !== url.run) showError(`run '${url.run}' is not served here; showing ${preferred.name}`);
  S.view = VIEWS[url.view] ? url.view : "label";
  $("#view").value = S.view;
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

async function loadRun(name, restore = {}) {
  S.run = name;
  $("#run").value = name;
  $("#map-status").textContent = `Loading ${name}…`;
  let detail, cols;
  try {
    [detail, cols] = await Promise.all([api.readRun(name), api.readProjections(name), plotlyLoaded()]);
  } catch (err) {
    $("#map-status").textContent = `${name}: ${err.message}`;
    showError(`${name}: ${err.message}`);
    return;
  }
  probe.marks = probe.marks || { data: performance.now() };
  S.detail = detail;
  S.cols = cols;
  S.idOf = cols.ids;
  S.indexOf = new Map(cols.ids.map((id, i) => [id, i]));
  for (const [k, v] of Object.entries(VIEWS)) {
    $(`#view option[value="${k}"]`).disabled = !v.va && !cols[v.x].length;
  }
  pad.setEmotions(detail.emotions);
  renderSnapButtons(detail.emotions);
  await map.render(name, cols, detail.emotions, S.view);
  if (!probe.marks.plotted) probe.marks.plotted = performance.now();
  S.view = map.view;
  $("#view").value = S.view;
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  if (probe.paintMs === null) probe.paintMs = performance.now();
  probe.n = cols.n;
  const broken = $("#map-status").dataset.broken;
  $("#map-status").textContent = `${cols.n.toLocaleString()} faces of ${detail.dataset} (of ${cols.n_dataset.toLocaleString()}), ` +
    `${detail.kind} run, ${map.webgl ? "WebGL" : "SVG (no WebGL here)"}.` + (broken ? ` Not loaded: ${broken}.` : "");
  if (S.cmp) S.cmpDetail = await api.readRun(S.cmp).catch(() => null);
  renderMetrics();
  // Restore or keep the face: a dataset face by id, else the upload (re-encoded by the new run).
  const keepUpload = S.face && S.face.kind === "upload" ? S.face.file : null;
  S.face = null;
  S.second = null;
  $("#interp").hidden = true;
  map.setMarker("second", null);
  if (restore.sel !== null && restore.sel !== undefined) {
    const i = S.indexOf.get(restore.sel);
    if (i === undefined) showError(`face #${restore.sel} is not in ${name}'s map`);
    else await selectSample(i, restore.v !== null && restore.a !== null ? [restore.v, restore.a] : null);
  } else if (keepUpload) {
    await uploadFile(keepUpload);
  } else {
    clearFace();
  }
  probe.ready = true;
  syncUrl();
}

function clearFace() {
  S.face = null;
  $("#face").hidden = true;
  for (const m of ["selected", "upload", "target", "origin"]) map.setMarker(m, null);
  S.editors = [];
  $("#editors").innerHTML = "";
}

$("#run").addEventListener("change", (e) => {
  const sel = S.face && S.face.kind === "sample" ? S.cols.ids[S.face.index] : null;
  const t = S.target || [null, null];
  if (S.cmp === e.target.value) { S.cmp = null; $("#compare-on").checked = false; }
  loadRun(e.target.value, { sel, v: t[0], a: t[1] });
});
$("#view").addEventListener("change", async (e) => {
  S.view = e.target.value;
  await map.render(S.run, S.cols, S.detail.emotions, S.view);
  syncUrl();
});
const compareChanged = async () => {
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
};
$("#compare-on").addEventListener("change", compareChanged);
$("#compare-run").addEventListener("change", () => $("#compare-on").checked && compareChanged());

function syncUrl() {
  const sel = S.face && S.face.kind === "sample" ? S.cols.ids[S.face.index] : null;
  const t = S.face && S.target ? S.target : [null, null];
  writeUrlState({ run: S.run, view: S.view, sel, v: t[0], a: t[1], cmp: S.cmp });
}

$("#share").addEventListener("click", async () => {
  syncUrl();
  try { await navigator.clipboard.writeText(location.href); $("#share").textContent = "Link copied"; }
  catch { prompt("Copy this link", location.href); }
  setTimeout(() => { $("#share").textContent = "Copy link"; }, 1500);
});

// ---------- faces ----------
function editorRuns() {
  return S.cmp ? [S.run, S.cmp] : [S.run];
}

function sameDataset(a, b) {
  return a && b && a.dataset === b.dataset && a.n_samples === b.n_samples;
}

/** Build one editor card per run and point each at the current face. */
async function setupEditors() {
  const box = $("#editors");
  box.innerHTML = "";
  S.editors = editorRuns().map((run) => {
    const card = $("#editor-card").content.firstElementChild.cloneNode(true);
    const d = run === S.run ? S.detail : S.cmpDetail;
    card.querySelector(".run-name").textContent = `${run} · ${d ? d.kind : ""}`;
    box.appendChild(card);
    return new FaceEditor(run, card, { onExact, onError: onEditorError });
  });
  await Promise.all(S.editors.map(async (ed) => {
    const src = await sourceFor(ed.run);
    if (!src) return;
    if (await ed.load(src) && S.target) {
      ed.preview(S.target[0], S.target[1]);
      ed.request(S.target[0], S.target[1]);
    }
  }));
}

async function sourceFor(run) {
  const f = S.face;
  if (f.kind === "sample") {
    if (run === S.run || sameDataset(S.detail, S.cmpDetail)) return { sample: S.cols.ids[f.index] };
    editorFor(run).clear(`This face is in ${S.detail.dataset}, which ${run} was not trained on. Upload a photo to compare the two.`);
    return null;
  }
  let enc = f.enc[run];
  if (!enc) {
    try {
      enc = f.enc[run] = await api.encodeFile(run, f.file);
    } catch (err) {
      editorFor(run).clear(err.message);
      return null;
    }
  }
  return { latent: [...enc.zv, ...enc.za, ...enc.zz] };
}

const editorFor = (run) => S.editors.find((e) => e.run === run);

async function selectSample(i, target = null) {
  const c = S.cols, id = c.ids[i];
  S.face = { kind: "sample", index: i, id };
  S.origin = [c.head_v[i], c.head_a[i]];
  S.target = target || S.origin.slice();
  S.second = null;
  $("#interp").hidden = true;
  map.setMarker("second", null);
  map.setMarker("upload", null);
  map.setMarker("selected", { index: i });
  map.setMarker("target", { va: true, x: S.target[0], y: S.target[1] });
  pad.setOrigin(...S.origin);
  pad.setTarget(...S.target);
  $("#face").hidden = false;
  $("#face-title").textContent = `#${id} from ${S.detail.dataset}`;
  $("#face-input").src = api.thumbnailUrl(S.run, id);
  $("#face-info").innerHTML = `<b>${c.emotions[c.emotion[i]]}</b> (label)<br>label V ${fmt(c.label_v[i])} A ${fmt(c.label_a[i])}` +
    `<br>model V ${fmt(c.head_v[i])} A ${fmt(c.head_a[i])}<br>split ${c.split[i]}` +
    `<br><span class="hint">shift-click another face to interpolate</span>`;
  $("#face-recon").removeAttribute("src");
  syncUrl();
  const recon = api.readSample(S.run, id).then((s) => api.decodeOne(S.run, s.latent))
    .then((b) => { if (S.face && S.face.id === id) $("#face-recon").src = URL.createObjectURL(b); })
    .catch((err) => showError(err.message));
  await Promise.all([setupEditors(), recon]);
}

async function uploadFile(file) {
  const status = $("#upload-status");
  status.classList.remove("error");
  status.textContent = `Reading ${file.name}…`;
  let enc;
  try {
    enc = await api.encodeFile(S.run, file);
  } catch (err) {
    status.classList.add("error");
    status.textContent = `${file.name}: ${err.message}`;
    showError(`The upload was not accepted: ${err.message}`);
    return;
  }
  const how = { detected: "face found", center: "no face found: the centre square was used", whole: "taken as a face crop" }[enc.crop];
  status.textContent = `${file.name} (${enc.image_size.join(" × ")} px): ${how}.`;
  S.face = { kind: "upload", file, enc: { [S.run]: enc } };
  S.origin = [enc.valence, enc.arousal];
  S.target = S.origin.slice();
  S.second = null;
  $("#interp").hidden = true;
  map.setMarker("selected", null);
  map.setMarker("second", null);
  map.setMarker("upload", { va: true, x: enc.valence, y: enc.arousal });
  map.setMarker("target", { va: true, x: S.target[0], y: S.target[1] });
  if (!VIEWS[S.view].va) status.textContent += " Switch the map to a VA view to see where it lands.";
  pad.setOrigin(...S.origin);
  pad.setTarget(...S.target);
  $("#face").hidden = false;
  $("#face-title").textContent = `your upload, ${file.name}`;
  $("#face-info").innerHTML = `<b>${enc.emotion}</b> (nearest)<br>model V ${fmt(enc.valence)} A ${fmt(enc.arousal)}` +
    `<br>box ${enc.box.width} px at (${enc.box.x}, ${enc.box.y})`;
  $("#face-input").src = await cropUrl(file, enc.box).catch(() => "");
  const latent = [...enc.zv, ...enc.za, ...enc.zz];
  const recon = api.decodeOne(S.run, latent).then((b) => { $("#face-recon").src = URL.createObjectURL(b); })
    .catch((err) => showError(err.message));
  syncUrl();
  await Promise.all([setupEditors(), recon]);
}

bindUpload($("#dropzone"), $("#file"), uploadFile, (msg) => {
  $("#upload-status").classList.add("error");
  $("#upload-status").textContent = msg;
  showError(msg);
});

// ---------- snapping to named emotions ----------
function renderSnapButtons(emotions) {
  const box = $("#snap-buttons");
  box.innerHTML = "";
  for (const [name, e] of Object.entries(emotions || {})) {
    const b = document.createElement("button");
    b.textContent = name;
    b.title = `move the target to ${name}'s centre (V ${fmt(e.mu_v)}, A ${fmt(e.mu_a)})`;
    b.addEventListener("click", () => setTarget(e.mu_v, e.mu_a, "end"));
    box.appendChild(b);
  }
}

// ---------- interpolation between two dataset faces ----------
async function pickSecond(j) {
  if (S.face.kind !== "sample") { showError("Interpolation runs between two dataset faces: click one, then shift-click another."); return; }
  const i = S.face.index, c = S.cols;
  S.second = j;
  map.setMarker("second", { index: j });
  $("#interp").hidden = false;
  $("#interp-hint").textContent = `#${c.ids[i]} (${c.emotions[c.emotion[i]]}) to #${c.ids[j]} (${c.emotions[c.emotion[j]]}), ` +
    `${INTERP_STEPS} steps through the latent space of ${S.run}`;
  const strip = $("#interp-strip");
  strip.innerHTML = "";
  try {
    const [a, b] = await Promise.all([api.readSample(S.run, c.ids[i]), api.readSample(S.run, c.ids[j])]);
    const zs = Array.from({ length: INTERP_STEPS }, (_, k) => {
      const t = k / (INTERP_STEPS - 1);
      return a.latent.map((x, d) => x + t * (b.latent[d] - x));
    });
    const imgs = await api.decodeMany(S.run, zs);
    if (S.second !== j) return;
    strip.innerHTML = imgs.map((s, k) => `<img src="data:image/png;base64,${s}" alt="step ${k}" title="t = ${(k / (INTERP_STEPS - 1)).toFixed(2)}">`).join("");
  } catch (err) {
    showError(err.message);
  }
}

// ---------- metrics ----------
const METRIC_LABELS = {
  ccc_v: "valence CCC (heads)", ccc_a: "arousal CCC (heads)", recon_mse: "recon MSE",
  edit_heads_ccc_v: "edit read-back CCC v", edit_judge_ccc_v: "edit judge CCC v",
};
function renderMetrics() {
  const runs = [S.detail, S.cmp ? S.cmpDetail : null].filter(Boolean);
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.headline || {})))];
  const t = $("#metrics-table");
  let html = `<tr><th>held-out</th>${runs.map((r) => `<th>${r.name}</th>`).join("")}</tr>` +
    `<tr><td>model</td>${runs.map((r) => `<td>${r.kind}, ${r.epochs} epochs</td>`).join("")}</tr>`;
  const missing = runs.filter((r) => !Object.keys(r.headline || {}).length).map((r) => r.name);
  // The best classifier's accuracy on [z_v, z_a] (held-out), against the majority class.
  const acc = (r) => {
    const res = r.metrics && r.metrics.emotion && r.metrics.emotion.results && r.metrics.emotion.results["z_v+z_a"];
    return res ? Math.max(...Object.values(res).map((m) => m.accuracy)) : null;
  };
  for (const k of keys) {
    html += `<tr><td>${METRIC_LABELS[k] || k}</td>${runs.map((r) => {
      const x = r.headline[k];
      return `<td>${x === undefined ? "–" : x.toFixed(k === "recon_mse" ? 4 : 3)}</td>`;
    }).join("")}</tr>`;
  }
  if (runs.some(acc)) html += `<tr><td>emotion accuracy, [z_v, z_a]</td>${runs.map((r) => `<td>${acc(r) ? acc(r).toFixed(3) : "–"}</td>`).join("")}</tr>`;
  if (missing.length) {
    html += `<tr><td colspan="${runs.length + 1}">Not evaluated yet: ${missing.map((n) =>
      `<code>python -m scripts.evaluate runs/${n}</code>`).join(", ")}</td></tr>`;
  }
  t.innerHTML = html;
}

// ---------- CSV export of the selected points ----------
$("#export-csv").addEventListener("click", () => {
  const c = S.cols;
  const rows = ["id,emotion,label_valence,label_arousal,model_valence,model_arousal,split"];
  for (const i of S.selection) {
    rows.push([c.ids[i], c.emotions[c.emotion[i]], c.label_v[i], c.label_a[i], c.head_v[i], c.head_a[i], c.split[i]].join(","));
  }
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([rows.join("\n") + "\n"], { type: "text/csv" }));
  a.download = `${S.run}-selection-${S.selection.length}.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
});

init().catch((err) => { showError(`The page failed to start: ${err.message}`); console.error(err); });
