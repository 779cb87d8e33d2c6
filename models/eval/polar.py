"""Edits all round the circle: edit fidelity on a polar grid, per 45-degree sector, read by the independent judge.

One CCC over a grid of targets can hide a region of the plane where edits do nothing (a published VA editor could not
make distinct expressions between 242 and 329 degrees, the low-arousal sector). Here held-out faces are edited to
28 directions x 3 strengths (0.33, 0.66, 1.0 of the unit circle; angle 0 is +valence, 90 degrees +arousal), decoded and
read by the independent judge (models.eval.judge: never the network inside the edit-consistency term, which is the
model's own encoder). Per 45-degree sector:
  * angle_err_deg: the mean over its edits of the angle between the target's direction and the judged VA's
    (around neutral, the plane's origin);
  * strength_rho: Spearman correlation, over its edits, of the judged strength |VA| against the target strength;
  * judged_strength: the mean judged |VA| at each target strength.
The worst sector's values are the figures ``edit_worst_sector_deg`` and ``edit_strength_rho``. Beside them, the same
read of the unedited reconstructions against the same targets (an edit that changes nothing).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import spearmanr

from models.editing import edit_latent
from models.eval.judge import VARegressor, judge
from models.vae import VAE

N_DIRECTIONS = 28
STRENGTHS = (0.33, 0.66, 1.0)
SECTOR_DEG = 45


def polar_targets() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K, 2) targets, their angles (deg, 0..360) and strengths; K = 28 directions x 3 strengths."""
    angles = np.arange(N_DIRECTIONS) * 360.0 / N_DIRECTIONS
    ang, r = np.meshgrid(angles, np.asarray(STRENGTHS), indexing="ij")
    ang, r = ang.ravel(), r.ravel()
    t = np.deg2rad(ang)
    return np.stack([r * np.cos(t), r * np.sin(t)], 1).astype(np.float32), ang, r


def _angle_err(judged: np.ndarray, target_deg: np.ndarray) -> np.ndarray:
    """|judged direction - target direction| in degrees, 0..180."""
    got = np.rad2deg(np.arctan2(judged[:, 1], judged[:, 0]))
    return np.abs((got - target_deg + 180.0) % 360.0 - 180.0)


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(spearmanr(x, y)[0])


def sector_table(judged: np.ndarray, ang: np.ndarray, r: np.ndarray) -> list[dict]:
    """Per 45-degree sector: mean angular error, Spearman of judged against target strength, mean judged strength."""
    err, strength = _angle_err(judged, ang), np.linalg.norm(judged, axis=1)
    out = []
    for lo in range(0, 360, SECTOR_DEG):
        m = (ang >= lo) & (ang < lo + SECTOR_DEG)
        out.append({"from_deg": lo, "to_deg": lo + SECTOR_DEG, "n": int(m.sum()),
                    "angle_err_deg": float(err[m].mean()), "strength_rho": _rho(r[m], strength[m]),
                    "judged_strength": {f"{s:.2f}": float(strength[m & (r == s)].mean()) for s in STRENGTHS}})
    return out


@torch.no_grad()
def polar_fidelity(model: VAE, images_u8: torch.Tensor, judge_net: VARegressor, n_faces: int = 100, seed: int = 0,
                   batch_size: int = 512) -> dict:
    """Edit ``n_faces`` held-out faces (uint8 (M, 3, 64, 64), a seeded pick) to every polar target; judge them."""
    model.eval()
    dev = next(model.parameters()).device
    pick = np.sort(np.random.default_rng(seed).choice(len(images_u8), min(n_faces, len(images_u8)), replace=False))
    x = images_u8[pick].to(dev).float() / 255
    mu = torch.cat([model.encode(x[i : i + batch_size])[0] for i in range(0, len(x), batch_size)])
    targets, ang, r = polar_targets()
    k = len(targets)
    z0 = mu.repeat_interleave(k, 0)  # face-major: every face gets all K targets
    t = torch.from_numpy(np.tile(targets, (len(mu), 1))).to(dev)
    judged = np.concatenate([judge(judge_net, model.decode(edit_latent(model, z0[i : i + batch_size],
                                                                         t[i : i + batch_size])).float())
                             for i in range(0, len(z0), batch_size)])
    unedited = judge(judge_net, torch.cat([model.decode(mu[i : i + batch_size]).float()
                                           for i in range(0, len(mu), batch_size)]))
    ang_all, r_all = np.tile(ang, len(mu)), np.tile(r, len(mu))
    sectors = sector_table(judged, ang_all, r_all)
    still = sector_table(np.repeat(unedited, k, 0), ang_all, r_all)
    worst = max(sectors, key=lambda s: s["angle_err_deg"])
    return {"n_faces": len(pick), "n_edits": len(judged), "directions": N_DIRECTIONS, "strengths": list(STRENGTHS),
            "sectors": sectors, "unedited": still,
            "worst_sector": f"{worst['from_deg']}-{worst['to_deg']}", "worst_sector_deg": worst["angle_err_deg"],
            "strength_rho_worst": min(s["strength_rho"] for s in sectors),
            "unedited_worst_sector_deg": max(s["angle_err_deg"] for s in still),
            "mean_judged": judged.reshape(len(mu), k, 2).mean(0).tolist(), "targets": targets.tolist()}
