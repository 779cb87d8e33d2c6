// The emotion palette. Its one owner is the server (GET /api/emotions, the report's colours); the page reads it once
// at start and the map and the pad ask colourOf(name). Until it is in, or if it could not be read, emotions are grey.

import { readEmotions } from "./api.js";

const UNKNOWN = "#444";
const HEX = /^#[0-9a-f]{6}$/i;
let colours = new Map();

/** Read the palette; resolves to the list [{name, code, colour}] in code order. */
export async function loadPalette() {
  const { emotions } = await readEmotions();
  colours = new Map(emotions.filter((e) => HEX.test(e.colour)).map((e) => [e.name, e.colour]));
  return emotions;
}

export const colourOf = (name) => colours.get(name) || UNKNOWN;
