"""Chunks that each hold one thing: the disentangle terms (models.train.disentangle), the leakage matrix that measures
them (models.eval.leakage) and the polar edit grid (models.eval.polar)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.config import ConfigError, ModelConfig, TrainConfig
from models.eval.leakage import leakage, probe_r2
from models.eval.polar import N_DIRECTIONS, STRENGTHS, polar_targets, sector_table
from models.train.disentangle import ConditionalMeans, adversary_charge, normalized_hsic


def _labels(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    v = rng.uniform(-1, 1, n)
    a = np.clip(0.5 * v**2 - 0.2 + 0.3 * rng.standard_normal(n), -1, 1)  # arousal depends on valence, loosely
    emotions = np.where(v > 0.3, "happy", np.where(v < -0.3, "sad", "neutral"))
    return np.stack([v, a], 1), emotions


def test_conditional_means_recover_arousal_given_valence():
    va, emotions = _labels(20000)
    codes = np.unique(emotions, return_inverse=True)[1]
    means = ConditionalMeans(va, codes, 3)
    v = torch.linspace(-0.9, 0.9, 7)
    got = means.arousal_given_valence(v).numpy()
    assert np.allclose(got, 0.5 * v.numpy() ** 2 - 0.2, atol=0.05), got
    assert torch.isclose(means.prior.sum(), torch.tensor(1.0))


def test_normalized_hsic_sees_dependence_and_ignores_scale():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 2, generator=g)
    y_dep = x[:, :1] ** 2 + 0.05 * torch.randn(256, 1, generator=g)  # dependent, but not correlated
    y_ind = torch.randn(256, 1, generator=g)
    dep, ind = float(normalized_hsic(x, y_dep)), float(normalized_hsic(x, y_ind))
    assert dep > 3 * ind, (dep, ind)
    assert abs(float(normalized_hsic(100 * x, y_dep)) - dep) < 1e-4  # shrinking the latent cannot lower it


def test_adversary_charge_is_zero_when_the_predictors_know_only_the_own_factor():
    va_np, emotions = _labels(5000)
    codes = np.unique(emotions, return_inverse=True)[1]
    means = ConditionalMeans(va_np, codes, 3)
    va = torch.tensor(va_np[:64], dtype=torch.float32)
    uninformed = (means.arousal_given_valence(va[:, 0]), means.valence_given_arousal(va[:, 1]),
                  means.mean_va.expand(64, 2), means.prior.log().expand(64, 3))
    assert float(adversary_charge(uninformed, va, means)) < 1e-5
    knows = (va[:, 1], va[:, 0], va, torch.nn.functional.one_hot(torch.tensor(codes[:64]), 3).float() * 10)
    assert float(adversary_charge(knows, va, means)) > 0.5


@pytest.mark.parametrize("form", ["cycle", "swap", "mix", "adversary", "refit", "hsic", "xcov"])
def test_disentangle_term_trains_the_encoder_and_resumes(synth_dir, tmp_path, form):
    """A run with the term trains, logs it, and resumes from its checkpoint (the predictors saved beside the model)."""
    import json

    from models import runs as ck
    from models.train.loop import train_run

    cfg = ModelConfig(kind="levasa", disentangle=form, disentangle_weight=0.5)
    train = TrainConfig(epochs=1, batch_size=32, seed=0, max_val=64)
    run = tmp_path / form
    train_run(run, synth_dir, cfg, train, progress=False, log=lambda s: None)
    rec = json.loads((run / ck.METRICS).read_text().splitlines()[-1])
    assert rec["train"]["disentangle"] > 0
    assert ("chunk_adv" in rec["train"]) == (form == "adversary")
    saved = json.loads((run / ck.CONFIG).read_text())
    saved["train"]["epochs"] = 2
    (run / ck.CONFIG).write_text(json.dumps(saved))
    summary = train_run(run, resume=True, progress=False, log=lambda s: None)
    assert summary["epochs"] == 2


def test_disentangle_gradient_reaches_the_encoder_not_the_predictors():
    from models.losses import StepAids
    from models.train.disentangle import make_chunk_adversary
    from models.vae import VAE

    torch.manual_seed(0)
    model = VAE(ModelConfig(kind="levasa", disentangle="adversary", disentangle_weight=1.0)).train()
    adv, _ = make_chunk_adversary(32, 32, 32, 8, torch.device("cpu"))
    va_np, _ = _labels(500)
    means = ConditionalMeans(va_np, np.zeros(500, int), 8)
    x, va = torch.rand(16, 3, 64, 64), torch.tensor(va_np[:16], dtype=torch.float32)
    terms = model.loss(x, va, aids=StepAids(emotion=torch.zeros(16, dtype=torch.long), label_means=means,
                                            chunk_adv=adv))
    terms["disentangle"].backward()
    assert model.encoder.mu.weight.grad is not None and model.encoder.mu.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in adv.parameters())


@pytest.mark.parametrize("form", ["cycle", "swap", "mix"])
def test_decoded_forms_teach_the_encoder_not_the_decoder(form):
    """The cycle and swap forms' re-encoding trains the encoder; the decoded faces carry no gradient, so the decoder
    is never taught to hide an edit or a swap to lower the charge."""
    from models.train import disentangle
    from models.vae import VAE

    torch.manual_seed(0)
    model = VAE(ModelConfig(kind="levasa", disentangle=form)).train()
    with torch.no_grad():  # a decoder that draws what z says (an untrained one barely responds to z)
        for p in model.decoder.parameters():
            p.mul_(3.0)
    charge = getattr(disentangle, f"{form}_charge")(model, torch.randn(16, model.cfg.latent_dim))
    charge.backward()
    assert float(charge.detach()) > 0
    assert model.encoder.mu.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.decoder.parameters())
    bn = model.encoder.conv[1]
    assert bn.num_batches_tracked == 0, "decoded faces must not move the encoder's BatchNorm statistics"


def _charges_with_a_reader(charge, leak_into: str) -> dict[float, float]:
    """A decoded form's charge for an encoder that reads each factor into its own chunk only (leak 0), and for one
    whose chunk ``leak_into`` also holds a copy of another factor (leak 1): z_z a copy of valence, or z_v of arousal.

    Stand-ins where two real networks cannot be made to invert each other in a unit test: a "face" is its factors
    laid out as a latent is (valence in dims 0-15, arousal in 32-63, identity in 64-95); the decoder draws valence
    from z_v's first half, arousal from z_a and identity from z_z, ignoring z_v's copy of arousal in its second half
    (as the edit term teaches it to); the encoder reads each factor into its chunk, with the copy when it leaks. The
    codes are the encoder's reading of real faces."""
    from models.vae import VAE

    model = VAE(ModelConfig(kind="levasa"))
    faces = torch.randn(16, model.cfg.latent_dim, generator=torch.Generator().manual_seed(0))
    faces[:, 16:32] = 0  # z_v's second half: where a leaking encoder writes its copy

    class Drawn(torch.nn.Module):
        def forward(self, z):
            zv, za, zz = model.split(z)
            return torch.cat([zv[:, :16], torch.zeros_like(zv[:, 16:]), za, zz], 1)

    class Reader(torch.nn.Module):
        def __init__(self, leak: float):
            super().__init__()
            self.leak = leak

        def forward(self, face):
            v, a, identity = face[:, :16], face[:, 32:64], face[:, 64:]
            copy_a = self.leak * a[:, :16] if leak_into == "zv" else torch.zeros_like(v)
            copy_v = self.leak * torch.cat([v, v], 1) if leak_into == "zz" else 0
            return torch.cat([v, copy_a, a, identity + copy_v], 1), None

    charges = {}
    for leak in (0.0, 1.0):
        model.encoder, model.decoder = Reader(leak), Drawn()
        mu = model.encoder(faces)[0]
        charges[leak] = float(charge(model, mu))
    return charges


