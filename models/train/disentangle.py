"""Chunks that each hold one thing: terms that keep affect out of z_z and each axis out of the other axis's chunk while
the heads align z_v with valence and z_a with arousal (``ModelConfig.disentangle``, weighted by
``disentangle_weight``).

Without them the encoder spreads the expression over the whole latent: the heads read valence along one direction of
z_v, and the rest of z_v, z_a and z_z are free to hold copies of it (on synthetic faces z_v predicted arousal at R^2
0.98 and z_z the emotion at 94%). What a chunk may hold of another factor is what its own factor already tells of it:
valence predicts some arousal in every dataset, so z_v may predict arousal as well as valence does, and no better.

Seven forms:
  "cycle": decoded edits re-encoded must keep the chunks the edit kept: an arousal-only edit must leave z_v and z_z
      where the unedited reconstruction's re-encoding has them, a valence-only edit z_a and z_z (``cycle_charge``).
      It needs no labels beyond the heads, and it charges the encoder for reading the expression into the wrong chunk
      wherever it does so, however the code is written, where a predictor sees only the codes it has learnt to read.
  "swap": each face's z_v and z_a decoded with another face's z_z, encoded again, must give back both parts: z_z the
      other face's, whatever expression the decoder drew from z_v and z_a, and z_v, z_a the face's own
      (``swap_charge``). Its target is a real face's code, so the encoder cannot meet it by reading decoded faces as
      nothing (the cycle form's failure): it meets it by reading identity into z_z and expression into z_v and z_a.
  "mix": the swap form with each chunk from a different face: one face's z_v, another's z_a, a third's z_z
      (``mix_charge``). A face drawn with one face's valence and another's arousal charges a z_v that also reads
      arousal, and a z_a that reads valence, which the swap form cannot see (it keeps a face's two affect chunks
      together).
  "adversary": small MLP predictors trained beside the model, on detached latent means: arousal from z_v, valence from
      z_a, valence and arousal from z_z, the emotion from z_z. The encoder is charged for what they find beyond the
      chunk's own factor: each regressor's squared distance from the answer the chunk's own factor gives (E[A | V] for
      z_v, E[V | A] for z_a, the training mean for z_z), and the emotion classifier's KL from the class prior. The
      charge is 0 when the predictors can do no better than the labels: bounded and stable, unlike a reversed
      gradient on the predictors' own loss, which rewards the encoder for making them wrong, not uninformed.
  "hsic": no network: the normalised Hilbert-Schmidt independence criterion (Gaussian kernels, median bandwidth;
      CKA's form, so shrinking the latent cannot lower it) per batch, of z_z with (V, A) and with the emotion, of z_v
      with arousal's residual A - E[A | V], and of z_a with V - E[V | A].
  "refit": predictors refit in closed form at every step, so the encoder cannot outrun them: ridge regressions on
      random Fourier features (and the codes themselves, clamped) of each chunk, fitted on a bank of the last
      ``BANK`` rows' detached codes and labels (``CodeBank``), read on the batch's live codes. The encoder is charged
      each predictor's explained variance on the batch (its R^2 over the bank's variance): (V, A) and the emotion from
      z_z, arousal's residual from z_v and valence's from z_a. A trained adversary can be left behind by an encoder
      that moves its code away from it (the "adversary" form's failure); a refit one is always the best of its kind
      for the codes as they are now.
  "xcov": no network: the squared correlation of each dimension of z_z with V, A, their squares and product and each
      emotion's indicator, of z_v's with A - E[A | V] and of z_a's with V - E[V | A] (a cross-covariance penalty).
E[A | V] and E[V | A] are binned means of the training labels (``ConditionalMeans``). Leakage itself is measured by
fresh probes after training (models.eval.leakage), never by these predictors.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ADV_WIDTH = 64
ADV_LR = 2e-3
ADV_STEPS = 5  # predictor updates per model step
N_BINS = 20


class ConditionalMeans(nn.Module):
    """E[A | V] and E[V | A] from the training labels: means per bin of the conditioning axis over [-1, 1], linearly
    interpolated between bin centres (an empty bin takes the overall mean); and the class prior of the emotions."""

    def __init__(self, va: np.ndarray, emotions: np.ndarray, n_classes: int):
        super().__init__()
        va = np.asarray(va, np.float64)
        self.register_buffer("a_given_v", torch.tensor(_binned_means(va[:, 0], va[:, 1]), dtype=torch.float32))
        self.register_buffer("v_given_a", torch.tensor(_binned_means(va[:, 1], va[:, 0]), dtype=torch.float32))
        self.register_buffer("mean_va", torch.tensor(va.mean(0), dtype=torch.float32))
        counts = np.bincount(np.asarray(emotions, int), minlength=n_classes).astype(np.float64) + 1.0
        self.register_buffer("prior", torch.tensor(counts / counts.sum(), dtype=torch.float32))

    @staticmethod
    def _lookup(table: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        pos = ((x.float().clamp(-1, 1) + 1) / 2 * N_BINS - 0.5).clamp(0, N_BINS - 1)
        lo = pos.floor().long().clamp(max=N_BINS - 2)
        t = pos - lo
        return table[lo] * (1 - t) + table[lo + 1] * t

    def arousal_given_valence(self, v: torch.Tensor) -> torch.Tensor:
        return self._lookup(self.a_given_v, v)

    def valence_given_arousal(self, a: torch.Tensor) -> torch.Tensor:
        return self._lookup(self.v_given_a, a)


def _binned_means(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    bins = np.clip(((x + 1) / 2 * N_BINS).astype(int), 0, N_BINS - 1)
    sums = np.bincount(bins, weights=y, minlength=N_BINS)
    counts = np.bincount(bins, minlength=N_BINS)
    return np.where(counts > 0, sums / np.maximum(counts, 1), y.mean())


def _mlp(i: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(i, ADV_WIDTH), nn.ReLU(), nn.Linear(ADV_WIDTH, ADV_WIDTH), nn.ReLU(),
                         nn.Linear(ADV_WIDTH, o))


class ChunkAdversary(nn.Module):
    """The "adversary" form's predictors: arousal from z_v, valence from z_a, (V, A) and emotion logits from z_z."""

    def __init__(self, zv_dim: int, za_dim: int, zz_dim: int, n_classes: int):
        super().__init__()
        self.a_from_zv = _mlp(zv_dim, 1)
        self.v_from_za = _mlp(za_dim, 1)
        self.va_from_zz = _mlp(zz_dim, 2)
        self.emotion_from_zz = _mlp(zz_dim, n_classes)

    def forward(self, zv, za, zz) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return (torch.tanh(self.a_from_zv(zv.float()))[:, 0], torch.tanh(self.v_from_za(za.float()))[:, 0],
                torch.tanh(self.va_from_zz(zz.float())), self.emotion_from_zz(zz.float()))


