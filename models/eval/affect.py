"""The field's affect metrics, per axis: RMSE, MAE, PCC, CCC, SAGR.

CCC (Lin's concordance) = 2 rho s_y s_p / (s_y^2 + s_p^2 + (mu_y - mu_p)^2) with population (ddof=0) std, which equals
2 cov / (var_y + var_p + (mu_y - mu_p)^2). SAGR = mean(sign(y) == sign(p)). A constant prediction has PCC undefined
(reported 0) and CCC 0.
"""

from __future__ import annotations

import numpy as np


def _arrays(y, p) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(y, float).ravel(), np.asarray(p, float).ravel()
    assert y.shape == p.shape and y.size > 0, f"labels {y.shape} and predictions {p.shape} must match and be non-empty"
    return y, p


def rmse(y, p) -> float:
    y, p = _arrays(y, p)
    return float(np.sqrt(np.mean((y - p) ** 2)))


def mae(y, p) -> float:
    y, p = _arrays(y, p)
    return float(np.mean(np.abs(y - p)))


def pcc(y, p) -> float:
    y, p = _arrays(y, p)
    sy, sp = y.std(), p.std()
    if sy == 0 or sp == 0:
        return 0.0
    return float(np.mean((y - y.mean()) * (p - p.mean())) / (sy * sp))


def ccc(y, p) -> float:
    y, p = _arrays(y, p)
    cov = np.mean((y - y.mean()) * (p - p.mean()))
    denom = y.var() + p.var() + (y.mean() - p.mean()) ** 2
    return float(2 * cov / denom) if denom > 0 else 0.0


def sagr(y, p) -> float:
    y, p = _arrays(y, p)
    return float(np.mean(np.sign(y) == np.sign(p)))


def affect_metrics(y, p) -> dict[str, float]:
    """All five metrics for one axis."""
    return {"rmse": rmse(y, p), "mae": mae(y, p), "pcc": pcc(y, p), "ccc": ccc(y, p), "sagr": sagr(y, p)}


def va_metrics(va_true, va_pred) -> dict[str, dict[str, float]]:
    """{"valence": {...}, "arousal": {...}} for (N, 2) arrays."""
    t, q = np.asarray(va_true, float), np.asarray(va_pred, float)
    assert t.ndim == 2 and t.shape[1] == 2 and t.shape == q.shape, (
        f"expected two (N, 2) arrays, got {t.shape}, {q.shape}"
    )
    return {"valence": affect_metrics(t[:, 0], q[:, 0]), "arousal": affect_metrics(t[:, 1], q[:, 1])}
