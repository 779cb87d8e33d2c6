"""Edit fidelity: do edited faces show the VA they were edited to?

Held-out faces are encoded, edited to targets spread over the VA plane (models.editing), decoded, and judged twice:
  * by the model's own heads, after re-encoding the edited face (what the explorer shows as "read back");
  * by the independent judge (models.eval.judge), a CNN that never saw the VAE: an edit cannot pass by fooling the
    model's own heads.
Both give CCC / RMSE / ... of target against judged VA. What should not move is measured too:
  * zz_shift: mean |z_z(re-encoded edit) - z_z(original)|, relative to the spread (std) of z_z over the faces;
  * identity_shift: pixel MSE between the edited face and the unedited reconstruction outside the expression regions
    (the central eyes-to-mouth box), relative to identity_scale, the same measure between two different faces'
    reconstructions. 0 = nothing but the expression moved; 1 = as different as another person.
"""

from __future__ import annotations

import numpy as np
import torch

from models.editing import edit_latent, expression_box
from models.eval.affect import va_metrics
from models.eval.judge import VARegressor, judge
from models.vae import VAE

# Targets: a 5 x 5 grid over [-0.8, 0.8]^2 kept inside the unit disk (21 points), the same for every run.
_G = np.linspace(-0.8, 0.8, 5)
TARGETS = np.array([(v, a) for a in _G[::-1] for v in _G if v * v + a * a <= 0.8**2 + 1e-9], np.float32)
@torch.no_grad()
def edit_fidelity(model: VAE, images_u8: torch.Tensor, judge_net: VARegressor, n_faces: int = 300, seed: int = 0,
                  targets_per_face: int = 6, batch_size: int = 256) -> dict:
    """Edit ``n_faces`` held-out faces (uint8 (M, 3, 64, 64)) to ``targets_per_face`` targets each; judge them."""
    model.eval()
    dev = next(model.parameters()).device
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(images_u8), min(n_faces, len(images_u8)), replace=False))
    x = images_u8[pick].to(dev).float() / 255
    mu = torch.cat([model.encode(x[i : i + batch_size])[0] for i in range(0, len(x), batch_size)])
    recon = torch.cat([model.decode(mu[i : i + batch_size]) for i in range(0, len(mu), batch_size)])
    # each face gets targets_per_face distinct grid targets
    t_idx = np.stack([rng.choice(len(TARGETS), targets_per_face, replace=False) for _ in range(len(pick))])
    face_of = np.repeat(np.arange(len(pick)), targets_per_face)
    targets = torch.from_numpy(TARGETS[t_idx.ravel()]).to(dev)
    z0 = mu[face_of]
    faces, read_back, zz_new = [], [], []
    for i in range(0, len(z0), batch_size):
        f = model.decode(edit_latent(model, z0[i : i + batch_size], targets[i : i + batch_size]))
        m2, _ = model.encode(f)
        read_back.append(model.heads(m2)[0].float())
        zz_new.append(model.split(m2)[2].float())
        faces.append(f.float())
    faces_t = torch.cat(faces)
    heads_va = torch.cat(read_back).cpu().numpy()
    judge_va = judge(judge_net, faces_t)
    tgt = targets.cpu().numpy()

    zz0 = model.split(mu)[2].float()
    zz_shift = float((torch.cat(zz_new) - zz0[face_of]).abs().mean() / zz0.std(0).mean().clamp_min(1e-6))
    out = ~expression_box(dev)
    diff = (faces_t - recon[face_of].float()).pow(2).mean(1)[:, out].mean()
    other = recon.float().roll(1, 0)  # another face's reconstruction: the scale of an identity change
    scale = (recon.float() - other).pow(2).mean(1)[:, out].mean()

    # a strip for the report: 4 faces x 7 targets along the circumplex
    strip_t = np.array([[np.cos(t) * 0.8, np.sin(t) * 0.8] for t in np.linspace(0, 2 * np.pi, 8)[:-1]], np.float32)
    rows = mu[: min(4, len(mu))]
    z_s = rows.repeat_interleave(len(strip_t), 0)
    t_s = torch.from_numpy(np.tile(strip_t, (len(rows), 1))).to(dev)
    strip = model.decode(edit_latent(model, z_s, t_s)).float().clamp(0, 1)
    strip = (strip * 255).round().byte().cpu().numpy().reshape(len(rows), len(strip_t), 3, 64, 64)
    return {"n_faces": len(pick), "n_edits": len(tgt), "targets": "5x5 grid in [-0.8, 0.8]^2 inside the disk",
            "heads": va_metrics(tgt, heads_va), "judge": va_metrics(tgt, judge_va), "zz_shift": zz_shift,
            "identity_shift": float(diff / scale.clamp_min(1e-9)), "identity_scale": float(scale),
            "strip": strip, "strip_targets": strip_t}
