"""The map's points as a response: the dataset's projections as columns, in two wire forms.

* JSON, every column in one object (for API users and small runs): 30,000 points are about 2 MB (~0.8 MB gzipped),
  serialised on the first request and kept as bytes.
* Binary, one typed array per column (for the page at any size): little-endian float32 coordinates and VA, uint8
  emotion and split codes, int32 ids, cut from the memory-mapped latents and projections when asked for. The page's
  first paint needs one projection's x and y and the emotion: 9 bytes a point. Each column carries an ETag made from
  its run's files, so a reload revalidates (304) instead of fetching again.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from functools import cached_property
from pathlib import Path
from urllib.parse import quote

import numpy as np

from models.data.emotions import ALL_EMOTIONS

PROJECTION_KEYS = ("tsne_v", "tsne_a", "tsne_z", "pca_v", "pca_a", "pca_z")
VA_COLUMNS = {"label_v": ("va_label", 0), "label_a": ("va_label", 1), "head_v": ("va_head", 0),
              "head_a": ("va_head", 1)}
SPLITS = ("train", "val", "test")  # the split column's codes


def _r4(a: np.ndarray) -> list[float]:
    return np.round(a.astype(np.float64), 4).tolist()


def projection_columns(run: str, latents: dict[str, np.ndarray], projections: dict[str, np.ndarray] | None) -> dict:
    """One entry per point in every column; the points are the projections' rows (every dataset row without them)."""
    lat = latents
    ids = projections["ids"] if projections is not None else lat["ids"]
    cols = {
        "run": run,
        "n": int(len(ids)),
        "n_dataset": int(len(lat["ids"])),
        "emotions": list(ALL_EMOTIONS),
        "ids": ids.tolist(),
        "emotion": lat["emotion"][ids].tolist(),
        "split": lat["split"][ids].tolist(),
        "label_v": _r4(lat["va_label"][ids, 0]),
        "label_a": _r4(lat["va_label"][ids, 1]),
        "head_v": _r4(lat["va_head"][ids, 0]),
        "head_a": _r4(lat["va_head"][ids, 1]),
    }
    for key in PROJECTION_KEYS:  # empty lists when evaluation skipped t-SNE
        xy = projections[key] if projections is not None else np.zeros((0, 2))
        cols[f"{key}_x"] = _r4(xy[:, 0]) if len(xy) else []
        cols[f"{key}_y"] = _r4(xy[:, 1]) if len(xy) else []
    return cols


def files_tag(*paths: Path) -> str:
    """A tag that changes whenever one of these files is rewritten (size and modification time; absent files too)."""
    h = hashlib.sha1()
    for p in paths:
        st = p.stat() if p.is_file() else None
        h.update(f"{p.name}:{st.st_size if st else -1}:{st.st_mtime_ns if st else -1};".encode())
    return h.hexdigest()[:20]


class ProjectionColumns:
    """A run's columns: as JSON bytes (plain and gzipped, each built once) and as binary typed arrays."""

    def __init__(self, run: str, latents: dict[str, np.ndarray], projections: dict[str, np.ndarray] | None,
                 tag: str = ""):
        self.run, self._latents, self._projections, self.tag = run, latents, projections, tag
        self._ids = projections["ids"] if projections is not None else latents["ids"]

    @cached_property
    def json_bytes(self) -> bytes:
        return json.dumps(projection_columns(self.run, self._latents, self._projections),
                          separators=(",", ":")).encode()

    @cached_property
    def gzip_bytes(self) -> bytes:
        return gzip.compress(self.json_bytes, compresslevel=6)

    @property
    def n(self) -> int:
        return int(len(self._ids))

    @cached_property
    def binary_dtypes(self) -> dict[str, str]:
        """Every binary column's name and dtype; projections that were not computed are left out."""
        out = {"ids": "int32", "emotion": "uint8", "split": "uint8", **dict.fromkeys(VA_COLUMNS, "float32")}
        for key in PROJECTION_KEYS:
            if self._projections is not None and len(self._projections[key]):
                out |= {f"{key}_x": "float32", f"{key}_y": "float32"}
        return out

    def binary(self, name: str) -> np.ndarray:
        """One column as a contiguous little-endian array of n values (KeyError for a name not in binary_dtypes)."""
        dtype = np.dtype(self.binary_dtypes[name]).newbyteorder("<")
        lat, ids = self._latents, self._ids
        rows = slice(None) if len(ids) == len(lat["ids"]) else ids  # every row on the map: read the maps in place
        if name == "ids":
            col = ids
        elif name == "emotion":
            col = lat["emotion"][rows]
        elif name == "split":
            col = _split_codes(lat["split"][rows])
        elif name in VA_COLUMNS:
            key, axis = VA_COLUMNS[name]
            col = lat[key][rows, axis]
        else:
            col = self._projections[name[:-2]][:, 0 if name.endswith("_x") else 1]
        return np.ascontiguousarray(col, dtype=dtype)

    def etag(self, what: str) -> str:
        return f'"{self.tag}-{what}"'

    def manifest(self) -> dict:
        """What the binary columns are: their names, dtypes and byte sizes, and what the codes mean."""
        n, lat = self.n, self._latents
        return {"run": self.run, "n": n, "n_dataset": int(len(lat["ids"])), "emotions": list(ALL_EMOTIONS),
                "splits": list(SPLITS), "ids_are_rows": bool(n == len(lat["ids"])),
                "columns": {k: {"dtype": d, "bytes": n * np.dtype(d).itemsize,
                                "url": f"/api/runs/{quote(self.run, safe='')}/columns/{k}"}
                            for k, d in self.binary_dtypes.items()}}


def _split_codes(split: np.ndarray) -> np.ndarray:
    """train / val / test -> 0 / 1 / 2 (SPLITS order); any other name -> 255."""
    out = np.full(len(split), 255, np.uint8)
    for code, name in enumerate(SPLITS):
        out[split == name] = code
    return out
