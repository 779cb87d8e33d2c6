"""Few-shot VA labelling from a small labelled support set, on frozen encodings.

A pair head looks at two faces' encodings (latent means of a trained run's encoder, never updated here) and predicts
whether they share an expression and how far apart they are in valence and arousal (b - a). To label a query face,
its nearest support faces in latent space each propose "my VA + the predicted difference", and the proposals are
averaged with weights from the same-expression probability; the emotion is the weighted vote of the supports'
categories. The baseline beside it: the VA of the single nearest support face (1-NN in the same latent space).

Support sets are drawn per group (clip, subject, identity): every k-th row of each group, so every group is seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class FewShotConfig:
    hidden: int = 256  # pair head width
    steps: int = 600  # Adam steps on sampled support pairs
    batch: int = 256  # pairs per step (half of them sharing an expression)
    lr: float = 2e-3
    weight_decay: float = 1e-4
    top_m: int = 16  # supports consulted per query: the nearest in latent space
    seed: int = 0


class PairHead(nn.Module):
    """(a, b) encodings (N, D) each -> same-expression logit (N,) and VA difference b - a (N, 2)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4 * dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 3))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(torch.cat([a, b, b - a, a * b], 1))  # (N, 3); symmetric features of the pair
        return out[:, 0], out[:, 1:]


def support_mask(groups: np.ndarray, every: int, offset: int = 0) -> np.ndarray:
    """Every ``every``-th row of each group (in row order), starting at ``offset``: (N,) bool."""
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    mask = np.zeros(len(groups), bool)
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        mask[idx[offset % every :: every]] = True
    return mask


def standardise(support: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Features scaled by the support set's mean and std (the only labelled data there is)."""
    mu, sd = support.mean(0), support.std(0) + 1e-6
    return [(x - mu) / sd for x in (support, *others)]


def nearest(support: np.ndarray, query: np.ndarray, m: int) -> np.ndarray:
    """Indices (Q, m) of each query's m nearest support rows (Euclidean), nearest first."""
    s, q = torch.from_numpy(support).float(), torch.from_numpy(query).float()
    out = []
    for i in range(0, len(q), 4096):
        d = torch.cdist(q[i : i + 4096], s)  # (chunk, S)
        out.append(d.topk(min(m, len(s)), largest=False).indices)
    return torch.cat(out).numpy()


def nn_baseline(support: np.ndarray, va_support: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The VA of each query's nearest support face."""
    return va_support[nearest(support, query, 1)[:, 0]]


def fit_pair_head(feats: np.ndarray, va: np.ndarray, emotion: np.ndarray, cfg: FewShotConfig) -> PairHead:
    """Train the pair head on pairs of support faces (standardised features (S, D), VA (S, 2), emotion codes (S,))."""
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    x, y, e = torch.from_numpy(feats).float(), torch.from_numpy(va).float(), torch.from_numpy(emotion).long()
    n = len(x)
    assert n >= 2, "a support set needs at least two faces"
    order = torch.argsort(e)  # rows grouped by class: a same-class partner is a random row of the same block
    classes, counts = torch.unique(e[order], return_counts=True)
    starts = torch.zeros(int(e.max()) + 1, dtype=torch.long)
    sizes = torch.zeros_like(starts)
    starts[classes] = torch.cumsum(counts, 0) - counts
    sizes[classes] = counts
    head = PairHead(x.shape[1], cfg.hidden)
    opt = torch.optim.AdamW(head.parameters(), cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    for _ in range(cfg.steps):
        a = torch.randint(0, n, (cfg.batch,), generator=g)
        b = torch.randint(0, n, (cfg.batch,), generator=g)
        # Half the pairs share an expression, so the same-expression logit sees both answers often.
        half = cfg.batch // 2
        c = e[a[:half]]
        b[:half] = order[starts[c] + (torch.rand(half, generator=g) * sizes[c]).long().clamp(max=sizes[c] - 1)]
        logit, delta = head(x[a], x[b])
        loss = F.binary_cross_entropy_with_logits(logit, (e[a] == e[b]).float()) + 4.0 * F.mse_loss(delta, y[b] - y[a])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return head.eval()


@torch.no_grad()
def label_queries(head: PairHead, feats_s: np.ndarray, va_s: np.ndarray, emo_s: np.ndarray, feats_q: np.ndarray,
                  n_classes: int, top_m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(VA (Q, 2), emotion codes (Q,), confidence (Q,)) for query features, from the top_m nearest supports."""
    idx = nearest(feats_s, feats_q, top_m)  # (Q, m)
    q, m = idx.shape
    s = torch.from_numpy(feats_s).float()[torch.from_numpy(idx).reshape(-1)]  # (Q*m, D)
    qq = torch.from_numpy(feats_q).float().repeat_interleave(m, 0)
    logit, delta = head(s, qq)
    w = torch.softmax(logit.reshape(q, m), 1)  # (Q, m): the supports most like the query weigh most
    proposals = torch.from_numpy(va_s).float()[torch.from_numpy(idx)] + delta.reshape(q, m, 2)
    va = (w[..., None] * proposals).sum(1).clamp(-1, 1).numpy()
    votes = torch.zeros(q, n_classes).scatter_add_(1, torch.from_numpy(emo_s[idx]).long(), w)
    conf, emo = votes.max(1)
    return va, emo.numpy(), conf.numpy()
