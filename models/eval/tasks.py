"""The evaluation tasks for one run, on its held-out split, each with its baseline; scripts.evaluate drives them.

  1. reconstruction: recon MSE of the latent mean (held-out), beside the mean training image's MSE;
  2. alignment: the heads' RMSE/MAE/PCC/CCC/SAGR per axis, beside the constant (training mean) and a linear probe,
     plus the heads against the row's category-ellipse centre (what annotation transfer can promise at most);
  3-5. emotion prediction, regression and inverse regression (models.eval.probes);
  6. t-SNE and PCA of the latents (models.eval.projections, cached in the run folder);
  7. the circumplex (the report draws it from the exported latents);
  8. edit fidelity (models.eval.fidelity), judged by the heads and by the independent regressor (models.eval.judge).
Results go to RUN/metrics.json; latents to RUN/latents.npz; projections to RUN/projections.npz.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from models import runs as ck
from models.data.labels import read_labels
from models.data.splits import read_split
from models.data.transfer import affectnet_ellipses
from models.eval import probes
from models.eval.affect import va_metrics
from models.eval.export import export_latents, save_thumbnails
from models.eval.projections import cached_projections
from models.eval.rundata import RunData
from models.io import write_json

METRICS_JSON = "metrics.json"
GRID_FACES = 10  # held-out faces in the reconstruction grid


class EvaluationError(ValueError):
    """Runs cannot be evaluated (together); the message says why."""


def check_same_rows(runs: list[ck.LoadedRun]) -> None:
    """Runs evaluated together must share the dataset rows (files, labels) and the split, so every number and every
    picture compares like with like. Raises EvaluationError naming the first run that differs."""
    ref = None
    for run in runs:
        table = read_labels(run.config["dataset"]["root"], require_va=True)
        split = read_split(run.path / ck.SPLIT, table)
        sig = (table.files, table.va, split)
        if ref is None:
            ref = (run, sig)
            continue
        r0, (files, va, sp) = ref
        what = ("different dataset rows" if table.files != files
                else "different VA labels" if not np.array_equal(table.va, va)
                else "a different train/held-out split" if not np.array_equal(split, sp) else "")
        if what:
            raise EvaluationError(
                f"runs {r0.name!r} ({r0.config['dataset']['root']}) and {run.name!r} ({run.config['dataset']['root']}) "
                f"have {what}; evaluate runs on different data separately"
            )


def grid_rows(data: RunData, k: int = GRID_FACES, seed: int = 0) -> np.ndarray:
    """The held-out rows shown in the reconstruction grid: the same for every run."""
    held = np.flatnonzero(data.split == data.heldout)
    return np.sort(np.random.default_rng(seed).choice(held, min(k, len(held)), replace=False))


def mean_image_mse(data: RunData, chunk: int = 2048) -> float:
    """Held-out MSE of the mean training image: the reconstruction baseline of a model that encodes nothing."""
    train = np.flatnonzero(data.split == "train")
    held = np.flatnonzero(data.split == data.heldout)
    total = torch.zeros(data.images.shape[1:], dtype=torch.float64)
    for i in range(0, len(train), chunk):
        total += data.images[train[i : i + chunk]].double().sum(0)
    mean = (total / len(train) / 255.0).float()
    err = sum(float((data.images[held[i : i + chunk]].float() / 255.0 - mean).pow(2).mean((1, 2, 3)).sum())
              for i in range(0, len(held), chunk))
    return err / len(held)


@torch.no_grad()
def reconstruct(run: ck.LoadedRun, mu: np.ndarray) -> np.ndarray:
    """Decode latent means (k, D) -> uint8 faces (k, 3, 64, 64)."""
    x = run.model.decode(torch.from_numpy(np.asarray(mu, np.float32)).to(run.device)).float().clamp(0, 1)
    return (x * 255).round().byte().cpu().numpy()


def heads_vs_centre(va_head: np.ndarray, emotions: list[str] | np.ndarray) -> dict | None:
    """The heads against the AffectNet ellipse centre of each row's emotion (rows whose emotion has an ellipse)."""
    ell = affectnet_ellipses()
    emotions = np.asarray(emotions)
    keep = np.array([e in ell for e in emotions])
    if keep.sum() < 2:
        return None
    centre = np.array([(ell[e].mu_v, ell[e].mu_a) for e in emotions[keep]])
    return {"n": int(keep.sum()), "metrics": va_metrics(centre, np.asarray(va_head)[keep])}


