"""A face dataset as a folder + labels.csv, read and validated into a LabelTable.

labels.csv columns: ``file`` (relative to the folder), ``emotion`` (a name or an AffectNet code 0-7), optional
``valence`` and ``arousal`` in [-1, 1], optional ``face_x, face_y, face_width, face_height`` (a face box cropped before
resizing, as AffectNet lists give), and any others (identity, subject, split ...) kept as strings for splitting.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.data.emotions import ALL_EMOTIONS, canonical_emotion


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


def face_boxes(table: LabelTable) -> list[tuple[int, int, int, int] | None]:
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
