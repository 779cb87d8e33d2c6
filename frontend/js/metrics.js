// The held-out figures of the run on the map (and the compared run): from its full evaluation (metrics.json) when it
// has one, else from what training measured on the held-out split (summary.json), and what an evaluation would add.

import { $, el } from "./dom.js";
import { S } from "./store.js";

const LABELS = {
  ccc_v: "valence CCC (heads)", ccc_a: "arousal CCC (heads)", recon_mse: "recon MSE",
  edit_heads_ccc_v: "edit read-back CCC v", edit_judge_ccc_v: "edit judge CCC v",
};
const SUMMARY_KEYS = ["ccc_v", "ccc_a", "recon_mse"];
const EVALUATION_ADDS = "A full evaluation adds linear probes, emotion prediction, t-SNE quality and edit fidelity " +
  "scored by an independent judge: ";

const num = (x) => typeof x === "number" && Number.isFinite(x);
const cell = (x, digits) => el("td", {}, num(x) ? x.toFixed(digits) : "–");

/** A run's figures by key: the server's headline, else the numbers in its training summary. */
function figuresOf(r) {
  const h = r.headline && typeof r.headline === "object" ? r.headline : {};
  if (Object.keys(h).length) return h;
  const s = r.summary || {};
  return Object.fromEntries(SUMMARY_KEYS.filter((k) => num(s[k])).map((k) => [k, s[k]]));
}

/** Where a run's figures come from, in a few words (the server's headline_source, else what the run holds). */
function sourceOf(r) {
  const src = r.headline_source || (r.metrics ? "evaluation" : r.summary ? "training" : null);
  if (src === "evaluation") return "full evaluation";
  if (src !== "training" || !Object.keys(figuresOf(r)).length) return "none yet";
  const s = r.summary || {};
  const n = num(s.n_heldout) ? `${s.n_heldout.toLocaleString()} ` : "";
  return `training's check on ${n}${s.heldout ? `${s.heldout} ` : "held-out "}faces`;
}

/** The best classifier's held-out accuracy on [z_v, z_a] (null without a full evaluation). */
function emotionAccuracy(r) {
  const res = r.metrics && r.metrics.emotion && r.metrics.emotion.results && r.metrics.emotion.results["z_v+z_a"];
  const accs = res ? Object.values(res).map((m) => m && m.accuracy).filter(num) : [];
  return accs.length ? Math.max(...accs) : null;
}

function row(label, cells) {
  return el("tr", {}, el("td", {}, label), ...cells);
}

export function renderMetrics() {
  const runs = [S.detail, S.cmp ? S.cmpDetail : null].filter(Boolean);
  const figs = runs.map(figuresOf);
  const keys = [...new Set(figs.flatMap((f) => Object.keys(f)))];
  const rows = [
    el("tr", {}, el("th", {}, "held-out"), ...runs.map((r) => el("th", {}, r.name))),
    row("model", runs.map((r) => el("td", {}, `${r.kind}, ${num(r.epochs) ? r.epochs : "?"} epochs`))),
    row("figures from", runs.map((r) => el("td", {}, sourceOf(r)))),
    ...keys.map((k) => row(LABELS[k] || k, figs.map((f) => cell(f[k], k === "recon_mse" ? 4 : 3)))),
  ];
  if (runs.some((r) => emotionAccuracy(r) !== null)) {
    rows.push(row("emotion accuracy, [z_v, z_a]", runs.map((r) => cell(emotionAccuracy(r), 3))));
  }
  const unevaluated = runs.filter((r) => !r.metrics).map((r) => r.name);
  if (unevaluated.length) {
    const cmds = unevaluated.flatMap((n, k) => [k ? ", " : "", el("code", {}, `levasa evaluate runs/${n}`)]);
    rows.push(el("tr", {}, el("td", { colspan: runs.length + 1, class: "note-row" }, EVALUATION_ADDS, ...cmds)));
  }
  $("#metrics-table").replaceChildren(...rows);
}
