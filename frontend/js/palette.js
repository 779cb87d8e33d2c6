// The emotion palette. Its one owner is the server (GET /api/emotions, the report's colours); the page reads it once
// at start and the map and the pad ask colourOf(name). Until it is in, or if it could not be read, emotions are grey.

import { readEmotions } from "./api.js";

const UNKNOWN = "#444444";
const HEX = /^#[0-9a-f]{6}$/i;
let colours = new Map();

/** Read the palette; resolves to the list [{name, code, colour}] in code order. */
export async function loadPalette() {
  const { emotions } = await readEmotions();
  colours = new Map(emotions.filter((e) => HEX.test(e.colour)).map((e) => [e.name, e.colour]));
  return emotions;
}

export const colourOf = (name) => colours.get(name) || UNKNOWN;

/** The ramp for colouring by valence or arousal, -1 to 1: plotly's "RdBu", the one report.html colours VA by. */
const RAMP = [[0, [5, 10, 172]], [0.35, [106, 137, 247]], [0.5, [190, 190, 190]], [0.6, [220, 170, 132]],
              [0.7, [230, 145, 90]], [1, [178, 10, 28]]];

export const RAMP_CSS = `linear-gradient(to right, ${RAMP.map(([t, c]) => `rgb(${c}) ${t * 100}%`).join(", ")})`;

/** The ramp as 256 RGBA texels (texel k: value -1 + 2k / 255). */
export function rampTexels() {
  const out = new Uint8Array(256 * 4);
  for (let k = 0; k < 256; k++) {
    const t = k / 255, j = Math.max(1, RAMP.findIndex(([s]) => s >= t));
    const [t0, c0] = RAMP[j - 1], [t1, c1] = RAMP[j], f = (t - t0) / (t1 - t0 || 1);
    for (let ch = 0; ch < 3; ch++) out[k * 4 + ch] = Math.round(c0[ch] + f * (c1[ch] - c0[ch]));
    out[k * 4 + 3] = 255;
  }
  return out;
}

/** The emotion palette as 256 RGBA texels by code (names: the codes' names); hidden codes get alpha 0. */
export function paletteTexels(names, hidden = new Set()) {
  const out = new Uint8Array(256 * 4);
  names.forEach((name, code) => {
    const hex = colourOf(name);
    for (let ch = 0; ch < 3; ch++) out[code * 4 + ch] = parseInt(hex.slice(1 + 2 * ch, 3 + 2 * ch), 16);
    out[code * 4 + 3] = hidden.has(code) ? 0 : 255;
  });
  return out;
}

/** A value in [-1, 1] as the ramp's byte (NaN: the middle). */
export const rampByte = (v) => (Number.isFinite(v) ? Math.round((Math.max(-1, Math.min(1, v)) + 1) * 127.5) : 128);
