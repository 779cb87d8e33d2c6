"""The model package's networks, heads and loss terms."""

from __future__ import annotations

import pytest
import torch

from models.config import ConfigError, ModelConfig, TrainConfig
from models.losses import StepAids, discretize
from models.vae import VAE


def _batch(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, 64, 64, generator=g)
    va = torch.rand(n, 2, generator=g) * 2 - 1
    return x, va


@pytest.mark.parametrize("kind", ["vanilla", "levasa"])
@pytest.mark.parametrize("mode", ["continuous", "discrete"])
def test_forward_shapes_and_finite_loss(kind, mode):
    model = VAE(ModelConfig(kind=kind, label_mode=mode, zv_dim=8, za_dim=6, zz_dim=10))
    x, va = _batch()
    out = model(x)
    assert out.recon.shape == (8, 3, 64, 64)
    assert out.mu.shape == out.logvar.shape == out.z.shape == (8, 24)
    assert out.va.shape == (8, 2)
    assert (out.logits is None) == (mode == "continuous")
    if mode == "discrete":
        assert out.logits.shape == (8, 2, 21)
    terms = model.loss(x, va, out)
    assert set(terms) >= {"loss", "recon", "kl", "kl_v", "kl_a", "kl_z", "align", "align_v", "align_a"}
    assert all(torch.isfinite(v) for v in terms.values())
    assert torch.allclose(terms["kl"], terms["kl_v"] + terms["kl_a"] + terms["kl_z"])


def test_reference_architecture_size():
    model = VAE(ModelConfig())
    n = sum(p.numel() for p in model.parameters())
    assert 7.9e6 < n < 8.1e6, n  # the reference's 8.0M parameters
    assert model.encoder.fc[0][0].in_features == 4608  # 512 x 3 x 3 after four k3 s2 convolutions


def test_decoder_output_is_bounded_and_batch_independent():
    model = VAE(ModelConfig()).eval()
    z = torch.randn(5, 96) * 10  # far outside the prior
    img = model.decode(z)
    assert img.min() >= 0 and img.max() <= 1
    alone = model.decode(z[:1])
    assert torch.allclose(alone, img[:1], atol=1e-5)


def test_discrete_labels_are_offset_into_class_range():
    va = torch.tensor([[-1.0, 1.0], [0.0, -0.04], [0.96, -0.96]])
    assert discretize(va).tolist() == [[0, 20], [10, 10], [20, 0]]
    model = VAE(ModelConfig(label_mode="discrete"))
    x, _ = _batch(3)
    terms = model.loss(x, va)
    assert torch.isfinite(terms["align"])  # the reference's raw -10..10 labels gave NaN here


def test_discrete_head_scalar_is_expected_value_in_range():
    model = VAE(ModelConfig(label_mode="discrete")).eval()
    va, logits = model.heads(torch.randn(4, 96) * 5)
    probs = logits.softmax(-1)
    expected = probs @ (torch.arange(-10, 11).float() / 10)
    assert torch.allclose(va, expected, atol=1e-5)
    assert va.abs().max() <= 1


@pytest.mark.parametrize("kind,shapes_encoder", [("levasa", True), ("vanilla", False)])
def test_alignment_reaches_encoder_only_for_levasa(kind, shapes_encoder):
    torch.manual_seed(0)
    model = VAE(ModelConfig(kind=kind))
    x, va = _batch()
    model.loss(x, va)["align"].backward()
    enc_grad = sum(p.grad.abs().sum() for p in model.encoder.parameters() if p.grad is not None)
    head_grad = sum(p.grad.abs().sum() for p in model.head_v.parameters())
    assert head_grad > 0  # both models train their heads
    assert (enc_grad > 0) == shapes_encoder


