"""The VAE family: one Encoder, one Decoder, VA heads, and the loss — shared by the vanilla and the LeVAsa model.

Architecture from the LeVAsa reference notebooks (3 x 64 x 64 input in [0, 1]):
  Encoder: 4 x [Conv2d k3 s2 p0 -> BatchNorm -> ReLU] (64, 128, 256, 512 ch; 64 -> 31 -> 15 -> 7 -> 3 px),
           Linear 4608 -> 512 -> BN -> ReLU, Linear 512 -> 128 -> BN -> ReLU, then mean and log-variance heads of
           zv + za + zz dims (32 each by default).
  Decoder: the mirror: Linear 96 -> 128 -> 512 -> 4608 (BN, ReLU), 4 ConvTranspose2d 3 -> 7 -> 15 -> 31 -> 64 px.

Faults of the reference fixed here:
  * its output layer ended in BatchNorm + ReLU, so images were unbounded above and batch-dependent; ours ends in a plain
    ConvTranspose2d and a sigmoid: every output pixel is in (0, 1) and a face decodes the same alone or in a batch;
  * its discrete head put raw labels -10..10 into cross-entropy (negative class indices: NaN loss); ours offsets by +10;
  * its vanilla VAE trained with no KL at all; ours has the same KL as LeVAsa and differs only in the alignment.

Loss normalisation (kept from the reference so its weights mean the same thing):
  recon = MSE averaged over pixels and the batch;
  kl    = sum over latent dims of KL(q(z|x) || N(0, I)), averaged over the batch, divided by the pixel count (3*64*64);
          reported per chunk (kl_v, kl_a, kl_z) and weighted by ``kl_weight`` (0.5);
  align = MSE of the heads' V and A against the labels (continuous) or the 21-way cross-entropy (discrete), summed over
          the two axes, weighted by ``align_weight`` (0.3). With ``align_loss`` "ccc" (continuous) each axis costs
          1 - CCC over the batch instead, the field's training loss for VA regression: an MSE head shrinks its
          predictions towards the mean where labels are noisy (FER2013's come from ellipse sampling), which CCC
          charges for (arousal PCC 0.58 but CCC 0.51); the CCC loss pays for matching the labels' spread as well.
  edit  = (LeVAsa, when ``edit_weight`` > 0) edit consistency: a share of the batch (``edit_fraction``) is edited to
          random targets uniform over the unit disk (models.editing, the same move the explorer makes), decoded, and
          re-encoded by a frozen copy of the encoder and heads (eval mode, no gradient to their weights); the MSE of
          the read-back VA against the targets, summed over the axes. Only the decoder learns from it: it is taught to
          render what z_v and z_a say.
          With ``edit_local`` the read-back sees the edited face only inside the expression box (eyes, brows, nose,
          mouth) and the unedited decode around it, and the pixels outside the box are held to the unedited decode
          (``edit_keep``, a pixel MSE weighted 1 like the reconstruction). Without it the decoder learned to tell its
          own encoder the target through the whole image (background and hair shifting with VA), which cost
          reconstruction outside the box: 0.0128 against vanilla's 0.0078 on synthetic faces.
  relational = (LeVAsa, ``relational`` cosine or distance) the batch's label-similarity matrix and latent-similarity
          matrix pulled together: RMSE over the off-diagonal pairs, on the latent means.
          cosine:   cos((v_i, a_i), (v_j, a_j)) against cos([z_v, z_a]_i, [z_v, z_a]_j), the form of the relational
                    paper; it sees only directions, so the magnitude of VA (a mild and a strong smile) is lost;
          distance: per axis, |v_i - v_j| against ||z_v,i - z_v,j|| / sqrt(dim z_v) (and the same for arousal): it
                    keeps the magnitude, and keeps valence in z_v and arousal in z_a.
          Weighted by ``relational_weight``; with ``head_grad`` false the heads read a detached latent (trained as a
          readout, as vanilla's are) and the relational term aligns alone.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from models.config import N_DISCRETE, ModelConfig

N_PIXELS = 3 * 64 * 64
_CONV_OUT = 3  # spatial size after four k3 s2 p0 convolutions of a 64 px image


class VAEOutput(NamedTuple):
    recon: torch.Tensor  # (B, 3, 64, 64) in (0, 1)
    mu: torch.Tensor  # (B, D)
    logvar: torch.Tensor  # (B, D)
    z: torch.Tensor  # (B, D), sampled in training mode, = mu in eval mode
    va: torch.Tensor  # (B, 2) valence, arousal read by the heads from z
    logits: torch.Tensor | None  # (B, 2, 21) in discrete mode, else None


def _fc(i: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(i, o), nn.BatchNorm1d(o), nn.ReLU(inplace=True))


class Encoder(nn.Module):
    """x (B, 3, 64, 64) in [0, 1] -> mu, logvar (B, D)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        layers, c_in = [], 3
        for c in cfg.channels:
            layers += [nn.Conv2d(c_in, c, 3, stride=2), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            c_in = c
        self.conv = nn.Sequential(*layers)
        widths = [c_in * _CONV_OUT * _CONV_OUT, *cfg.hidden]  # 4608, 512, 128
        self.fc = nn.Sequential(*[_fc(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self.mu = nn.Linear(widths[-1], cfg.latent_dim)
        self.logvar = nn.Linear(widths[-1], cfg.latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.fc(self.conv(x).flatten(1))  # (B, 128)
        return self.mu(h), self.logvar(h)


class Decoder(nn.Module):
    """z (B, D) -> image (B, 3, 64, 64) in (0, 1)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        chans = list(reversed(cfg.channels))  # 512, 256, 128, 64
        widths = [cfg.latent_dim, *reversed(cfg.hidden), chans[0] * _CONV_OUT * _CONV_OUT]  # 96, 128, 512, 4608
        self.fc = nn.Sequential(*[_fc(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self.top = chans[0]
        layers = []
        for a, b in zip(chans[:-1], chans[1:]):  # 3 -> 7 -> 15 -> 31 px
            layers += [nn.ConvTranspose2d(a, b, 3, stride=2), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]
        # 31 -> 64 px. Bounded output (the reference's BN + ReLU here was unbounded): logits, then a sigmoid in forward.
        layers.append(nn.ConvTranspose2d(chans[-1], 3, 3, stride=2, output_padding=1))
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(-1, self.top, _CONV_OUT, _CONV_OUT)  # (B, 512, 3, 3)
        return torch.sigmoid(self.deconv(h).float())  # (B, 3, 64, 64)


class VAHead(nn.Module):
    """One projection head: a latent chunk -> one affect axis.

    Linear on purpose: an edit that must make the head read a target moves the chunk the least distance along the
    weight vector (closed form, see ``models.vae.VAE.edit_latent``), and a linear head is what a linear probe of the
    vanilla model is compared against. Continuous: tanh(w.z + b) in (-1, 1). Discrete: 21 logits for -10..10 and the
    expected value / 10 as the scalar.
    """

    def __init__(self, dim: int, label_mode: str):
        super().__init__()
        self.label_mode = label_mode
        self.linear = nn.Linear(dim, 1 if label_mode == "continuous" else N_DISCRETE)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = self.linear(z.float())
        if self.label_mode == "continuous":
            return torch.tanh(out[:, 0]), None  # (B,), no logits
        values = torch.arange(-10, 11, device=z.device, dtype=out.dtype) / 10.0
        return out.softmax(-1) @ values, out  # (B,), (B, 21)


class VAE(nn.Module):
    """Vanilla VAE or LeVAsa: the same networks; ``cfg.kind`` decides whether the heads shape the latent space."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.head_v = VAHead(cfg.zv_dim, cfg.label_mode)
        self.head_a = VAHead(cfg.za_dim, cfg.label_mode)

    # --- the verb set shared by training, evaluation and the server -------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        assert x.dim() == 4 and x.shape[1:] == (3, 64, 64), f"expected (B, 3, 64, 64), got {tuple(x.shape)}"
        return self.encoder(x)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        assert z.dim() == 2 and z.shape[1] == self.cfg.latent_dim, (
            f"expected (B, {self.cfg.latent_dim}), got {tuple(z.shape)}"
        )
        return self.decoder(z)

    def split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z (B, D) -> z_v (B, zv), z_a (B, za), z_z (B, zz)."""
        c = self.cfg
        return z[:, : c.zv_dim], z[:, c.zv_dim : c.zv_dim + c.za_dim], z[:, c.zv_dim + c.za_dim :]

    def heads(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """z (B, D) -> va (B, 2) and, in discrete mode, logits (B, 2, 21)."""
        zv, za, _ = self.split(z)
        v, lv = self.head_v(zv)
        a, la = self.head_a(za)
        logits = None if lv is None else torch.stack([lv, la], 1)
        return torch.stack([v, a], 1), logits

    def forward(self, x: torch.Tensor) -> VAEOutput:
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar) if self.training else mu
        # The vanilla model's heads learn to read VA from a latent space they may not shape (so do LeVAsa's when the
        # relational term aligns alone).
        va, logits = self.heads(z if self.cfg.kind == "levasa" and self.cfg.head_grad else z.detach())
        return VAEOutput(self.decode(z), mu, logvar, z, va, logits)

    def loss(self, x: torch.Tensor, va_target: torch.Tensor, out: VAEOutput | None = None,
             edit_scale: float = 1.0) -> dict[str, torch.Tensor]:
        """Named loss terms; ``loss`` is the weighted total that training minimises. ``edit_scale`` (0..1) scales the
        edit term (training ramps it in late, ModelConfig.edit_start); at 0 the term is not computed."""
        assert va_target.shape == (x.shape[0], 2), f"va_target must be (B, 2), got {tuple(va_target.shape)}"
        out = self(x) if out is None else out
        c = self.cfg
        recon = F.mse_loss(out.recon, x.float())
        kl_dims = 0.5 * (out.mu.float().pow(2) + out.logvar.float().exp() - 1.0 - out.logvar.float()).mean(0)  # (D,)
        kl_v, kl_a, kl_z = (k.sum() / N_PIXELS for k in self.split(kl_dims[None]))
        kl = kl_v + kl_a + kl_z
        if c.label_mode == "continuous" and c.align_loss == "ccc":
            align_v = 1.0 - batch_ccc(out.va[:, 0].float(), va_target[:, 0].float())
            align_a = 1.0 - batch_ccc(out.va[:, 1].float(), va_target[:, 1].float())
        elif c.label_mode == "continuous":
            align_v = F.mse_loss(out.va[:, 0], va_target[:, 0])
            align_a = F.mse_loss(out.va[:, 1], va_target[:, 1])
        else:
            cls = discretize(va_target)  # (B, 2) in 0..20: the +10 offset the reference forgot
            align_v = F.cross_entropy(out.logits[:, 0], cls[:, 0])
            align_a = F.cross_entropy(out.logits[:, 1], cls[:, 1])
        align = align_v + align_a
        total = recon + c.kl_weight * kl + c.align_weight * align
        terms = {"recon": recon, "kl": kl, "kl_v": kl_v, "kl_a": kl_a, "kl_z": kl_z,
                 "align": align, "align_v": align_v, "align_a": align_a}
        if c.kind == "levasa" and c.relational != "none":
            zv, za, _ = self.split(out.mu.float())
            terms["relational"] = relational_loss(zv, za, va_target.float(), c.relational)
            total = total + c.relational_weight * terms["relational"]
        if c.kind == "levasa" and c.edit_weight > 0 and edit_scale > 0:
            terms.update(self._edit_terms(out))
            total = total + edit_scale * c.edit_weight * terms["edit"]
            if "edit_keep" in terms:  # a pixel MSE, weighted as the reconstruction's
                total = total + edit_scale * terms["edit_keep"]
        return {"loss": total, **terms}

    def _edit_terms(self, out: VAEOutput) -> dict[str, torch.Tensor]:
        from models.editing import edit_latent  # editing imports this module

        n = max(2, round(out.z.shape[0] * self.cfg.edit_fraction))
        mu = out.mu[:n].detach().float()
        r, t = torch.rand(n, device=mu.device).sqrt(), torch.rand(n, device=mu.device) * 2 * torch.pi
        target = torch.stack([r * torch.cos(t), r * torch.sin(t)], 1)  # uniform over the unit disk
        with torch.no_grad():
            z_edit = edit_latent(self, mu, target)
        was = self.decoder.training
        self.decoder.eval()  # BatchNorm on running statistics, as at inference; they stay those of real faces
        try:
            faces = self.decoder(z_edit)
        finally:
            self.decoder.train(was)
        keep = None
        if self.cfg.edit_local:
            with torch.no_grad():
                self.decoder.eval()
                try:
                    base = self.decoder(mu)  # the unedited face, rendered the same way
                finally:
                    self.decoder.train(was)
            box = expression_box(faces.device)
            keep = (faces - base).pow(2).mean(1)[:, ~box].mean()  # pixels outside the box must not move
            faces = torch.where(box, faces, base)  # the read-back sees the edit only where expressions live
        mu_back = _frozen(self.encoder, faces)[0]
        zv, za, _ = self.split(mu_back)
        va_back = torch.stack([_frozen(self.head_v, zv)[0], _frozen(self.head_a, za)[0]], 1)
        edit_v = F.mse_loss(va_back[:, 0].float(), target[:, 0])
        edit_a = F.mse_loss(va_back[:, 1].float(), target[:, 1])
        terms = {"edit": edit_v + edit_a, "edit_v": edit_v, "edit_a": edit_a}
        if keep is not None:
            terms["edit_keep"] = keep
        return terms

    @torch.no_grad()
    def sample(self, n: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """n faces decoded from the prior."""
        return self.decode(torch.randn(n, self.cfg.latent_dim, device=device))


def batch_ccc(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Lin's concordance correlation of two (B,) tensors (population moments, as models.metrics.ccc); differentiable.
    ``eps`` keeps a batch of identical predictions and labels finite."""
    mp, mt = pred.mean(), target.mean()
    cov = ((pred - mp) * (target - mt)).mean()
    return 2 * cov / (pred.var(unbiased=False) + target.var(unbiased=False) + (mp - mt).pow(2) + eps)


def relational_loss(zv: torch.Tensor, za: torch.Tensor, va: torch.Tensor, form: str) -> torch.Tensor:
    """RMSE between the batch's latent-similarity and label-similarity matrices over off-diagonal pairs (see the
    module docstring for the two forms). zv (B, dv), za (B, da), va (B, 2)."""
    b = va.shape[0]
    assert b >= 2 and zv.shape[0] == za.shape[0] == b, f"need a batch of >= 2 with matching rows, got {b}"
    off = ~torch.eye(b, dtype=torch.bool, device=va.device)
    rmse = lambda x, y: ((x - y)[off].pow(2).mean() + 1e-8).sqrt()
    if form == "cosine":
        z = F.normalize(torch.cat([zv, za], 1), dim=1, eps=1e-6)
        y = F.normalize(va, dim=1, eps=1e-6)
        return rmse(z @ z.T, y @ y.T)  # (B, B) cosine similarities
    if form == "distance":
        dist = lambda x: (x[:, None, :] - x[None, :, :]).pow(2).sum(-1).add(1e-8).sqrt()  # (B, B), smooth at 0
        return (rmse(dist(zv) / zv.shape[1] ** 0.5, (va[:, None, 0] - va[None, :, 0]).abs())
                + rmse(dist(za) / za.shape[1] ** 0.5, (va[:, None, 1] - va[None, :, 1]).abs()))
    raise ValueError(f"relational form must be cosine or distance, got {form!r}")


def _frozen(module: nn.Module, *args):
    """Run ``module`` in eval mode with its weights detached: gradients reach the inputs, never its parameters."""
    params = {k: v.detach() for k, v in module.named_parameters()}
    was = module.training
    module.eval()
    try:
        return torch.func.functional_call(module, {**params, **dict(module.named_buffers())}, args)
    finally:
        module.train(was)


# The expression box on a 64 px face (rows, cols): eyes, brows, nose and mouth; outside it are identity and background.
# Faces are centred crops (the synthetic renderer, FER2013, AffectNet's boxes), so one fixed box serves them all.
EXPR_ROWS, EXPR_COLS = slice(14, 58), slice(12, 52)


def expression_box(device: torch.device | str = "cpu") -> torch.Tensor:
    """(64, 64) bool, True inside the expression box."""
    m = torch.zeros(64, 64, dtype=torch.bool, device=device)
    m[EXPR_ROWS, EXPR_COLS] = True
    return m


def discretize(va: torch.Tensor) -> torch.Tensor:
    """VA in [-1, 1] -> class index round(10 x) + 10 in 0..20 (long)."""
    return (torch.round(va.clamp(-1, 1) * 10) + 10).long()
