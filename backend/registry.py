"""The runs the service serves: every runs/NAME/ folder loaded once at start.

Each run is served as three parts: what was stored in its folder (backend.store), its model's inference paths
(backend.inference) and the map's response columns (backend.columns). A run that cannot load (missing or truncated
weights, a broken config) is kept with status "error" and its reason, so readiness names it while the other runs
serve. Run names come only from the folder listing: a request's run name is looked up here, never joined onto a path.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from backend.columns import ProjectionColumns, files_tag
from backend.inference import Inference
from backend.store import StoredRun, load_stored
from models.runs import CHECKPOINT, CONFIG, LATENTS, PROJECTIONS, WEIGHTS

log = logging.getLogger("levasa")


@dataclass
class ServedRun:
    stored: StoredRun
    infer: Inference | None = None  # None when the run did not load
    columns: ProjectionColumns | None = None  # None without dataset latents

    @property
    def name(self) -> str:
        return self.stored.name

    @property
    def ready(self) -> bool:
        return self.stored.ready and self.infer is not None

    @property
    def status(self) -> str:
        return "ready" if self.ready else "error"

    @property
    def error(self) -> str | None:
        return self.stored.error


class Registry:
    def __init__(self, runs_dir: Path, device: torch.device, precision: str = "auto"):
        self.runs_dir = Path(runs_dir)
        self.device = device
        self.precision = precision
        self.runs: dict[str, ServedRun] = {}

    def load_all(self) -> None:
        """Load every run folder (a sub-folder with a config.json, or one that should have had one)."""
        if not self.runs_dir.is_dir():
            log.warning("runs folder %s does not exist: no runs to serve", self.runs_dir)
            return
        for path in sorted(self.runs_dir.iterdir()):
            if path.name.startswith(".") or not path.is_dir():
                continue
            if not any((path / f).exists() for f in (CONFIG, WEIGHTS, CHECKPOINT)):
                continue  # not a run folder
            self.runs[path.name] = load_served(path, self.device, self.precision)

    def ready(self) -> list[ServedRun]:
        return [r for r in self.runs.values() if r.ready]


def load_served(path: Path, device: torch.device, precision: str = "auto") -> ServedRun:
    """One run: its folder (memory-mapped), its inference paths (frozen graphs built on first use or by the warm-up)
    and its columns."""
    t0 = time.perf_counter()
    stored = load_stored(path, device)
    if not stored.ready:
        return ServedRun(stored)
    try:
        infer = Inference(stored.run, precision)
    except Exception as e:  # noqa: BLE001 - a run must never stop the others from serving
        log.exception("run %s not served: its inference paths did not build", path.name)
        return ServedRun(stored.fail(f"inference paths did not build: {type(e).__name__}: {e}"))
    columns = None
    if stored.latents is not None:
        # The JSON form is built on its first request (the page reads the binary columns): start-up stays fast.
        columns = ProjectionColumns(stored.name, stored.latents, stored.projections,
                                    files_tag(path / LATENTS, path / PROJECTIONS))
    stored.load_s = time.perf_counter() - t0
    return ServedRun(stored, infer, columns)
