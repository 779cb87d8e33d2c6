"""The runs being served: list and detail."""

from typing import Literal

from fastapi import APIRouter

from backend.deps import StateDep, find_run
from backend.registry import ServedRun
from backend.schemas import LatentSizes, RunDetail, RunSummary
from backend.store import StoredRun

router = APIRouter(prefix="/api/runs", tags=["runs"])
HeadlineSource = Literal["evaluation", "training"] | None
TRAINING_HEADLINE = ("ccc_v", "ccc_a", "recon_mse")  # summary.json's held-out figures


def _evaluation_headline(m: dict) -> dict[str, float]:
    """A few held-out figures from metrics.json (what a list view shows)."""
    out = {}
    heads = m.get("alignment", {}).get("heads", {})
    for axis, key in (("valence", "ccc_v"), ("arousal", "ccc_a")):
        if isinstance(heads.get(axis), dict) and _number(heads[axis].get("ccc")):
            out[key] = heads[axis]["ccc"]
    if _number(m.get("reconstruction", {}).get("recon_mse")):
        out["recon_mse"] = m["reconstruction"]["recon_mse"]
    fid = m.get("edit_fidelity", {})
    for src, key in (("heads", "edit_heads_ccc_v"), ("judge", "edit_judge_ccc_v")):
        v = fid.get(src, {}).get("valence", {}).get("ccc") if isinstance(fid.get(src), dict) else None
        if _number(v):
            out[key] = v
    return out


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def headline(st: StoredRun) -> tuple[dict[str, float], HeadlineSource]:
    """The evaluation's figures when there are any, else the ones training ended with (after `make demo`, say)."""
    if st.metrics and (out := _evaluation_headline(st.metrics)):
        return out, "evaluation"
    if st.summary and (out := {k: st.summary[k] for k in TRAINING_HEADLINE if _number(st.summary.get(k))}):
        return out, "training"
    return {}, None


def _fields(sr: ServedRun) -> dict:
    """What the list and the detail share."""
    st = sr.stored
    if not sr.ready:
        return {"name": sr.name, "status": sr.status, "error": sr.error}
    c = st.run.model_cfg
    figures, source = headline(st)
    return {"name": sr.name, "status": sr.status, "kind": c.kind, "label_mode": c.label_mode,
            "latent": LatentSizes(zv=c.zv_dim, za=c.za_dim, zz=c.zz_dim, total=c.latent_dim),
            "dataset": st.run.config.get("dataset", {}).get("name"), "synthetic": st.synthetic,
            "n_samples": st.n_samples,
            "epochs": st.run.train_cfg.epochs, "headline": figures, "headline_source": source}


@router.get("", response_model=list[RunSummary])
async def list_runs(state: StateDep) -> list[RunSummary]:
    """Every run found in the runs folder, broken ones included (status error, with the reason)."""
    return [RunSummary(**_fields(sr)) for sr in state.registry.runs.values()]


@router.get("/{run}", response_model=RunDetail)
async def read_run(run: str, state: StateDep) -> RunDetail:
    """One run: model, latent sizes, dataset, config, the metrics its evaluation wrote and its training summary."""
    sr = find_run(state, run)
    st = sr.stored
    if not sr.ready:
        return RunDetail(**_fields(sr), missing=st.missing)
    ell = {k: {"mu_v": e.mu_v, "s_v": e.s_v, "mu_a": e.mu_a, "s_a": e.s_a} for k, e in st.ellipses.items()}
    cols = sr.columns and {**sr.columns.manifest(), "etag": sr.columns.etag("manifest")}
    return RunDetail(**_fields(sr), config=st.run.config, metrics=st.metrics, summary=st.summary, missing=st.missing,
                     emotions=ell, columns=cols)
