"""The evaluation tasks for one run, on its held-out split, each with its baseline; scripts.evaluate drives them.

  1. reconstruction: recon MSE of the latent mean (held-out), beside the mean training image's MSE;
  2. alignment: the heads' RMSE/MAE/PCC/CCC/SAGR per axis, beside the constant (training mean) and a linear probe,
     plus the heads against the row's category-ellipse centre (what annotation transfer can promise at most);
  3-5. emotion prediction, regression and inverse regression (models.eval.probes), and the leakage matrix: what each
     chunk holds that it should not (models.eval.leakage);
  6. t-SNE and PCA of the latents (models.eval.projections, cached in the run folder);
  7. the circumplex (the report draws it from the exported latents);
  8. edit fidelity (models.eval.fidelity), judged by the heads and by the independent regressor (models.eval.judge),
     and per 45-degree sector of a polar grid of targets (models.eval.polar);
  9. image quality (models.eval.image_quality): what an eye sees in the decoded faces.
Results go to RUN/metrics.json; latents to RUN/latents.npz; projections to RUN/projections.npz.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models import runs as ck
from models.data.labels import read_labels
from models.data.splits import read_split
from models.data.transfer import affectnet_ellipses
from models.editing import edit_latent
from models.eval import probes
from models.eval.affect import va_metrics
from models.eval.export import export_latents, save_thumbnails
from models.eval.fidelity import edit_fidelity
from models.eval.image_quality import image_quality
from models.eval.judge import judge, judge_key, load_or_train_judge
from models.eval.leakage import leakage
from models.eval.polar import polar_fidelity
from models.eval.projections import cached_projections
from models.eval.rundata import RunData
from models.io import write_json

GRID_FACES = 10  # held-out faces in the reconstruction grid
# The fixed edit grid: the grid's faces edited to four category centres (AffectNet's), the same for every run.
GRID_EDITS = {"happy": (0.66, 0.07), "sad": (-0.64, -0.26), "surprise": (0.18, 0.69), "anger": (-0.45, 0.57)}


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


@torch.no_grad()
def edit_grid(run: ck.LoadedRun, mu: np.ndarray) -> np.ndarray:
    """The grid faces' latents (k, D) edited to each GRID_EDITS target -> uint8 (len(GRID_EDITS), k, 3, 64, 64)."""
    z = torch.from_numpy(np.asarray(mu, np.float32)).to(run.device)
    rows = []
    for target in GRID_EDITS.values():
        t = torch.tensor([target], dtype=torch.float32, device=run.device).expand(len(z), 2)
        faces = run.model.decode(edit_latent(run.model, z, t)).float().clamp(0, 1)
        rows.append((faces * 255).round().byte().cpu().numpy())
    return np.stack(rows)


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


@dataclass
class RunEval:
    """What every task of one run's evaluation reads: the run, its data and exported latents, the held-out rows."""

    run: ck.LoadedRun
    data: RunData
    lat: dict[str, np.ndarray]  # export_latents' arrays
    quick: bool
    seed: int
    progress: bool

    @property
    def split(self) -> np.ndarray:
        return np.asarray(self.data.split).astype(str)

    @property
    def held(self) -> np.ndarray:
        return self.split == self.data.heldout

    @property
    def va(self) -> np.ndarray:
        return np.asarray(self.data.va, np.float64)

    @property
    def chunks(self) -> dict[str, slice]:
        """{"zv": z_v's columns, "za": z_a's} in the latent."""
        c = self.run.model_cfg
        return {"zv": slice(0, c.zv_dim), "za": slice(c.zv_dim, c.zv_dim + c.za_dim)}

    @property
    def sn(self) -> dict:
        return {"split": self.data.heldout, "n": int(self.held.sum())}


def task_reconstruction(ev: RunEval) -> tuple[dict, np.ndarray, np.ndarray]:
    """1. Recon MSE of the latent mean on the held-out split, beside the mean training image's; and the grid faces.
    Returns (figures, grid rows, their uint8 reconstructions)."""
    recon_mse = float(ev.lat["recon_mse"][ev.held].mean())
    figures = ev.sn | {"recon_mse": recon_mse, "mean_image_mse": mean_image_mse(ev.data)}
    rows = grid_rows(ev.data)
    return figures, rows, reconstruct(ev.run, ev.lat["mu"][rows])


def task_alignment(ev: RunEval) -> dict:
    """2. The heads against the labels, beside the constant (training mean), a linear probe and the category centres."""
    va, held, split = ev.va, ev.held, ev.split
    const = np.broadcast_to(va[split == "train"].mean(0), va[held].shape)
    lp = probes.linear_probe(ev.lat["mu"], va, split, **ev.chunks, heldout=ev.data.heldout)
    out = ev.sn | {"heads": va_metrics(va[held], ev.lat["va_head"][held]), "constant": va_metrics(va[held], const),
                   "linear_probe": lp}
    centre = heads_vs_centre(ev.lat["va_head"][held], np.asarray(ev.data.emotions)[held])
    if centre:
        out["heads_vs_centre"] = {"split": ev.data.heldout} | centre
    return out


