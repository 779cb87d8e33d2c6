"""Render one synthetic identity across an n x n grid of the valence-arousal plane, as a labelled PNG.

    python -m scripts.render_va_grid --out docs/va_grid.png [--identity-seed 3] [--n 9] [--zoom 2]

Valence runs left -> right from -1 to 1, arousal bottom -> top from -1 to 1; cells outside the unit disk (where no
label ever lies) are dimmed. Faces use the canonical pose and lighting (render_faces(jitter=False)).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from models.data.synthetic import SIZE, render_faces, sample_identities


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="levasa grid", description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="docs/va_grid.png", help="output PNG (default: docs/va_grid.png)")
    ap.add_argument("--identity-seed", type=int, default=3, help="seed of the one identity drawn (default: 3)")
    ap.add_argument("--n", type=int, default=9, help="grid cells per axis (default: 9)")
    ap.add_argument("--zoom", type=int, default=2, help="integer upscale of each 64x64 face (default: 2)")
    args = ap.parse_args(argv)
    if args.n < 2:
        ap.error(f"--n must be >= 2, got {args.n}")
    if not 1 <= args.zoom <= 8:
        ap.error(f"--zoom must be in 1..8, got {args.zoom}")

    ids = sample_identities(1, np.random.default_rng(args.identity_seed))
    ticks = np.linspace(-1.0, 1.0, args.n)
    vv, aa = np.meshgrid(ticks, ticks[::-1])  # row 0 is the top: arousal +1
    faces = render_faces(vv.ravel(), aa.ravel(), ids, np.zeros(vv.size, int), jitter=False)  # (n*n, 64, 64, 3)

    cell, gap, left, bottom, top = SIZE * args.zoom, 2, 80, 44, 8
    side = args.n * cell + (args.n - 1) * gap
    sheet = Image.new("RGB", (left + side + 8, top + side + bottom), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    for k, face in enumerate(faces):
        r, c = divmod(k, args.n)
        im = Image.fromarray(face).resize((cell, cell), Image.Resampling.NEAREST)
        if np.hypot(vv.flat[k], aa.flat[k]) > 1.0 + 1e-9:
            im = Image.blend(im, Image.new("RGB", im.size, "white"), 0.45)  # outside the unit disk
        sheet.paste(im, (left + c * (cell + gap), top + r * (cell + gap)))
    for i, t in enumerate(ticks):
        x = left + i * (cell + gap) + cell // 2
        draw.text((x, top + side + 4), f"{t:+.2f}", fill="black", font=font, anchor="mt")
        y = top + (args.n - 1 - i) * (cell + gap) + cell // 2
        draw.text((left - 6, y), f"{t:+.2f}", fill="black", font=font, anchor="rm")
    draw.text((left + side // 2, top + side + 24), "valence ->", fill="black", font=font, anchor="mt")
    label = Image.new("RGB", (120, 18), "white")
    ImageDraw.Draw(label).text((60, 9), "arousal ->", fill="black", font=font, anchor="mm")
    sheet.paste(label.rotate(90, expand=True), (4, top + side // 2 - 60))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    kb = out.stat().st_size / 1024
    print(f"wrote {out}  ({args.n}x{args.n} faces, {sheet.size[0]}x{sheet.size[1]} px, {kb:.0f} KB)")


if __name__ == "__main__":
    main()