def _jsonable(obj):
    """Drop numpy arrays (predictions) and turn numpy scalars into Python numbers."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items() if not isinstance(v, np.ndarray)}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def evaluate_run(
    run: ck.LoadedRun,
    data: RunData,
    *,
    quick: bool = False,
    tsne: bool = True,
    max_points: int = 30000,
    judge_net=None,
    judge_real: dict | None = None,
    fidelity_skip: str = "",
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Every task for one run. Writes RUN/latents.npz, RUN/projections.npz and RUN/metrics.json.

    Returns {"metrics": the metrics.json dict, "latents": the exported arrays, "proj": the projections,
    "recon": uint8 reconstructions of grid_rows(data), "strip"/"strip_targets": the edit strip or None}.
    quick: one hyperparameter setting per model, at most 4,000 training rows for the probes, 2,000 projected points,
    24 faces for edit fidelity (for CI and smoke tests; the numbers are not the reported ones).
    judge_real: ``judge_on_real(judge_net, data)``, the same for every run of one dataset (computed here if absent).
    """
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    lat = export_latents(run, data, progress=progress)
    save_thumbnails(run.path, data.images)
    timing["encode"] = time.perf_counter() - t0
    c = run.model_cfg
    zv, za = slice(0, c.zv_dim), slice(c.zv_dim, c.zv_dim + c.za_dim)
    split = np.asarray(data.split).astype(str)
    held = split == data.heldout
    n_held, n_train = int(held.sum()), int((split == "train").sum())
    emotions = np.asarray(data.emotions)
    va = np.asarray(data.va, np.float64)

    metrics: dict = {
        "run": run.name,
        "kind": c.kind,
        "label_mode": c.label_mode,
        "epochs": run.train_cfg.epochs,
        "dataset": {k: run.config["dataset"].get(k) for k in ("name", "root", "n")},
        "split": data.heldout,
        "n": n_held,
        "n_train": n_train,
        "quick": quick,
    }
    sn = {"split": data.heldout, "n": n_held}

    # 1. reconstruction
    t0 = time.perf_counter()
    metrics["reconstruction"] = sn | {"recon_mse": float(lat["recon_mse"][held].mean()),
                                      "mean_image_mse": mean_image_mse(data)}
    rows = grid_rows(data)
    recon = reconstruct(run, lat["mu"][rows])
    timing["reconstruction"] = time.perf_counter() - t0

    # 2. alignment
    t0 = time.perf_counter()
    const = np.broadcast_to(va[split == "train"].mean(0), va[held].shape)
    lp = probes.linear_probe(lat["mu"], va, split, zv, za, data.heldout)
    align = sn | {"heads": va_metrics(va[held], lat["va_head"][held]), "constant": va_metrics(va[held], const),
                  "linear_probe": lp}
    centre = heads_vs_centre(lat["va_head"][held], emotions[held])
    if centre:
        align["heads_vs_centre"] = {"split": data.heldout} | centre
    metrics["alignment"] = align
    timing["alignment"] = time.perf_counter() - t0

    # 3-5. probes
    probe_split = split
    cls, reg = (None, None)
    if quick:
        cls, reg = probes.quick_models()
        train_idx = np.flatnonzero(split == "train")
        if len(train_idx) > 4000:
            probe_split = split.copy()
            drop = np.random.default_rng(seed).choice(train_idx, len(train_idx) - 4000, replace=False)
            probe_split[drop] = "unused"
    n_fits = len(probes.FEATURE_SETS) * len(cls or probes.CLASSIFIERS) + 4 * len(reg or probes.REGRESSORS)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_fits, desc=f"probes {run.name}", unit="fit")
    tick = (lambda what: (bar.set_postfix_str(what, refresh=False), bar.update())) if bar else None
    t0 = time.perf_counter()
    metrics["emotion"] = probes.emotion_prediction(lat["mu"], emotions, probe_split, zv, za, data.heldout, seed,
                                                   classifiers=cls, progress=tick)
    timing["emotion"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    metrics["regression"] = probes.regression(lat["mu"], va, probe_split, zv, za, data.heldout, seed, reg, tick)
    metrics["inverse_regression"] = probes.inverse_regression(lat["mu"], va, probe_split, zv, za, data.heldout, seed,
                                                              reg, tick)
    timing["regression"] = time.perf_counter() - t0
    if bar:
        bar.close()

    # 6. projections (cached: a second evaluation of the same latents reuses them)
    t0 = time.perf_counter()
    proj, reused = cached_projections(run.path, lat["mu"], zv, za, min(max_points, 2000) if quick else max_points,
                                      seed, tsne=tsne, progress=progress)
    timing["projections"] = time.perf_counter() - t0
    metrics["projections"] = {"n": int(len(proj["ids"])), "tsne": bool(len(proj["tsne_v"])), "reused": reused,
                              "key": str(proj["key"]), "seconds": round(timing["projections"], 1)}

    # 8. edit fidelity
    strip = strip_targets = None
    if judge_net is None:
        metrics["edit_fidelity"] = {"skipped": fidelity_skip or "no judge"}
    else:
        from models.eval.fidelity import edit_fidelity

        t0 = time.perf_counter()
        fid = edit_fidelity(run.model, data.images[held], judge_net, n_faces=24 if quick else 300, seed=seed)
        strip, strip_targets = fid.get("strip"), fid.get("strip_targets")
        real = judge_real if judge_real is not None else judge_on_real(judge_net, data)
        metrics["edit_fidelity"] = {"split": data.heldout} | _jsonable(fid) | {"judge_on_real": real}
        timing["edit_fidelity"] = time.perf_counter() - t0

    metrics["timing_s"] = {k: round(v, 1) for k, v in timing.items()}
    metrics = _jsonable(metrics)
    write_json(run.path / METRICS_JSON, metrics)
    return {"metrics": metrics, "latents": lat, "proj": proj, "recon": recon, "grid_rows": rows, "strip": strip,
            "strip_targets": strip_targets}


def judge_on_real(judge_net, data: RunData) -> dict:
    """How far the judge agrees with the labels of the real held-out faces: the ceiling for reading edits of them.
    It depends on the judge and the dataset only, so one evaluation computes it once for all its runs."""
    from models.eval.judge import judge

    held = np.flatnonzero(np.asarray(data.split) == data.heldout)
    return va_metrics(np.asarray(data.va)[held], judge(judge_net, data.images[held]))


def load_judge(runs_dir: Path, files: list[str], data: RunData, quick: bool = False, device="cpu",
               progress: bool = True):
    """The independent VA judge for this dataset's training split, cached in RUNS/.judges (RUNS/.judges-quick holds
    the one-epoch judge of --quick, kept apart so it never stands in for the real one). Returns (net, meta)."""
    from models.eval.judge import judge_key, load_or_train_judge

    train = np.asarray(data.split) == "train"
    key = judge_key(files, data.va, train)
    cache = Path(runs_dir) / (".judges-quick" if quick else ".judges")
    idx = torch.from_numpy(np.flatnonzero(train))
    kw = {"epochs": 1} if quick else {}
    return load_or_train_judge(cache, key, data.images[idx], np.asarray(data.va)[train], device=device,
                               progress=progress, **kw)
