// One run's view of the face being edited. While the target moves, the face is previewed at once from the edit-grid
// sprite (bilinear between the four nearest tiles); the exact edit is requested latest-wins (one request in flight,
// the newest target next), so when the pointer rests the exact face lands one round trip later.

import { editFace, editGrid } from "./api.js";
import { SpriteSampler } from "./sprite.js";

const GRID_N = 15; // 15 x 15 faces across [-1, 1]^2: a tile every 0.14 VA units

const same = (p, q) => p && q && p[0] === q[0] && p[1] === q[1];
const fmt = (x) => (x >= 0 ? "+" : "") + x.toFixed(2);

export class FaceEditor {
  /** card: an element holding canvas.face, .mode, .target, .readback, .emotion, .note and button.save. */
  constructor(run, card, hooks) {
    this.run = run;
    this.card = card;
    this.hooks = hooks; // {onExact(editor, target), onError(editor, err)}
    this.canvas = card.querySelector("canvas.face");
    this.ctx = this.canvas.getContext("2d");
    this.output = "face"; // what the edit endpoints send back (a PhotoEditor asks for the photo's face box)
    this.source = null;
    this.sprite = null; // a SpriteSampler once the grid is in
    this.want = null;
    this.shown = null; // the target whose exact edit is on screen
    this.token = 0;
    this.exactBlob = null;
    card.querySelector("button.save").addEventListener("click", () => this.save());
  }

  /** A new face to edit (source: {sample: id} or {latent: [...]}); fetches its sprite. */
  async load(source) {
    const token = ++this.token;
    this.source = source;
    this.sprite = null;
    this.shown = null;
    this.exactBlob = null;
    this.setNote("");
    this.card.querySelector("button.save").disabled = true;
    try {
      const { blob, layout } = await editGrid(this.run, source, GRID_N, this.output);
      const bmp = await createImageBitmap(blob);
      if (token !== this.token) return false;
      this.sprite = new SpriteSampler(bmp, layout);
      return true;
    } catch (err) {
      if (token === this.token) this.hooks.onError(this, err);
      return false;
    }
  }

  clear(note) {
    ++this.token;
    this.source = null;
    this.sprite = null;
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    for (const k of ["mode", "target", "readback", "emotion"]) this.card.querySelector(`.${k}`).textContent = "";
    this.setNote(note || "");
  }

  setNote(text) { this.card.querySelector(".note").textContent = text; }

  /** Draw the sprite's estimate of the face at (v, a): instant, no request. Returns false without a sprite. */
  preview(v, a) {
    if (!this.sprite) return false;
    this.paint(this.sprite.at(v, a));
    this.shown = null;
    this.card.querySelector(".mode").textContent = "preview";
    this.card.querySelector(".target").textContent = `target V ${fmt(v)} A ${fmt(a)}`;
    this.card.querySelector(".readback").textContent = "read back …";
    return true;
  }

  paint(img) {
    this.ctx.imageSmoothingEnabled = true;
    this.ctx.imageSmoothingQuality = "high";
    this.ctx.drawImage(img, 0, 0, this.canvas.width, this.canvas.height);
  }

  /** Ask for the exact edit at (v, a); the newest target wins. */
  request(v, a) {
    if (!this.source) return;
    this.want = [v, a];
    if (!this.inflight) this.fire();
  }

  async fire() {
    const want = this.want, token = this.token;
    this.inflight = true;
    try {
      const r = await editFace(this.run, this.source, want[0], want[1], this.output);
      if (token === this.token && same(this.want, want)) {
        const bmp = await createImageBitmap(r.blob);
        if (token === this.token && same(this.want, want)) this.showExact(bmp, r, want);
      }
    } catch (err) {
      if (token === this.token) this.hooks.onError(this, err);
    } finally {
      this.inflight = false;
    }
    if (token === this.token && this.want && !same(this.want, want)) this.fire();
  }

  showExact(bmp, r, want) {
    this.paint(bmp);
    this.shown = want;
    this.exactBlob = r.blob;
    this.card.querySelector("button.save").disabled = false;
    const err = Math.hypot(r.readV - want[0], r.readA - want[1]);
    this.card.querySelector(".mode").textContent = "exact";
    this.card.querySelector(".target").textContent = `target V ${fmt(want[0])} A ${fmt(want[1])}`;
    this.card.querySelector(".readback").textContent = `read back V ${fmt(r.readV)} A ${fmt(r.readA)} (off by ${err.toFixed(2)})`;
    this.card.querySelector(".emotion").textContent = r.emotion;
    this.read = [r.readV, r.readA];
    this.hooks.onExact(this, want);
  }

  save() {
    if (!this.exactBlob || !this.shown) return;
    this.download(this.exactBlob, this.run);
  }

  download(blob, stem) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `levasa-${stem}-v${this.shown[0].toFixed(2)}-a${this.shown[1].toFixed(2)}.png`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }
}
