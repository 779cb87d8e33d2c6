"""models.eval.probes: read-outs beat their baselines on latents that carry the signal, not on noise, and never see the
held-out split while fitting."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from models.data.transfer import affectnet_ellipses, nearest_ellipse
from models.eval import probes

ZV, ZA = slice(0, 8), slice(8, 16)  # 8-dim z_v, 8-dim z_a, then 8 dims of z_z


def _va(n: int, rng) -> np.ndarray:
    r, t = np.sqrt(rng.uniform(0, 1, n)), rng.uniform(0, 2 * np.pi, n)
    return np.stack([r * np.cos(t), r * np.sin(t)], 1)


def _latents(n: int = 900, signal: bool = True, seed: int = 0):
    """z_v = f(V) + noise, z_a = g(A) + noise, z_z = noise (or all noise); split 750 train / 150 val."""
    rng = np.random.default_rng(seed)
    va = _va(n, rng)
    mu = rng.normal(0, 1, (n, 24))
    if signal:
        w = rng.normal(0, 1, (2, 8))
        mu[:, ZV] = 0.3 * mu[:, ZV] + np.outer(va[:, 0], w[0]) + 0.5 * np.outer(np.tanh(2 * va[:, 0]), w[1])
        mu[:, ZA] = 0.3 * mu[:, ZA] + np.outer(va[:, 1], w[1]) + 0.5 * np.outer(va[:, 1] ** 2, w[0])
    split = np.array(["train"] * (n - 150) + ["val"] * 150)
    emotions = nearest_ellipse(va, affectnet_ellipses())
    return mu.astype(np.float32), va, split, emotions


FAST_CLS = {"tree": probes.CLASSIFIERS["tree"], "svm": probes.CLASSIFIERS["svm"]}
FAST_REG = {k: probes.REGRESSORS[k] for k in ("ridge", "lasso", "svr")}


def test_linear_probe_reads_va_from_aligned_chunks_and_beats_the_constant():
    mu, va, split, _ = _latents()
    res = probes.linear_probe(mu, va, split, zv=ZV, za=ZA)
    assert res["split"] == "val" and res["n"] == 150 and res["n_train"] == 750
    assert res["va_pred"].shape == (150, 2)
    assert np.abs(res["va_pred"]).max() <= 1.0
    for axis in ("valence", "arousal"):
        assert res["metrics"][axis]["ccc"] > 0.9, res["metrics"]
        assert res["metrics"][axis]["rmse"] < va[split == "val"].std(0).min()  # the constant's RMSE is about the std


def test_linear_probe_on_noise_is_no_better_than_the_constant():
    mu, va, split, _ = _latents(signal=False)
    res = probes.linear_probe(mu, va, split, zv=ZV, za=ZA)
    for axis, j in (("valence", 0), ("arousal", 1)):
        assert res["metrics"][axis]["ccc"] < 0.2
        assert res["metrics"][axis]["rmse"] > 0.9 * va[split == "val", j].std()


def test_standardisation_uses_training_statistics_only():
    """A large shift of the held-out features must not leak into the scaler: predictions equal a model fitted on the
    training rows alone and applied to the shifted rows."""
    mu, va, split, _ = _latents()
    held = split == "val"
    mu[held] += 25.0
    res = probes.linear_probe(mu, va, split, zv=ZV, za=ZA)
    train = split == "train"
    scaler = StandardScaler().fit(mu[train][:, ZV])
    ridge = Ridge(alpha=res["alpha"]["valence"]).fit(scaler.transform(mu[train][:, ZV]), va[train, 0])
    expect = np.clip(ridge.predict(scaler.transform(mu[held][:, ZV])), -1, 1)
    np.testing.assert_allclose(res["va_pred"][:, 0], expect, atol=1e-5)
    # and the grid-searched pipelines carry the training mean, not the mean over all rows
    model, _ = probes._fit_cv(*probes.REGRESSORS["ridge"], mu[train], va[train, 0],
                              cv=3, seed=0, stratify=False)
    np.testing.assert_allclose(model.named_steps["scale"].mean_, mu[train].mean(0), rtol=1e-5)


def test_emotion_prediction_beats_the_majority_class_when_the_chunks_carry_va():
    mu, va, split, emo = _latents()
    res = probes.emotion_prediction(mu, emo, split, zv=ZV, za=ZA, classifiers=FAST_CLS, sets=("z_v+z_a", "z_z"))
    assert res["split"] == "val" and res["n"] == 150
    maj = res["majority"]["accuracy"]
    best = max(r["accuracy"] for r in res["results"]["z_v+z_a"].values())
    assert best > maj + 0.3, (best, maj)
    assert res["results"]["z_v+z_a"]["svm"]["macro_f1"] > res["majority"]["macro_f1"] + 0.3
    # z_z is pure noise here: no better than the majority class (allowing sampling noise on n=150)
    assert max(r["accuracy"] for r in res["results"]["z_z"].values()) < maj + 0.1
    assert res["results"]["z_v+z_a"]["tree"]["params"]["max_depth"] in probes.CLASSIFIERS["tree"][1]["max_depth"]


def test_emotion_prediction_on_noise_does_not_beat_the_majority_class():
    mu, va, split, emo = _latents(signal=False)
    res = probes.emotion_prediction(mu, emo, split, zv=ZV, za=ZA, classifiers=FAST_CLS, sets=("z",))
    for r in res["results"]["z"].values():
        assert r["accuracy"] < res["majority"]["accuracy"] + 0.1


def test_svm_is_fitted_on_a_stratified_subsample_of_large_training_splits(monkeypatch):
    monkeypatch.setattr(probes, "SVM_MAX_FIT", 300)
    mu, va, split, emo = _latents()
    res = probes.emotion_prediction(mu, emo, split, zv=ZV, za=ZA, classifiers={"svm": probes.CLASSIFIERS["svm"]},
                                    sets=("z_v",))
    assert res["results"]["z_v"]["svm"]["n_fit"] == 300
    reg = probes.regression(mu, va, split, zv=ZV, za=ZA, regressors={"svr": probes.REGRESSORS["svr"]})
    assert reg["results"]["z_v -> V"]["svr"]["n_fit"] == 300


def test_regression_and_inverse_regression_against_the_constant():
    mu, va, split, _ = _latents()
    reg = probes.regression(mu, va, split, zv=ZV, za=ZA, regressors=FAST_REG)
    assert reg["split"] == "val" and reg["n"] == 150 and set(reg["results"]) == {"z_v -> V", "z_a -> A"}
    for task, row in reg["results"].items():
        assert reg["constant"][task]["r2"] <= 0.0 and abs(reg["constant"][task]["ev"]) < 1e-9
        for name, r in row.items():
            assert r["r2"] > 0.8 and r["ev"] > 0.8, (task, name, r)
    inv = probes.inverse_regression(mu, va, split, zv=ZV, za=ZA, regressors=FAST_REG)
    assert set(inv["results"]) == {"z_v -> A", "z_a -> V"}
    for row in inv["results"].values():  # V and A are independent here: a chunk holds nothing of the other axis
        for r in row.values():
            assert r["r2"] < 0.2


def test_regression_on_noise_explains_nothing():
    mu, va, split, _ = _latents(signal=False)
    reg = probes.regression(mu, va, split, zv=ZV, za=ZA, regressors=FAST_REG)
    for row in reg["results"].values():
        for r in row.values():
            assert r["r2"] < 0.1


def test_probes_refuse_a_split_without_held_out_rows():
    mu, va, _, _ = _latents(n=200)
    with pytest.raises(ValueError, match="need rows in both 'train' and 'val'"):
        probes.linear_probe(mu, va, np.array(["train"] * 200), zv=ZV, za=ZA)


def test_a_class_too_rare_to_stratify_is_left_out_of_training_and_named():
    mu, va, split, emo = _latents()
    emo = emo.astype(object)
    emo[:2] = "contempt"  # two training rows only
    res = probes.emotion_prediction(mu, emo, split, zv=ZV, za=ZA, sets=("z_v+z_a",),
                                    classifiers={"mlp": probes.CLASSIFIERS["mlp"], "svm": probes.CLASSIFIERS["svm"]})
    assert res["dropped_classes"] == {"contempt": 2}
    assert res["n_train"] == 748 and "contempt" in res["classes"]
    assert res["results"]["z_v+z_a"]["mlp"]["accuracy"] > res["majority"]["accuracy"] + 0.3
