"""Train / val / test splits of a dataset: drawn with a seed, named by a column, or by group; saved with the run."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from models.data.labels import DatasetError, LabelTable

TRAIN_NAMES = ("train", "training")


VAL_NAMES = ("val", "valid", "validation", "publictest", "dev")


TEST_NAMES = ("test", "privatetest", "heldout")


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
