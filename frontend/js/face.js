// The face panel: a dataset face picked on the map, or an upload. It shows the model's input and reconstruction and
// the face's figures, places the face's markers, sets the edit target to the face's own VA and builds the editors.

import * as api from "./api.js";
import { DETAIL_COLUMNS } from "./columns.js";
import { $, el, fmt } from "./dom.js";
import { clearEditors, setupEditors } from "./editors.js";
import { showError } from "./errors.js";
import { hideInterp } from "./interp.js";
import { VIEWS } from "./views.js";
import { syncUrl } from "./share.js";
import { S, ui } from "./store.js";
import { cropUrl } from "./upload.js";

const CROPS = { detected: "face found", center: "no face found: the centre square was used", whole: "taken as a face crop" };

export function clearFace() {
  S.face = null;
  $("#face").hidden = true;
  for (const m of ["selected", "upload", "target", "origin"]) ui.map.setMarker(m, null);
  clearEditors();
}

/** Show face `face` whose own VA is `origin`: markers, pad, title and info lines (arrays of text and elements). */
function showFace(face, origin, target, title, lines) {
  S.face = face;
  S.origin = origin;
  S.target = target || origin.slice();
  hideInterp();
  ui.map.setMarker("selected", face.kind === "sample" ? { index: face.index } : null);
  ui.map.setMarker("upload", face.kind === "upload" ? { va: true, x: origin[0], y: origin[1] } : null);
  ui.map.setMarker("target", { va: true, x: S.target[0], y: S.target[1] });
  ui.pad.setOrigin(...S.origin);
  ui.pad.setTarget(...S.target);
  $("#face").hidden = false;
  $("#face-title").textContent = title;
  $("#face-info").replaceChildren(...lines.flatMap((line, k) => (k ? [el("br"), ...line] : line)));
  $("#face-recon").removeAttribute("src");
}

/** Dataset point i becomes the face (target: a VA to restore, else the face's own). */
export async function selectSample(i, target = null) {
  const c = S.cols, id = c.ids[i];
  await c.need(DETAIL_COLUMNS);
  showFace({ kind: "sample", index: i, id }, [c.head_v[i], c.head_a[i]], target, `#${id} from ${S.detail.dataset}`, [
    [el("b", {}, c.emotions[c.emotion[i]]), " (label)"],
    [`label V ${fmt(c.label_v[i])} A ${fmt(c.label_a[i])}`],
    [`model V ${fmt(c.head_v[i])} A ${fmt(c.head_a[i])}`],
    [`split ${c.split[i]}`],
    [el("span", { class: "hint" }, "shift-click another face to interpolate")],
  ]);
  $("#face-input").src = api.thumbnailUrl(S.run, id);
  syncUrl();
  const recon = api.readSample(S.run, id).then((s) => api.decodeOne(S.run, s.latent))
    .then((b) => { if (S.face && S.face.id === id) $("#face-recon").src = URL.createObjectURL(b); })
    .catch((err) => showError(err.message));
  await Promise.all([setupEditors(), recon]);
}

/** An image file becomes the face, encoded by the run on the map. */
export async function uploadFile(file) {
  const enc = await encodeUpload(file);
  if (!enc) return;
  showFace({ kind: "upload", file, enc: { [S.run]: enc } }, [enc.valence, enc.arousal], null,
    `your upload, ${file.name}`, [
      [el("b", {}, enc.emotion), " (nearest)"],
      [`model V ${fmt(enc.valence)} A ${fmt(enc.arousal)}`],
      [`box ${enc.box.width} px at (${enc.box.x}, ${enc.box.y})`],
      ...(enc.conversion === "grayscale" ? [[`read as grayscale: ${S.run} was trained on grayscale faces`]] : []),
      ...(syntheticOnly(enc) ? [[el("span", { class: "warn" }, syntheticNote(S.run))]] : []),
    ]);
  if (!VIEWS[S.view].va) $("#upload-status").textContent += " Switch the map to a VA view to see where it lands.";
  $("#face-input").src = await cropUrl(file, enc.box).catch(() => "");
  const recon = api.decodeOne(S.run, [...enc.zv, ...enc.za, ...enc.zz])
    .then((b) => { $("#face-recon").src = URL.createObjectURL(b); })
    .catch((err) => showError(err.message));
  syncUrl();
  await Promise.all([setupEditors(), recon]);
}

/** An upload that is no synthetic face (not of the generator's size, the model's input) sent to a run that knows only
 * synthetic faces. */
const syntheticOnly = (enc) => {
  const d = S.detail, size = d && d.config ? d.config.model.image_size : 64;
  return Boolean(d && d.synthetic) && !(enc.image_size[0] === size && enc.image_size[1] === size);
};
const syntheticNote = (run) => `${run} was trained on synthetic faces only and has never seen a real one: a photo is `
  + "read and redrawn as the nearest synthetic face. For real photos, make a real-face run from a folder of labelled "
  + "faces: levasa demo --data DIR (or make demo DATA=DIR).";

/** file -> its FaceEncoding, with the outcome in the upload status line; null (and the reason shown) if refused. */
async function encodeUpload(file) {
  const status = $("#upload-status");
  status.classList.remove("error");
  status.textContent = `Reading ${file.name}…`;
  try {
    const enc = await api.encodeFile(S.run, file);
    status.textContent = `${file.name} (${enc.image_size.join(" × ")} px): ${CROPS[enc.crop]}.`;
    return enc;
  } catch (err) {
    rejectUpload(`${file.name}: ${err.message}`, `The upload was not accepted: ${err.message}`);
    return null;
  }
}

/** An upload refused (by the page or the server): the reason in the status line and the banner. */
export function rejectUpload(status, banner = status) {
  $("#upload-status").classList.add("error");
  $("#upload-status").textContent = status;
  showError(banner);
}
