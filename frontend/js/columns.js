// A run's points as binary typed-array columns (GET /api/runs/{run}/columns). The first paint fetches only what the
// view draws, its x and y (float32) and the emotion codes (uint8): 9 bytes a point. Every other column (VA labels
// and heads, split, other projections) is fetched the first time something needs it, once.

import { readColumn, readColumnsManifest } from "./api.js";

/** The columns a face's details need (hover card, selected face, CSV export). */
export const DETAIL_COLUMNS = ["label_v", "label_a", "head_v", "head_a", "split"];

export class Columns {
  constructor(run, manifest) {
    this.run = run;
    this.manifest = manifest;
    this.n = manifest.n;
    this.n_dataset = manifest.n_dataset;
    this.emotions = manifest.emotions;
    this.pending = {};
    if (manifest.ids_are_rows) this.ids = Int32Array.from({ length: this.n }, (_, i) => i); // no fetch needed
  }

  /** The run's columns, from the manifest its detail carries (else fetched). */
  static async load(run, detail = null) {
    return new Columns(run, (detail && detail.columns) || await readColumnsManifest(run));
  }

  /** The server has this column (a projection evaluation skipped has none). */
  has(name) {
    return name in this.manifest.columns;
  }

  /** Resolves when every named column is here (as this[name]); each is fetched at most once. */
  need(names) {
    return Promise.all(names.filter((k) => this.has(k) || k === "ids").map((k) => this.fetch(k)));
  }

  /** Every named column is already here (no waiting). */
  holds(names) {
    return names.every((k) => this[k]);
  }

  fetch(name) {
    if (this[name]) return Promise.resolve(this[name]);
    if (!this.pending[name]) {
      this.pending[name] = readColumn(this.manifest.columns[name]).then((arr) => {
        this[name] = name === "split" ? Array.from(arr, (c) => this.manifest.splits[c] ?? "other") : arr;
        return this[name];
      });
    }
    return this.pending[name];
  }

  /** Point index of dataset row `id` (undefined when the map does not hold it). */
  indexOf(id) {
    if (this.manifest.ids_are_rows) return Number.isInteger(id) && id >= 0 && id < this.n ? id : undefined;
    if (!this.index) this.index = new Map(Array.from(this.ids, (v, i) => [v, i]));
    return this.index.get(id);
  }
}
