"""The perceptual term's network: reconstructions are compared with their originals in the features of a small CNN
trained here, on the run's own training split, so no weights are downloaded and none come from another dataset.

It is a VA regressor of the judge's design (models.eval.judge) but a network of its own: another seed, cached apart
(RUNS/.percepts), and never used to score anything. Evaluation's judge stays the independent reader it was; figures
measured in the judge's feature space (``recon_fjd``, ``recon_identity_top1``) may still favour a model trained this
way, since the two networks learned from the same faces, so the network-free figures (sharpness, grid, pixel
identity) are the ones to read beside them.

The distance is LPIPS's form without its learned weights: each conv block's features unit-normalised over channels
at every position, the squared difference summed over channels, averaged over positions and the batch, summed over
the four blocks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from models import runs as ck
from models.eval.judge import VARegressor, judge_key, load_or_train_judge

PERCEPT_SEED = 1  # the judge trains with seed 0
PERCEPT_EPOCHS = 6


def load_percept(runs_dir: Path, files: list[str], va: np.ndarray, train_mask: np.ndarray, images: torch.Tensor,
                 device: torch.device, progress: bool = True) -> VARegressor:
    """The perceptual network for this training split, trained once (about a minute for 18,000 faces on 2 cores) and
    cached in RUNS/.percepts; frozen: eval mode, no gradient to its weights."""
    key = judge_key(files, va, train_mask, purpose="percept")
    idx = torch.from_numpy(np.flatnonzero(train_mask)).to(images.device)
    net, _ = load_or_train_judge(Path(runs_dir) / ck.PERCEPTS, key, images[idx].cpu(), va[train_mask], device=device,
                                 epochs=PERCEPT_EPOCHS, progress=progress, seed=PERCEPT_SEED,
                                 desc="perceptual network (VA regressor, seed 1)")
    return net.eval().requires_grad_(False)