def make_chunk_adversary(zv_dim: int, za_dim: int, zz_dim: int, n_classes: int,
                         device: torch.device) -> tuple[ChunkAdversary, torch.optim.Optimizer]:
    adv = ChunkAdversary(zv_dim, za_dim, zz_dim, n_classes).to(device)
    return adv, torch.optim.Adam(adv.parameters(), lr=ADV_LR)


def adversary_step(adv: ChunkAdversary, opt: torch.optim.Optimizer, chunks: tuple[torch.Tensor, ...],
                   va: torch.Tensor, emotion: torch.Tensor, steps: int = ADV_STEPS) -> torch.Tensor:
    """``steps`` updates of the predictors on the batch's detached chunks (MSE for the axes, cross-entropy for the
    emotion): they must keep up with an encoder that is paid to move its code away from them. Returns the last loss."""
    chunks = tuple(c.detach().float() for c in chunks)
    for _ in range(steps):
        a_hat, v_hat, va_hat, logits = adv(*chunks)
        loss = (F.mse_loss(a_hat, va[:, 1].float()) + F.mse_loss(v_hat, va[:, 0].float())
                + F.mse_loss(va_hat, va.float()) + F.cross_entropy(logits, emotion))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return loss.detach()


def adversary_charge(adv_out: tuple[torch.Tensor, ...], va: torch.Tensor, means: ConditionalMeans) -> torch.Tensor:
    """What the (frozen) predictors find beyond what each chunk's own factor tells (module docstring); 0 when they can
    do no better than the labels."""
    a_hat, v_hat, va_hat, logits = adv_out
    v, a = va[:, 0].float(), va[:, 1].float()
    charge = (a_hat - means.arousal_given_valence(v)).pow(2).mean()
    charge = charge + (v_hat - means.valence_given_arousal(a)).pow(2).mean()
    charge = charge + (va_hat - means.mean_va).pow(2).sum(1).mean()
    prior = means.prior
    return charge + (prior * (prior.log() - logits.float().log_softmax(1))).sum(1).mean()  # KL(prior || p)


