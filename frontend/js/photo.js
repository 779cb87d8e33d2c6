// The uploaded photo itself, edited in place: the photo's face box, cut from the page's own decode of the file, goes
// to the service, which pastes each edit into it (models.paste); a grid of pasted boxes previews while the target
// moves, and the exact paste lands when it rests. The rest of the photo never leaves the page and is drawn as it is;
// Save PNG writes the whole photo at full size.

import { FaceEditor } from "./editor.js";

const MAX_W = 440, MAX_H = 360; // the photo's size on the page, at most
const BOX_MAX = 1536; // the face box is sent at most this many pixels a side (a larger one is shrunk, then drawn back)

const pngBlob = (canvas) => new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
const dataUrl = (blob) => new Promise((resolve, reject) => {
  const r = new FileReader();
  r.onload = () => resolve(r.result);
  r.onerror = () => reject(r.error);
  r.readAsDataURL(blob);
});

export class PhotoEditor extends FaceEditor {
  /** card: as FaceEditor's, plus button.before; file: the upload; enc: its FaceEncoding from this run. */
  constructor(run, card, hooks, file, enc) {
    super(run, card, hooks);
    this.output = "box";
    this.file = file;
    this.box = enc.box;
    this.photo = null;
    this.last = null; // what belongs in the box now (a tile canvas or the exact bitmap); null: the photo as it is
    this.holding = false; // "hold for before" is down: the photo as it was stays on screen
    const before = card.querySelector("button.before");
    const hold = (on) => {
      this.holding = on;
      if (this.photo) this.draw(on ? null : this.last);
    };
    before.addEventListener("pointerdown", () => hold(true));
    for (const ev of ["pointerup", "pointerleave", "pointercancel"]) before.addEventListener(ev, () => hold(false));
    before.addEventListener("keydown", (e) => { if (e.key === " " || e.key === "Enter") { e.preventDefault(); hold(true); } });
    before.addEventListener("keyup", () => hold(false));
  }

  /** Decode the photo (EXIF orientation applied, as the server does), cut its face box, load the pasted grid. */
  async load() {
    const bmp = await createImageBitmap(this.file, { imageOrientation: "from-image" });
    this.photo = bmp;
    const s = Math.min(MAX_W / bmp.width, MAX_H / bmp.height, 1);
    this.canvas.width = Math.round(bmp.width * s);
    this.canvas.height = Math.round(bmp.height * s);
    this.scale = s;
    this.draw(null);
    const b = this.box, k = Math.min(1, BOX_MAX / Math.max(b.width, b.height));
    const cut = Object.assign(document.createElement("canvas"),
      { width: Math.round(b.width * k), height: Math.round(b.height * k) });
    cut.getContext("2d").drawImage(bmp, b.x, b.y, b.width, b.height, 0, 0, cut.width, cut.height);
    const url = await dataUrl(await pngBlob(cut));
    return super.load({ image: url, box: `0,0,${cut.width},${cut.height}` });
  }

  /** The photo, with img (a tile or the exact box) over its face box. */
  paint(img) {
    this.last = img;
    if (!this.holding) this.draw(img);
  }

  draw(img) {
    const s = this.scale, b = this.box, g = this.ctx;
    g.imageSmoothingEnabled = true;
    g.imageSmoothingQuality = "high";
    g.drawImage(this.photo, 0, 0, this.canvas.width, this.canvas.height);
    if (img) g.drawImage(img, b.x * s, b.y * s, b.width * s, b.height * s);
  }

  showExact(bmp, r, want) {
    super.showExact(bmp, r, want);
    this.exactBox = bmp;
  }

  /** The whole photo at its own resolution with the exact edit in place, as PNG. */
  async save() {
    if (!this.exactBox || !this.shown) return;
    const b = this.box;
    const c = Object.assign(document.createElement("canvas"), { width: this.photo.width, height: this.photo.height });
    const g = c.getContext("2d");
    g.imageSmoothingQuality = "high";
    g.drawImage(this.photo, 0, 0);
    g.drawImage(this.exactBox, b.x, b.y, b.width, b.height);
    const blob = await pngBlob(c);
    if (!blob) {
      this.setNote(`This browser cannot make a PNG of ${c.width} x ${c.height} px; Save PNG on the face card instead.`);
      return;
    }
    this.download(blob, `photo-${this.run}`);
  }
}
