"""Figures that see what an eye sees in decoded faces, each beside its ceiling (the originals) and its floors.

  * band energy ratio: spectral energy of reconstructions over the originals' in a band of periods (in pixels at
    64 px; other sizes scale). ``SHARPNESS_BAND`` 5-16 px holds a face's features (eyes, brows, mouth edges): a blurred
    decode keeps little of it (``recon_sharpness``, ceiling 1). ``GRID_BAND`` 2-4 px is where transposed convolutions
    of stride 2 leave their checkerboard (``recon_grid_ratio``, ceiling 1; above 1 is artefact). Energy is that of the
    grayscale image, mean removed, under a 2-D Hann window (the same for both sides), summed over the band.
  * judge agreement (``recon_judge_agree_v/_a``): CCC between the independent judge's VA of each reconstruction and of
    its original: does the reconstruction keep the expression the judge sees? Ceiling 1; a constant face: 0.
  * Fréchet judge distance (``recon_fjd``): the Fréchet distance of two Gaussians fitted to the judge's 128-d
    penultimate features of the reconstructions and of the originals (a FID whose network was trained here: nothing
    is downloaded). Beside it: decoded samples of the prior, and the floor of two halves of the originals.
  * identity top-1 (``recon_identity_top1``): the share of reconstructions whose nearest original, among a pool of
    held-out faces, is their own; by the judge's features (cosine) and by pixel correlation. Chance: 1 / pool. Beside
    it, the same for near copies of the originals (blurred by 1 px, shifted by 1 px): how far the judge's features,
    trained to read expression, can tell people apart at all (the ceiling a reconstruction can reach in them).
  * edit seam ratio (``edit_seam_ratio``): the image gradient along the expression box's border over the gradient in
    the rest of the face, for edited faces over the same for their unedited reconstructions. 1: no edge shows.
"""

from __future__ import annotations

import numpy as np
import torch

from models.editing import EXPR_COLS, EXPR_ROWS, edit_latent, gaussian_blur
from models.eval.affect import ccc
from models.eval.judge import judge, judge_features

SHARPNESS_BAND = (5.0, 16.0)  # periods in px at 64 px: a face's features
GRID_BAND = (2.0, 4.0)  # periods in px at 64 px: stride-2 decoder artefacts
NEAR_COPIES = {  # name -> a copy of the originals that keeps the person (identity top-1's ceiling in judge features)
    "blurred_1px": lambda x: gaussian_blur(x, 1.0),
    "shifted_1px": lambda x: torch.roll(x, 1, dims=3),
}
FACE_ROWS, FACE_COLS = slice(4, 62), slice(4, 60)  # the face on a centred 64 px crop (the seam's "elsewhere")


def _gray(images: np.ndarray) -> np.ndarray:
    """(N, 3, H, W) uint8 or float in [0, 1] -> (N, H, W) float64 luma in [0, 1]."""
    x = np.asarray(images, np.float64)
    if np.asarray(images).dtype == np.uint8:
        x = x / 255.0
    assert x.ndim == 4 and x.shape[1] == 3, f"expected (N, 3, H, W), got {x.shape}"
    return 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]


def laplacian_variance(images: np.ndarray) -> np.ndarray:
    """(N,) variance of each image's luma Laplacian (the 4-neighbour stencil, interior pixels): its fine detail."""
    g = _gray(images)
    lap = 4 * g[:, 1:-1, 1:-1] - g[:, :-2, 1:-1] - g[:, 2:, 1:-1] - g[:, 1:-1, :-2] - g[:, 1:-1, 2:]
    return lap.reshape(len(g), -1).var(1)


