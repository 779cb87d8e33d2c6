// The map's legend under it: each emotion with its colour and its number of faces, a button that shows or hides it,
// and while the points are coloured by valence or arousal, the ramp from -1 to +1.

import { el } from "./dom.js";
import { RAMP_CSS, colourOf } from "./palette.js";

/** code -> how many points carry it (codes that occur only). */
export function countCodes(codes) {
  const counts = new Float64Array(256);
  for (let i = 0; i < codes.length; i++) counts[codes[i]]++;
  return new Map([...counts.entries()].filter(([, k]) => k > 0));
}

/**
 * Fill `box`: names by code, counts from countCodes, hidden codes, the colouring shown (a COLOURINGS entry) and
 * onToggle(code) for a click on an emotion.
 */
export function renderLegend(box, names, counts, hidden, colouring, onToggle) {
  const items = [...counts.keys()].sort((a, b) => a - b).map((code) => {
    const name = names[code] ?? `code ${code}`;
    const b = el("button", { type: "button", class: "legend-item", "data-code": code,
                             "aria-pressed": String(!hidden.has(code)), title: `show or hide ${name}` },
      el("span", { class: "swatch", style: `background:${colourOf(name)}` }),
      `${name} (${counts.get(code).toLocaleString()})`);
    b.addEventListener("click", () => onToggle(code));
    return b;
  });
  const ramp = colouring.column ? [el("span", { class: "legend-ramp" }, "−1 ",
    el("span", { class: "ramp", style: `background:${RAMP_CSS}` }), ` +1 ${colouring.name}`)] : [];
  box.replaceChildren(...ramp, ...items);
}
