// Pixel <-> data coordinates on a cartesian plotly plot: the one place the page reads plotly's internals.
//
// plotly.js has no public API for converting between page pixels and data coordinates, yet the map needs it to place
// its HTML overlay markers and to turn a click on empty space into a valence-arousal target. So this reads the graph
// div's internal full layout: gd._fullLayout.xaxis / .yaxis, each axis's _offset (where the plot area starts inside
// the div, in px) and its p2l / l2p (plot-area pixel <-> linear data value). Checked against plotly.js v4.1.1, the
// plotly.min.js bundled in the installed plotly Python package (7.1.0) that the backend serves at
// /vendor/plotly.min.js. After an upgrade, check these four names here; nothing else in the page touches them.

const CHECKED_WITH = "4.1.1";
let warned = false;

function axes(gd) {
  const fl = gd._fullLayout;
  if (!fl || !fl.xaxis || !fl.yaxis || typeof fl.xaxis.p2l !== "function") return null; // before the first plot
  if (!warned && window.Plotly && Plotly.version !== CHECKED_WITH) {
    warned = true;
    console.warn(`plotly.js ${Plotly.version}: plotly_axes.js was checked against ${CHECKED_WITH}`);
  }
  return { x: fl.xaxis, y: fl.yaxis };
}

/** Page pixel -> data coordinates [x, y] (null before the first plot). */
export function clientToData(gd, clientX, clientY) {
  const ax = axes(gd);
  if (!ax) return null;
  const r = gd.getBoundingClientRect();
  return [ax.x.p2l(clientX - r.left - ax.x._offset), ax.y.p2l(clientY - r.top - ax.y._offset)];
}

/** Data coordinates -> page pixel [x, y] (null before the first plot). */
export function dataToClient(gd, x, y) {
  const ax = axes(gd);
  if (!ax) return null;
  const r = gd.getBoundingClientRect();
  return [r.left + ax.x._offset + ax.x.l2p(x), r.top + ax.y._offset + ax.y.l2p(y)];
}
