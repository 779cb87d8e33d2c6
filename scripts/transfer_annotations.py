"""Give valence-arousal labels to a dataset that has only emotion categories (annotation transfer by ellipse sampling).

    python -m scripts.transfer_annotations --labels ../shared/data/fer2013/labels.csv \
        --images ../shared/data/fer2013/images --join ../shared/data/fer2013/meta.csv --out data/fer2013_va

Each row gets a VA point drawn uniformly over its category's ellipse: the published AffectNet statistics by default, or
statistics computed from any VA-labelled labels.csv (--stats-from). Writes OUT/labels.csv (file paths relative to OUT,
so `python -m scripts.train --data OUT` reads it) and OUT/ellipses.json (the statistics used and the seed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="levasa transfer", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--labels", type=Path, required=True, help="CSV with columns file, emotion")
    p.add_argument("--out", type=Path, required=True, help="output dataset folder (gets labels.csv, ellipses.json)")
    p.add_argument("--images", type=Path, help="folder the file column is relative to (default: the CSV's folder)")
    p.add_argument("--join", type=Path, help="CSV with a file column whose other columns (split, subject) are added")
    p.add_argument("--stats-from", type=Path, help="VA-labelled labels.csv or AffectNet list (training.csv) to "
                                                   "compute the ellipses from (default: the published AffectNet "
                                                   "statistics)")
    p.add_argument("--discrete", action="store_true", help="snap VA to the -10..10 grid; adds valence_10, arousal_10")
    p.add_argument("--drop-unknown", action="store_true", help="drop rows whose emotion has no statistics "
                                                               "(default: stop with an error naming it)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from models.data.labels import DatasetError
    from models.data.readers import ReaderError, va_labels
    from models.data.transfer import UnknownEmotionError, affectnet_ellipses, ellipses_from_labels, transfer_labels

    try:
        if args.stats_from:  # one of our labels.csv files, or an AffectNet list (no images needed)
            emotions, va = va_labels(args.stats_from)
            ellipses = ellipses_from_labels(emotions, va[:, 0], va[:, 1])
            source = f"computed from {args.stats_from} ({len(emotions)} rows with VA)"
        else:
            ellipses, source = affectnet_ellipses(), "published AffectNet statistics"
        if args.images and not args.images.is_dir():
            raise FileNotFoundError(f"--images {args.images} is not a folder")
        summary = transfer_labels(args.labels, args.out, ellipses, seed=args.seed, discrete=args.discrete,
                                  drop_unknown=args.drop_unknown, images_dir=args.images, join_csv=args.join)
    except (UnknownEmotionError, DatasetError, ReaderError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"ellipses: {source}")
    w = max(len(k) for k in [*summary["per_emotion"], "written"])
    for k, n in sorted(summary["per_emotion"].items()):
        e = ellipses[k]
        print(f"  {k:<{w}}  {n:6d}  V {e.mu_v:+.3f} +- {e.s_v:.3f}  A {e.mu_a:+.3f} +- {e.s_a:.3f}")
    for k, n in sorted(summary["dropped"].items()):
        print(f"  {k:<{w}}  {n:6d}  dropped (no statistics)")
    print(f"  {'written':<{w}}  {summary['written']:6d}  -> {args.out / 'labels.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