@pytest.mark.parametrize("mode", ["continuous", "discrete"])
def test_loss_falls_on_a_small_batch(mode):
    torch.manual_seed(0)
    model = VAE(ModelConfig(label_mode=mode))
    x, va = _batch(16)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    first = None
    for _ in range(25):
        terms = model.loss(x, va)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        first = first if first is not None else {k: float(v.detach()) for k, v in terms.items()}
    assert float(terms["loss"].detach()) < 0.7 * first["loss"]
    assert float(terms["align"].detach()) < 0.7 * first["align"]


def test_split_chunks_follow_config():
    model = VAE(ModelConfig(zv_dim=3, za_dim=4, zz_dim=5))
    zv, za, zz = model.split(torch.arange(12.0)[None])
    assert zv.tolist() == [[0, 1, 2]] and za.tolist() == [[3, 4, 5, 6]] and zz.shape == (1, 5)


def test_config_rejects_unknown_keys_and_wrong_types():
    with pytest.raises(ConfigError, match="unknown ModelConfig key.*zv_dims"):
        ModelConfig.from_dict({"zv_dims": 3})
    with pytest.raises(ConfigError, match="epochs must be int"):
        TrainConfig.from_dict({"epochs": "3"})
    with pytest.raises(ConfigError, match="kind must be one of vanilla, levasa"):
        ModelConfig(kind="beta")
    assert ModelConfig.from_dict(ModelConfig(zz_dim=7).to_dict()) == ModelConfig(zz_dim=7)
    assert isinstance(TrainConfig.from_dict({"warmup": 0}).warmup, float)  # ints are accepted for floats


def test_edit_consistency_trains_the_decoder_only():
    torch.manual_seed(0)
    model = VAE(ModelConfig(edit_weight=1.0))
    x, va = _batch(8)
    terms = model.loss(x, va)
    assert {"edit", "edit_v", "edit_a"} <= set(terms) and torch.isfinite(terms["edit"])
    terms["edit"].backward()
    assert sum(p.grad.abs().sum() for p in model.decoder.parameters() if p.grad is not None) > 0
    assert all(p.grad is None for p in model.encoder.parameters())  # the re-encoding is frozen
    assert all(p.grad is None for p in model.head_v.parameters())
    assert "edit" not in VAE(ModelConfig(kind="vanilla", edit_weight=1.0)).loss(x, va)


def test_local_edit_reads_back_the_expression_box_only_and_holds_the_rest_still():
    from models.editing import expression_box

    torch.manual_seed(0)
    model = VAE(ModelConfig(edit_weight=1.0, edit_local=True))
    x, va = _batch(8)
    seen = []
    model.encoder.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    out = model(x)
    terms = model.loss(x, va, out=out)
    # an untrained decoder moves pixels outside the box when z_v and z_a move: the keep term has something to hold
    assert {"edit", "edit_keep"} <= set(terms) and float(terms["edit_keep"].detach()) > 0
    # seen: [the batch itself, the read-back input]; outside the box the read-back sees the unedited decode
    readback = seen[-1]
    model.decoder.eval()
    with torch.no_grad():
        base = model.decoder(out.mu[: readback.shape[0]].detach().float())
    box = expression_box()
    assert torch.allclose(readback[..., ~box], base[..., ~box], atol=1e-5)
    assert (readback - base)[..., box].abs().max() > 1e-5  # the edit shows inside (a little: untrained weights)
    model.decoder.train()
    (terms["edit"] + terms["edit_keep"]).backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert sum(p.grad.abs().sum() for p in model.decoder.parameters() if p.grad is not None) > 0
    assert "edit_keep" not in VAE(ModelConfig(edit_weight=1.0)).loss(x, va)


