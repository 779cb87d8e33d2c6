// The view lives in the URL (run, view, colouring, selected face, VA target, compare run), so a view can be shared or bookmarked.

const KEYS = ["run", "view", "colour", "sel", "v", "a", "cmp"];

export function readUrlState() {
  const q = new URLSearchParams(location.search);
  const num = (k) => {
    const x = parseFloat(q.get(k));
    return Number.isFinite(x) ? Math.max(-1, Math.min(1, x)) : null;
  };
  const sel = parseInt(q.get("sel"), 10);
  return {
    run: q.get("run"),
    view: q.get("view"),
    colour: q.get("colour"),
    sel: Number.isInteger(sel) && sel >= 0 ? sel : null,
    v: num("v"),
    a: num("a"),
    cmp: q.get("cmp"),
  };
}

/** Write the state into the URL without a new history entry (dragging would flood the back button otherwise). */
export function writeUrlState(state) {
  const q = new URLSearchParams();
  for (const k of KEYS) {
    const x = state[k];
    if (x === null || x === undefined || x === "") continue;
    q.set(k, typeof x === "number" && !Number.isInteger(x) ? x.toFixed(3) : String(x));
  }
  const url = `${location.pathname}?${q}`;
  if (url !== location.pathname + location.search) history.replaceState(null, "", url);
}
