// The points selected on the map (box or lasso): the export button's count, and the selection as a CSV download.

import { DETAIL_COLUMNS } from "./columns.js";
import { S } from "./store.js";

const HEADER = ["id", "emotion", "label_valence", "label_arousal", "model_valence", "model_arousal", "split"];

/** A CSV field: quoted when it holds a comma, a quote or a line break (names come from the server). */
const field = (x) => (/[",\r\n]/.test(String(x)) ? `"${String(x).replace(/"/g, '""')}"` : String(x));

export function setSelection(idx, button) {
  S.selection = idx;
  button.disabled = idx.length === 0;
  button.textContent = idx.length ? `Export ${idx.length.toLocaleString()} points (CSV)` : "Export selection (CSV)";
}

function selectionCsv() {
  const c = S.cols;
  const rows = S.selection.map((i) =>
    [c.ids[i], c.emotions[c.emotion[i]], c.label_v[i], c.label_a[i], c.head_v[i], c.head_a[i], c.split[i]]);
  return [HEADER, ...rows].map((r) => r.map(field).join(",")).join("\n") + "\n";
}

export function bindExport(button) {
  button.addEventListener("click", async () => {
    await S.cols.need(DETAIL_COLUMNS);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([selectionCsv()], { type: "text/csv" }));
    a.download = `${S.run}-selection-${S.selection.length}.csv`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  });
}
