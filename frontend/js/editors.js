// One FaceEditor card per run (two when comparing), each pointed at the current face: a dataset face by its id, or
// the upload's latent (encoded once per run, as each run has its own latent space).

import * as api from "./api.js";
import { $ } from "./dom.js";
import { FaceEditor } from "./editor.js";
import { showError } from "./errors.js";
import { PhotoEditor } from "./photo.js";
import { S, probe } from "./store.js";

const editorRuns = () => (S.cmp ? [S.run, S.cmp] : [S.run]);
const editorFor = (run) => S.editors.find((e) => e.run === run);
const sameDataset = (a, b) => a && b && a.dataset === b.dataset && a.n_samples === b.n_samples;

/** Build the cards and load the current face into each; once loaded, each previews and asks for the target. An upload
 * also gets the photo card: the photo itself, edited in place by the run on the map. */
export async function setupEditors() {
  const box = $("#editors");
  box.replaceChildren();
  S.editors = editorRuns().map((run) => {
    const card = $("#editor-card").content.firstElementChild.cloneNode(true);
    const d = run === S.run ? S.detail : S.cmpDetail;
    card.querySelector(".run-name").textContent = `${run} · ${d ? d.kind : ""}`;
    box.appendChild(card);
    return new FaceEditor(run, card, { onExact, onError });
  });
  const loads = S.editors.map(async (ed) => {
    const src = await sourceFor(ed.run);
    if (src) start(ed, await ed.load(src));
  });
  await Promise.all([...loads, setupPhoto()]);
}

/** The photo card for an upload (hidden otherwise). */
async function setupPhoto() {
  const slot = $("#photo");
  slot.replaceChildren();
  slot.hidden = S.face.kind !== "upload";
  if (slot.hidden) return;
  const card = $("#photo-card").content.firstElementChild.cloneNode(true);
  card.querySelector(".run-name").textContent = S.run;
  slot.appendChild(card);
  // Its exact edits are not the face card's: they stay out of the page's settle-time probe.
  const ed = new PhotoEditor(S.run, card, { onExact: () => {}, onError }, S.face.file, S.face.enc[S.run]);
  S.editors.push(ed);
  try {
    start(ed, await ed.load());
  } catch (err) {
    ed.setNote(`The photo could not be read here (${err.message}); the face above still edits.`);
  }
}

/** A loaded editor shows the current target at once and asks for its exact edit. */
function start(ed, loaded) {
  if (loaded && S.target) {
    ed.preview(S.target[0], S.target[1]);
    ed.request(S.target[0], S.target[1]);
  }
}

export function clearEditors() {
  S.editors = [];
  $("#editors").replaceChildren();
  $("#photo").replaceChildren();
  $("#photo").hidden = true;
}

/** What an editor of `run` edits: {sample: id} or {latent}; null (with a note on its card) when it cannot. */
async function sourceFor(run) {
  const f = S.face;
  if (f.kind === "sample") {
    if (run === S.run || sameDataset(S.detail, S.cmpDetail)) return { sample: S.cols.ids[f.index] };
    editorFor(run).clear(`This face is in ${S.detail.dataset}, which ${run} was not trained on. Upload a photo to compare the two.`);
    return null;
  }
  let enc = f.enc[run];
  if (!enc) {
    try {
      enc = f.enc[run] = await api.encodeFile(run, f.file);
    } catch (err) {
      editorFor(run).clear(err.message);
      return null;
    }
  }
  return { latent: [...enc.zv, ...enc.za, ...enc.zz] };
}

function onExact(ed, want) {
  if (S.target && want[0] === S.target[0] && want[1] === S.target[1]) {
    probe.settles.push(performance.now() - probe.lastMoveAt);
  }
}

function onError(ed, err) {
  ed.setNote(err.message);
  if (err.status >= 500 || !err.status) showError(`${ed.run}: ${err.message}`);
}
