"""The demo's run management: a finished run with the same recipe is reused, another recipe retrains."""

from __future__ import annotations

import json

from scripts.demo import ensure_run


def test_ensure_run_reuses_matching_runs_and_retrains_changed_ones(synth_dir, tmp_path, capsys):
    train = {"epochs": 1, "batch_size": 32, "split_column": ""}
    first = ensure_run("r", {"kind": "levasa"}, runs=tmp_path, data=synth_dir, train=train)
    stamp = (tmp_path / "r" / "summary.json").stat().st_mtime_ns
    again = ensure_run("r", {"kind": "levasa"}, runs=tmp_path, data=synth_dir, train={**train, "threads": 1})
    assert "exists with this recipe" in capsys.readouterr().out
    assert again == first and (tmp_path / "r" / "summary.json").stat().st_mtime_ns == stamp
    ensure_run("r", {"kind": "levasa", "zz_dim": 16}, runs=tmp_path, data=synth_dir, train=train)
    assert "another recipe" in capsys.readouterr().out
    assert json.loads((tmp_path / "r" / "config.json").read_text())["model"]["zz_dim"] == 16


def test_ensure_export_writes_once_until_the_weights_change(tiny_run, tmp_path, capsys):
    import os
    import shutil

    from scripts.demo import ensure_export

    shutil.copytree(tiny_run, tmp_path / "t")
    ensure_export("t", runs=tmp_path)
    assert "exporting" in capsys.readouterr().out
    files = [tmp_path / "t" / f for f in ("latents.npz", "thumbs.npz", "projections.npz")]
    stamps = [f.stat().st_mtime_ns for f in files]
    ensure_export("t", runs=tmp_path)
    assert capsys.readouterr().out == "" and [f.stat().st_mtime_ns for f in files] == stamps
    w = tmp_path / "t" / "model.safetensors"
    os.utime(w, ns=(w.stat().st_atime_ns, max(stamps) + 10**9))  # newer weights: export again
    ensure_export("t", runs=tmp_path)
    assert "exporting" in capsys.readouterr().out