def test_feathered_mask_ramps_smoothly_across_the_box_edge_and_is_the_hard_box_at_zero():
    from models.editing import EXPR_COLS, EXPR_ROWS, expression_box, expression_mask

    hard = expression_mask(0.0)
    box = expression_box()
    area = (EXPR_ROWS.stop - EXPR_ROWS.start) * (EXPR_COLS.stop - EXPR_COLS.start)
    assert box[EXPR_ROWS, EXPR_COLS].all() and int(box.sum()) == area, "the hard box is exactly the box's slices"
    assert set(hard.unique().tolist()) <= {0, 1}
    m = expression_mask(8.0)
    row = m[(EXPR_ROWS.start + EXPR_ROWS.stop) // 2]  # across the left and right edges
    left = row[EXPR_COLS.start - 6 : EXPR_COLS.start + 6]
    assert (left.diff() >= 0).all() and left[0] < 0.01 and left[-1] > 0.99  # 0 outside, rising, 1 inside
    assert 0.3 < float(row[EXPR_COLS.start]) < 0.7  # the old edge sits mid-ramp
    assert float(m.diff(dim=1).abs().max()) < 0.25  # no step: at most a quarter of the range per pixel
    assert torch.allclose(m, m.flip(1)) and m.min() == 0 and m.max() == 1  # the box is centred in its columns
    with pytest.raises(ValueError, match="feather must be >= 0"):
        expression_mask(-1)


def test_feathered_edit_term_blends_the_read_back_by_the_mask():
    from models.editing import expression_mask

    torch.manual_seed(0)
    model = VAE(ModelConfig(edit_weight=1.0, edit_local=True, edit_feather=6.0))
    x, va = _batch(8)
    seen, decoded = [], []
    model.encoder.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    model.decoder.register_forward_hook(lambda m, args, out: decoded.append(out.detach().clone()))
    terms = model.loss(x, va)
    _, edited, base = decoded  # the batch's reconstruction, the edited decodes, the unedited ones
    m = expression_mask(6.0)
    assert torch.allclose(seen[-1], m * edited + (1 - m) * base, atol=1e-5)  # a blend by the mask, not a cut
    ramp = (m > 0.05) & (m < 0.95)
    assert ramp.sum() > 100 and (edited - base)[..., ramp].abs().mean() > 0  # the ramp is wide and the edit shows on it
    keep = 1 - m
    want = ((edited - base).pow(2).mean(1) * keep).mean(0).sum() / keep.sum()
    assert float(terms["edit_keep"].detach()) == pytest.approx(float(want), rel=1e-4) and float(want) > 0


def test_gaussian_blur_removes_a_fine_speckle_keeps_a_broad_pattern_and_preserves_the_mean():
    from models.editing import gaussian_blur

    cols = torch.arange(64, dtype=torch.float32)
    fine = (0.5 + 0.5 * torch.cos(2 * torch.pi * cols / 4)).expand(1, 3, 64, 64)  # a 4 px stripe
    broad = (0.5 + 0.5 * torch.cos(2 * torch.pi * cols / 32)).expand(1, 3, 64, 64)  # a 32 px one
    swing = lambda t: float(t[..., 16:48].amax() - t[..., 16:48].amin())  # away from the reflected border
    assert swing(gaussian_blur(fine, 1.5)) < 0.1 * swing(fine)
    assert swing(gaussian_blur(broad, 1.5)) > 0.85 * swing(broad)
    x = torch.rand(2, 3, 64, 64)
    assert gaussian_blur(x, 0.0) is x
    assert float(gaussian_blur(x, 2.0).mean()) == pytest.approx(float(x.mean()), abs=1e-2)
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        gaussian_blur(x, -1.0)


def test_edit_blur_makes_the_read_back_see_the_edit_blurred():
    from models.editing import gaussian_blur

    torch.manual_seed(0)
    model = VAE(ModelConfig(edit_weight=1.0, edit_blur=1.5))
    x, va = _batch(8)
    seen, decoded = [], []
    model.encoder.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    model.decoder.register_forward_hook(lambda m, args, out: decoded.append(out.detach().clone()))
    model.loss(x, va)
    edited = decoded[-1]
    assert torch.allclose(seen[-1], gaussian_blur(edited, 1.5), atol=1e-5)
    assert not torch.allclose(seen[-1], edited, atol=1e-3)  # what it read is not the sharp decode
    with pytest.raises(ConfigError, match="edit_blur must be in"):
        ModelConfig(edit_blur=-0.5)


def test_perceptual_loss_is_zero_for_the_original_and_grows_with_blur_gradients_reaching_only_the_image():
    import torch.nn.functional as F

    from models.eval.judge import VARegressor
    from models.losses import perceptual_loss

    torch.manual_seed(0)
    net = VARegressor().eval().requires_grad_(False)
    x = torch.rand(4, 3, 64, 64)
    blur = lambda t, k: F.avg_pool2d(F.pad(t, (k // 2,) * 4, mode="replicate"), k, stride=1)
    assert float(perceptual_loss(net, x, x)) == pytest.approx(0.0, abs=1e-6)
    mild, strong = (perceptual_loss(net, blur(x, k), x) for k in (3, 7))
    assert 0 < float(mild) < float(strong)
    recon = blur(x, 5).requires_grad_(True)
    perceptual_loss(net, recon, x).backward()
    assert recon.grad.abs().sum() > 0 and all(p.grad is None for p in net.parameters())


def test_laplacian_loss_charges_lost_detail_not_a_change_of_tone_of_the_same_mse():
    import torch.nn.functional as F

    from models.losses import laplacian_loss

    torch.manual_seed(0)
    x = torch.rand(4, 3, 64, 64)
    blurred = F.avg_pool2d(F.pad(x, (2,) * 4, mode="replicate"), 5, stride=1)
    tone = x + (blurred - x).pow(2).mean().sqrt()  # every pixel brighter: the blur's MSE, no detail lost
    assert F.mse_loss(tone, x) == pytest.approx(float(F.mse_loss(blurred, x)), rel=1e-4)
    assert float(laplacian_loss(x, x)) == 0.0
    assert float(laplacian_loss(tone, x)) < 1e-6 < 0.01 < float(laplacian_loss(blurred, x))
    recon = blurred.clone().requires_grad_(True)
    laplacian_loss(recon, x).backward()
    assert recon.grad.abs().sum() > 0
    model = VAE(ModelConfig(kind="vanilla", laplacian_weight=0.5))
    terms = model.loss(*_batch(4))
    assert float(terms["laplacian"].detach()) > 0
    assert "laplacian" not in VAE(ModelConfig(kind="vanilla")).loss(*_batch(4))  # off by default
    with pytest.raises(ConfigError, match="laplacian_weight must be >= 0"):
        ModelConfig(laplacian_weight=-1)


def test_perceptual_weight_needs_its_network_and_adds_the_term():
    from models.eval.judge import VARegressor

    model = VAE(ModelConfig(kind="vanilla", perceptual_weight=0.1))
    x, va = _batch(4)
    with pytest.raises(ValueError, match="needs the perceptual network"):
        model.loss(x, va)
    terms = model.loss(x, va, aids=StepAids(percept=VARegressor().eval().requires_grad_(False)))
    plain = VAE(ModelConfig(kind="vanilla")).loss(x, va)
    assert "perceptual" in terms and "perceptual" not in plain and float(terms["perceptual"].detach()) > 0
    with pytest.raises(ConfigError, match="perceptual_weight must be >= 0"):
        ModelConfig(perceptual_weight=-1)
    with pytest.raises(ConfigError, match="edit_feather must be in"):
        ModelConfig(edit_feather=20)


def test_patch_discriminator_learns_to_tell_faces_from_blurs_and_charges_the_decoder_for_them():
    import torch.nn.functional as F

    from models.train.adversarial import discriminator_step, make_adversary

    torch.manual_seed(0)
    disc, opt = make_adversary(torch.device("cpu"))
    x = torch.rand(16, 3, 64, 64)  # sharp texture stands in for real faces
    blur = F.avg_pool2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), 5, stride=1)
    assert disc(x).shape == (16, 1, 14, 14)
    first = float(discriminator_step(disc, opt, x, blur))
    for _ in range(30):
        last = float(discriminator_step(disc, opt, x, blur))
    with torch.no_grad():
        assert last < first and float(disc(x).mean()) > float(disc(blur).mean())  # it learned the difference
    opt.zero_grad(set_to_none=True)
    model = VAE(ModelConfig(kind="vanilla", adversarial_weight=0.1))
    xb, va = _batch(4)
    with pytest.raises(ValueError, match="needs the discriminator"):
        model.loss(xb, va)
    terms = model.loss(xb, va, aids=StepAids(disc=disc))
    assert "adversarial" in terms
    terms["loss"].backward()
    assert all(p.grad is None for p in disc.parameters())  # the generator's term leaves the discriminator be
    assert sum(p.grad.abs().sum() for p in model.decoder.parameters()) > 0
    assert "adversarial" not in model.loss(xb, va, aids=StepAids(disc=disc, adversarial_scale=0.0))  # before its ramp
    with pytest.raises(ConfigError, match="adversarial_start must be in"):
        ModelConfig(adversarial_start=1.0)


# --- relational alignment ---------------------------------------------------------------------------------------------
def test_relational_distance_is_zero_when_latent_distances_equal_va_distances():
    from models.losses import relational_loss

    torch.manual_seed(0)
    va = torch.rand(32, 2) * 2 - 1
    zv = va[:, :1] * torch.ones(1, 8)  # ||z_v,i - z_v,j|| / sqrt(8) = |v_i - v_j|
    za = va[:, 1:] * torch.ones(1, 4)
    assert float(relational_loss(zv, za, va, "distance")) < 1e-3
    assert float(relational_loss(torch.randn(32, 8), torch.randn(32, 4), va, "distance")) > 0.3
    # Swapping the chunks (valence in z_a) is penalised: the distance form keeps each axis in its own chunk.
    assert float(relational_loss(za[:, :1] * torch.ones(1, 8), zv[:, :4], va, "distance")) > 0.3


def test_relational_cosine_sees_direction_not_magnitude():
    from models.losses import relational_loss

    torch.manual_seed(0)
    va = torch.rand(32, 2) * 2 - 1
    aligned = relational_loss(va[:, :1] * 3, va[:, 1:] * 3, va, "cosine")  # same directions, 3x the length
    assert float(aligned) < 1e-3
    assert float(relational_loss(torch.randn(32, 1), torch.randn(32, 1), va, "cosine")) > 0.3
    with pytest.raises(ValueError, match="cosine or distance"):
        relational_loss(va[:, :1], va[:, 1:], va, "angle")


@pytest.mark.parametrize("form", ["cosine", "distance"])
def test_relational_alone_shapes_the_encoder_while_the_heads_only_read(form):
    torch.manual_seed(0)
    model = VAE(ModelConfig(relational=form, head_grad=False))
    x, va = _batch()
    terms = model.loss(x, va)
    assert "relational" in terms and float(terms["relational"].detach()) > 0
    terms["align"].backward(retain_graph=True)
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0 for p in model.encoder.parameters())
    assert sum(float(p.grad.abs().sum()) for p in model.head_v.parameters()) > 0
    model.zero_grad()
    terms["relational"].backward()
    assert sum(float(p.grad.abs().sum()) for p in model.encoder.parameters() if p.grad is not None) > 0


def test_relational_options_are_checked():
    with pytest.raises(ConfigError, match="relational must be one of"):
        ModelConfig(relational="angle")
    with pytest.raises(ConfigError, match="LeVAsa options"):
        ModelConfig(kind="vanilla", relational="distance")
    with pytest.raises(ConfigError, match="nothing aligning"):
        ModelConfig(head_grad=False)


def _fit(cfg: ModelConfig, term: str, steps: int = 25) -> tuple[float, float]:
    """(first, last) value of one loss term while Adam fits a fixed batch of 16."""
    torch.manual_seed(0)
    model = VAE(cfg)
    x, va = _batch(16)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    first = float(model.loss(x, va)[term].detach())
    for _ in range(steps):
        terms = model.loss(x, va)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
    return first, float(terms[term].detach())


def test_relational_distance_training_falls_on_a_small_batch():
    first, last = _fit(ModelConfig(relational="distance", head_grad=False), "relational")
    assert last < 0.7 * first


def test_ccc_alignment_loss_is_one_minus_the_batch_ccc_per_axis():
    from models.eval.affect import ccc
    from models.losses import batch_ccc

    g = torch.Generator().manual_seed(1)
    p, y = torch.randn(64, generator=g), torch.randn(64, generator=g)
    assert abs(float(batch_ccc(p, 0.5 * p + 0.3 * y)) - ccc((0.5 * p + 0.3 * y).numpy(), p.numpy())) < 1e-4
    # A prediction with the right correlation but half the spread: MSE is content, CCC is not.
    assert float(batch_ccc(0.5 * p, p)) < 0.85
    model = VAE(ModelConfig(align_loss="ccc")).eval()
    x, va = _batch(16)
    with torch.no_grad():
        terms, out = model.loss(x, va), model(x)
    want_v = 1 - ccc(va[:, 0].numpy(), out.va[:, 0].detach().numpy())
    assert abs(float(terms["align_v"]) - want_v) < 1e-4
    assert abs(float(terms["align"]) - want_v - float(terms["align_a"])) < 1e-6


def test_ccc_alignment_trains_and_needs_continuous_labels():
    first, last = _fit(ModelConfig(align_loss="ccc"), "align")
    assert last < 0.5 * first
    with pytest.raises(ConfigError, match="align_loss must be one of mse, ccc"):
        ModelConfig(align_loss="huber")
    with pytest.raises(ConfigError, match="needs continuous labels"):
        ModelConfig(align_loss="ccc", label_mode="discrete")


@pytest.mark.parametrize("options", [{"upsample": "transposed3"}, {"upsample": "transposed4"}, {"upsample": "resize"},
                                     {"refine": 16}, {"hidden": (512,)}])
def test_every_decoder_option_makes_bounded_64_px_faces_and_trains(options):
    torch.manual_seed(0)
    model = VAE(ModelConfig(**options))
    x, va = _batch(4)
    out = model(x)
    assert out.recon.shape == (4, 3, 64, 64) and 0 < float(out.recon.min()) and float(out.recon.max()) < 1
    model.loss(x, va, out=out)["loss"].backward()
    assert all(p.grad is not None for p in model.decoder.parameters())


def test_the_refine_option_ends_the_decoder_in_a_full_size_convolution():
    """With ``refine`` the RGB comes from a 3x3 convolution over 64 px features, not from the last upsampling."""
    last = VAE(ModelConfig(refine=16)).decoder.deconv[-1]
    assert isinstance(last, torch.nn.Conv2d) and last.in_channels == 16 and last.stride == (1, 1)
    with pytest.raises(ConfigError, match="refine must be in"):
        ModelConfig(refine=-1)


def test_the_reference_decoder_keeps_its_weights_layout():
    """Runs trained before the option existed load as they are: same parameter names, shapes and count (8.0M)."""
    model = VAE(ModelConfig())
    assert ModelConfig().upsample == "transposed3"
    assert sum(p.numel() for p in model.parameters()) == 8_008_709
    shapes = {k: tuple(v.shape) for k, v in model.decoder.state_dict().items() if k.startswith("deconv")}
    assert shapes["deconv.0.weight"] == (512, 256, 3, 3) and shapes["deconv.9.weight"] == (64, 3, 3, 3)
