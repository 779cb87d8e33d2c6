"""The loss terms of the VAE family, one function each, and ``vae_loss`` that weighs them into the training total.

Normalisation is the reference's, so its weights mean the same thing here:
  recon = MSE averaged over pixels and the batch;
  kl    = sum over latent dims of KL(q(z|x) || N(0, I)), averaged over the batch, divided by the pixel count (3*64*64);
          reported per chunk (kl_v, kl_a, kl_z) and weighted by ``kl_weight`` (0.5), z_z's share ``zz_kl_scale``
          times that (LeVAsa; 1 by default);
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
          (``edit_keep``, a pixel MSE weighted 1 like the reconstruction). ``edit_feather`` (px) softens the box's
          edge for both (models.editing.expression_mask): with a hard edge the decoder learned to draw it, a seam
          that shows in edited faces. Without it the decoder learned to tell its
          own encoder the target through the whole image (background and hair shifting with VA), which cost
          reconstruction outside the box: 0.0128 against vanilla's 0.0078 on synthetic faces.
          ``edit_blur`` (px) blurs what the read-back sees (models.editing.gaussian_blur): without it the decoder can
          also tell its encoder the target in a fine speckle (periods of 2-4 px), which then shows in every decode.
  perceptual = (``perceptual_weight`` > 0) the reconstruction against the original in the features of a network
          trained on the run's training split (models.train.percept): pixel MSE rewards a blur that hedges between
          faces; features that respond to edges and parts charge for it.
  laplacian = (``laplacian_weight`` > 0) L1 between the reconstruction's and the original's Laplacian-pyramid bands
          (``LAP_LEVELS`` levels, the finest weighed most): a network-free charge for blur.
  adversarial = (``adversarial_weight`` > 0) the hinge generator loss of a patch discriminator on the
          reconstruction (models.train.adversarial), ramped in from ``adversarial_start``; the discriminator itself
          trains in the loop, beside the model.
  disentangle = (LeVAsa, ``disentangle`` on) what each chunk of the latent means holds beyond its own factor, by
          predictors trained beside the model or refit at each step, by an independence criterion, or by decoded
          faces read back (models.train.disentangle),
          weighted by ``disentangle_weight``.
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

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from models.config import ModelConfig
from models.editing import edit_latent, expression_mask, gaussian_blur

if TYPE_CHECKING:
    from models.vae import VAE, VAEOutput

N_PIXELS = 3 * 64 * 64
LAP_LEVELS = 3  # the Laplacian term's bands: periods of about 2-4, 4-8 and 8-16 px at 64 px
DECODED_FORMS = ("cycle", "swap", "mix")  # disentangle forms that read decoded faces, so wait for the edit term's ramp
Terms = dict[str, torch.Tensor]


@dataclass
class StepAids:
    """What some terms need beyond the model and the batch: the late terms' ramp scales this step (0..1; at 0 a term is
    not computed) and the networks that the perceptual and adversarial terms score with."""

    edit_scale: float = 1.0
    disentangle_scale: float = 1.0  # the cycle, swap and mix forms' ramp (models.config.ModelConfig.disentangle_start)
    adversarial_scale: float = 1.0
    percept: nn.Module | None = None  # required when perceptual_weight > 0
    disc: nn.Module | None = None  # required when adversarial_weight > 0
    emotion: torch.Tensor | None = None  # (B,) emotion codes of the batch: required when disentangle is on ...
    label_means: nn.Module | None = None  # ... with the training labels' ConditionalMeans (models.train.disentangle)
    chunk_adv: nn.Module | None = None  # ... and, for the adversary form, its predictors
    code_bank: nn.Module | None = None  # ... or, for the refit form, its bank of recent codes


def recon_loss(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Pixel MSE averaged over pixels and the batch."""
    return F.mse_loss(recon, x.float())


def laplacian_bands(images: torch.Tensor, levels: int = LAP_LEVELS) -> list[torch.Tensor]:
    """A Laplacian pyramid's band-pass levels, finest first: each level minus its 2x average-pooled, re-upsampled
    self (the detail that scale adds), then the next level down."""
    bands = []
    for _ in range(levels):
        low = F.avg_pool2d(images, 2)
        bands.append(images - F.interpolate(low, scale_factor=2, mode="bilinear", align_corners=False))
        images = low
    return bands


