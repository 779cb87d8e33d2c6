// The page's shared state S, the two widgets every feature draws on, and window.__levasa: the probe that the browser
// tests and scripts/bench/frontend.py read (ready, n, paintMs, marks, previewFrames, frameTimes, previewCostMs,
// settles, lastMoveAt, errors, state, pointClient, toData, toClient).

export const S = {
  runs: [], run: null, detail: null, cols: null, idOf: null, view: "label", colour: "emotion", // cols: a Columns
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
  marks: null, // {data: ms when the run's points (and plotly.js, for the plotly map) were in, plotted: ms when drawn}
  previewFrames: 0, frameTimes: [], previewCostMs: [], // sprite previews drawn while the target moves
  settles: [], // ms from the last move to its exact edit on screen
  lastMoveAt: 0,
  errors: [], // every message the error banner showed
  state: S,
  ui, // the map and the pad (the benchmarks count the map's frames)
  pointClient: (i) => ui.map.pointClient(i), // page pixel of dataset point i
  toData: ([x, y]) => ui.map.toData(x, y), // page pixel -> the map view's data coordinates
  toClient: ([x, y]) => { // the map view's data coordinates -> page pixel
    const p = ui.map.toPixel(x, y), r = ui.map.wrap.getBoundingClientRect();
    return p && [p[0] + r.left, p[1] + r.top];
  },
});
