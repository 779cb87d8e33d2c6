// The one module that knows the REST paths. Every call resolves to data or throws an ApiError whose message is the
// server's own explanation (the `detail` of a 4xx), so the page can show it in plain words.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const enc = encodeURIComponent;
const runPath = (run) => `/api/runs/${enc(run)}`;

async function check(resp) {
  if (resp.ok) return resp;
  let msg = `${resp.status} ${resp.statusText}`;
  try {
    const body = await resp.json();
    if (body && body.detail) msg = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch { /* not JSON: keep the status line */ }
  throw new ApiError(resp.status, msg);
}

async function getJSON(url) {
  return (await check(await fetch(url))).json();
}

async function post(url, body, init = {}) {
  const opts = body instanceof FormData
    ? { method: "POST", body, ...init }
    : { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" }, ...init };
  return check(await fetch(url, opts));
}

export const listRuns = () => getJSON("/api/runs");
/** The emotion palette: {emotions: [{name, code, colour}]} in AffectNet code order. */
export const readEmotions = () => getJSON("/api/emotions");
export const readRun = (run) => getJSON(runPath(run));
/** The binary columns of a run's points: {n, n_dataset, emotions, splits, ids_are_rows, columns: {name: {dtype, url}}}. */
export const readColumnsManifest = (run) => getJSON(`${runPath(run)}/columns`);
const TYPED = { float32: Float32Array, uint8: Uint8Array, int32: Int32Array };
/** One binary column as its typed array (the browser's cache revalidates it by ETag). */
export async function readColumn(meta) {
  const buf = await (await check(await fetch(meta.url))).arrayBuffer();
  return new TYPED[meta.dtype](buf);
}
export const readSample = (run, id) => getJSON(`${runPath(run)}/samples/${id}`);
export const thumbnailUrl = (run, id) => `${runPath(run)}/samples/${id}/thumbnail`;

/** One image file -> the face's encoding (FaceEncoding: zv, za, zz, valence, arousal, emotion, box, crop). */
export async function encodeFile(run, file) {
  const form = new FormData();
  form.append("files", file, file.name || "upload");
  const body = await (await post(`${runPath(run)}/encode`, form)).json();
  return body.faces[0];
}

/** One latent -> PNG blob. */
export async function decodeOne(run, latent) {
  return (await post(`${runPath(run)}/decode`, { latent })).blob();
}

/** Several latents -> base64 PNG strings. */
export async function decodeMany(run, latents) {
  return (await (await post(`${runPath(run)}/decode`, { latents })).json()).images;
}

/**
 * The exact edit: source ({sample}, {latent} or {image, box}) moved to (valence, arousal) -> {blob, readV, readA,
 * emotion}. The PNG comes as is; the read-back VA rides in response headers (no base64 on the hot path). output "box"
 * (image sources) sends the photo's face box with the edit pasted in instead of the decoded face.
 */
export async function editFace(run, source, valence, arousal, output = "face") {
  const body = { ...source, valence, arousal, ...(output === "face" ? {} : { output }) };
  const resp = await post(`${runPath(run)}/edit`, body);
  const h = resp.headers;
  return {
    blob: await resp.blob(),
    readV: parseFloat(h.get("X-Read-Valence")),
    readA: parseFloat(h.get("X-Read-Arousal")),
    emotion: h.get("X-Emotion") || "",
  };
}

/** The N x N sprite of the face edited across the VA plane -> {blob, layout}; output "box" as for editFace. */
export async function editGrid(run, source, n, output = "face") {
  const resp = await post(`${runPath(run)}/edit-grid`, { ...source, n, ...(output === "face" ? {} : { output }) });
  return { blob: await resp.blob(), layout: JSON.parse(resp.headers.get("X-Grid-Layout")) };
}
