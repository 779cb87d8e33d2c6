"""AffectNet's size through the importer and the image cache: a 420,000-row list in AffectNet's own layout.

    python -m scripts.bench.affectnet               # 420,000 rows imported; 40,000 of them decoded into the cache
    python -m scripts.bench.affectnet --quick       # CI: 20,000 rows, 4,000 decoded
    python -m scripts.bench.affectnet --rows N --decode M

The fixture (built once in bench-out/affectnet-N/) is AffectNet's manually annotated list, training.csv
(subDirectory_filePath, face_x, face_y, face_width, face_height, facial_landmarks, expression, valence, arousal), over
images in numbered sub-folders: 2,000 synthetic faces drawn at 256 px and saved as JPEG, hard-linked under every
row's own path, so the list names 420,000 files without 420,000 files' worth of disk. Rows carry AffectNet's
oddities: expression 8-10 (dropped), VA of -2 (kept without VA), a face box on every row.
Figures:
  affectnet_import_rows_s  rows per second through `levasa import affectnet` (read the list, check every file,
                           write labels.csv), beside the rows kept and skipped
  cache_decode_img_s       images per second decoded (JPEG, face box crop, resize to 64 px) into the memory-mapped
                           cache, beside the real-face recipe's training images per second on this machine (the
                           cache should be at least 2x faster, so data never waits)
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from scripts.bench.serve import ROOT

DISTINCT = 2000  # distinct face images behind the links
SIZE = 256  # AffectNet's released images are larger than the model's input; 256 px keeps the decode honest
HEADER = ["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks", "expression",
          "valence", "arousal"]


def build_fixture(out: Path, rows: int) -> tuple[Path, Path]:
    """OUT/images/<sub>/<n>.jpg and OUT/training.csv with ``rows`` rows; reused when complete."""
    csv_path, images = out / "training.csv", out / "images"
    if csv_path.is_file():
        return csv_path, images
    from models.data.synthetic import generate_arrays

    faces = generate_arrays(DISTINCT, seed=11)[0]
    src = out / "distinct"
    src.mkdir(parents=True, exist_ok=True)
    for i, face in enumerate(faces):
        Image.fromarray(face).resize((SIZE, SIZE), Image.BILINEAR).save(src / f"{i}.jpg", quality=90)
    rng = np.random.default_rng(0)
    tmp = csv_path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for r in range(rows):
            sub = f"{r // 1000:04d}"
            (images / sub).mkdir(parents=True, exist_ok=True) if r % 1000 == 0 else None
            name = f"{sub}/{r:07d}.jpg"
            os.link(src / f"{r % DISTINCT}.jpg", images / name)
            expr = int(rng.integers(0, 11)) if rng.random() < 0.1 else int(rng.integers(0, 8))  # 8-10: dropped
            v, a = (-2.0, -2.0) if rng.random() < 0.05 else (float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)))
            x0, y0 = (int(t) for t in rng.integers(0, 24, 2))
            w.writerow([name, x0, y0, SIZE - 2 * x0, SIZE - 2 * y0, "", expr, f"{v:.4f}", f"{a:.4f}"])
    os.replace(tmp, csv_path)
    return csv_path, images


def training_img_s(recipe: str, steps: int) -> float:
    """The recipe's training step on this machine, as images per second (median of ``steps`` steps of 64)."""
    from scripts.bench.step import make_step, median_ms

    return 64 / (median_ms({recipe: make_step(recipe)}, steps)[recipe] / 1000)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.affectnet", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CI: 20,000 rows, 4,000 decoded")
    p.add_argument("--rows", type=int, help="rows in the list (default 420,000; quick 20,000)")
    p.add_argument("--decode", type=int, help="rows decoded into the cache (default 40,000; quick 4,000)")
    args = p.parse_args(argv)
    rows = args.rows if args.rows is not None else (20_000 if args.quick else 420_000)
    decode = args.decode if args.decode is not None else (4_000 if args.quick else 40_000)
    if rows < 1 or not 1 <= decode <= rows:
        print(f"error: need --rows >= 1 and 1 <= --decode <= --rows, got {rows} and {decode}", file=sys.stderr)
        return 2
    from scripts.demo import REAL_RECIPE

    out = ROOT / "bench-out" / f"affectnet-{rows}"
    t0 = time.perf_counter()
    csv_path, images = build_fixture(out, rows)
    print(f"fixture {csv_path}: {rows:,} rows ({time.perf_counter() - t0:.1f} s to build or find)")
    imported, import_s = _import(csv_path, images, out / "imported")
    decoded_s = _decode(out / "imported", decode)
    train = training_img_s(REAL_RECIPE, 6 if args.quick else 20)
    kept, skipped = imported
    print(f"FIGURE affectnet_import_rows_s {rows / import_s:.0f}  ({rows:,} rows in {import_s:.1f} s: {kept:,} kept, "
          f"{skipped:,} skipped (expression 8-10))")
    print(f"FIGURE cache_decode_img_s {decode / decoded_s:.0f}  ({decode:,} images of {SIZE} px in {decoded_s:.1f} s; "
          f"the {REAL_RECIPE} recipe trains at {train:,.0f} img/s here: the cache decodes "
          f"{decode / decoded_s / train:.1f}x as fast, target >= 2x)")
    return 0


def _import(csv_path: Path, images: Path, out: Path) -> tuple[tuple[int, int], float]:
    from models.data.readers import read_affectnet_csv, write_dataset

    t0 = time.perf_counter()
    imp = read_affectnet_csv(csv_path, images)
    write_dataset(imp, out)
    return (len(imp.rows), sum(imp.skipped.values())), time.perf_counter() - t0


def _decode(dataset: Path, n: int) -> float:
    """Seconds to decode the first n rows of the imported dataset into a fresh cache."""
    import shutil

    from models.data.images import load_images
    from models.data.labels import read_labels

    part = dataset.parent / f"decode-{n}"
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir()
    lines = (dataset / "labels.csv").read_text().splitlines()
    (part / "labels.csv").write_text("\n".join(lines[: n + 1]) + "\n")  # a sibling: the same relative image paths
    table = read_labels(part)
    t0 = time.perf_counter()
    load_images(table, progress=False)
    return time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
