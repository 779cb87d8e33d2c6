"""Bring a dataset in its own layout into ours: a labels.csv (file, emotion, valence, arousal, subject, face box ...)
that `python -m scripts.train --data OUT` reads, and OUT/import.json with what was skipped and why.

    python -m scripts.import_dataset affectnet     SRC/Manually_Annotated_file_lists/training.csv \
        --images SRC/Manually_Annotated_Images --out data/affectnet
    python -m scripts.import_dataset affectnet-npy SRC/train_set --out data/affectnet
    python -m scripts.import_dataset afew-va       SRC/AFEW-VA --out data/afew-va
    python -m scripts.import_dataset imfdb         SRC/IMFDB --out data/imfdb
    python -m scripts.import_dataset folders       ../shared/data/ckplus48/images --subject-regex '^(S\\d+)_' \
        --out data/ckplus48

The images stay where they are (labels.csv points at them); AffectNet's and AFEW-VA's face boxes are cropped when the
images are first loaded. AFEW-VA frames get the emotion of the nearest category ellipse (--stats-from to use another
dataset's statistics). Emotion-only datasets then get VA from scripts.transfer_annotations.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ("affectnet", "affectnet-npy", "afew-va", "imfdb", "folders")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="levasa import", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("format", choices=FORMATS, help="the dataset's layout")
    p.add_argument("src", type=Path, help="the AffectNet CSV list, or the dataset's folder")
    p.add_argument("--out", type=Path, required=True, help="output folder (gets labels.csv and import.json)")
    p.add_argument("--images", type=Path, help="affectnet: the folder subDirectory_filePath is relative to "
                                               "(default: the CSV's folder)")
    p.add_argument("--subject-regex", help="folders: a pattern with one group taking the subject id from each file "
                                           "name (default: none)")
    p.add_argument("--stats-from", type=Path, help="afew-va: a VA-labelled labels.csv or AffectNet list whose "
                                                   "category ellipses name each frame's emotion (default: AffectNet's "
                                                   "published statistics)")
    args = p.parse_args(argv)

    import re

    from models.data import readers
    from models.data.labels import DatasetError
    from models.data.readers import ReaderError

    try:
        if args.subject_regex is not None:
            try:
                if re.compile(args.subject_regex).groups != 1:
                    raise ValueError("it needs exactly one (group)")
            except (re.error, ValueError) as e:
                raise ReaderError(f"--subject-regex {args.subject_regex!r} is not usable: {e}") from None
        if args.format == "affectnet":
            imp = readers.read_affectnet_csv(args.src, args.images or args.src.parent)
        elif args.format == "affectnet-npy":
            imp = readers.read_affectnet_npy(args.src)
        elif args.format == "afew-va":
            ellipses = None
            if args.stats_from:
                from models.data.transfer import ellipses_from_labels

                emotions, va = readers.va_labels(args.stats_from)
                ellipses = ellipses_from_labels(emotions, va[:, 0], va[:, 1])
            imp = readers.read_afew_va(args.src, ellipses)
        elif args.format == "imfdb":
            imp = readers.read_imfdb(args.src)
        else:
            imp = readers.read_folders(args.src, args.subject_regex)
        print(imp.report())
        path = readers.write_dataset(imp, args.out)
    except (ReaderError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({len(imp.rows):,} rows) and {args.out / 'import.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
