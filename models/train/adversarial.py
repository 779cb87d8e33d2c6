"""The adversarial patch term (VAE-GAN): a small discriminator learns to tell real faces from reconstructions patch by
patch, and the decoder is charged for reconstructions it can tell apart.

Pixel MSE is least for the average of every face a latent could stand for, which is a blur; a discriminator that has
seen real skin, eyes and edges charges for the blur without asking for any one face. It looks at overlapping patches
(a 64 px face gives 14 x 14 logits, each seeing about 34 px), so it judges texture and parts, not the whole layout,
which the reconstruction term already holds.

Hinge losses (the decoder's side, the mean logit negated, is the ``adversarial`` term of models.losses), spectral
normalisation on every convolution (the usual stabilisers of SN-GAN, SAGAN and VQGAN), Adam with beta1 0.5.
The discriminator trains one step per VAE step once the term has ramped in
(``ModelConfig.adversarial_start``), is saved in the checkpoint with its optimiser (a resumed run continues it), and
is not part of the model: the served run has no trace of it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

DISC_WIDTH = 32
DISC_LR = 2e-4
DISC_BETAS = (0.5, 0.9)


class PatchDiscriminator(nn.Module):
    """x (B, 3, 64, 64) in [0, 1] -> patch logits (B, 1, 14, 14): high where a patch looks like a real face's."""

    def __init__(self, width: int = DISC_WIDTH):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        w = width
        self.net = nn.Sequential(
            sn(nn.Conv2d(3, w, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True),  # 32 px
            sn(nn.Conv2d(w, 2 * w, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True),  # 16 px
            sn(nn.Conv2d(2 * w, 4 * w, 4, 1, 1)), nn.LeakyReLU(0.2, inplace=True),  # 15 px
            sn(nn.Conv2d(4 * w, 1, 4, 1, 1)),  # 14 px
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1).float()


def make_adversary(device: torch.device) -> tuple[PatchDiscriminator, torch.optim.Optimizer]:
    disc = PatchDiscriminator().to(device)
    return disc, torch.optim.Adam(disc.parameters(), lr=DISC_LR, betas=DISC_BETAS)


def discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """Hinge discriminator loss: real patches pushed above +1, reconstructed ones below -1."""
    return F.relu(1.0 - logits_real).mean() + F.relu(1.0 + logits_fake).mean()


def discriminator_step(disc: PatchDiscriminator, opt: torch.optim.Optimizer, real: torch.Tensor,
                       fake: torch.Tensor) -> torch.Tensor:
    """One update of the discriminator on a batch of real faces and (detached) reconstructions; returns its loss."""
    loss = discriminator_loss(disc(real.float()), disc(fake.detach().float()))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()
