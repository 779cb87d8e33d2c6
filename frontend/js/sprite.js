// An edit-grid sprite sampled between its four nearest tiles: the instant estimate of an edit while the target moves.

export class SpriteSampler {
  /** bitmap: the N x N sprite; layout: {n, tile, valence: [...], arousal: [...]} as /edit-grid sends it. */
  constructor(bitmap, layout) {
    this.sprite = bitmap;
    this.layout = layout;
    const t = layout.tile;
    const canvas = () => Object.assign(document.createElement("canvas"), { width: t, height: t });
    this.out = canvas();
    this.rowA = canvas();
    this.rowB = canvas();
  }

  /** The estimate at (v, a), drawn into (and returned as) a tile-sized canvas. */
  at(v, a) {
    const L = this.layout, n = L.n, t = L.tile;
    const clamp = (x) => Math.max(0, Math.min(n - 1, x));
    const fc = clamp(((v - L.valence[0]) / (L.valence[n - 1] - L.valence[0])) * (n - 1));
    const fr = clamp(((L.arousal[0] - a) / (L.arousal[0] - L.arousal[n - 1])) * (n - 1));
    const c0 = Math.floor(fc), r0 = Math.floor(fr), c1 = Math.min(c0 + 1, n - 1), r1 = Math.min(r0 + 1, n - 1);
    const tx = fc - c0, ty = fr - r0;
    const lerpRow = (cv, r) => {
      const g = cv.getContext("2d");
      g.globalAlpha = 1;
      g.drawImage(this.sprite, c0 * t, r * t, t, t, 0, 0, t, t);
      g.globalAlpha = tx;
      g.drawImage(this.sprite, c1 * t, r * t, t, t, 0, 0, t, t);
    };
    lerpRow(this.rowA, r0);
    lerpRow(this.rowB, r1);
    const g = this.out.getContext("2d");
    g.globalAlpha = 1;
    g.drawImage(this.rowA, 0, 0);
    g.globalAlpha = ty;
    g.drawImage(this.rowB, 0, 0);
    return this.out;
  }
}