def _probe_setup(ev: RunEval) -> tuple[np.ndarray, dict | None, dict | None]:
    """The split the probes fit on and their models: in quick mode one setting each and at most 4,000 training rows."""
    if not ev.quick:
        return ev.split, None, None
    cls, reg = probes.quick_models()
    split, train_idx = ev.split.copy(), np.flatnonzero(ev.split == "train")
    if len(train_idx) > 4000:
        split[np.random.default_rng(ev.seed).choice(train_idx, len(train_idx) - 4000, replace=False)] = "unused"
    return split, cls, reg


def task_probes(ev: RunEval) -> dict:
    """3-5. Emotion from each chunk, regression and inverse regression (models.eval.probes), with a progress bar."""
    split, cls, reg = _probe_setup(ev)
    n_fits = len(probes.FEATURE_SETS) * len(cls or probes.CLASSIFIERS) + 4 * len(reg or probes.REGRESSORS)
    bar = None
    if ev.progress:
        from tqdm import tqdm

        bar = tqdm(total=n_fits, desc=f"probes {ev.run.name}", unit="fit")
    tick = (lambda what: (bar.set_postfix_str(what, refresh=False), bar.update())) if bar else None
    common = {"heldout": ev.data.heldout, "seed": ev.seed, "progress": tick}
    mu, emotions = ev.lat["mu"], np.asarray(ev.data.emotions)
    out = {"emotion": probes.emotion_prediction(mu, emotions, split, **ev.chunks, classifiers=cls, **common),
           "regression": probes.regression(mu, ev.va, split, **ev.chunks, regressors=reg, **common),
           "inverse_regression": probes.inverse_regression(mu, ev.va, split, **ev.chunks, regressors=reg, **common)}
    if bar:
        bar.close()
    return out


def task_leakage(ev: RunEval) -> dict:
    """3b. What each chunk holds that it should not (models.eval.leakage): fresh probes, fitted after training."""
    split, _, _ = _probe_setup(ev)
    out = leakage(ev.lat["mu"], ev.va, np.asarray(ev.data.emotions), split == "train", ev.held, **ev.chunks,
                  identity=ev.data.identity, seed=ev.seed)
    return {"split": ev.data.heldout} | out


def task_projections(ev: RunEval, *, tsne: bool, max_points: int) -> tuple[dict, dict]:
    """6. t-SNE and PCA of the chunks, cached in the run folder. Returns (figures, the projection arrays)."""
    t0 = time.perf_counter()
    n = min(max_points, 2000) if ev.quick else max_points
    proj, reused = cached_projections(ev.run.path, ev.lat["mu"], *ev.chunks.values(), max_points=n, seed=ev.seed,
                                      tsne=tsne, progress=ev.progress)
    return {"n": int(len(proj["ids"])), "tsne": bool(len(proj["tsne_v"])), "reused": reused, "key": str(proj["key"]),
            "seconds": round(time.perf_counter() - t0, 1)}, proj


def task_edit_fidelity(ev: RunEval, judge_net, judge_real: dict | None) -> tuple[dict, np.ndarray, np.ndarray]:
    """8. Edits read back by the heads and by the independent judge. Returns (figures, the strip, its targets)."""
    held_images = ev.data.images[ev.held]
    fid = edit_fidelity(ev.run.model, held_images, judge_net, n_faces=24 if ev.quick else 300, seed=ev.seed)
    real = judge_real if judge_real is not None else judge_on_real(judge_net, ev.data)
    figures = {"split": ev.data.heldout} | _jsonable(fid) | {"judge_on_real": real}
    return figures, fid.get("strip"), fid.get("strip_targets")


def task_polar(ev: RunEval, judge_net) -> dict:
    """8b. Edits all round the circle: 28 directions x 3 strengths, per 45-degree sector (models.eval.polar), on 100
    held-out faces (12 in quick mode)."""
    out = polar_fidelity(ev.run.model, ev.data.images[ev.held], judge_net, n_faces=12 if ev.quick else 100,
                         seed=ev.seed)
    return {"split": ev.data.heldout} | out


def task_image_quality(ev: RunEval, judge_net) -> dict:
    """9. What an eye sees: sharpness, grid artefacts, judge agreement, Fréchet judge distance, identity, edit seams
    (models.eval.image_quality), on up to 1,000 held-out faces (100 in quick mode)."""
    out = image_quality(ev.run.model, ev.data.images[ev.held], judge_net, n_faces=100 if ev.quick else 1000,
                        seed=ev.seed)
    return {"split": ev.data.heldout} | out