def band_energy(images: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    """(N,) spectral energy of each image in the band of periods ``band`` (pixels at 64 px)."""
    g = _gray(images)
    h, w = g.shape[1:]
    g = (g - g.mean((1, 2), keepdims=True)) * np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2(g)) ** 2  # (N, H, W)
    r = np.hypot(*np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij"))  # cycles per pixel
    with np.errstate(divide="ignore"):
        period = np.where(r > 0, 1.0 / r, np.inf) * (64.0 / h)  # in pixels of a 64 px face
    mask = (period >= band[0]) & (period <= band[1])
    return power[:, mask].sum(1)


def band_ratio(images: np.ndarray, originals: np.ndarray, band: tuple[float, float]) -> float:
    """Mean band energy of ``images`` over the originals'."""
    return float(band_energy(images, band).mean() / max(band_energy(originals, band).mean(), 1e-12))


def _box_border() -> tuple[np.ndarray, np.ndarray]:
    """(64, 64) masks: a 2-px band on the expression box's edge, and the rest of the face."""
    box = np.zeros((64, 64), bool)
    box[EXPR_ROWS, EXPR_COLS] = True
    inner = np.zeros_like(box)
    inner[EXPR_ROWS.start + 1 : EXPR_ROWS.stop - 1, EXPR_COLS.start + 1 : EXPR_COLS.stop - 1] = True
    outer = np.zeros_like(box)
    outer[EXPR_ROWS.start - 1 : EXPR_ROWS.stop + 1, EXPR_COLS.start - 1 : EXPR_COLS.stop + 1] = True
    border = outer & ~inner
    face = np.zeros_like(box)
    face[FACE_ROWS, FACE_COLS] = True
    return border, face & ~border


def _gradient(images: np.ndarray) -> np.ndarray:
    """(N, 64, 64) |d/dx| + |d/dy| of the luma (forward differences, the last row and column repeated)."""
    g = _gray(images)
    dx = np.abs(np.diff(g, axis=2, append=g[:, :, -1:]))
    dy = np.abs(np.diff(g, axis=1, append=g[:, -1:, :]))
    return dx + dy


def seam_ratio(edited: np.ndarray, unedited: np.ndarray) -> float:
    """Border-over-face gradient of edited faces over the same of the unedited ones (64 px faces)."""
    border, rest = _box_border()
    ge, gu = _gradient(edited), _gradient(unedited)
    return float((ge[:, border].mean() / ge[:, rest].mean()) / (gu[:, border].mean() / gu[:, rest].mean()))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature rows a (N, d) and b (M, d).

    tr sqrt(ca cb) is read as tr sqrt(sa cb sa) with sa = sqrt(ca): the same eigenvalues, from a symmetric matrix, so
    features that never fire (a singular covariance) need no general matrix square root and raise no warning."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    sa = _psd_sqrt(ca)
    trace_covmean = np.sqrt(np.linalg.eigvalsh(sa @ cb @ sa).clip(0)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * trace_covmean)


def _psd_sqrt(c: np.ndarray) -> np.ndarray:
    """The symmetric square root of a covariance matrix (eigenvalues rounded below zero clipped to 0)."""
    w, v = np.linalg.eigh(c)
    return (v * np.sqrt(w.clip(0))) @ v.T


def top1(query: np.ndarray, pool: np.ndarray) -> float:
    """Share of query rows whose most similar pool row (cosine of centred rows) is the same index."""
    q = query - query.mean(1, keepdims=True)
    p = pool - pool.mean(1, keepdims=True)
    q /= np.linalg.norm(q, axis=1, keepdims=True).clip(1e-12)
    p /= np.linalg.norm(p, axis=1, keepdims=True).clip(1e-12)
    return float((np.argmax(q @ p.T, 1) == np.arange(len(q))).mean())


def near_copies_text(identity_top1: dict) -> str:
    """The near copies' identity top-1 in judge features, as printed beside the figure: "0.454 / 0.526 (blurred 1 px
    / shifted 1 px)"; "" for metrics written before they were measured."""
    near = identity_top1.get("near_copies_judge", {})
    if not near:
        return ""
    names = " / ".join(name.replace("_", " ").replace("1px", "1 px") for name in near)
    return " / ".join(f"{x:.3f}" for x in near.values()) + f" ({names})"


def judge_agreement(judge_va_recon: np.ndarray, judge_va_orig: np.ndarray) -> dict[str, float]:
    return {axis: ccc(judge_va_orig[:, j], judge_va_recon[:, j]) for j, axis in enumerate(("valence", "arousal"))}


@torch.no_grad()
def image_quality(model, originals_u8: torch.Tensor, judge_net, *, n_faces: int = 1000, seed: int = 0,
                  edit_targets: np.ndarray | None = None, batch_size: int = 256) -> dict:
    """Every figure of the module docstring for ``model`` on up to ``n_faces`` held-out faces (uint8 (M, 3, 64, 64)),
    with the ceiling (the originals) and floors (the mean image; two halves of the originals for the FJD)."""
    model.eval()
    dev = next(model.parameters()).device
    n = min(n_faces, len(originals_u8))
    pick = np.sort(np.random.default_rng(seed).choice(len(originals_u8), n, replace=False))
    orig = originals_u8[pick].float() / 255
    mu = torch.cat([model.encode(orig[i : i + batch_size].to(dev))[0] for i in range(0, len(orig), batch_size)])
    recon = torch.cat([model.decode(mu[i : i + batch_size]).float().cpu() for i in range(0, len(mu), batch_size)])
    prior = torch.cat([model.decode(torch.randn(min(batch_size, len(mu) - i), mu.shape[1], device=dev)).float().cpu()
                       for i in range(0, len(mu), batch_size)])
    mean_img = orig.mean(0, keepdim=True).expand_as(orig)
    o, r = orig.numpy(), recon.numpy()
    f_o, f_r, f_p = (judge_features(judge_net, t) for t in (orig, recon, prior))
    half = len(o) // 2
    targets = np.asarray(edit_targets if edit_targets is not None else [[0.6, 0.6], [-0.6, -0.4]], np.float32)
    seams = []
    for t in targets:
        z = edit_latent(model, mu, torch.from_numpy(np.tile(t, (len(mu), 1))).to(dev))
        edited = torch.cat([model.decode(z[i : i + batch_size]).float().cpu() for i in range(0, len(z), batch_size)])
        seams.append(seam_ratio(edited.numpy(), r))
    return {
        "n": len(pick),
        "sharpness": {"recon": band_ratio(r, o, SHARPNESS_BAND), "mean_image": band_ratio(mean_img.numpy(), o,
                                                                                         SHARPNESS_BAND)},
        "grid_ratio": {"recon": band_ratio(r, o, GRID_BAND)},
        "judge_agree": judge_agreement(judge(judge_net, recon), judge(judge_net, orig)),
        "fjd": {"recon": frechet_distance(f_r, f_o), "prior_samples": frechet_distance(f_p, f_o),
                "originals_half_vs_half": frechet_distance(f_o[:half], f_o[half:])},
        "identity_top1": {"judge": top1(f_r, f_o), "pixel": top1(r.reshape(len(r), -1), o.reshape(len(o), -1)),
                          "pool": len(pick), "chance": 1.0 / len(pick),
                          "near_copies_judge": {name: top1(judge_features(judge_net, copy(orig)), f_o)
                                                for name, copy in NEAR_COPIES.items()}},
        "edit_seam_ratio": {"mean": float(np.mean(seams)), "targets": targets.tolist(), "per_target": seams},
        "bands_px": {"sharpness": list(SHARPNESS_BAND), "grid": list(GRID_BAND)},
    }
