"""models.eval.image_quality: each figure moves the way an eye would, on images whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.eval import image_quality as iq


def _faces(n: int = 40, seed: int = 0) -> np.ndarray:
    """Synthetic faces with fine features: (n, 3, 64, 64) float in [0, 1]."""
    from models.data.synthetic import generate_arrays

    images, *_ = generate_arrays(n, seed=seed, n_identities=8)
    return images.transpose(0, 3, 1, 2).astype(np.float64) / 255.0  # (N, 64, 64, 3) -> (N, 3, 64, 64)


def _blur(x: np.ndarray, k: int = 5) -> np.ndarray:
    t = torch.from_numpy(x).float()
    return torch.nn.functional.avg_pool2d(torch.nn.functional.pad(t, (k // 2,) * 4, mode="replicate"), k, 1).numpy()


def test_blur_loses_the_feature_band_and_the_originals_keep_it():
    x = _faces()
    assert iq.band_ratio(x, x, iq.SHARPNESS_BAND) == pytest.approx(1.0)
    blurred = iq.band_ratio(_blur(x), x, iq.SHARPNESS_BAND)
    assert blurred < 0.6, blurred  # a 5 px box blur keeps little of the 5-16 px band


def test_a_checkerboard_raises_the_grid_band_and_not_the_feature_band():
    x = _faces()
    rows, cols = np.indices((64, 64))
    board = ((rows % 2) + (cols % 2) - 1) * 0.06  # a 2 px period along each axis: a stride-2 decoder's grid
    noisy = np.clip(x + board, 0, 1)
    assert iq.band_ratio(noisy, x, iq.GRID_BAND) > 1.5
    assert iq.band_ratio(noisy, x, iq.SHARPNESS_BAND) == pytest.approx(1.0, abs=0.05)


def test_a_pasted_box_shows_as_a_seam_and_a_smooth_change_does_not():
    x = _faces()
    boxed = x.copy()
    boxed[:, :, iq.EXPR_ROWS, iq.EXPR_COLS] *= 0.7  # the box darkened: an edge along its border
    assert iq.seam_ratio(boxed, x) > 1.3
    assert iq.seam_ratio(x * 0.9, x) == pytest.approx(1.0, abs=0.02)  # a change everywhere has no box edge


def test_frechet_distance_is_zero_for_the_same_set_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 8))
    assert iq.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    near, far = iq.frechet_distance(a, a + 0.1), iq.frechet_distance(a, a + 1.0)
    assert 0 < near < far and far == pytest.approx(8.0, rel=0.05)  # |mean shift|^2 = 8 x 1.0^2


def test_frechet_distance_matches_the_closed_form_for_known_gaussians():
    """Two sets drawn with covariances I and 4 I (d = 6): tr(ca) + tr(cb) - 2 tr sqrt(ca cb) = 6 + 24 - 2 x 12 = 6."""
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(20000, 6)), 2.0 * rng.normal(size=(20000, 6))
    assert iq.frechet_distance(a, b) == pytest.approx(6.0, rel=0.05)


def test_frechet_distance_takes_features_that_never_fire_without_a_warning():
    """A judge's ReLU features can be constant over a set: a singular covariance still gives a finite distance."""
    import warnings

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(300, 10)), rng.normal(size=(300, 10)) + 0.5
    a[:, 7:] = 0.0
    b[:, 7:] = 0.0  # three features dead in both sets
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = iq.frechet_distance(a, b)
    assert np.isfinite(d) and d == pytest.approx(iq.frechet_distance(a[:, :7], b[:, :7]), abs=1e-6)


def test_top1_finds_each_row_and_falls_to_chance_when_shuffled():
    rng = np.random.default_rng(1)
    pool = rng.normal(size=(200, 32))
    assert iq.top1(pool + 0.1 * rng.normal(size=pool.shape), pool) == 1.0
    assert iq.top1(pool[rng.permutation(200)], pool) < 0.05


def test_image_quality_of_a_run_reports_every_figure_with_its_floors(tiny_run):
    from models.eval.judge import VARegressor
    from models.eval.rundata import run_data
    from models.runs import load_run

    run = load_run(tiny_run)
    data = run_data(run)
    held = data.images[data.split == data.heldout]
    out = iq.image_quality(run.model, held, VARegressor().eval(), n_faces=30)
    assert out["n"] == min(30, len(held))
    assert out["sharpness"]["mean_image"] < 0.5  # the mean image keeps a face's outline, not its features
    assert out["identity_top1"]["chance"] == pytest.approx(1 / out["n"])
    assert set(out["identity_top1"]["near_copies_judge"]) == set(iq.NEAR_COPIES)  # the ceiling beside the figure
    assert all(0 <= x <= 1 for x in out["identity_top1"]["near_copies_judge"].values())
    assert iq.near_copies_text(out["identity_top1"]).endswith("(blurred 1 px / shifted 1 px)")  # what the line names
    assert iq.near_copies_text({}) == ""  # metrics written before the near copies: nothing printed
    assert out["fjd"]["recon"] >= 0 and np.isfinite(out["edit_seam_ratio"]["mean"])
    assert set(out["judge_agree"]) == {"valence", "arousal"}
