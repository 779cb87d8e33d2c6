"""The dataset's images decoded once into one uint8 array (N, 3, 64, 64), cached beside the data and memory-mapped.

Images of any size and mode are decoded with Pillow (grayscale -> 3 channels, the optional face box cropped, resized
to 64 x 64) into ROOT/.cache/images-KEY.npy, so every epoch after the first decodes no image. The key covers every
file's name, size, modification time and box, so a changed dataset never reads a stale cache.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image

from models.data import packed
from models.data.labels import DatasetError, LabelTable, face_boxes

IMAGE_SIZE = 64


CACHE_VERSION = 1  # bump when the decoding below changes


def decode_image(path: Path, where: str, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """One image file (or a packed store's row, models.data.packed) as (3, 64, 64) uint8."""
    if packed.split_ref(path.name):
        try:
            row = packed.read_row(path.parent, path.name)
        except packed.PackedError as e:
            raise DatasetError(f"{where}: {e}") from None
        return row if box is None else _fit(Image.fromarray(row.transpose(1, 2, 0)), box)
    if not path.is_file():
        raise DatasetError(f"{where}: image file {path} not found")
    try:
        with Image.open(path) as im:
            im.load()  # force a full decode: a truncated file fails here, not later
            return _fit(im, box)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise DatasetError(f"{where}: cannot decode image {path}: {e}") from None


def _fit(im: Image.Image, box: tuple[int, int, int, int] | None) -> np.ndarray:
    """Any mode -> RGB, the face box cropped, resized to 64 x 64: (3, 64, 64) uint8."""
    im = im.convert("RGB")  # grayscale, palette, CMYK, RGBA -> 3 channels
    if box is not None:  # may reach past the image (a face at its edge): PIL pads with black
        x, y, w, h = box
        im = im.crop((x, y, x + w, y + h))
    if im.size != (IMAGE_SIZE, IMAGE_SIZE):
        im = im.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR, reducing_gap=2.0)
    return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)


def cache_key(table: LabelTable) -> str:
    h = hashlib.sha1(f"v{CACHE_VERSION}:{IMAGE_SIZE}".encode())
    stats: dict[str, os.stat_result | None] = {}  # a packed store's rows share one file: stat it once
    for name, box in zip(table.files, face_boxes(table)):
        file = packed.file_of(name)  # a packed row: its store's size and time
        if file not in stats:
            path = table.root / file
            stats[file] = path.stat() if path.exists() else None
        st = stats[file]
        h.update(f"{name}\0{st.st_size if st else -1}\0{st.st_mtime_ns if st else -1}".encode())
        h.update((f"\0{box}" if box else "").encode() + b"\n")  # no box: the key of the format before boxes
    return h.hexdigest()[:16]


def load_images(table: LabelTable, cache: bool = True, progress: bool = True, key: str | None = None) -> np.ndarray:
    """All images as uint8 (N, 3, 64, 64), from the cache ROOT/.cache/images-KEY.npy when it matches the files
    (``key``: cache_key(table), when the caller has it already).

    With the cache the array is the cache file memory-mapped copy-on-write: pages are read from disk as batches touch
    them and stay evictable, so a 400,000-face dataset (4.9 GB) does not need 4.9 GB of memory, and a first load
    decodes straight into the file. A write to the array never reaches the file. Without a cache (cache=False or a
    read-only dataset folder) it is an ordinary array in memory. A packed dataset whose files are its store's rows in
    order (models.data.packed) is its own cache: the store is returned, mapped the same way."""
    if not any(face_boxes(table)):
        try:
            whole = packed.whole_store(table.root, table.files)
        except packed.PackedError as e:
            raise DatasetError(f"{table.csv_path}: {e}") from None
        if whole is not None:
            return whole
    cache_path = table.root / ".cache" / f"images-{key or cache_key(table)}.npy"
    shape = (len(table), 3, IMAGE_SIZE, IMAGE_SIZE)
    if cache and cache_path.is_file():
        arr = np.load(cache_path, mmap_mode="c")
        if arr.shape == shape:
            return arr
    out, tmp = _decode_target(cache_path, shape) if cache else (np.empty(shape, np.uint8), None)
    try:
        _decode_all(table, out, progress)
        if tmp is not None:
            out.flush()
            os.replace(tmp, cache_path)  # atomic: a reader never sees half a cache
            return np.load(cache_path, mmap_mode="c")
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()
    return out


def _decode_target(cache_path: Path, shape: tuple[int, ...]) -> tuple[np.ndarray, Path | None]:
    """A temporary .npy beside the cache, mapped for writing (so decoding needs no memory of its size); an array in
    memory where the folder cannot be written."""
    tmp = cache_path.with_suffix(f".tmp{os.getpid()}.npy")
    try:
        cache_path.parent.mkdir(exist_ok=True)
        return np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape), tmp
    except OSError:
        return np.empty(shape, np.uint8), None  # a read-only dataset folder just means no cache


def _decode_all(table: LabelTable, out: np.ndarray, progress: bool) -> None:
    it = enumerate(table.files)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, total=len(table), desc=f"decode {table.root.name}", unit="img", mininterval=0.5)
    boxes = face_boxes(table)
    for i, name in it:
        out[i] = decode_image(table.root / name, f"{table.csv_path} row {i + 1} (file {name!r})", boxes[i])
