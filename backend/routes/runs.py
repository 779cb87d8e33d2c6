"""The runs being served: list and detail."""

from fastapi import APIRouter, HTTPException

from backend.deps import StateDep
from backend.registry import ServedRun
from backend.schemas import LatentSizes, RunDetail, RunSummary

router = APIRouter(prefix="/api/runs", tags=["runs"])


def _headline(m: dict | None) -> dict[str, float]:
    """A few held-out figures from metrics.json (what a list view shows)."""
    if not m:
        return {}
    out = {}
    heads = m.get("alignment", {}).get("heads", {})
    for axis, key in (("valence", "ccc_v"), ("arousal", "ccc_a")):
        if axis in heads:
            out[key] = heads[axis]["ccc"]
    if "recon_mse" in m.get("reconstruction", {}):
        out["recon_mse"] = m["reconstruction"]["recon_mse"]
    fid = m.get("edit_fidelity", {})
    for src, key in (("heads", "edit_heads_ccc_v"), ("judge", "edit_judge_ccc_v")):
        v = fid.get(src, {}).get("valence", {}).get("ccc") if isinstance(fid.get(src), dict) else None
        if isinstance(v, float):
            out[key] = v
    return out


def _summary(sr: ServedRun, cls=RunSummary, **extra):
    if not sr.ready:
        return cls(name=sr.name, status=sr.status, error=sr.error, **extra)
    c = sr.run.model_cfg
    ds = sr.run.config.get("dataset", {})
    return cls(name=sr.name, status=sr.status, kind=c.kind, label_mode=c.label_mode,
               latent=LatentSizes(zv=c.zv_dim, za=c.za_dim, zz=c.zz_dim, total=c.latent_dim),
               dataset=ds.get("name"), n_samples=sr.n_samples, epochs=sr.run.train_cfg.epochs,
               headline=_headline(sr.metrics), **extra)


@router.get("", response_model=list[RunSummary])
async def list_runs(state: StateDep) -> list[RunSummary]:
    """Every run found in the runs folder, broken ones included (status error, with the reason)."""
    return [_summary(sr) for sr in state.registry.runs.values()]


@router.get("/{run}", response_model=RunDetail)
async def read_run(run: str, state: StateDep) -> RunDetail:
    """One run: model, latent sizes, dataset, config and the metrics its evaluation wrote."""
    sr = state.registry.runs.get(run)
    if sr is None:
        known = ", ".join(sorted(state.registry.runs)) or "none"
        raise HTTPException(404, f"run {run!r} not found; known runs: {known}")
    if not sr.ready:
        return _summary(sr, RunDetail, missing=sr.missing)
    ell = {k: {"mu_v": e.mu_v, "s_v": e.s_v, "mu_a": e.mu_a, "s_a": e.s_a} for k, e in sr.ellipses.items()}
    return _summary(sr, RunDetail, config=sr.run.config, metrics=sr.metrics, missing=sr.missing, emotions=ell)