BANK = 2048  # rows of recent codes the "refit" form's predictors are fitted on
BANK_MIN = 256  # rows the bank needs before it charges anything
RFF = 512  # random Fourier features per predictor
BANDWIDTHS = (1.0, 2.0)  # inverse kernel widths, in units of 1 / sqrt(dim), each taking an equal share of the features
RIDGE = 3e-2  # ridge penalty, relative to the features' mean energy
CLAMP = 4.0  # standardised codes are clamped to +-CLAMP before the features


class CodeBank(nn.Module):
    """The "refit" form's memory: the last ``BANK`` rows' detached chunks and their targets, a ring buffer. Not saved
    in the checkpoint: a resumed run refills it within ``BANK_MIN`` rows and charges nothing until then."""

    def __init__(self, dims: tuple[int, int, int], n_targets: int, size: int = BANK):
        super().__init__()
        self.size = size
        self.register_buffer("codes", torch.zeros(size, sum(dims)))
        self.register_buffer("targets", torch.zeros(size, n_targets))
        self.dims = dims
        self.filled = 0
        self.head = 0

    def push(self, chunks: tuple[torch.Tensor, ...], targets: torch.Tensor) -> None:
        rows = torch.cat([c.detach().float() for c in chunks], 1)[-self.size:]
        idx = (self.head + torch.arange(len(rows), device=rows.device)) % self.size
        self.codes[idx] = rows
        self.targets[idx] = targets.detach().float()[-self.size:]
        self.head = int((self.head + len(rows)) % self.size)
        self.filled = min(self.size, self.filled + len(rows))

    def chunks(self) -> tuple[torch.Tensor, ...]:
        return torch.split(self.codes[: self.filled], list(self.dims), 1)


def refit_targets(va: torch.Tensor, emotion: torch.Tensor, n_classes: int, means: ConditionalMeans) -> torch.Tensor:
    """Per row: V, A, the emotion's indicator columns, A - E[A | V], V - E[V | A] (what the "refit" predictors read)."""
    v, a = va[:, :1].float(), va[:, 1:].float()
    return torch.cat([v, a, F.one_hot(emotion, n_classes).float(), a - means.arousal_given_valence(v),
                      v - means.valence_given_arousal(a)], 1)


def _features(z: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, omega: torch.Tensor, phase: torch.Tensor):
    """The codes standardised by the bank's statistics and clamped, beside random Fourier features of them (Gaussian
    kernels whose widths ``omega``'s columns carry): bounded, so a code that leaves the bank's range cannot blow the
    charge up (a first version without the clamp diverged: loss 30, heads at chance)."""
    u = ((z.float() - mean) / std).clamp(-CLAMP, CLAMP)
    return torch.cat([u, torch.cos(u @ omega + phase) * (2.0 / omega.shape[1]) ** 0.5], 1)


