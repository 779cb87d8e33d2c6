"""scripts.evaluate end to end on the tiny run, the latents export, the report, and bad input."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from models import runs as ck
from models.data.emotions import ALL_EMOTIONS
from models.eval.report import SECTIONS, ReportData, ReportRun, build_report, write_report
from scripts import evaluate

RUN_FILES = (ck.CONFIG, ck.WEIGHTS, ck.SPLIT, ck.METRICS, ck.SUMMARY)


def _copy_run(src: Path, dst: Path) -> Path:
    """The fixture run without its resume checkpoint (others use the original; this one gets evaluation files)."""
    dst.mkdir(parents=True)
    for name in RUN_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)
    return dst


@pytest.fixture(scope="module")
def evaluated(tiny_run, tmp_path_factory):
    """`python -m scripts.evaluate RUN --quick --out OUT` once, for the tests that read its outputs."""
    base = tmp_path_factory.mktemp("eval")
    run = _copy_run(tiny_run, base / "runs" / "tiny")
    out = base / "report"
    rc = evaluate.main([str(run), "--quick", "--out", str(out), "--quiet"])
    return run, out, rc


def test_evaluate_quick_writes_metrics_latents_projections_and_report(evaluated, capsys):
    run, out, rc = evaluated
    assert rc == 0
    for name in ("metrics.json", "latents.npz", "projections.npz"):
        assert (run / name).is_file(), name
    assert (out / "report.html").is_file()
    from PIL import Image

    from models.eval.tasks import GRID_EDITS, GRID_FACES

    with Image.open(out / "faces.png") as im:  # originals, then the run's reconstructions and its fixed edits
        rows = 1 + 1 + len(GRID_EDITS)
        assert im.size == (GRID_FACES * 66 + 2, rows * 66 + 2), im.size  # 64 px tiles with 2 px gaps
    m = json.loads((run / "metrics.json").read_text())
    n_val = sum(1 for r in csv.DictReader(open(run / ck.SPLIT)) if r["split"] == "val")
    for task in ("reconstruction", "alignment", "emotion", "regression", "inverse_regression"):
        assert m[task]["split"] == "val" and m[task]["n"] == n_val, task
    assert set(m["alignment"]) >= {"heads", "constant", "linear_probe"}
    assert m["alignment"]["constant"]["valence"]["ccc"] == 0.0
    assert set(m["emotion"]["results"]) == {"z_v", "z_a", "z_z", "z_v+z_a", "z"}
    assert set(m["regression"]["results"]) == {"z_v -> V", "z_a -> A"}
    assert set(m["inverse_regression"]["results"]) == {"z_v -> A", "z_a -> V"}
    assert m["projections"]["tsne"] and not m["projections"]["reused"]
    fid = m["edit_fidelity"]
    assert "skipped" not in fid, "edit fidelity is part of every evaluation unless --no-fidelity"
    assert set(fid) >= {"n_faces", "heads", "judge", "zz_shift", "identity_shift", "judge_on_real"}
    assert "strip" not in fid  # arrays stay out of metrics.json
    lk = m["leakage"]
    assert lk["split"] == "val" and lk["n"] == n_val and set(lk["cells"]) == {"z_v", "z_a", "z_z"}
    # the fixture is the synthetic generator's: the identity factors are known and join the matrix
    assert set(lk["cells"]["z_z"]) == {"valence", "arousal", "emotion", "identity"}
    assert lk["figures"]["leak_zz_emotion_floor"] == lk["majority"]["accuracy"]
    pol = m["polar"]
    assert len(pol["sectors"]) == 8 and pol["n_edits"] == pol["n_faces"] * 84
    assert 0 <= pol["worst_sector_deg"] <= 180 and -1 <= pol["strength_rho_worst"] <= 1


def test_judge_on_real_is_the_judge_reading_the_held_out_originals(evaluated):
    """metrics.json's judge_on_real is the judge's agreement with the labels of the real held-out faces (the ceiling
    for reading edits), recomputed here from the cached judge."""
    from models.eval.affect import va_metrics
    from models.eval.judge import judge
    from models.eval.rundata import run_data
    from models.eval.tasks import load_judge

    run_dir, _, _ = evaluated
    run = ck.load_run(run_dir)
    data = run_data(run)
    files = [r["file"] for r in csv.DictReader(open(Path(run.config["dataset"]["root"]) / "labels.csv"))]
    net, _ = load_judge(run_dir.parent, files, data, quick=True, progress=False)
    held = data.split == data.heldout
    want = va_metrics(np.asarray(data.va)[held], judge(net, data.images[held]))
    got = json.loads((run_dir / "metrics.json").read_text())["edit_fidelity"]["judge_on_real"]
    for axis in ("valence", "arousal"):
        assert got[axis]["ccc"] == pytest.approx(want[axis]["ccc"], abs=1e-6)


def test_evaluate_run_without_a_judge_is_an_error_not_a_silent_skip(tiny_run):
    from models.eval.rundata import run_data
    from models.eval.tasks import EvaluationError, evaluate_run

    run = ck.load_run(tiny_run)
    with pytest.raises(EvaluationError, match="edit fidelity needs the judge"):
        evaluate_run(run, run_data(run), quick=True, judge_net=None, progress=False)


def test_latents_npz_holds_every_row_and_loads_without_pickle(evaluated, synth_dir):
    run, _, _ = evaluated
    with np.load(run / "latents.npz", allow_pickle=False) as f:
        lat = {k: f[k] for k in f.files}
    n = 320
    assert lat["ids"].tolist() == list(range(n))
    assert lat["mu"].shape == (n, 96) and lat["mu"].dtype == np.float32
    assert lat["va_label"].shape == lat["va_head"].shape == (n, 2)
    assert lat["emotion"].dtype.kind == "i" and lat["emotion"].max() < len(ALL_EMOTIONS)
    assert lat["split"].dtype.kind == "U" and set(lat["split"]) == {"train", "val"}
    rows = list(csv.DictReader(open(synth_dir / "labels.csv")))
    assert lat["files"].tolist() == [r["file"] for r in rows]
    assert ALL_EMOTIONS[lat["emotion"][0]] == rows[0]["emotion"]
    np.testing.assert_allclose(lat["va_label"][:, 0], [float(r["valence"]) for r in rows], atol=1e-6)
    with np.load(run / "projections.npz", allow_pickle=False) as f:
        assert f["tsne_v"].shape == (n, 2) and f["ids"].shape == (n,)


def test_a_second_evaluation_reuses_the_projections(evaluated, monkeypatch):
    run, out, _ = evaluated
    import models.eval.projections as pj

    def boom(*a, **k):
        raise AssertionError("t-SNE recomputed")

    monkeypatch.setattr(pj, "tsne_2d", boom)
    assert evaluate.main([str(run), "--quick", "--out", str(out / "again"), "--quiet", "--no-fidelity"]) == 0
    m = json.loads((run / "metrics.json").read_text())
    assert m["projections"]["reused"] is True
    assert m["edit_fidelity"] == {"skipped": "skipped (--no-fidelity)"}


def test_report_is_self_contained_with_every_section(evaluated):
    _, out, _ = evaluated
    text = (out / "report.html").read_text()
    _assert_self_contained(text)


def _assert_self_contained(text: str) -> None:
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    assert text.count(js[:300]) == 1  # plotly.js inlined exactly once
    assert not re.search(r"<script[^>]*\bsrc=", text)  # no external scripts, CDN or otherwise
    assert not re.search(r"<(img|link)[^>]*(src|href)=\"https?:", text)
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in text, title
    assert "data:image/png;base64," in text


def _fake_metrics(name: str, kind: str) -> dict:
    """A metrics.json-shaped dict with made-up numbers, enough for every section."""
    ax = {"rmse": 0.1, "mae": 0.08, "pcc": 0.9, "ccc": 0.88, "sagr": 0.9}
    va = {"valence": ax, "arousal": ax}
    sn = {"split": "val", "n": 40}
    clf = {"accuracy": 0.5, "macro_f1": 0.4, "params": {"C": 1.0}, "n_fit": 160}
    reg = {"ev": 0.7, "r2": 0.69, "params": {"alpha": 1.0}, "n_fit": 160}
    return {
        "run": name, "kind": kind, "label_mode": "continuous", "epochs": 1, "split": "val", "n": 40, "n_train": 160,
        "reconstruction": sn | {"recon_mse": 0.01 if kind == "levasa" else 0.009, "mean_image_mse": 0.05},
        "alignment": sn | {"heads": va, "constant": va, "linear_probe": sn | {"metrics": va},
                           "heads_vs_centre": {"split": "val", "n": 40, "metrics": va}},
        "emotion": sn | {"n_train": 160, "classes": ["happy", "sad"], "majority": {"label": "sad", "accuracy": 0.3,
                                                                                    "macro_f1": 0.2},
                         "results": {fs: {"svm": clf} for fs in ("z_v", "z_v+z_a")}},
        "regression": sn | {"results": {"z_v -> V": {"ridge": reg}},
                            "constant": {"z_v -> V": {"ev": 0.0, "r2": -0.01}}},
        "inverse_regression": sn | {"results": {"z_v -> A": {"ridge": reg}},
                                    "constant": {"z_v -> A": {"ev": 0.0, "r2": -0.01}}},
        "projections": {"n": 200},
    }


def _fake_fidelity(rng) -> dict:
    """A fair mock of models.fidelity.edit_fidelity's documented return contract (keys, shapes, dtypes); the real
    function is exercised by the end-to-end test above."""
    ax = {"rmse": 0.2, "mae": 0.15, "pcc": 0.8, "ccc": 0.75, "sagr": 0.85}
    return {"n_faces": 10, "n_edits": 60, "heads": {"valence": ax, "arousal": ax}, "judge": {"valence": ax,
                                                                                           "arousal": ax},
            "zz_shift": 0.05, "identity_shift": 0.12, "identity_scale": 0.03,
            "strip": rng.integers(0, 256, (2, 7, 3, 64, 64), dtype=np.uint8),
            "strip_targets": rng.uniform(-0.8, 0.8, (7, 2)).astype(np.float32)}


def test_report_from_fake_results_compares_runs_side_by_side(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    emotions = np.array(ALL_EMOTIONS[:7])[rng.integers(0, 7, n)]
    data = ReportData(dataset="fake", va=rng.uniform(-1, 1, (n, 2)), emotions=emotions,
                      heldout_mask=np.arange(n) >= 160, heldout="val",
                      originals=rng.integers(0, 256, (6, 3, 64, 64), dtype=np.uint8), command="test")
    runs = []
    for name, kind in (("lev", "levasa"), ("van", "vanilla")):
        fid = _fake_fidelity(rng)
        m = _fake_metrics(name, kind) | {"edit_fidelity": {k: v for k, v in fid.items() if "strip" not in k}}
        proj = {"ids": np.arange(n), **{f"tsne_{c}": rng.normal(size=(n, 2)).astype(np.float32) for c in "vaz"}}
        runs.append(ReportRun(name, m, recon=rng.integers(0, 256, (6, 3, 64, 64), dtype=np.uint8), proj=proj,
                              va_head=rng.uniform(-1, 1, (n, 2)), strip=fid["strip"],
                              strip_targets=fid["strip_targets"]))
    path = write_report(tmp_path / "r" / "report.html", runs, data)
    text = path.read_text()
    _assert_self_contained(text)
    assert "LeVAsa / vanilla recon MSE: <b>1.111</b>" in text
    assert text.count("scattergl") >= 2 * 4  # the t-SNE panels use WebGL
    assert "majority class (sad)" in text and "constant (training-split mean)" in text
    assert "lev: linear probe" in text and "van: heads" in text
    assert "split val, n = 40" in text
    assert build_report(runs[:1], data).count("<h2>") == len(SECTIONS)


def test_evaluate_rejects_a_folder_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert evaluate.main([str(tmp_path / "empty"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is not a run folder: no config.json" in err
    assert evaluate.main([str(tmp_path / "missing"), "--quiet"]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_evaluate_rejects_a_broken_run(tiny_run, tmp_path, capsys):
    run = _copy_run(tiny_run, tmp_path / "broken")
    (run / ck.WEIGHTS).write_bytes(b"truncated")
    assert evaluate.main([str(run), "--quiet"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_evaluate_rejects_runs_on_different_datasets(tiny_run, synth_dir, tmp_path, capsys):
    from models.data.synthetic import generate

    other_data = tmp_path / "other"
    generate(other_data, n=320, seed=7, n_identities=24, progress=False)  # same file names, other faces and labels
    a = _copy_run(tiny_run, tmp_path / "runs" / "a")
    b = _copy_run(tiny_run, tmp_path / "runs" / "b")
    cfg = json.loads((b / ck.CONFIG).read_text())
    cfg["dataset"]["root"] = str(other_data)
    (b / ck.CONFIG).write_text(json.dumps(cfg))
    assert evaluate.main([str(a), str(b), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "'a'" in err and "'b'" in err and "different VA labels" in err
