"""Run folders: safetensors round trips, atomic writes, and clear errors for broken runs."""

from __future__ import annotations

import json

import pytest
import torch

from models import runs as ck
from models.config import ModelConfig
from models.io import write_json
from models.vae import VAE


def _write_run(tmp_path, model):
    write_json(tmp_path / ck.CONFIG, {"model": model.cfg.to_dict(), "train": {}, "dataset": {}})
    ck.save_weights(tmp_path, model)
    return tmp_path


def test_weights_round_trip_gives_identical_outputs(tmp_path):
    torch.manual_seed(0)
    model = VAE(ModelConfig(label_mode="discrete", zz_dim=16))
    model.train()
    model(torch.rand(8, 3, 64, 64))  # move the BatchNorm running statistics away from their init
    model.eval()
    run = _write_run(tmp_path, model)
    loaded = ck.load_run(run)
    assert loaded.model_cfg == model.cfg and not loaded.model.training
    x = torch.rand(4, 3, 64, 64)
    with torch.no_grad():
        a, b = model(x), loaded.model(x)
    for name in ("recon", "mu", "logvar", "va", "logits"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name


def test_weights_file_holds_no_pickle(tmp_path):
    run = _write_run(tmp_path, VAE(ModelConfig()))
    raw = (run / ck.WEIGHTS).read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_len])  # safetensors: a JSON header, then raw tensor bytes
    assert json.loads(header["__metadata__"]["model_config"])["kind"] == "levasa"
    assert b"\x80\x04" not in raw[:2] and not raw.startswith(b"PK")  # not a pickle, not a torch zip


def test_truncated_weights_and_bad_config_are_named(tmp_path):
    run = _write_run(tmp_path, VAE(ModelConfig()))
    data = (run / ck.WEIGHTS).read_bytes()
    (run / ck.WEIGHTS).write_bytes(data[: len(data) // 3])
    with pytest.raises(ck.RunError, match="cannot read .*model.safetensors"):
        ck.load_run(run)
    (run / ck.CONFIG).write_text('{"model": {"kind": "levasa", "zv_dim": "x"}}')
    with pytest.raises(ck.RunError, match="bad config: zv_dim must be int"):
        ck.load_run(run)
    (run / ck.CONFIG).write_text("{not json")
    with pytest.raises(ck.RunError, match="config.json is not valid JSON"):
        ck.load_run(run)


def test_weights_that_do_not_match_the_config_are_refused(tmp_path):
    run = _write_run(tmp_path, VAE(ModelConfig()))
    write_json(run / ck.CONFIG, {"model": ModelConfig(zv_dim=8).to_dict()})
    with pytest.raises(ck.RunError, match="does not match"):
        ck.load_run(run)


def test_checkpoint_restores_optimizer_and_rng(tmp_path):
    torch.manual_seed(0)
    model = VAE(ModelConfig(zv_dim=4, za_dim=4, zz_dim=4))
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x, va = torch.rand(4, 3, 64, 64), torch.rand(4, 2)
    model.loss(x, va)["loss"].backward()
    opt.step()
    ck.save_checkpoint(tmp_path, model, opt, {"epoch": 3, "step": 7})
    expected_noise = torch.rand(3)
    model2 = VAE(ModelConfig(zv_dim=4, za_dim=4, zz_dim=4))
    opt2 = torch.optim.Adam(model2.parameters(), 1e-3)
    state = ck.load_checkpoint(tmp_path, model2, opt2)
    assert state == {"epoch": 3, "step": 7}
    assert torch.equal(torch.rand(3), expected_noise)  # the RNG continues where it was saved
    for p, q in zip(model.parameters(), model2.parameters()):
        assert torch.equal(p, q)
        assert torch.equal(opt.state[p]["exp_avg_sq"], opt2.state[q]["exp_avg_sq"])


def test_atomic_write_leaves_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "x.json"
    write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        write_json(path, {"a": object()})  # not serialisable: fails mid-write
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temporary left behind
