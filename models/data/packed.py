"""A packed image store: a dataset's faces in one uint8 file, (N, 3, 64, 64), instead of N image files.

A folder of 400,000 faces is 400,000 files as images; packed it is one ``faces.npy`` that the dataset reader maps
from disk. labels.csv names each row's face as ``faces.npy#ROW`` (the store's file, a hash, the row), so a packed
dataset is still a folder + labels.csv and every reader of image files reads it too. When a table's files are the
store's rows in order, the store is the decoded image array itself: training and evaluation map it copy-on-write,
with no cache to build.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

STORE = "faces.npy"
SIZE = 64  # the rows are already at the model's input size


class PackedError(ValueError):
    """A packed store or a reference to one is malformed; the message says what was expected."""


def ref(row: int, store: str = STORE) -> str:
    """The labels.csv ``file`` of a store's row."""
    return f"{store}#{row}"


def split_ref(name: str) -> tuple[str, int] | None:
    """'faces.npy#12' -> ('faces.npy', 12); None for an ordinary file name."""
    store, sep, row = name.rpartition("#")
    if not sep or not store.endswith(".npy") or not row.isdigit():
        return None
    return store, int(row)


def file_of(name: str) -> str:
    """The file on disk a labels.csv ``file`` refers to (the store, for a row of one)."""
    parts = split_ref(name)
    return parts[0] if parts else name


@lru_cache(maxsize=8)
def _mapped(path: str, mtime_ns: int) -> np.ndarray:
    arr = np.load(path, mmap_mode="r")
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[1:] != (3, SIZE, SIZE):
        raise PackedError(f"{path}: a packed store holds uint8 faces (N, 3, {SIZE}, {SIZE}), found {arr.dtype} "
                          f"{arr.shape}")
    return arr


def open_store(path: Path) -> np.ndarray:
    """The store memory-mapped read-only (reopened when the file changes)."""
    try:
        return _mapped(str(path), path.stat().st_mtime_ns)
    except (OSError, ValueError) as e:
        if isinstance(e, PackedError):
            raise
        raise PackedError(f"cannot read the packed store {path}: {e}") from None


def read_row(root: Path, name: str) -> np.ndarray:
    """The (3, 64, 64) face a reference names."""
    store, row = split_ref(name) or (None, None)
    if store is None:
        raise PackedError(f"{name!r} is not a packed store reference (STORE.npy#ROW)")
    arr = open_store(root / store)
    if row >= len(arr):
        raise PackedError(f"{name!r}: the store {root / store} has {len(arr):,} faces (rows 0-{len(arr) - 1})")
    return np.asarray(arr[row])


def whole_store(root: Path, files: list[str]) -> np.ndarray | None:
    """The store as the table's image array, memory-mapped copy-on-write, when ``files`` are exactly its rows in
    order; else None."""
    if not files or split_ref(files[0]) is None:
        return None
    store = split_ref(files[0])[0]
    if any(f != ref(i, store) for i, f in enumerate(files)):
        return None
    if len(open_store(root / store)) != len(files):
        return None
    return np.load(root / store, mmap_mode="c")