def laplacian_loss(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """L1 between the reconstruction's and the original's Laplacian-pyramid bands, level j weighed 2^-2j (the Lap1
    loss of Bojanowski et al., 2018, "Optimizing the latent space of generative networks"), per pixel of each level.
    No network: an edge drawn soft costs in every band it spans, and L1 charges a blur that hedges between two
    edges where MSE pays least for it."""
    pairs = zip(laplacian_bands(recon.float()), laplacian_bands(x.float()))
    return sum(4.0 ** -j * (r - t).abs().mean() for j, (r, t) in enumerate(pairs))


def perceptual_loss(percept: nn.Module, recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Sum over ``percept``'s conv blocks of the squared distance between channel-normalised features, averaged over
    positions and the batch (LPIPS's form, unweighted). ``percept`` is frozen; gradients reach ``recon`` only."""
    with torch.no_grad():
        target = [F.normalize(f.float(), dim=1, eps=1e-6) for f in percept.block_features(x.float())]
    total = recon.new_zeros((), dtype=torch.float32)
    for f, t in zip(percept.block_features(recon), target):
        total = total + (F.normalize(f.float(), dim=1, eps=1e-6) - t).pow(2).sum(1).mean()
    return total


def kl_terms(model: VAE, mu: torch.Tensor, logvar: torch.Tensor) -> Terms:
    """KL to N(0, I) per chunk, summed over its dims, averaged over the batch, divided by the pixel count."""
    mu, logvar = mu.float(), logvar.float()
    kl_dims = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean(0)  # (D,)
    kl_v, kl_a, kl_z = (k.sum() / N_PIXELS for k in model.split(kl_dims[None]))
    return {"kl": kl_v + kl_a + kl_z, "kl_v": kl_v, "kl_a": kl_a, "kl_z": kl_z}


def align_terms(cfg: ModelConfig, out: VAEOutput, va_target: torch.Tensor) -> Terms:
    """The heads against the labels, per axis: MSE, 1 - batch CCC, or the 21-way cross-entropy."""
    if cfg.label_mode == "discrete":
        cls = discretize(va_target)  # (B, 2) in 0..20: the +10 offset the reference forgot
        per_axis = [F.cross_entropy(out.logits[:, j], cls[:, j]) for j in (0, 1)]
    elif cfg.align_loss == "ccc":
        per_axis = [1.0 - batch_ccc(out.va[:, j].float(), va_target[:, j].float()) for j in (0, 1)]
    else:
        per_axis = [F.mse_loss(out.va[:, j], va_target[:, j]) for j in (0, 1)]
    return {"align": per_axis[0] + per_axis[1], "align_v": per_axis[0], "align_a": per_axis[1]}


def batch_ccc(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Lin's concordance correlation of two (B,) tensors (population moments, as models.eval.affect.ccc);
    differentiable. ``eps`` keeps a batch of identical predictions and labels finite."""
    mp, mt = pred.mean(), target.mean()
    cov = ((pred - mp) * (target - mt)).mean()
    return 2 * cov / (pred.var(unbiased=False) + target.var(unbiased=False) + (mp - mt).pow(2) + eps)


def discretize(va: torch.Tensor) -> torch.Tensor:
    """VA in [-1, 1] -> class index round(10 x) + 10 in 0..20 (long)."""
    return (torch.round(va.clamp(-1, 1) * 10) + 10).long()


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


def relational_terms(model: VAE, out: VAEOutput, va_target: torch.Tensor) -> Terms:
    zv, za, _ = model.split(out.mu.float())
    return {"relational": relational_loss(zv, za, va_target.float(), model.cfg.relational)}


def _disk_targets(n: int, device: torch.device) -> torch.Tensor:
    """(n, 2) targets uniform over the unit disk."""
    r, t = torch.rand(n, device=device).sqrt(), torch.rand(n, device=device) * 2 * torch.pi
    return torch.stack([r * torch.cos(t), r * torch.sin(t)], 1)


def _decode_as_inference(decoder: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Decode with BatchNorm on its running statistics, as at inference (they stay those of real faces)."""
    was = decoder.training
    decoder.eval()
    try:
        return decoder(z)
    finally:
        decoder.train(was)


def edit_terms(model: VAE, out: VAEOutput) -> Terms:
    """Edit consistency (module docstring): edited decodes must read back, through the frozen encoder and heads, as
    their targets; with ``edit_local`` only inside the expression box, the rest held to the unedited decode."""
    n = max(2, round(out.z.shape[0] * model.cfg.edit_fraction))
    mu = out.mu[:n].detach().float()
    target = _disk_targets(n, mu.device)
    with torch.no_grad():
        z_edit = edit_latent(model, mu, target)
    faces = _decode_as_inference(model.decoder, z_edit)
    terms: Terms = {}
    if model.cfg.edit_local:
        with torch.no_grad():
            base = _decode_as_inference(model.decoder, mu)  # the unedited face, rendered the same way
        box = expression_mask(model.cfg.edit_feather, faces.device)  # (64, 64) in [0, 1]
        keep = 1.0 - box
        # pixels outside the box must not move (a weighted mean: the plain mean outside a hard box)
        terms["edit_keep"] = ((faces - base).pow(2).mean(1) * keep).mean(0).sum() / keep.sum()
        faces = box * faces + keep * base  # the read-back sees the edit only where expressions live
    faces = gaussian_blur(faces, model.cfg.edit_blur)  # no speckle finer than the blur can carry a target
    zv, za, _ = model.split(frozen(model.encoder, faces)[0])
    va_back = torch.stack([frozen(model.head_v, zv)[0], frozen(model.head_a, za)[0]], 1)
    edit_v = F.mse_loss(va_back[:, 0].float(), target[:, 0])
    edit_a = F.mse_loss(va_back[:, 1].float(), target[:, 1])
    return {"edit": edit_v + edit_a, "edit_v": edit_v, "edit_a": edit_a, **terms}


def disentangle_term(model: VAE, out: VAEOutput, va_target: torch.Tensor, aids: StepAids) -> torch.Tensor:
    """What the latent means' chunks hold beyond their own factor, by the recipe's form (models.train.disentangle)."""
    from models.train.disentangle import (
        adversary_charge,
        cycle_charge,
        hsic_charge,
        mix_charge,
        refit_charge,
        swap_charge,
        xcov_charge,
    )

    if model.cfg.disentangle in DECODED_FORMS:
        return {"cycle": cycle_charge, "swap": swap_charge, "mix": mix_charge}[model.cfg.disentangle](model, out.mu)
    if aids.emotion is None or aids.label_means is None:
        raise ValueError("disentangle needs the batch's emotion codes and the labels' ConditionalMeans (StepAids)")
    chunks = model.split(out.mu.float())
    if model.cfg.disentangle in ("hsic", "xcov"):
        charge = hsic_charge if model.cfg.disentangle == "hsic" else xcov_charge
        return charge(chunks, va_target, aids.emotion, len(aids.label_means.prior), aids.label_means)
    if model.cfg.disentangle == "refit":
        if aids.code_bank is None:
            raise ValueError("disentangle refit needs its bank of codes (models.train.disentangle.CodeBank)")
        return refit_charge(aids.code_bank, chunks, len(aids.label_means.prior))
    if aids.chunk_adv is None:
        raise ValueError("disentangle adversary needs its predictors (models.train.disentangle.make_chunk_adversary)")
    return adversary_charge(frozen(aids.chunk_adv, *chunks), va_target, aids.label_means)


def frozen(module: nn.Module, *args):
    """Run ``module`` in eval mode with its weights detached: gradients reach the inputs, never its parameters."""
    params = {k: v.detach() for k, v in module.named_parameters()}
    was = module.training
    module.eval()
    try:
        return torch.func.functional_call(module, {**params, **dict(module.named_buffers())}, args)
    finally:
        module.train(was)


def vae_loss(model: VAE, x: torch.Tensor, va_target: torch.Tensor, out: VAEOutput,
             aids: StepAids | None = None) -> Terms:
    """Every term that applies to ``model.cfg``, and ``loss``, their weighted total (``aids``: ramp scales and the
    networks some terms score with)."""
    assert va_target.shape == (x.shape[0], 2), f"va_target must be (B, 2), got {tuple(va_target.shape)}"
    c, aids = model.cfg, aids or StepAids()
    terms: Terms = {"recon": recon_loss(out.recon, x), **kl_terms(model, out.mu, out.logvar),
                    **align_terms(c, out, va_target)}
    weights = {"recon": 1.0, "kl": c.kl_weight, "align": c.align_weight}
    if c.zz_kl_scale != 1.0:  # z_z's share of the KL weighed apart: kl_weight x zz_kl_scale in all
        weights["kl_z"] = c.kl_weight * (c.zz_kl_scale - 1.0)
    if c.perceptual_weight > 0:
        if aids.percept is None:
            raise ValueError("perceptual_weight > 0 needs the perceptual network (models.train.percept.load_percept)")
        terms["perceptual"] = perceptual_loss(aids.percept, out.recon, x)
        weights["perceptual"] = c.perceptual_weight
    if c.laplacian_weight > 0:
        terms["laplacian"] = laplacian_loss(out.recon, x)
        weights["laplacian"] = c.laplacian_weight
    if c.adversarial_weight > 0 and aids.adversarial_scale > 0:
        if aids.disc is None:
            raise ValueError("adversarial_weight > 0 needs the discriminator (models.train.adversarial)")
        terms["adversarial"] = -frozen(aids.disc, out.recon).mean()  # hinge generator loss; D's weights untouched
        weights["adversarial"] = aids.adversarial_scale * c.adversarial_weight
    if c.kind == "levasa" and c.relational != "none":
        terms |= relational_terms(model, out, va_target)
        weights["relational"] = c.relational_weight
    decoded = c.disentangle in DECODED_FORMS
    if c.kind == "levasa" and c.disentangle != "none" and (not decoded or aids.disentangle_scale > 0):
        terms["disentangle"] = disentangle_term(model, out, va_target, aids)
        # the cycle, swap and mix forms read decoded faces: they ramp in late (with the edit term unless
        # disentangle_start says when), once the decoder renders faces
        weights["disentangle"] = c.disentangle_weight * (aids.disentangle_scale if decoded else 1.0)
    if c.kind == "levasa" and c.edit_weight > 0 and aids.edit_scale > 0:
        terms |= edit_terms(model, out)
        weights["edit"] = aids.edit_scale * c.edit_weight
        if "edit_keep" in terms:  # a pixel MSE, weighted as the reconstruction's
            weights["edit_keep"] = aids.edit_scale
    total = sum(w * terms[k] for k, w in weights.items())
    return {"loss": total, **terms}
