"""What each latent chunk holds that it should not: fresh probes fitted after training, scored on held-out faces.

The matrix is chunk (z_v, z_a, z_z) x factor (valence, arousal, emotion, and on synthetic faces the identity factors
the generator drew). Each cell is the better of two probes fitted on the training split and scored once on the held-out
split: a Ridge regression (or logistic regression for the emotion) and a one-hidden-layer MLP. Never a training
adversary's own accuracy: an adversary trained against the encoder can sit at chance while the information is still
there, which a fresh probe finds.

Scores: R^2 for valence, arousal and each identity factor (the mean over the identity factors in the ``identity``
column), accuracy for the emotion. Each cell has its floor beside it, what the chunk's own factor already tells of the
other, fitted the same way on the labels themselves:
  z_v: valence -> arousal and valence -> emotion (valence and arousal are not independent in any dataset);
  z_a: arousal -> valence and arousal -> emotion;
  z_z: nothing (R^2 0, the majority class): z_z should hold what is not affect;
and z_v's valence, z_a's arousal and z_z's identity are the chunk's own factor (higher is better there).

The figures: ``leak_zv_a`` (z_v -> arousal), ``leak_za_v`` (z_a -> valence), ``leak_zz_va`` (the larger of z_z ->
valence and z_z -> arousal), ``leak_zz_emotion`` (z_z -> emotion) and ``zz_identity``: the mean R^2 from z_z of the
identity factors that the whole latent holds at all (``identity_held``; a 64 px VAE keeps skin, hair and background
colour, not the thickness of a brow). It must stay high: z_z is where identity lives.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import accuracy_score, r2_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

HELD_R2 = 0.5  # an identity factor the whole latent predicts at least this well counts as held by the model
MAX_FIT = 8000  # training rows the probes fit on (a seeded subsample beyond it): the MLPs dominate the cost
RIDGE_ALPHAS = np.logspace(-3, 4, 15)
REGRESSORS = {
    "ridge": RidgeCV(alphas=RIDGE_ALPHAS),
    "mlp": MLPRegressor(hidden_layer_sizes=(128,), alpha=1e-3, batch_size=256, early_stopping=True, max_iter=100,
                        n_iter_no_change=8),
}
CLASSIFIERS = {
    "linear": LogisticRegression(max_iter=500),
    "mlp": MLPClassifier(hidden_layer_sizes=(128,), alpha=1e-3, batch_size=256, early_stopping=True, max_iter=100,
                         n_iter_no_change=8),
}
CHUNKS = ("z_v", "z_a", "z_z")
OWN = {"z_v": "valence", "z_a": "arousal", "z_z": "identity"}  # what each chunk is for


def _pipe(est, seed: int) -> Pipeline:
    pipe = Pipeline([("scale", StandardScaler()), ("model", clone(est))])
    if "random_state" in pipe.named_steps["model"].get_params():
        pipe.set_params(model__random_state=seed)
    return pipe


def probe_r2(x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, y_te: np.ndarray, seed: int = 0) -> dict:
    """R^2 per output column of the better probe (per column) of Ridge and an MLP; y (n, k), standardised for the fit.
    Returns {"r2": (k,) best, "ridge": (k,), "mlp": (k,)}."""
    mean, std = y_tr.mean(0), y_tr.std(0) + 1e-9
    scores = {}
    for name, est in REGRESSORS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            target = (y_tr - mean) / std
            model = _pipe(est, seed).fit(x_tr, target[:, 0] if target.shape[1] == 1 else target)
        pred = model.predict(x_te).reshape(len(x_te), -1) * std + mean
        scores[name] = np.array([r2_score(y_te[:, j], pred[:, j]) for j in range(y_te.shape[1])])
    return {"r2": np.maximum(scores["ridge"], scores["mlp"]), **scores}


def probe_accuracy(x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, y_te: np.ndarray, seed: int = 0) -> dict:
    """Held-out accuracy of the better of logistic regression and an MLP classifier."""
    scores = {}
    for name, est in CLASSIFIERS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores[name] = float(accuracy_score(y_te, _pipe(est, seed).fit(x_tr, y_tr).predict(x_te)))
    return {"accuracy": max(scores.values()), **scores}


def _fit_rows(train: np.ndarray, seed: int) -> np.ndarray:
    idx = np.flatnonzero(train)
    if len(idx) > MAX_FIT:
        idx = np.sort(np.random.default_rng(seed).choice(idx, MAX_FIT, replace=False))
    return idx


def leakage(mu: np.ndarray, va: np.ndarray, emotions: np.ndarray, train: np.ndarray, held: np.ndarray, *,
            zv: slice, za: slice, identity: tuple[list[str], np.ndarray] | None = None, seed: int = 0) -> dict:
    """The leakage matrix (module docstring) of latent means ``mu`` (N, D). ``train`` / ``held`` are row masks;
    ``identity``: (factor names, per-row values (N, F)) where the dataset knows them (synthetic faces)."""
    mu, va = np.asarray(mu, np.float32), np.asarray(va, np.float64)
    emotions = np.asarray(emotions).astype(str)
    fit = _fit_rows(train, seed)
    rest = np.ones(mu.shape[1], bool)
    rest[zv] = rest[za] = False
    chunk = {"z_v": mu[:, zv], "z_a": mu[:, za], "z_z": mu[:, rest]}
    majority = _majority(emotions[train], emotions[held])
    cells: dict[str, dict] = {}
    for name, x in chunk.items():
        reg = probe_r2(x[fit], va[fit], x[held], va[held], seed)
        emo = probe_accuracy(x[fit], emotions[fit], x[held], emotions[held], seed)
        cells[name] = {"valence": _cell(reg, 0), "arousal": _cell(reg, 1), "emotion": emo}
        if identity is not None:
            ident = probe_r2(x[fit], identity[1][fit], x[held], identity[1][held], seed)
            cells[name]["identity"] = {"r2": float(ident["r2"].mean()), "ridge": float(ident["ridge"].mean()),
                                       "mlp": float(ident["mlp"].mean()),
                                       "per_factor": dict(zip(identity[0], ident["r2"].round(4).tolist()))}
    both = np.concatenate([chunk["z_v"], chunk["z_a"]], 1)
    floors = label_floors(va, emotions, fit, held, majority, seed)
    out = {"n": int(held.sum()), "n_fit": int(len(fit)), "majority": majority, "cells": cells, "floors": floors,
           "emotion_from_zv_za": probe_accuracy(both[fit], emotions[fit], both[held], emotions[held], seed),
           "identity_factors": list(identity[0]) if identity is not None else []}
    if identity is not None:
        out["identity_held"] = identity_held(mu, identity, cells["z_z"]["identity"]["per_factor"], fit, held, seed)
    return out | {"figures": leakage_figures(cells, floors, out.get("identity_held"))}


def identity_held(mu: np.ndarray, identity: tuple[list[str], np.ndarray], zz_r2: dict[str, float], fit: np.ndarray,
                  held: np.ndarray, seed: int = 0) -> dict:
    """Which identity factors the whole latent holds (R^2 >= HELD_R2 from all of z: a 64 px decoder keeps skin, hair
    and background colour, not a brow's thickness), and how much of them z_z holds: the mean R^2 from z_z over those."""
    whole = probe_r2(mu[fit], identity[1][fit], mu[held], identity[1][held], seed)["r2"]
    kept = [n for n, r in zip(identity[0], whole) if r >= HELD_R2]
    whole_of = dict(zip(identity[0], whole.tolist()))
    mean = lambda values: float(np.mean(values)) if values else float("nan")
    return {"whole_latent": {n: round(w, 4) for n, w in whole_of.items()}, "factors": kept,
            "zz_mean": mean([zz_r2[n] for n in kept]), "whole_mean": mean([whole_of[n] for n in kept])}


def _cell(reg: dict, j: int) -> dict:
    return {"r2": float(reg["r2"][j]), "ridge": float(reg["ridge"][j]), "mlp": float(reg["mlp"][j])}


def _majority(y_tr: np.ndarray, y_te: np.ndarray) -> dict:
    values, counts = np.unique(y_tr, return_counts=True)
    label = values[np.argmax(counts)]
    return {"label": str(label), "accuracy": float((y_te == label).mean())}


def label_floors(va: np.ndarray, emotions: np.ndarray, fit: np.ndarray, held: np.ndarray, majority: dict,
                 seed: int = 0) -> dict:
    """What the labels tell of each other, by the same probes: the floor of each chunk's cells (module docstring)."""
    v, a = va[:, :1], va[:, 1:]
    return {
        "z_v": {"arousal": float(probe_r2(v[fit], a[fit], v[held], a[held], seed)["r2"][0]),
                "emotion": probe_accuracy(v[fit], emotions[fit], v[held], emotions[held], seed)["accuracy"]},
        "z_a": {"valence": float(probe_r2(a[fit], v[fit], a[held], v[held], seed)["r2"][0]),
                "emotion": probe_accuracy(a[fit], emotions[fit], a[held], emotions[held], seed)["accuracy"]},
        "z_z": {"valence": 0.0, "arousal": 0.0, "emotion": majority["accuracy"]},
        "va_emotion": probe_accuracy(va[fit], emotions[fit], va[held], emotions[held], seed)["accuracy"],
    }


def leakage_figures(cells: dict, floors: dict, held: dict | None = None) -> dict:
    """The headline numbers, each with its floor."""
    out = {
        "leak_zv_a": cells["z_v"]["arousal"]["r2"], "leak_zv_a_floor": floors["z_v"]["arousal"],
        "leak_za_v": cells["z_a"]["valence"]["r2"], "leak_za_v_floor": floors["z_a"]["valence"],
        "leak_zz_va": max(cells["z_z"]["valence"]["r2"], cells["z_z"]["arousal"]["r2"]),
        "leak_zz_emotion": cells["z_z"]["emotion"]["accuracy"], "leak_zz_emotion_floor": floors["z_z"]["emotion"],
    }
    if held is not None:
        out |= {"zz_identity": held["zz_mean"], "zz_identity_whole": held["whole_mean"],
                "zz_identity_factors": len(held["factors"]), "zz_identity_all": cells["z_z"]["identity"]["r2"]}
    return out
