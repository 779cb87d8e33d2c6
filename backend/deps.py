"""Shared dependencies as Annotated aliases, so tests can swap them and handlers stay short."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from fastapi import Depends, HTTPException, Path, Request

from backend.engine import Batcher
from backend.registry import Registry, ServedRun
from backend.settings import Settings

LATENT_BOUND = 1e4  # a latent value past this is a mistake, not a face


@dataclass
class AppState:
    settings: Settings
    registry: Registry
    batcher: Batcher


async def get_state(request: Request) -> AppState:
    return request.app.state.levasa


StateDep = Annotated[AppState, Depends(get_state)]


def find_run(state: AppState, run: str) -> ServedRun:
    """The run by name (broken ones included), or 404 listing the known runs."""
    sr = state.registry.runs.get(run)
    if sr is None:
        known = ", ".join(sorted(state.registry.runs)) or "none"
        raise HTTPException(404, f"run {run!r} not found; known runs: {known}")
    return sr


async def get_run(state: StateDep, run: Annotated[str, Path(description="run name (a folder in the runs folder)",
                                                       max_length=200, examples=["levasa"])]) -> ServedRun:
    sr = find_run(state, run)
    if not sr.ready:
        raise HTTPException(409, f"run {run!r} did not load: {sr.error}")
    return sr


RunDep = Annotated[ServedRun, Depends(get_run)]


def need_latents(sr: ServedRun) -> dict[str, np.ndarray]:
    if sr.stored.latents is None:
        raise HTTPException(409, f"run {sr.name!r} has no dataset latents yet; write them with "
                                 f"python -m scripts.export runs/{sr.name}")
    return sr.stored.latents


def latent_array(sr: ServedRun, latent: list[float], what: str = "latent") -> np.ndarray:
    """A request's latent as float32 (D,), or 422 naming the expected length."""
    d = sr.stored.latent_dim
    if len(latent) != d:
        c = sr.stored.run.model_cfg
        raise HTTPException(422, f"{what} has {len(latent)} values; run {sr.name!r} takes {d} "
                                 f"(z_v {c.zv_dim} + z_a {c.za_dim} + z_z {c.zz_dim})")
    z = np.asarray(latent, dtype=np.float32)
    if not np.isfinite(z).all() or np.abs(z).max(initial=0) > LATENT_BOUND:
        raise HTTPException(422, f"{what} values must be finite and within +-{LATENT_BOUND:g}")
    return z


def sample_latent(sr: ServedRun, i: int) -> np.ndarray:
    lat = need_latents(sr)
    if not 0 <= i < len(lat["ids"]):
        raise HTTPException(404, f"sample {i} not found; run {sr.name!r} has samples 0..{len(lat['ids']) - 1}")
    return lat["mu"][i]
