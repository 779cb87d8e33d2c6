// The page's shared state S, the two widgets every feature draws on, and window.__levasa: the probe that the browser
// tests and scripts/bench/frontend.py read (ready, n, paintMs, marks, previewFrames, frameTimes, previewCostMs,
// settles, lastMoveAt, errors, state, pointClient).

export const S = {
  runs: [], run: null, detail: null, cols: null, idOf: null, view: "label", // cols: a Columns (columns.js)
  cmp: null, cmpDetail: null,
  face: null, // {kind: "sample", index, id} | {kind: "upload", file, enc: {run: FaceEncoding}}
  target: null, origin: null, second: null, selection: [],
  editors: [],
};

/** The map (MapView) and the edit pad (VAPad); app.js makes them once at start. */
export const ui = { map: null, pad: null };

export const probe = (window.__levasa = {
  ready: false, // the first run is plotted and its face (if any) restored
  n: 0, // points on the map
  paintMs: null, // page time when the map was first painted
  marks: null, // {data: ms when the run's points and plotly.js were in, plotted: ms when plotly had drawn}
  previewFrames: 0, frameTimes: [], previewCostMs: [], // sprite previews drawn while the target moves
  settles: [], // ms from the last move to its exact edit on screen
  lastMoveAt: 0,
  errors: [], // every message the error banner showed
  state: S,
  pointClient: (i) => ui.map.pointClient(i), // page pixel of dataset point i
});
