// Building the page from data. A string from the server or the user (run, dataset, file and emotion names, error
// details) goes into the page as text: el() makes elements whose strings become text nodes, and esc() is for the few
// places that take markup from a template (plotly's legend and annotation labels read a subset of HTML).

const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;" };

/** Any value -> text safe to put inside markup (numeric entities, which plotly decodes too). */
export const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ENTITIES[c]);

/**
 * el("td", {class: "n", title: "…"}, "text", child, …) -> a new element. Strings and numbers become text nodes;
 * null, undefined and false are skipped, arrays are flattened. Attribute names are always literals in the code.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : String(c))));
  return node;
}

export const $ = (sel) => document.querySelector(sel);

/** A signed figure with two decimals: +0.25, -1.00. */
export const fmt = (x) => (x >= 0 ? "+" : "") + x.toFixed(2);