def explained_variance(bank_z: torch.Tensor, bank_y: torch.Tensor, z: torch.Tensor, generator=None) -> torch.Tensor:
    """Fit a ridge regression of the bank's targets (n, k) on features of its codes (n, d), predict the batch's live
    codes z (B, d), and return the mean over the k columns of the predictions' energy around the bank's mean over the
    column's variance (a column with no variance is left out): the R^2 the predictor would claim, with gradient to z.
    """
    bank_z, bank_y = bank_z.float(), bank_y.float()
    mean, std = bank_z.mean(0), bank_z.std(0).clamp_min(1e-4)
    d = bank_z.shape[1]
    # a share of the features for each bandwidth: sqrt(dim) (the median distance of standardised codes) and narrower,
    # so that a code read through a finer nonlinearity is caught as well as a smooth one
    k = len(BANDWIDTHS)
    scale = torch.tensor(BANDWIDTHS, device=z.device).repeat_interleave(-(-RFF // k))[:RFF]
    omega = torch.randn(d, RFF, generator=generator, device=z.device) * scale / d**0.5
    phase = torch.rand(RFF, generator=generator, device=z.device) * 2 * torch.pi
    fb = _features(bank_z, mean, std, omega, phase)
    f_mean = fb.mean(0)
    fb = fb - f_mean
    y_var = bank_y.var(0)
    keep = y_var > 1e-6
    yb = (bank_y[:, keep] - bank_y[:, keep].mean(0)) / y_var[keep].sqrt()
    gram = fb.T @ fb
    ridge = RIDGE * gram.diagonal().mean() * torch.eye(len(gram), device=z.device)
    w = torch.linalg.solve(gram + ridge, fb.T @ yb)  # (F, k); the bank is detached: no gradient through the fit
    pred = (_features(z, mean, std, omega, phase) - f_mean) @ w
    return pred.pow(2).mean() if keep.any() else z.new_zeros(())


def refit_charge(bank: CodeBank, chunks: tuple[torch.Tensor, ...], n_classes: int) -> torch.Tensor:
    """The "refit" form (module docstring): 0 until the bank holds ``BANK_MIN`` rows."""
    if bank.filled < BANK_MIN:
        return chunks[0].new_zeros((), dtype=torch.float32)
    zv, za, zz = chunks
    bv, ba, bz = bank.chunks()
    y = bank.targets[: bank.filled]
    emo = slice(2, 2 + n_classes)
    return (explained_variance(bz, y[:, :2], zz) + explained_variance(bz, y[:, emo], zz)
            + explained_variance(bv, y[:, -2:-1], zv) + explained_variance(ba, y[:, -1:], za))


def _eval_mode(module: nn.Module, *args):
    """Run ``module`` with BatchNorm on its running statistics (decoded faces must not shift them, and faces decode as
    at inference), its weights live."""
    was = module.training
    module.eval()
    try:
        return module(*args)
    finally:
        module.train(was)


def cycle_charge(model, mu: torch.Tensor) -> torch.Tensor:
    """The "cycle" form: decoded edits re-encoded must keep the chunks the edit kept.

    Half the rows are edited in arousal only (the heads' valence kept), half in valence only; each edited face and
    the unedited reconstruction of the same latent are decoded (no gradient: the decoder is not taught to hide the
    edit) and encoded again by the live encoder (BatchNorm on its running statistics). Charged: how far z_z moved
    between the two, and z_v under arousal-only edits, z_a under valence-only ones, each squared shift over the
    chunk's total variance in the batch (so shrinking the latent cannot lower it; a dim the KL has closed cannot blow
    it up). An encoder whose z_z reads the expression,
    or whose z_v reads arousal, pays; one whose chunks each hold their own factor does not.
    """
    from models.editing import edit_latent

    mu = mu.detach().float()
    n = mu.shape[0] - mu.shape[0] % 2
    half = n // 2
    with torch.no_grad():
        target = model.heads(mu[:n])[0].float().clone()
        new = torch.rand(n, device=mu.device) * 2 - 1
        target[:half, 1] = new[:half]  # arousal-only edits
        target[half:, 0] = new[half:]  # valence-only edits
        faces = torch.cat([_eval_mode(model.decoder, edit_latent(model, mu[:n], target)),
                           _eval_mode(model.decoder, mu[:n])])
    back = _eval_mode(model.encoder, faces)[0].float()
    (ev, ea, ez), (bv, ba, bz) = model.split(back[:n]), model.split(back[n:])
    spread = [c.var(0).sum().clamp_min(1e-6) for c in model.split(mu[:n])]  # per chunk: its dims' total variance
    return (_chunk_shift(ez, bz.detach(), spread[2]) + _chunk_shift(ev[:half], bv[:half].detach(), spread[0])
            + _chunk_shift(ea[half:], ba[half:].detach(), spread[1]))


def swap_charge(model, mu: torch.Tensor) -> torch.Tensor:
    """The "swap" form: every face's affect chunks decoded with its neighbour's z_z must read back as both.

    Row i's z_v, z_a and row i+1's z_z (the batch rolled by one, so no row keeps its own) are decoded (no gradient:
    the decoder is not taught to hide anything) and encoded again by the live encoder (BatchNorm on its running
    statistics). Charged: how far the re-encoded z_z is from row i+1's and the re-encoded z_v, z_a from row i's, each
    squared distance over the chunk's total variance in the batch (so shrinking the latent cannot lower it). An
    encoder whose z_z reads the expression the decoder drew from row i's chunks pays; so does one whose z_v or z_a
    reads the identity drawn from row i+1's z_z.
    """
    return _rolled_chunks_charge(model, mu, (0, 0, 1))


def mix_charge(model, mu: torch.Tensor) -> torch.Tensor:
    """The "mix" form: the swap form with every chunk from a different face.

    Row i's z_v, row i+2's z_a and row i+1's z_z (the batch rolled by 0, 2 and 1) are decoded and encoded again as in
    the swap form; the re-encoded z_v must be row i's, z_a row i+2's and z_z row i+1's. The face now shows one face's
    valence with another's arousal, so a z_v that also reads arousal (or a z_a that reads valence) reads the other
    face's and pays, where the swap form, which keeps a face's two affect chunks together, never sees it.
    """
    return _rolled_chunks_charge(model, mu, (0, 2, 1))


def _rolled_chunks_charge(model, mu: torch.Tensor, shifts: tuple[int, int, int]) -> torch.Tensor:
    """The swap and mix forms' charge: z_v, z_a and z_z taken from the rows ``shifts`` ahead (the batch rolled), the
    face they draw decoded (no gradient) and encoded again by the live encoder (BatchNorm on its running statistics);
    each re-encoded chunk's squared distance from the chunk it was drawn from, over that chunk's total variance in
    the batch (so shrinking the latent cannot lower it)."""
    mu = mu.detach().float()
    index = torch.arange(len(mu), device=mu.device)
    drawn = [chunk[torch.roll(index, -k)] for chunk, k in zip(model.split(mu), shifts)]  # a batch of 2 rolls 2 to 0
    with torch.no_grad():
        faces = _eval_mode(model.decoder, torch.cat(drawn, 1))
    back = model.split(_eval_mode(model.encoder, faces)[0].float())
    return sum(_chunk_shift(b, want, want.var(0).sum().clamp_min(1e-6)) for b, want in zip(back, drawn))


def _chunk_shift(back: torch.Tensor, want: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """Mean squared distance of re-encoded chunks from their targets, over the chunk's total variance ``var``."""
    return (back - want).pow(2).sum(1).mean() / var


def _gaussian_gram(x: torch.Tensor) -> torch.Tensor:
    """Centred Gaussian Gram matrix (B, B) of rows x (B, d), bandwidth the median pairwise distance (not learned)."""
    x = x.float().reshape(len(x), -1)
    d2 = torch.cdist(x, x).pow(2)
    off = d2[~torch.eye(len(x), dtype=torch.bool, device=x.device)]
    sigma2 = off.detach().median().clamp_min(1e-6)
    k = torch.exp(-d2 / (2 * sigma2))
    h = k - k.mean(0, keepdim=True) - k.mean(1, keepdim=True) + k.mean()
    return h


def normalized_hsic(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """HSIC(x, y) / sqrt(HSIC(x, x) HSIC(y, y)) over a batch, in [0, 1]: 0 for independent rows (in the limit)."""
    kx, ky = _gaussian_gram(x), _gaussian_gram(y)
    return (kx * ky).sum() / ((kx * kx).sum() * (ky * ky).sum()).sqrt().clamp_min(1e-12)


def _corr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(dx, dy) Pearson correlations between the columns of x (B, dx) and y (B, dy) over the batch."""
    x = x.float() - x.float().mean(0)
    y = y.float() - y.float().mean(0)
    return (x.T @ y) / (x.norm(dim=0)[:, None] * y.norm(dim=0)[None, :]).clamp_min(1e-6)


def xcov_charge(chunks: tuple[torch.Tensor, ...], va: torch.Tensor, emotion: torch.Tensor, n_classes: int,
                means: ConditionalMeans) -> torch.Tensor:
    """The "xcov" form: the summed squared correlation, over the batch, of each dimension of z_z with V, A, V^2, A^2,
    V A and each emotion's indicator, of z_v's with arousal's residual A - E[A | V], and of z_a's with V - E[V | A]
    (the cross-covariance penalty of Cheung et al. 2014, on correlations so that scale cannot lower it)."""
    zv, za, zz = chunks
    v, a = va[:, :1].float(), va[:, 1:].float()
    onehot = F.one_hot(emotion, n_classes).float()
    present = onehot.sum(0) > 0  # a class absent from the batch has no correlation
    affect = torch.cat([v, a, v * v, a * a, v * a, onehot[:, present]], 1)
    a_rest = a - means.arousal_given_valence(v)
    v_rest = v - means.valence_given_arousal(a)
    return _corr(zz, affect).pow(2).sum() + _corr(zv, a_rest).pow(2).sum() + _corr(za, v_rest).pow(2).sum()


def hsic_charge(chunks: tuple[torch.Tensor, ...], va: torch.Tensor, emotion: torch.Tensor, n_classes: int,
                means: ConditionalMeans) -> torch.Tensor:
    """The "hsic" form (module docstring)."""
    zv, za, zz = chunks
    v, a = va[:, :1].float(), va[:, 1:].float()
    a_rest = a - means.arousal_given_valence(v)
    v_rest = v - means.valence_given_arousal(a)
    onehot = F.one_hot(emotion, n_classes).float()
    return (normalized_hsic(zz, va) + normalized_hsic(zz, onehot) + normalized_hsic(zv, a_rest)
            + normalized_hsic(za, v_rest))
