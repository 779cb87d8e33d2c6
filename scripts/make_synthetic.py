"""Write the built-in synthetic face dataset: 64x64 faces whose expression is a smooth function of valence and arousal.

    python -m scripts.make_synthetic --out data/synthetic --n 20000 --seed 0 [--identities 500] [--uniform-share 0.25]
        [--class-weights neutral=1,happy=2,...] [--packed]

Output: OUT/images/NNNNNN.png (with --packed: one store OUT/faces.npy, its rows named faces.npy#ROW in labels.csv,
for datasets of hundreds of thousands of faces), OUT/dataset.json (generation parameters) and OUT/labels.csv
(file,emotion,valence,arousal,identity), written last so an interrupted run leaves no labels.csv.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from models.data.emotions import EMOTIONS, canonical_emotion
from models.data.synthetic import generate


def parse_class_weights(text: str) -> dict[str, float]:
    """'neutral=1,happy=2' -> {'neutral': 1.0, 'happy': 2.0}; raises ValueError naming the bad entry."""
    weights: dict[str, float] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"class weight {item!r} is not NAME=WEIGHT")
        key = canonical_emotion(name)
        if key not in EMOTIONS:
            raise ValueError(f"unknown emotion {name.strip()!r} in --class-weights; known: {', '.join(EMOTIONS)}")
        try:
            w = float(value)
        except ValueError:
            raise ValueError(f"class weight for {name.strip()!r} is not a number: {value!r}") from None
        if not w >= 0 or w == float("inf"):
            raise ValueError(f"class weight for {name.strip()!r} must be a finite number >= 0, got {value}")
        weights[key] = w
    return weights


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="levasa synth", description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="data/synthetic", help="output folder (default: data/synthetic)")
    ap.add_argument("--n", type=int, default=20000, help="number of faces (default: 20000)")
    ap.add_argument("--seed", type=int, default=0, help="random seed; same seed, same dataset (default: 0)")
    ap.add_argument("--identities", type=int, default=500, help="number of distinct identities (default: 500)")
    ap.add_argument("--uniform-share", type=float, default=0.25,
                    help="share of faces with VA uniform over the unit disk, the rest from the emotion ellipses "
                         "(default: 0.25)")
    ap.add_argument("--class-weights", default="",
                    help="relative emotion frequencies, e.g. neutral=1,happy=2; unnamed emotions weigh 1 "
                         f"(default: equal over {', '.join(EMOTIONS)})")
    ap.add_argument("--packed", action="store_true",
                    help="write one packed store faces.npy instead of one PNG a face (default: PNGs)")
    ap.add_argument("--no-progress", action="store_true", help="hide the progress bar (default: shown)")
    args = ap.parse_args(argv)

    if args.n < 1:
        ap.error(f"--n must be >= 1, got {args.n}")
    if args.identities < 1:
        ap.error(f"--identities must be >= 1, got {args.identities}")
    if not 0.0 <= args.uniform_share <= 1.0:
        ap.error(f"--uniform-share must be in [0, 1], got {args.uniform_share}")
    try:
        weights = parse_class_weights(args.class_weights)
    except ValueError as e:
        ap.error(str(e))
    if sum({**dict.fromkeys(EMOTIONS, 1.0), **weights}.values()) == 0:
        ap.error("--class-weights are all zero")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        ap.error(f"--out {out} exists and is not a directory")

    s = generate(out, n=args.n, seed=args.seed, n_identities=args.identities, uniform_share=args.uniform_share,
                 class_weights=weights or None, progress=not args.no_progress, packed=args.packed)
    rows = [("output", str(out)), ("faces", f"{s['n']:,}"), ("identities", f"{s['identities']:,}")]
    rows += [(f"  {name}", f"{count:,}  ({100 * count / s['n']:.1f} %)") for name, count in s["counts"].items()]
    rows += [("time", f"{s['seconds']:.1f} s"), ("speed", f"{s['n'] / s['seconds']:,.0f} faces/s")]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