def _header(ev: RunEval) -> dict:
    c = ev.run.model_cfg
    return {"run": ev.run.name, "kind": c.kind, "label_mode": c.label_mode, "epochs": ev.run.train_cfg.epochs,
            "dataset": {k: ev.run.config["dataset"].get(k) for k in ("name", "root", "n")},
            "split": ev.data.heldout, "n": ev.sn["n"], "n_train": int((ev.split == "train").sum()), "quick": ev.quick}


def evaluate_run(
    run: ck.LoadedRun,
    data: RunData,
    *,
    quick: bool = False,
    tsne: bool = True,
    max_points: int = 30000,
    judge_net=None,
    judge_real: dict | None = None,
    fidelity: bool = True,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Every task for one run. Writes RUN/latents.npz, thumbs.json, projections.npz and metrics.json.

    Returns {"metrics": the metrics.json dict, "latents": the exported arrays, "proj": the projections,
    "recon": uint8 reconstructions of grid_rows(data), "edits": those faces edited to GRID_EDITS,
    "strip"/"strip_targets": the edit strip or None}.
    quick: one hyperparameter setting per model, at most 4,000 training rows for the probes, 2,000 projected points,
    24 faces for edit fidelity (for CI and smoke tests; the numbers are not the reported ones).
    fidelity False (``--no-fidelity``) leaves edit fidelity out, and says so in metrics.json; otherwise ``judge_net``
    is required. judge_real: ``judge_on_real(judge_net, data)``, shared by every run of one dataset.
    """
    if fidelity and judge_net is None:
        raise EvaluationError("edit fidelity needs the judge (load_judge); pass fidelity=False to leave it out")
    timing: dict[str, float] = {}

    def timed(name: str, fn, *args, **kw):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            timing[name] = time.perf_counter() - t0

    lat = timed("encode", _export, run, data, progress)
    ev = RunEval(run, data, lat, quick, seed, progress)
    metrics = _header(ev)
    metrics["reconstruction"], rows, recon = timed("reconstruction", task_reconstruction, ev)
    edits = edit_grid(run, lat["mu"][rows])
    metrics["alignment"] = timed("alignment", task_alignment, ev)
    metrics |= timed("probes", task_probes, ev)
    metrics["leakage"] = timed("leakage", task_leakage, ev)
    metrics["projections"], proj = timed("projections", task_projections, ev, tsne=tsne, max_points=max_points)
    strip = strip_targets = None
    if fidelity:
        metrics["edit_fidelity"], strip, strip_targets = timed("edit_fidelity", task_edit_fidelity, ev, judge_net,
                                                               judge_real)
        metrics["polar"] = timed("polar", task_polar, ev, judge_net)
        metrics["image_quality"] = timed("image_quality", task_image_quality, ev, judge_net)
    else:
        metrics["edit_fidelity"] = {"skipped": "skipped (--no-fidelity)"}
        metrics["polar"] = {"skipped": "skipped (--no-fidelity)"}
        metrics["image_quality"] = {"skipped": "skipped (--no-fidelity: it needs the judge)"}
    metrics["timing_s"] = {k: round(v, 1) for k, v in timing.items()}
    metrics = _jsonable(metrics)
    write_json(run.path / ck.METRICS_JSON, metrics)
    return {"metrics": metrics, "latents": lat, "proj": proj, "recon": recon, "grid_rows": rows, "edits": edits,
            "strip": strip, "strip_targets": strip_targets}


def _export(run: ck.LoadedRun, data: RunData, progress: bool) -> dict[str, np.ndarray]:
    lat = export_latents(run, data, progress=progress)
    save_thumbnails(run.path, data.images, data.images_key)
    return lat


def judge_on_real(judge_net, data: RunData) -> dict:
    """How far the judge agrees with the labels of the real held-out faces: the ceiling for reading edits of them.
    It depends on the judge and the dataset only, so one evaluation computes it once for all its runs."""
    held = np.flatnonzero(np.asarray(data.split) == data.heldout)
    return va_metrics(np.asarray(data.va)[held], judge(judge_net, data.images[held]))


def load_judge(runs_dir: Path, files: list[str], data: RunData, quick: bool = False, device="cpu",
               progress: bool = True):
    """The independent VA judge for this dataset's training split, cached in RUNS/.judges (RUNS/.judges-quick holds
    the one-epoch judge of --quick, kept apart so it never stands in for the real one). Returns (net, meta)."""
    train = np.asarray(data.split) == "train"
    key = judge_key(files, data.va, train)
    cache = Path(runs_dir) / (ck.QUICK_JUDGES if quick else ck.JUDGES)
    idx = torch.from_numpy(np.flatnonzero(train))
    kw = {"epochs": 1} if quick else {}
    return load_or_train_judge(cache, key, data.images[idx], np.asarray(data.va)[train], device=device,
                               progress=progress, **kw)