def test_swap_charge_sees_a_z_z_that_reads_the_expression():
    """The swap form charges nothing for an encoder that reads each part back from its own chunk, and charges one
    whose z_z also reads the expression drawn from z_v."""
    from models.train.disentangle import swap_charge

    charges = _charges_with_a_reader(swap_charge, "zz")
    assert charges[0.0] < 1e-6 and charges[1.0] > 0.5, charges


def test_mix_charge_sees_a_z_v_that_reads_arousal_where_the_swap_form_cannot():
    """The mix form draws a face's valence and arousal from two faces, so it charges an encoder whose z_v also reads
    the arousal; the swap form keeps a face's two affect chunks together and charges that encoder nothing. Both
    charge a z_z that reads the expression."""
    from models.train.disentangle import mix_charge, swap_charge

    mix, swap = _charges_with_a_reader(mix_charge, "zv"), _charges_with_a_reader(swap_charge, "zv")
    assert mix[0.0] < 1e-6 and mix[1.0] > 0.5, mix
    assert swap[1.0] < 1e-6, swap  # what the mix form adds
    assert _charges_with_a_reader(mix_charge, "zz")[1.0] > 0.5


def test_refit_predictor_reads_what_a_code_holds_and_charges_the_code():
    """The refit form's predictor, fitted on a bank, claims R^2 near 1 for codes that carry the target (linearly or
    not), near 0 for codes that do not, and its charge has a gradient on the live codes."""
    from models.train.disentangle import explained_variance

    g = torch.Generator().manual_seed(0)
    n, d = 2048, 8
    bank_z, z = torch.randn(n, d, generator=g), torch.randn(256, d, generator=g)
    target = lambda c: torch.stack([c[:, 0], c[:, 1] * c[:, 2]], 1)  # one linear, one not
    holds = float(explained_variance(bank_z, target(bank_z), z, generator=g))
    blind = float(explained_variance(bank_z, torch.randn(n, 2, generator=g), z, generator=g))
    assert holds > 0.6 and blind < 0.1 and holds > 8 * blind, (holds, blind)
    live = z.clone().requires_grad_(True)
    explained_variance(bank_z, target(bank_z), live, generator=g).backward()
    assert live.grad.abs().sum() > 0


