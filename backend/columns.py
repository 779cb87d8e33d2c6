"""The map's points as a response: the dataset's projections as compact columns, serialised once and kept as bytes.

30,000 points are about 2 MB of JSON (~0.8 MB gzipped): built at load, so no request waits for them, and served as
stored bytes.
"""

from __future__ import annotations

import gzip
import json
from functools import cached_property

import numpy as np

from models.data.emotions import ALL_EMOTIONS

PROJECTION_KEYS = ("tsne_v", "tsne_a", "tsne_z", "pca_v", "pca_a", "pca_z")


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


class ProjectionColumns:
    """A run's columns as JSON bytes, plain and gzipped, each built once."""

    def __init__(self, run: str, latents: dict[str, np.ndarray], projections: dict[str, np.ndarray] | None):
        self.run, self._latents, self._projections = run, latents, projections

    @cached_property
    def json_bytes(self) -> bytes:
        return json.dumps(projection_columns(self.run, self._latents, self._projections),
                          separators=(",", ":")).encode()

    @cached_property
    def gzip_bytes(self) -> bytes:
        return gzip.compress(self.json_bytes, compresslevel=6)
