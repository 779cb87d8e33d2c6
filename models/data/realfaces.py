"""A folder of real faces made ready to train: imported, and given VA where it has only emotion labels.

Accepted layouts (the same as ``levasa import folders`` and ``levasa transfer`` take):
  ROOT/labels.csv            file, emotion and optionally valence, arousal (and any other columns); the files
                             relative to ROOT, or to ROOT/images;
  ROOT/<emotion>/<image>     a folder per class (CK+48, FER2013 folders, ...).
Rows that have valence and arousal keep them; the rest get VA drawn inside their category's AffectNet ellipse
(annotation transfer, models.data.transfer); rows whose category has no ellipse and no VA are dropped and counted.
The result is OUT/labels.csv pointing at the images where they are. It is made again only when the source changed
(OUT/source.json keeps the source's fingerprint).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from models.data.readers import ReaderError, read_folders, write_dataset
from models.data.transfer import affectnet_ellipses, transfer_labels

SOURCE = "source.json"  # the fingerprint of the folder a prepared dataset came from


def prepare_real_faces(src: str | Path, out: str | Path, log: Callable[[str], None] = print) -> Path:
    """SRC (either layout of the module docstring) -> OUT, a dataset with VA on every row. Raises ReaderError (or
    ValueError / FileNotFoundError from the transfer) naming what is wrong with SRC."""
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise ReaderError(f"{src} is not a folder; give a folder with labels.csv or one folder per emotion")
    key = fingerprint(src)
    if (out / "labels.csv").is_file() and _saved_key(out) == key:
        log(f"== {out} is ready (made from {src}; delete it to make it again)")
        return out
    labels, images = _labels_of(src, out, log)
    log(f"== giving VA to {src} where it has only emotions (AffectNet's ellipses) -> {out}")
    r = transfer_labels(labels, out, affectnet_ellipses(), seed=0, drop_unknown=True, images_dir=images,
                        keep_given=True)
    dropped = ", ".join(f"{k} {v}" for k, v in r["dropped"].items()) or "none"
    log(f"   {r['written']:,} faces ({r['given']:,} with their own VA, the rest transferred); dropped: {dropped}")
    if not r["written"]:
        raise ReaderError(f"{src}: no face has VA or a category with an ellipse ({', '.join(affectnet_ellipses())})")
    (out / SOURCE).write_text(json.dumps({"source": str(src.resolve()), "key": key}, indent=2) + "\n")
    return out


def images_folder(src: Path) -> Path:
    """The folder SRC/labels.csv's files are relative to: SRC, or SRC/images when they are there (../shared/data)."""
    first = _first_file(src / "labels.csv")
    return src if (src / first).is_file() or not (src / "images" / first).is_file() else src / "images"


def _labels_of(src: Path, out: Path, log) -> tuple[Path, Path]:
    """(a labels.csv of src with file and emotion columns, the folder its files are relative to)."""
    if (src / "labels.csv").is_file():
        return src / "labels.csv", images_folder(src)
    log(f"== importing {src}: a folder per emotion")
    imported = out / "imported"
    report = read_folders(src)
    write_dataset(report, imported)
    log(f"   {len(report.rows):,} images; {report.report()}")
    return imported / "labels.csv", imported


def _first_file(labels: Path) -> str:
    with open(labels, newline="", encoding="utf-8-sig") as f:
        row = next(csv.DictReader(f), None)
    if row is None or "file" not in row or "emotion" not in row:
        raise ReaderError(f"{labels} needs a header with file and emotion columns and at least one row")
    return row["file"]


def fingerprint(src: Path) -> str:
    """Every file's relative path, size and modification time under src (hidden and cache folders aside)."""
    h = hashlib.sha1()
    for p in sorted(src.rglob("*")):
        rel = p.relative_to(src)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            st = p.stat()
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _saved_key(out: Path) -> str | None:
    try:
        return json.loads((out / SOURCE).read_text()).get("key")
    except (OSError, ValueError):
        return None


__all__ = ["prepare_real_faces", "images_folder", "fingerprint"]
