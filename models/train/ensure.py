"""Train a run unless it already finished with this very recipe: what the demo and the benchmarks call.

A finished run whose saved config differs from the recipe (data, model or training settings; runtime-only settings
such as threads aside) is trained again, so a benchmark never reports a stale run; an interrupted one resumes.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

from models import runs as ck
from models.config import ModelConfig, TrainConfig
from models.io import read_json
from models.recipes import Recipe
from models.train.loop import train_run

RUNTIME_ONLY = ("threads", "device")  # settings that do not change what a run learns


def ensure_run(run_dir: Path, recipe: Recipe, data: Path | None = None, log: Callable[[str], None] = print,
               **train_overrides) -> dict:
    """Train ``run_dir`` from ``recipe`` (its data, or ``data``; ``train_overrides`` such as epochs for quick runs)
    unless it finished with exactly that; resume it if it was interrupted. Returns the run's summary."""
    run_dir = Path(run_dir)
    data = Path(data or recipe.data)
    train_cfg = dataclasses.replace(recipe.train, **train_overrides)
    if (run_dir / ck.CONFIG).is_file():
        same = _same_recipe(read_json(run_dir / ck.CONFIG), recipe.model, train_cfg, data)
        if same and (run_dir / ck.SUMMARY).is_file():
            log(f"== {run_dir} exists with this recipe (delete it to train again)")
            return read_json(run_dir / ck.SUMMARY)
        if same and (run_dir / ck.CHECKPOINT).is_file():
            log(f"== resuming {run_dir}")
            return train_run(run_dir, resume=True)
        if not same:
            log(f"== {run_dir} was trained with another recipe or dataset: training it again")
    if run_dir.exists():
        shutil.rmtree(run_dir)
    log(f"== training {run_dir} ({recipe.name})")
    return train_run(run_dir, data, recipe.model, train_cfg)


def _same_recipe(saved: dict, model: ModelConfig, train: TrainConfig, data: Path) -> bool:
    return (_learned(ModelConfig, saved.get("model", {})) == _learned(ModelConfig, model.to_dict())
            and _learned(TrainConfig, saved.get("train", {})) == _learned(TrainConfig, train.to_dict())
            and Path(saved.get("dataset", {}).get("root", "")).resolve() == data.resolve())


def _learned(cls, d: dict) -> dict | None:
    """A saved config with today's defaults filled in and runtime-only settings dropped (None if it is not valid)."""
    try:
        full = cls.from_dict(d).to_dict()
    except (ValueError, TypeError):
        return None
    return {k: v for k, v in full.items() if k not in RUNTIME_ONLY}
