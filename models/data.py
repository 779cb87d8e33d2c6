"""Face datasets as a folder + labels.csv, a cached uint8 tensor store, and train / val / test splits.

labels.csv columns: ``file`` (relative to the folder), ``emotion`` (a name or an AffectNet code 0-7), optional
``valence`` and ``arousal`` in [-1, 1], optional ``face_x, face_y, face_width, face_height`` (a face box cropped before
resizing, as AffectNet lists give), and any others (identity, subject, split ...) kept as strings for splitting.
Images of any size and mode are decoded once with Pillow (grayscale -> 3 channels, resized to 64 x 64) into one uint8
array (N, 3, 64, 64) cached beside the data, so every epoch after the first decodes no image.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from models.emotions import ALL_EMOTIONS, canonical_emotion

IMAGE_SIZE = 64
CACHE_VERSION = 1  # bump when the decoding below changes
TRAIN_NAMES = ("train", "training")
VAL_NAMES = ("val", "valid", "validation", "publictest", "dev")
TEST_NAMES = ("test", "privatetest", "heldout")


class DatasetError(ValueError):
    """The dataset is malformed; the message names the file, row and what is accepted."""


@dataclass
class LabelTable:
    root: Path
    files: list[str]  # relative to root
    emotions: list[str]  # canonical names (models.emotions.ALL_EMOTIONS)
    va: np.ndarray  # (N, 2) float32 in [-1, 1]; NaN where the csv has no VA
    columns: dict[str, list[str]] = field(default_factory=dict)  # every csv column, raw strings
    csv_path: Path | None = None

    def __len__(self) -> int:
        return len(self.files)

    @property
    def has_va(self) -> bool:
        return bool(len(self.va)) and not np.isnan(self.va).any()

    def emotion_codes(self) -> np.ndarray:
        """(N,) int codes in ALL_EMOTIONS order."""
        return np.array([ALL_EMOTIONS.index(e) for e in self.emotions], dtype=np.int64)


def read_labels(root: str | Path, csv_name: str = "labels.csv", require_va: bool = False) -> LabelTable:
    """Read and validate ROOT/labels.csv. Errors name the row (1 = first data row) and what was expected."""
    root = Path(root)
    path = root / csv_name
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    if not path.is_file():
        raise DatasetError(f"no {csv_name} in {root}; expected a CSV with columns file, emotion[, valence, arousal]")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        needed = ["file", "emotion"] + (["valence", "arousal"] if require_va else [])
        missing = [c for c in needed if c not in header]
        if missing:
            raise DatasetError(
                f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(header) or 'none'}; "
                f"needed: {', '.join(needed)}"
            )
        has_va = "valence" in header and "arousal" in header
        files, emotions, va = [], [], []
        columns: dict[str, list[str]] = {h: [] for h in header}
        for i, row in enumerate(reader, start=1):
            where = f"{path} row {i} (file {row.get('file')!r})"
            if None in row or any(row.get(h) is None for h in header):
                raise DatasetError(f"{where}: expected {len(header)} fields ({', '.join(header)})")
            name = (row["file"] or "").strip()
            if not name:
                raise DatasetError(f"{where}: empty file name")
            emo = canonical_emotion(row["emotion"])
            if emo not in ALL_EMOTIONS:
                raise DatasetError(
                    f"{where}: unknown emotion {row['emotion']!r}; "
                    f"known: {', '.join(ALL_EMOTIONS)} or codes 0-{len(ALL_EMOTIONS) - 1}"
                )
            v = a = math.nan
            if has_va and (row["valence"].strip() or row["arousal"].strip()):
                try:
                    v, a = float(row["valence"]), float(row["arousal"])
                except ValueError:
                    raise DatasetError(
                        f"{where}: valence/arousal {row['valence']!r}, {row['arousal']!r} are not numbers"
                    ) from None
                if not (-1.0 <= v <= 1.0 and -1.0 <= a <= 1.0):
                    raise DatasetError(f"{where}: valence/arousal ({v}, {a}) outside [-1, 1]")
            elif require_va:
                raise DatasetError(f"{where}: no valence/arousal (run scripts.transfer_annotations to add them)")
            files.append(name)
            emotions.append(emo)
            va.append((v, a))
            for h in header:
                columns[h].append(row[h])
    if not files:
        raise DatasetError(f"{path} has a header but no rows")
    return LabelTable(root, files, emotions, np.asarray(va, np.float32).reshape(-1, 2), columns, path)


BOX_COLUMNS = ("face_x", "face_y", "face_width", "face_height")  # optional: the face's box, cropped before resizing


def _decode(path: Path, where: str, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(f"{where}: image file {path} not found")
    try:
        with Image.open(path) as im:
            im.load()  # force a full decode: a truncated file fails here, not later
            im = im.convert("RGB")  # grayscale, palette, CMYK, RGBA -> 3 channels
            if box is not None:  # may reach past the image (a face at its edge): PIL pads with black
                x, y, w, h = box
                im = im.crop((x, y, x + w, y + h))
            if im.size != (IMAGE_SIZE, IMAGE_SIZE):
                im = im.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR, reducing_gap=2.0)
            return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)  # (3, 64, 64)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise DatasetError(f"{where}: cannot decode image {path}: {e}") from None


def _boxes(table: LabelTable) -> list[tuple[int, int, int, int] | None]:
    """Per row the face box from the face_x/face_y/face_width/face_height columns (None where absent or empty)."""
    if not all(c in table.columns for c in BOX_COLUMNS):
        return [None] * len(table)
    out = []
    for i, vals in enumerate(zip(*(table.columns[c] for c in BOX_COLUMNS))):
        if not all(v.strip() for v in vals):
            out.append(None)
            continue
        try:
            x, y, w, h = (int(float(v)) for v in vals)
        except ValueError:
            raise DatasetError(f"{table.csv_path} row {i + 1}: face box {vals} is not four numbers") from None
        if w <= 0 or h <= 0:
            raise DatasetError(f"{table.csv_path} row {i + 1}: face box {vals} has no area")
        out.append((x, y, w, h))
    return out


def _cache_key(table: LabelTable) -> str:
    h = hashlib.sha1(f"v{CACHE_VERSION}:{IMAGE_SIZE}".encode())
    for name, box in zip(table.files, _boxes(table)):
        st = (table.root / name).stat() if (table.root / name).exists() else None
        h.update(f"{name}\0{st.st_size if st else -1}\0{st.st_mtime_ns if st else -1}".encode())
        h.update((f"\0{box}" if box else "").encode() + b"\n")  # no box: the key of the format before boxes
    return h.hexdigest()[:16]


def load_images(table: LabelTable, cache: bool = True, progress: bool = True) -> np.ndarray:
    """All images as uint8 (N, 3, 64, 64), from the cache ROOT/.cache/images-KEY.npy when it matches the files."""
    cache_path = table.root / ".cache" / f"images-{_cache_key(table)}.npy"
    if cache and cache_path.is_file():
        arr = np.load(cache_path, mmap_mode="r")
        if arr.shape == (len(table), 3, IMAGE_SIZE, IMAGE_SIZE):
            return np.array(arr)  # a writable in-memory copy (the memmap is read-only)
    out = np.empty((len(table), 3, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    it = enumerate(table.files)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, total=len(table), desc=f"decode {table.root.name}", unit="img", mininterval=0.5)
    boxes = _boxes(table)
    for i, name in it:
        out[i] = _decode(table.root / name, f"{table.csv_path} row {i + 1} (file {name!r})", boxes[i])
    if cache:
        try:
            cache_path.parent.mkdir(exist_ok=True)
            tmp = cache_path.with_suffix(f".tmp{os.getpid()}.npy")
            np.save(tmp, out)
            os.replace(tmp, cache_path)  # atomic: a reader never sees half a cache
        except OSError:
            pass  # a read-only dataset folder just means no cache
    return out


def make_split(
    table: LabelTable,
    column: str = "",
    val_fraction: float = 0.1,
    seed: int = 0,
    train_values: tuple[str, ...] = (),
    val_values: tuple[str, ...] = (),
) -> np.ndarray:
    """Assign each row to "train", "val" or "test"; returns an (N,) array of those strings.

    * no column: rows drawn into val with the seed (val_fraction of them);
    * a column whose values are split names (train/Training, val/PublicTest, test/PrivateTest, or the values given in
      train_values / val_values): used as given;
    * any other column (a subject or identity id): a group split — whole groups drawn into val with the seed, so no
      person appears on both sides.
    """
    n = len(table)
    rng = np.random.default_rng(seed)
    if not column:
        out = np.full(n, "train", dtype=object)
        out[rng.permutation(n)[: max(1, round(val_fraction * n))]] = "val"
        return out.astype(str)
    if column not in table.columns:
        raise DatasetError(f"split column {column!r} not in {table.csv_path}; columns: {', '.join(table.columns)}")
    values = [v.strip() for v in table.columns[column]]
    tv = {s.lower() for s in train_values} or set(TRAIN_NAMES)
    vv = {s.lower() for s in val_values} or set(VAL_NAMES)
    named = tv | vv | set(TEST_NAMES)
    if all(v.lower() in named for v in values):
        return np.array(["train" if v.lower() in tv else "val" if v.lower() in vv else "test" for v in values])
    groups = sorted(set(values))
    if len(groups) < 2:
        raise DatasetError(f"split column {column!r} has a single value {groups[0]!r}; nothing to hold out")
    chosen = set(
        np.array(groups, dtype=object)[rng.permutation(len(groups))[: max(1, round(val_fraction * len(groups)))]]
    )
    return np.array(["val" if v in chosen else "train" for v in values])


def write_split(path: Path, table: LabelTable, split: np.ndarray) -> None:
    """The split as CSV (file, split), written atomically."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "split"])
        w.writerows(zip(table.files, split))
    os.replace(tmp, path)


def read_split(path: Path, table: LabelTable) -> np.ndarray:
    """A saved split, checked against the table it is applied to."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if [r["file"] for r in rows] != table.files:
        raise DatasetError(f"{path} lists other files than {table.csv_path}: the dataset changed since the run started")
    return np.array([r["split"] for r in rows])


def heldout_name(split: np.ndarray) -> str:
    """The split to report on: "test" when the data has one, else "val"."""
    return "test" if (split == "test").any() else "val"
