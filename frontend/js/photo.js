// The uploaded photo itself, edited in place: the face box of the user's own photo at its own resolution, with the
// edit pasted in by the service (models.paste), previewed from a grid of pasted boxes while the target moves. The
// rest of the photo is drawn from the file as it is; Save PNG writes the whole photo at full size.

import { FaceEditor } from "./editor.js";

const MAX_W = 440, MAX_H = 360; // the photo's size on the page, at most

/** A File -> a data: URL (what /edit and /edit-grid take as an image source). */
const dataUrl = (file) => new Promise((resolve, reject) => {
  const r = new FileReader();
  r.onload = () => resolve(r.result);
  r.onerror = () => reject(r.error);
  r.readAsDataURL(file);
});

export class PhotoEditor extends FaceEditor {
  /** card: as FaceEditor's, plus button.before; file: the upload; enc: its FaceEncoding from this run. */
  constructor(run, card, hooks, file, enc) {
    super(run, card, hooks);
    this.output = "box";
    this.file = file;
    this.box = enc.box;
    this.photo = null;
    this.last = null; // what is on screen in the box (a canvas or bitmap), null for the photo as it is
    const before = card.querySelector("button.before");
    const show = (on) => { if (this.photo) this.draw(on ? null : this.last); };
    before.addEventListener("pointerdown", () => show(true));
    for (const ev of ["pointerup", "pointerleave", "pointercancel"]) before.addEventListener(ev, () => show(false));
  }

  /** Read the photo, then load the grid of pasted boxes for it. */
  async load() {
    const [bmp, url] = await Promise.all([createImageBitmap(this.file, { imageOrientation: "from-image" }),
      dataUrl(this.file)]);
    this.photo = bmp;
    const s = Math.min(MAX_W / bmp.width, MAX_H / bmp.height, 1);
    this.canvas.width = Math.round(bmp.width * s);
    this.canvas.height = Math.round(bmp.height * s);
    this.scale = s;
    this.draw(null);
    const b = this.box;
    return super.load({ image: url, box: `${b.x},${b.y},${b.width},${b.height}` });
  }

  /** The photo, with img (a tile or the exact box) over its face box. */
  paint(img) {
    this.last = img;
    this.draw(img);
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
    g.drawImage(this.photo, 0, 0);
    g.drawImage(this.exactBox, b.x, b.y, b.width, b.height);
    const blob = await new Promise((res) => c.toBlob(res, "image/png"));
    this.download(blob, `photo-${this.run}`);
  }
}
