// The error banner: what went wrong in plain words, shown as text. While it is up, messages stack (the newest last,
// three at most) so none hides another.

import { $ } from "./dom.js";
import { probe } from "./store.js";

export function showError(msg) {
  const box = $("#error .msg");
  const shown = $("#error").hidden ? [] : box.textContent.split("\n").filter(Boolean);
  box.textContent = [...shown.filter((m) => m !== msg), msg].slice(-3).join("\n");
  $("#error").hidden = false;
  probe.errors.push(msg);
}

export function bindErrorBanner() {
  $("#error .close").addEventListener("click", () => { $("#error").hidden = true; });
}
