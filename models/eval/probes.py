"""What the latents carry, read by scikit-learn models fitted on the training split and scored on the held-out split.

The paper's tasks 2-5 on latent means (mu):
  * linear_probe: Ridge z_v -> V and z_a -> A (the "can a linear read-out find VA?" baseline beside the heads);
  * emotion_prediction: decision tree, RBF SVM and MLP classifiers from z_v, z_a, z_z, [z_v, z_a] and all of z,
    with the majority class beside them;
  * regression (z_v -> V, z_a -> A) and inverse regression (z_v -> A, z_a -> V): Ridge, Lasso, SVR, MLP, with the
    training-mean constant beside them.
Every model is a Pipeline(StandardScaler, estimator), so features are standardised with training statistics only
(inside cross-validation: with the training folds' statistics). Hyperparameters come from small grids by 3-fold CV on
the training split only (on a seeded subsample of at most CV_MAX_ROWS of it, to keep the search cheap; the chosen
setting is then fitted on the whole training split); the held-out split is touched once, to score. Kernel SVMs scale
quadratically, so on more than SVM_MAX_FIT training rows they are fitted on a seeded (for classes: stratified)
subsample, reported as "n_fit".
Every result carries "split" (the held-out split's name) and "n" (its rows).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, Ridge, RidgeCV
from sklearn.metrics import accuracy_score, explained_variance_score, f1_score, r2_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier

from models.data.splits import heldout_name
from models.eval.affect import va_metrics

SVM_MAX_FIT = 5000  # kernel SVMs are O(n^2) in memory and time: fit on at most this many training rows
CV_MAX_ROWS = 6000  # the grid search runs on at most this many training rows; the chosen model is refit on all
MIN_CLASS_ROWS = 6  # rarer training classes cannot be stratified into CV folds: the classifiers leave them out
RIDGE_ALPHAS = np.logspace(-3, 4, 15)

# name -> (estimator, grid over its parameters). Small grids: the point is a fair read-out, not a leaderboard.
CLASSIFIERS: dict[str, tuple[object, dict]] = {
    "tree": (DecisionTreeClassifier(min_samples_leaf=5), {"max_depth": [8, 16]}),
    "svm": (SVC(kernel="rbf", gamma="scale"), {"C": [1.0, 10.0]}),
    "mlp": (
        MLPClassifier(hidden_layer_sizes=(128,), batch_size=256, early_stopping=True, max_iter=60, n_iter_no_change=5),
        {"alpha": [1e-4, 1e-2]},
    ),
}
REGRESSORS: dict[str, tuple[object, dict]] = {
    "ridge": (Ridge(), {"alpha": list(RIDGE_ALPHAS)}),
    "lasso": (Lasso(max_iter=5000), {"alpha": [1e-4, 1e-3, 1e-2, 1e-1]}),
    "svr": (SVR(kernel="rbf", gamma="scale", epsilon=0.05), {"C": [0.3, 3.0]}),
    "mlp": (
        MLPRegressor(hidden_layer_sizes=(64,), batch_size=256, early_stopping=True, max_iter=60, n_iter_no_change=5),
        {"alpha": [1e-4, 1e-2]},
    ),
}
FEATURE_SETS = ("z_v", "z_a", "z_z", "z_v+z_a", "z")


def _masks(split: np.ndarray, heldout: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    split = np.asarray(split).astype(str)
    heldout = heldout or heldout_name(split)
    train, held = split == "train", split == heldout
    if not train.any() or not held.any():
        counts = dict(zip(*np.unique(split, return_counts=True)))
        raise ValueError(f"need rows in both 'train' and {heldout!r}; got {counts}")
    return train, held, heldout


def feature_sets(mu: np.ndarray, zv_slice: slice, za_slice: slice) -> dict[str, np.ndarray]:
    """The five inputs of the emotion task: z_v, z_a, z_z (the rest), [z_v, z_a], all of z."""
    mu = np.asarray(mu, np.float32)
    keep = np.ones(mu.shape[1], bool)
    keep[zv_slice] = keep[za_slice] = False
    zv, za = mu[:, zv_slice], mu[:, za_slice]
    return {"z_v": zv, "z_a": za, "z_z": mu[:, keep], "z_v+z_a": np.concatenate([zv, za], 1), "z": mu}


def _pipe(est) -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("model", clone(est))])


def _fit_cv(est, grid: dict, x: np.ndarray, y: np.ndarray, cv, seed: int, stratify: bool) -> tuple[Pipeline, dict]:
    """Pick the grid point by CV on (a seeded subsample of at most CV_MAX_ROWS of) the training rows (x, y), then fit
    it on all of them. A one-point grid skips the search. Returns (fitted pipeline, chosen params)."""
    pipe = _pipe(est)
    if "random_state" in pipe.named_steps["model"].get_params():
        pipe.set_params(model__random_state=seed)
    params = {k: v[0] for k, v in grid.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # Lasso / MLP at their small iteration caps
        if any(len(v) > 1 for v in grid.values()):
            idx = _subsample(len(x), CV_MAX_ROWS, seed, y if stratify else None)
            search = GridSearchCV(pipe, {f"model__{k}": v for k, v in grid.items()}, cv=cv, n_jobs=1, refit=False)
            search.fit(x[idx], y[idx])
            params = {k.removeprefix("model__"): v for k, v in search.best_params_.items()}
        pipe.set_params(**{f"model__{k}": v for k, v in params.items()})
        pipe.fit(x, y)
    return pipe, {k: _plain(v) for k, v in params.items()}


def _fit_score(est, grid: dict, x_tr, y_tr, x_te, *, cv, seed: int, stratify: bool, score) -> dict:
    """Fit one read-out (a kernel SVM on a seeded subsample of at most SVM_MAX_FIT rows, stratified for classes) and
    score its held-out predictions: ``score(pred)``'s figures, the chosen params, the rows fitted and the seconds."""
    t0 = time.perf_counter()
    kernel = isinstance(est, SVC | SVR)
    idx = _subsample(len(x_tr), SVM_MAX_FIT, seed, y_tr if stratify else None) if kernel else np.arange(len(x_tr))
    model, params = _fit_cv(est, grid, x_tr[idx], y_tr[idx], cv, seed, stratify=stratify)
    return {**score(model.predict(x_te)), "params": params, "n_fit": int(len(idx)),
            "fit_s": round(time.perf_counter() - t0, 2)}


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _subsample(n: int, k: int, seed: int, stratify: np.ndarray | None = None) -> np.ndarray:
    """Indices of a seeded subsample of k of n rows (stratified by class when given), or all rows."""
    idx = np.arange(n)
    if n <= k:
        return idx
    if stratify is not None and np.unique(stratify, return_counts=True)[1].min() >= 2:
        return np.sort(train_test_split(idx, train_size=k, stratify=stratify, random_state=seed)[0])
    return np.sort(np.random.default_rng(seed).choice(n, k, replace=False))