def test_refit_bank_keeps_the_latest_rows():
    from models.train.disentangle import CodeBank

    bank = CodeBank((1, 1, 2), 3, size=6)
    for step in range(4):  # 4 batches of 2 rows: the first 2 rows fall out of a bank of 6
        rows = torch.full((2, 1), float(step))
        bank.push((rows, rows, torch.cat([rows, rows], 1)), torch.full((2, 3), float(step)))
    assert bank.filled == 6
    assert sorted(bank.codes[:, 0].tolist()) == [1, 1, 2, 2, 3, 3]
    assert [c.shape[1] for c in bank.chunks()] == [1, 1, 2]


def test_disentangle_is_a_levasa_option():
    with pytest.raises(ConfigError, match="LeVAsa option"):
        ModelConfig(kind="vanilla", disentangle="hsic")
    with pytest.raises(ConfigError, match="disentangle must be one of"):
        ModelConfig(disentangle="grl")


def test_disentangle_start_and_zz_kl_scale_are_checked():
    with pytest.raises(ConfigError, match="disentangle_start must be -1"):
        ModelConfig(disentangle="swap", disentangle_start=1.5)
    with pytest.raises(ConfigError, match="zz_kl_scale must be >= 0"):
        ModelConfig(zz_kl_scale=-1.0)
    with pytest.raises(ConfigError, match="zz_kl_scale is a LeVAsa option"):
        ModelConfig(kind="vanilla", zz_kl_scale=4.0)


def test_decoded_forms_ramp_with_the_edit_term_unless_told_otherwise():
    assert ModelConfig(disentangle="swap", edit_start=0.5).disentangle_ramp_start == 0.5
    assert ModelConfig(disentangle="swap", edit_start=0.5, disentangle_start=0.15).disentangle_ramp_start == 0.15
    assert ModelConfig(disentangle="swap", edit_start=0.5, disentangle_start=0.0).disentangle_ramp_start == 0.0


def test_swap_form_runs_from_disentangle_start_not_the_edit_terms():
    """The decoded forms wait for the edit term unless disentangle_start says when: the term is charged (and weighed)
    by its own ramp, while the edit term is still off."""
    from models.losses import StepAids
    from models.vae import VAE

    x, va = torch.rand(8, 3, 64, 64), torch.rand(8, 2) * 2 - 1
    before_edit = StepAids(edit_scale=0.0, disentangle_scale=1.0)
    model = VAE(ModelConfig(kind="levasa", edit_weight=0.1, edit_start=0.5, disentangle="swap",
                            disentangle_start=0.1)).eval()
    terms = model.loss(x, va, aids=before_edit)
    assert "disentangle" in terms and "edit" not in terms
    assert "disentangle" not in model.loss(x, va, aids=StepAids(edit_scale=1.0, disentangle_scale=0.0))


