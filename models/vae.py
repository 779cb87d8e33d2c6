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

The loss terms and their normalisation: models.losses.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from models.config import N_DISCRETE, ModelConfig
from models.losses import StepAids, vae_loss

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


# The decoder's upsampling (ModelConfig.upsample). A transposed convolution whose kernel the stride does not divide
# (k3 s2, the reference's) overlaps its outputs unevenly and leaves a 2 px checkerboard; a kernel of 4 at stride 2
# overlaps every output pixel equally (Odena et al. 2016, "Deconvolution and checkerboard artifacts"); nearest-neighbour
# resizing then a 3x3 convolution cannot checkerboard at all, at about 4x the convolutions' work.
UPSAMPLES = {
    # name: (start size, the sizes after each of the 4 upsamplings)
    "transposed3": (3, (7, 15, 31, 64)),
    "transposed4": (4, (8, 16, 32, 64)),
    "resize": (4, (8, 16, 32, 64)),
}


def _upsample(kind: str, c_in: int, c_out: int, size: int) -> nn.Module:
    """One upsampling step of the decoder to ``size`` px."""
    if kind == "transposed3":  # 3 -> 7 -> 15 -> 31 -> 64 (the last with output_padding)
        return nn.ConvTranspose2d(c_in, c_out, 3, stride=2, output_padding=1 if size % 2 == 0 else 0)
    if kind == "transposed4":
        return nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)
    return nn.Sequential(nn.Upsample(size=size, mode="nearest"), nn.Conv2d(c_in, c_out, 3, padding=1))


class Decoder(nn.Module):
    """z (B, D) -> image (B, 3, 64, 64) in (0, 1)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        chans = list(reversed(cfg.channels))  # 512, 256, 128, 64
        self.start, sizes = UPSAMPLES[cfg.upsample]
        widths = [cfg.latent_dim, *reversed(cfg.hidden), chans[0] * self.start**2]  # 96, 128, 512, 4608 (3 x 3)
        self.fc = nn.Sequential(*[_fc(a, b) for a, b in zip(widths[:-1], widths[1:])])
        self.top = chans[0]
        layers = []
        for a, b, size in zip(chans[:-1], chans[1:], sizes):
            layers += [_upsample(cfg.upsample, a, b, size), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]
        # To 64 px. Bounded output (the reference's BN + ReLU here was unbounded): logits, then a sigmoid in forward.
        # With ``refine``, the last upsampling writes that many channels and a 3x3 convolution at full size writes RGB,
        # so every output pixel is computed from its 64 px neighbours rather than pasted by the stride.
        if cfg.refine:
            layers += [_upsample(cfg.upsample, chans[-1], cfg.refine, sizes[-1]), nn.BatchNorm2d(cfg.refine),
                       nn.ReLU(inplace=True), nn.Conv2d(cfg.refine, 3, 3, padding=1)]
        else:
            layers.append(_upsample(cfg.upsample, chans[-1], 3, sizes[-1]))
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(-1, self.top, self.start, self.start)  # (B, 512, 3, 3) for the reference
        return torch.sigmoid(self.deconv(h).float())  # (B, 3, 64, 64)


class VAHead(nn.Module):
    """One projection head: a latent chunk -> one affect axis.

    Linear on purpose: an edit that must make the head read a target moves the chunk the least distance along the
    weight vector (closed form, see ``models.editing.edit_latent``), and a linear head is what a linear probe of the
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
             aids: StepAids | None = None) -> dict[str, torch.Tensor]:
        """Named loss terms (models.losses); ``loss`` is the weighted total that training minimises."""
        return vae_loss(self, x, va_target, self(x) if out is None else out, aids)