# --- task 2: the linear probe beside the heads -----------------------------------------------------------------------
def linear_probe(mu: np.ndarray, va: np.ndarray, split: np.ndarray, *, zv: slice, za: slice,
                 heldout: str | None = None) -> dict:
    """Ridge z_v -> V and z_a -> A fitted on the training split (alpha by efficient leave-one-out CV on it).

    Returns {"split", "n", "n_train", "alpha": {"valence", "arousal"}, "va_pred": (n, 2) held-out predictions clipped
    to the label range [-1, 1], "metrics": models.metrics.va_metrics against the held-out labels}.
    """
    train, held, heldout = _masks(split, heldout)
    mu, va = np.asarray(mu, np.float32), np.asarray(va, np.float64)
    pred = np.zeros((int(held.sum()), 2))
    alpha = {}
    for j, (axis, sl) in enumerate((("valence", zv), ("arousal", za))):
        model = _pipe(RidgeCV(alphas=RIDGE_ALPHAS)).fit(mu[train][:, sl], va[train, j])
        alpha[axis] = float(model.named_steps["model"].alpha_)
        pred[:, j] = model.predict(mu[held][:, sl])
    pred = np.clip(pred, -1.0, 1.0)
    return {
        "split": heldout,
        "n": int(held.sum()),
        "n_train": int(train.sum()),
        "alpha": alpha,
        "va_pred": pred.astype(np.float32),
        "metrics": va_metrics(va[held], pred),
    }


