"""The benchmark scripts run end to end in their --quick form and print their figures with baselines."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def _figures(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^FIGURE (\S+) (\S+)", stdout, re.M))


def test_bench_train_quick_prints_speedup_beside_the_reference(tmp_path):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.train", "--quick", "--cap", "25",
                        "--data", str(tmp_path / "synth"), "--out", str(tmp_path / "out")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    figs = _figures(r.stdout)
    assert set(figs) >= {"train_speedup", "time_to_ccc08_ours_s", "train_img_s_ours", "train_img_s_ref"}
    assert float(figs["train_img_s_ours"]) > 0 and float(figs["train_img_s_ref"]) > 0
    assert float(figs["train_speedup"].lstrip(">=")) > 0
    assert "reference" in r.stdout and "baseline" in r.stdout


def test_bench_align_quick_prints_levasa_beside_vanilla_and_constant(tmp_path):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.align", "--quick", "--runs", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    figs = _figures(r.stdout)
    assert -1 <= float(figs["synth_ccc_v"]) <= 1 and -1 <= float(figs["synth_ccc_a"]) <= 1
    assert "vanilla heads" in r.stdout and "constant" in r.stdout
    assert (tmp_path / "levasa" / "summary.json").is_file() and (tmp_path / "vanilla" / "summary.json").is_file()


def test_bench_api_quick_prints_latency_and_throughput_beside_the_model_floor(runs_dir):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.api", "--quick", "--seconds", "1",
                        "--run", str(runs_dir / "tiny")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    figs = _figures(r.stdout)
    assert set(figs) >= {"edit_p50_ms", "edit_p99_ms", "edits_per_s_16", "decode_floor_ms", "encode_per_s"}
    assert 0 < float(figs["edit_p50_ms"]) <= float(figs["edit_p99_ms"])
    assert float(figs["edits_per_s_16"]) > 0 and float(figs["encode_per_s"]) > 0
    assert "floor" in r.stdout and "ratio" in r.stdout


def test_bench_frontend_quick_prints_paint_drag_and_settle_beside_baselines(runs_dir, tmp_path):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.frontend", "--quick", "--run", str(runs_dir / "tiny"),
                        "--points", "300", "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    figs = _figures(r.stdout)
    assert set(figs) >= {"paint_300_s", "drag_preview_fps", "edit_settle_ms"}
    assert 0 < float(figs["paint_300_s"]) < 120 and float(figs["drag_preview_fps"]) > 0
    assert float(figs["edit_settle_ms"]) > 0
    assert "SVG scatter baseline" in r.stdout and "pointer events delivered" in r.stdout and "bare edit" in r.stdout


def test_bench_frontend_rejects_a_folder_that_is_not_a_run(tmp_path):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.frontend", "--run", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "not a trained run" in r.stderr


def test_bench_transfer_quick_prints_agreement_beside_majority_with_a_confusion_matrix():
    r = subprocess.run([sys.executable, "-m", "scripts.bench.transfer", "--quick"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    figs = _figures(r.stdout)
    assert float(figs["ellipse_emotion_agreement"]) > float(figs["majority_baseline"]) > 0
    assert "rows: true category, columns: nearest ellipse" in r.stdout and "Gaussian VA" in r.stdout


def test_bench_fewshot_quick_prints_the_pair_head_beside_its_baselines(runs_dir):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.fewshot", "--quick", "--run", str(runs_dir / "tiny")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    assert "pair head" in r.stdout and "1-NN latent" in r.stdout and "heads (no support)" in r.stdout


def test_bench_badinput_quick_every_hostile_case_is_a_4xx_and_odd_images_are_answered(runs_dir):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.badinput", "--quick", "--run", str(runs_dir / "tiny")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-2000:])
    figs = _figures(r.stdout)
    assert int(figs["badinput_cases"]) >= 25 and int(figs["badinput_5xx"]) == 0
    assert "BAD" not in r.stdout and "server alive afterwards: True" in r.stdout
    assert "EXIF-rotated JPEG" in r.stdout and "image_size 80x120" in r.stdout


def test_bench_fuzz_quick_sends_schema_generated_requests_and_none_is_a_5xx(runs_dir):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.fuzz", "--quick", "--run", str(runs_dir / "tiny")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-2000:])
    figs = _figures(r.stdout)
    assert int(figs["fuzz_cases"]) >= 50 and int(figs["fuzz_5xx"]) == 0
    assert "POST /api/runs/{run}/edit" in r.stdout and "200:" in r.stdout  # generated bodies reached the handlers


def test_bench_load_quick_mixed_calls_without_errors_and_bounded_memory(runs_dir):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.load", "--quick", "--run", str(runs_dir / "tiny"),
                        "--seconds", "3"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-2000:])
    figs = _figures(r.stdout)
    assert int(figs["load_errors"]) == 0 and float(figs["load_p99_ms"]) > 0
    assert float(figs["load_rss_growth"]) < 0.5  # the 10% target is for the full 60 s run; CI only checks sanity
    assert all(k in r.stdout for k in ("edit-sample", "encode", "projections"))


def test_bench_edit_quick_prints_each_recipes_recon_ratio_beside_vanilla(tmp_path):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.edit", "--quick", "--runs", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    figs = _figures(r.stdout)
    assert set(figs) == {f"recon_ratio_{k}" for k in ("noedit", "edit", "edit_local", "edit_local_late")}
    assert all(float(v) > 0 for v in figs.values())
    assert "vanilla" in r.stdout and "judge" in r.stdout
    for name in ("vanilla", "levasa-noedit", "levasa-edit", "levasa-edit-local", "levasa-edit-local-late"):
        assert (tmp_path / name / "summary.json").is_file()


def test_bench_eval_names_the_fer_variants_it_knows():
    r = subprocess.run([sys.executable, "-m", "scripts.bench.eval", "--fer-variants", "fer-levasa-nope"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "unknown FER2013 variant fer-levasa-nope" in r.stderr and "fer-levasa-ccc02" in r.stderr