def test_zz_kl_scale_weighs_z_z_s_kl_alone():
    """zz_kl_scale s adds (s - 1) x kl_weight x KL(z_z) to the total, and leaves z_v's and z_a's KL as they were."""
    from models.vae import VAE

    torch.manual_seed(0)
    x, va = torch.rand(8, 3, 64, 64), torch.rand(8, 2) * 2 - 1
    plain = VAE(ModelConfig(kind="levasa")).eval()
    heavy = VAE(ModelConfig(kind="levasa", zz_kl_scale=4.0)).eval()
    heavy.load_state_dict(plain.state_dict())
    with torch.no_grad():
        a, b = plain.loss(x, va), heavy.loss(x, va)
    assert float(a["kl_z"]) > 0 and torch.isclose(a["kl_z"], b["kl_z"])
    extra = float(b["loss"] - a["loss"])
    assert extra == pytest.approx(3 * 0.5 * float(a["kl_z"]), abs=2e-8), (extra, float(a["kl_z"]))  # float32 totals


def test_probe_r2_finds_a_nonlinear_relation_a_ridge_misses():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3000, 2))
    y = np.cos(3 * x[:, :1])  # not linear in x: Ridge R^2 ~ 0
    r = probe_r2(x[:2000], y[:2000], x[2000:], y[2000:])
    assert r["ridge"][0] < 0.1 and r["mlp"][0] > 0.8 and r["r2"][0] == max(r["ridge"][0], r["mlp"][0])


def test_leakage_matrix_finds_planted_leaks_and_reports_floors():
    """Latents built by hand: z_v holds valence only, z_a arousal only, z_z identity only; then z_z gets a copy of
    arousal. The matrix must show the clean case near its floors and the planted leak in z_z."""
    n = 4000
    rng = np.random.default_rng(1)
    va, emotions = _labels(n, seed=1)
    ident = rng.normal(size=(n, 3))
    noise = lambda k: 0.05 * rng.standard_normal((n, k))
    clean = np.concatenate([va[:, :1] + noise(1), noise(3), va[:, 1:] + noise(1), noise(3), ident + noise(3)], 1)
    train = np.arange(n) < 3000
    kw = {"zv": slice(0, 4), "za": slice(4, 8), "identity": (["f0", "f1", "f2"], ident)}
    lk = leakage(clean, va, emotions, train, ~train, **kw)
    f = lk["figures"]
    assert f["leak_zv_a"] <= f["leak_zv_a_floor"] + 0.05, f
    assert f["leak_zz_va"] < 0.05 and f["leak_zz_emotion"] <= f["leak_zz_emotion_floor"] + 0.05, f
    assert f["zz_identity"] > 0.9 and lk["cells"]["z_v"]["identity"]["r2"] < 0.05, f
    assert 0.05 < f["leak_zv_a_floor"] < 0.5  # valence tells some arousal here, as in real labels
    leaky = clean.copy()
    leaky[:, 8] = va[:, 1] + 0.05 * rng.standard_normal(n)  # z_z's first column now carries arousal
    f2 = leakage(leaky, va, emotions, train, ~train, **kw)["figures"]
    assert f2["leak_zz_va"] > 0.8, f2


def test_polar_targets_cover_the_circle_at_three_strengths():
    targets, ang, r = polar_targets()
    assert len(targets) == N_DIRECTIONS * len(STRENGTHS)
    assert np.allclose(np.linalg.norm(targets, axis=1), r, atol=1e-6)
    assert set(np.round(r, 2)) == set(STRENGTHS) and ang.min() == 0 and ang.max() < 360


def test_sector_table_scores_a_perfect_editor_and_a_dead_sector():
    targets, ang, r = polar_targets()
    perfect = sector_table(targets, ang, r)
    # judged = target: no angular error; strengths rank as the targets (float jitter breaks the targets' ties: < 1)
    assert all(s["angle_err_deg"] < 1e-3 and s["strength_rho"] > 0.95 for s in perfect)
    dead = targets.copy()
    low = (ang >= 242) & (ang <= 329)
    dead[low] = 0.05 * targets[low, ::-1]  # the low-arousal edits barely move, and the wrong way
    table = sector_table(dead, ang, r)
    worst = max(table, key=lambda s: s["angle_err_deg"])
    assert 240 <= worst["from_deg"] <= 315 and worst["angle_err_deg"] > 30
    assert all(s["angle_err_deg"] < 1e-3 for s in table if s["to_deg"] <= 225)