# --- task 3: emotion categories from the latent chunks -------------------------------------------------------------
def emotion_prediction(
    mu: np.ndarray,
    emotions: np.ndarray,
    split: np.ndarray,
    *,
    zv: slice,
    za: slice,
    heldout: str | None = None,
    seed: int = 0,
    classifiers: dict | None = None,
    sets: tuple[str, ...] = FEATURE_SETS,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Accuracy and macro-F1 on the held-out split for each (feature set, classifier), and the majority class.

    ``emotions`` are labels (names or codes) per row. Macro-F1 averages over the classes seen in training. A class with
    fewer than MIN_CLASS_ROWS training rows is left out of the classifiers' training (listed in "dropped_classes"); its
    held-out rows still count, as errors.
    """
    train, held, heldout = _masks(split, heldout)
    y = np.asarray(emotions).astype(str)
    y_te = y[held]
    values, counts = np.unique(y[train], return_counts=True)
    classes = values
    major = values[np.argmax(counts)]
    base = np.full(len(y_te), major)
    dropped = {str(v): int(c) for v, c in zip(values, counts) if c < MIN_CLASS_ROWS}
    if dropped:
        train = train & ~np.isin(y, list(dropped))
    y_tr = y[train]
    out = {
        "split": heldout,
        "n": int(held.sum()),
        "n_train": int(train.sum()),
        "classes": classes.tolist(),
        "dropped_classes": dropped,
        "majority": {
            "label": str(major),
            "accuracy": float(accuracy_score(y_te, base)),
            "macro_f1": float(f1_score(y_te, base, labels=classes, average="macro", zero_division=0)),
        },
        "results": {},
    }
    feats = feature_sets(mu, zv, za)
    cv = StratifiedKFold(3, shuffle=True, random_state=seed)
    for fs in sets:
        x_tr, x_te = feats[fs][train], feats[fs][held]
        row = {}
        for name, (est, grid) in (classifiers or CLASSIFIERS).items():
            row[name] = _fit_score(est, grid, x_tr, y_tr, x_te, cv=cv, seed=seed, stratify=True, score=lambda p: {
                "accuracy": float(accuracy_score(y_te, p)),
                "macro_f1": float(f1_score(y_te, p, labels=classes, average="macro", zero_division=0))})
            if progress:
                progress(f"emotion {fs} {name}")
        out["results"][fs] = row
    return out


# --- tasks 4 and 5: regression and inverse regression ---------------------------------------------------------------
def _regression(mu, va, split, pairs: dict[str, tuple[slice, int]], *, heldout, seed, regressors, progress) -> dict:
    train, held, heldout = _masks(split, heldout)
    mu, va = np.asarray(mu, np.float32), np.asarray(va, np.float64)
    out = {"split": heldout, "n": int(held.sum()), "n_train": int(train.sum()), "results": {}, "constant": {}}
    cv = KFold(3, shuffle=True, random_state=seed)
    for task, (sl, j) in pairs.items():
        x_tr, x_te = mu[train][:, sl], mu[held][:, sl]
        y_tr, y_te = va[train, j], va[held, j]
        const = np.full_like(y_te, y_tr.mean())
        out["constant"][task] = {"ev": float(explained_variance_score(y_te, const)), "r2": float(r2_score(y_te, const))}
        row = {}
        for name, (est, grid) in (regressors or REGRESSORS).items():
            score = lambda p, y=y_te: {"ev": float(explained_variance_score(y, p)), "r2": float(r2_score(y, p))}
            row[name] = _fit_score(est, grid, x_tr, y_tr, x_te, cv=cv, seed=seed, stratify=False, score=score)
            if progress:
                progress(f"regression {task} {name}")
        out["results"][task] = row
    return out


def regression(mu, va, split, *, zv: slice, za: slice, heldout: str | None = None, seed: int = 0,
               regressors: dict | None = None, progress: Callable[[str], None] | None = None) -> dict:
    """Task 4: z_v -> V and z_a -> A; explained variance and R^2 on the held-out split, the training mean beside."""
    pairs = {"z_v -> V": (zv, 0), "z_a -> A": (za, 1)}
    return _regression(mu, va, split, pairs, heldout=heldout, seed=seed, regressors=regressors, progress=progress)


def inverse_regression(mu, va, split, *, zv: slice, za: slice, heldout: str | None = None, seed: int = 0,
                       regressors: dict | None = None, progress: Callable[[str], None] | None = None) -> dict:
    """Task 5: z_v -> A and z_a -> V (how much each chunk leaks the other axis)."""
    pairs = {"z_v -> A": (zv, 1), "z_a -> V": (za, 0)}
    return _regression(mu, va, split, pairs, heldout=heldout, seed=seed, regressors=regressors, progress=progress)


def quick_models() -> tuple[dict, dict]:
    """One setting per model (no grid): for --quick runs and tests, where the point is the plumbing."""
    cls = {k: (est, {p: v[:1] for p, v in grid.items()}) for k, (est, grid) in CLASSIFIERS.items()}
    reg = {k: (est, {p: v[len(v) // 2 : len(v) // 2 + 1] for p, v in grid.items()}) for k, (est, grid) in
           REGRESSORS.items()}
    return cls, reg
