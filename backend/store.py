"""A run as stored: what its folder (and its dataset's folder) holds, loaded once at start.

The model (models.runs.load_run), the dataset's latents, projections and thumbnails (export; all three memory-mapped,
so a 400,000-face run costs a worker little memory), metrics.json (evaluation),
summary.json (training) and the category ellipses (annotation transfer). A run whose model cannot load is kept with
status "error" and its reason; a missing or damaged artifact only degrades the run, and ``missing`` says which and how
to write it. Every file name comes from its owner (models.runs, models.data.transfer).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from models.data.synthetic import is_synthetic
from models.data.transfer import ELLIPSES_FILE, Ellipse, affectnet_ellipses, nearest_ellipse
from models.io import RunError, load_npz
from models.runs import LATENTS, LEGACY_THUMBS, METRICS_JSON, PROJECTIONS, SUMMARY, THUMBS, LoadedRun, load_run
from models.thumbstore import Thumbnails, open_store

log = logging.getLogger("levasa")


@dataclass
class StoredRun:
    name: str
    path: Path
    status: Literal["ready", "error"] = "error"
    error: str | None = None  # why the run does not serve
    run: LoadedRun | None = None
    latents: dict[str, np.ndarray] | None = None  # latents.npz: ids, mu, emotion, split, va_label, va_head, ...
    projections: dict[str, np.ndarray] | None = None  # projections.npz: ids, tsne_*, pca_*
    thumbs: Thumbnails | None = None
    metrics: dict | None = None  # metrics.json: the full evaluation
    summary: dict | None = None  # summary.json: the held-out figures training ended with
    ellipses: dict[str, Ellipse] = field(default_factory=affectnet_ellipses)
    missing: list[str] = field(default_factory=list)  # artifacts not written yet (or damaged), and how to write them
    load_s: float = 0.0
    synthetic: bool = False  # trained on the built-in synthetic faces only

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    @property
    def latent_dim(self) -> int:
        return self.run.model_cfg.latent_dim

    @property
    def n_samples(self) -> int:
        return 0 if self.latents is None else len(self.latents["ids"])

    def emotion_of(self, va: np.ndarray) -> list[str]:
        """Nearest category ellipse (normalised distance) for each (V, A) row."""
        return [str(e) for e in nearest_ellipse(va, self.ellipses)]

    def fail(self, error: str) -> StoredRun:
        self.status, self.error = "error", error
        return self


def load_stored(path: Path, device: torch.device) -> StoredRun:
    """One run folder: the model and its artifacts. Never raises: a failure is status "error" with the reason."""
    st = StoredRun(path.name, path)
    try:
        st.run = load_run(path, device)
    except (RunError, OSError, ValueError) as e:
        log.error("run %s not served: %s", path.name, e)
        return st.fail(str(e))
    except Exception as e:  # noqa: BLE001 - a run must never stop the others from serving
        log.exception("run %s not served", path.name)
        return st.fail(f"{type(e).__name__}: {e}")
    _load_dataset_files(st)
    st.metrics = _json(path / METRICS_JSON, st)
    st.summary = _json(path / SUMMARY, st)
    root = st.run.config.get("dataset", {}).get("root")
    st.ellipses = _dataset_ellipses(root) or st.ellipses
    st.synthetic = is_synthetic(root)
    st.status = "ready"
    return st


def _load_dataset_files(st: StoredRun) -> None:
    """latents.npz, then what must match it row for row (projections, thumbnails); a mismatch is dropped, and named."""
    export = f"python -m scripts.export runs/{st.name}"
    st.latents = _npz(st.path / LATENTS, st)
    if st.latents is not None and st.latents["mu"].shape[1] != st.latent_dim:
        st.missing.append(f"{LATENTS} holds {st.latents['mu'].shape[1]}-dim latents, the model {st.latent_dim}: "
                          f"re-export them ({export})")
        st.latents = None
    if st.latents is None:
        return
    n = len(st.latents["ids"])
    st.projections = _npz(st.path / PROJECTIONS, st)
    if st.projections is not None and int(st.projections["ids"].max(initial=-1)) >= n:
        st.missing.append(f"{PROJECTIONS} does not match {LATENTS}: re-export them ({export})")
        st.projections = None
    st.thumbs = _thumbnails(st)
    if st.thumbs is not None and len(st.thumbs) != n:
        st.missing.append(f"{THUMBS} does not match {LATENTS}: re-export them ({export})")
        st.thumbs = None


def _thumbnails(st: StoredRun) -> Thumbnails | None:
    """The dataset's thumbnail store that thumbs.json names, or a run's own thumbs.npz from before the stores."""
    if not (st.path / THUMBS).is_file():
        if (st.path / LEGACY_THUMBS).is_file():
            th = _npz(st.path / LEGACY_THUMBS, st)
            return None if th is None else Thumbnails(th["data"], th["offsets"])
        st.missing.append(f"{THUMBS} missing: python -m scripts.export runs/{st.name}")
        return None
    try:
        return open_store(st.path)
    except RunError as e:
        st.missing.append(f"{THUMBS}: {e}")
        return None


def _npz(path: Path, st: StoredRun) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        st.missing.append(f"{path.name} missing: python -m scripts.export runs/{st.name}")
        return None
    try:
        return load_npz(path)  # memory-mapped, never unpickled
    except Exception as e:  # noqa: BLE001 - a damaged artifact degrades the run, it does not stop it
        st.missing.append(f"{path.name} unreadable ({type(e).__name__}: {e})")
        return None


def _json(path: Path, st: StoredRun) -> dict | None:
    """An optional JSON file of the run: None when absent; when unreadable, None and a line in ``missing``."""
    if not path.is_file():
        return None
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        st.missing.append(f"{path.name} unreadable: {e}")
        return None
    if not isinstance(obj, dict):
        st.missing.append(f"{path.name} unreadable: holds a JSON {type(obj).__name__}, not an object")
        return None
    return obj


def _dataset_ellipses(root: str | None) -> dict[str, Ellipse] | None:
    """The dataset's own category statistics (annotation transfer wrote them beside labels.csv), or None."""
    path = Path(root or "") / ELLIPSES_FILE
    if not root or not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())["ellipses"]
        return {k: Ellipse(**v) for k, v in raw.items()}
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("%s unreadable (%s): the published AffectNet ellipses are used", path, e)
        return None
