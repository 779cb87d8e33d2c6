"""The benchmark scripts run end to end in their --quick form and print their figures with baselines."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import ROOT


def _figures(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^FIGURE (\S+) (\S+)", stdout, re.M))


def _figure_text(stdout: str, name: str) -> str:
    """The words beside one FIGURE's value."""
    m = re.search(rf"^FIGURE {re.escape(name)} \S+ +(.*)$", stdout, re.M)
    assert m, f"no FIGURE {name} in the output"
    return m.group(1)


def _interval(printed: str) -> tuple[float, float]:
    """The values that round to ``printed`` (half a unit in its last place either side)."""
    half = 0.5 * 10 ** -len(printed.partition(".")[2])
    return float(printed) - half, float(printed) + half


def _assert_ratio(ratio: str, num: str, den: str) -> None:
    """``ratio`` as printed is num / den as printed, within the rounding of all three."""
    (n0, n1), (d0, d1), (r0, r1) = _interval(num), _interval(den), _interval(ratio)
    assert d0 > 0, f"denominator {den} rounds to zero"
    assert n0 / d1 <= r1 and r0 <= n1 / d0, f"ratio {ratio} is not {num} / {den}"


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
    # Even two quick epochs align LeVAsa's heads (0.88 / 0.93 when measured) where vanilla's read nothing (about 0).
    for axis in ("v", "a"):
        vanilla = float(re.search(rf"^FIGURE synth_ccc_{axis} \S+  \(vanilla heads (\S+),", r.stdout, re.M).group(1))
        assert float(figs[f"synth_ccc_{axis}"]) > vanilla + 0.4, (axis, figs, vanilla)
    assert "constant" in r.stdout
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
    # each speed as a figure of its own over its floor from the same run: the printed ratio is the printed quotient
    assert all(float(figs[k]) > 0 for k in ("edit_p50_ratio", "edits_per_s_16_ratio", "encode_per_s_ratio"))
    floor = re.search(r"bare decode \+ encode floor (\S+) ms", _figure_text(r.stdout, "edit_p50_ms")).group(1)
    _assert_ratio(figs["edit_p50_ratio"], figs["edit_p50_ms"], floor)
    unbatched = re.search(r"unbatched model floor (\S+)/s", _figure_text(r.stdout, "edits_per_s_16")).group(1)
    _assert_ratio(figs["edits_per_s_16_ratio"], figs["edits_per_s_16"], unbatched)
    enc64 = re.search(r"bare model encode at batch 64 (\S+) faces/s", _figure_text(r.stdout, "encode_per_s")).group(1)
    _assert_ratio(figs["encode_per_s_ratio"], figs["encode_per_s"], enc64)
    assert "lower is better" in _figure_text(r.stdout, "edit_p50_ratio")
    assert "higher is better" in _figure_text(r.stdout, "edits_per_s_16_ratio")
    assert "higher is better" in _figure_text(r.stdout, "encode_per_s_ratio")


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
    # the SVG baseline over WebGL, as a figure of its own named like paint_300_s
    assert float(figs["paint_300_svg_ratio"]) > 0
    assert "higher is better" in _figure_text(r.stdout, "paint_300_svg_ratio")
    svg = re.search(r"SVG scatter baseline (\S+) s", _figure_text(r.stdout, "paint_300_s")).group(1)
    _assert_ratio(figs["paint_300_svg_ratio"], svg, figs["paint_300_s"])


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
    bad = [line for line in r.stdout.splitlines() if "BAD" in line]
    assert r.returncode == 0, (bad, r.stdout[-1500:], r.stderr[-2000:])
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
    # Each figure is that recipe's held-out recon MSE (its table row) over vanilla's, measured on the same faces.
    mse = {m.group(1): float(m.group(2)) for m in re.finditer(r"^  (vanilla|levasa-\S+)\s+([0-9.]+)\s", r.stdout, re.M)}
    assert set(mse) == {"vanilla", "levasa-noedit", "levasa-edit", "levasa-edit-local", "levasa-edit-local-late"}, mse
    for name, v in mse.items():
        if name != "vanilla":
            want = v / mse["vanilla"]
            got = float(figs["recon_ratio_" + name.removeprefix("levasa-").replace("-", "_")])
            assert abs(got - want) <= 1e-3 + 1e-5 / mse["vanilla"], (name, got, want)
    assert "judge" in r.stdout
    for name in mse:
        assert (tmp_path / name / "summary.json").is_file()


def test_bench_chunks_quick_prints_leakage_beside_floors_for_each_option(tmp_path):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.chunks", "--quick", "--runs", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("levasa-bottleneck", "levasa-narrow-hsic"):
        assert re.search(rf"^  {name} +\d", r.stdout, re.M), f"no table row for {name}"
    figures = dict(re.findall(r"^FIGURE (\w+) (\S+)", r.stdout, re.M))
    assert {"leak_zv_a", "leak_za_v", "leak_zz_va", "leak_zz_emotion", "edit_worst_sector_deg", "edit_strength_rho",
            "zz_identity"} <= set(figures), figures
    assert "the labels' floor" in r.stdout and "majority class" in r.stdout and "changes nothing" in r.stdout


def test_bench_chunks_refuses_an_unknown_group_and_names_a_groups_runs():
    unknown = subprocess.run([sys.executable, "-m", "scripts.bench.chunks", "--group", "ck48"], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 2 and all(g in unknown.stderr for g in ("'demo'", "'fer'", "'synth'"))
    fer_quick = subprocess.run([sys.executable, "-m", "scripts.bench.chunks", "--group", "fer", "--quick"], cwd=ROOT,
                               capture_output=True, text=True, timeout=120)
    assert fer_quick.returncode == 2 and "--quick is the synthetic CI run" in fer_quick.stderr
    stray = subprocess.run([sys.executable, "-m", "scripts.bench.chunks", "--group", "demo", "--only", "levasa-narrow"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert stray.returncode == 2 and "levasa-wide-narrow" in stray.stderr  # the demo group's own runs are named


def test_bench_eval_names_the_fer_variants_it_knows():
    r = subprocess.run([sys.executable, "-m", "scripts.bench.eval", "--fer-variants", "fer-levasa-nope"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "unknown FER2013 variant fer-levasa-nope" in r.stderr and "fer-levasa-ccc02" in r.stderr


def test_bench_demo_fresh_quick_times_a_clone_to_ready_by_stage_and_cleans_up(tmp_path):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.demo_fresh", "--quick"], cwd=ROOT, capture_output=True,
                       text=True, timeout=600, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-2000:])
    total = _figures(r.stdout)["demo_fresh_s"]
    text = _figure_text(r.stdout, "demo_fresh_s")
    stages = dict(re.findall(r"([a-z][a-z ]*?) (\d+\.\d) s", text.partition(": ")[2]))
    assert set(stages) == {"clone", "install", "faces", "train levasa", "train vanilla", "export levasa",
                           "export vanilla", "serve start"}, text
    assert float(total) > 0 and "target <= 600" in text and "(quick" in text
    # the stages cover the whole time, each rounded to 0.1 s
    assert abs(sum(map(float, stages.values())) - float(total)) <= 0.05 * (len(stages) + 1), text
    assert "ready: levasa, vanilla" in r.stdout
    assert not list(tmp_path.glob("levasa-fresh-*")), "the clone was left behind"
    url = re.search(r"at (http://127\.0\.0\.1:\d+/) \(stopped now\)", r.stdout).group(1)
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "api/health", timeout=2)


def _step_rows(stdout: str) -> dict[str, tuple[str, str]]:
    """The step benchmark's table: recipe -> (ms per step, ratio over the baseline)."""
    return {m[0]: (m[1], m[2]) for m in re.findall(r"^(\S+) +([\d.]+) +([\d.]+)", stdout, re.M)}


def test_bench_step_quick_prints_each_recipes_step_beside_the_demos():
    r = subprocess.run([sys.executable, "-m", "scripts.bench.step", "--quick", "vanilla", "levasa-adversarial"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rows = _step_rows(r.stdout)
    assert set(rows) == {"levasa", "vanilla", "levasa-adversarial"} and rows["levasa"][1] == "1.00"
    for name in ("vanilla", "levasa-adversarial"):
        _assert_ratio(rows[name][1], rows[name][0], rows["levasa"][0])
    for args in (["no-such-recipe"], ["--baseline", "no-such-recipe", "vanilla"]):
        bad = subprocess.run([sys.executable, "-m", "scripts.bench.step", "--quick", *args], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert bad.returncode == 2 and "no-such-recipe" in bad.stderr, args


def test_bench_step_measures_against_the_baseline_it_is_given():
    r = subprocess.run([sys.executable, "-m", "scripts.bench.step", "--quick", "--baseline", "vanilla-bottleneck",
                        "levasa"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rows = _step_rows(r.stdout)
    assert set(rows) == {"vanilla-bottleneck", "levasa"} and rows["vanilla-bottleneck"][1] == "1.00"
    _assert_ratio(rows["levasa"][1], rows["levasa"][0], rows["vanilla-bottleneck"][0])


def test_bench_photo_quick_pastes_inside_the_box_and_meets_a_gray_runs_domain():
    r = subprocess.run([sys.executable, "-m", "scripts.bench.photo", "--quick"], cwd=ROOT, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    figs = _figures(r.stdout)
    assert set(figs) == {"paste_outside_box_max", "paste_sharpness_ratio", "paste_judge_ccc_v", "paste_judge_ccc_a",
                         "color_gray_match"}
    assert int(figs["paste_outside_box_max"]) == 0, "a paste never reaches outside the face box"
    assert float(figs["color_gray_match"]) == 0.0, "a colour face reads as its grayscale copy on a gray run"
    skipped = float(re.search(r"conversion skipped ([0-9.]+)", _figure_text(r.stdout, "color_gray_match")).group(1))
    assert skipped > 0, "without the conversion the gray run reads colour differently: the figure can fail"
    assert "trained on gray faces" in r.stdout
    raw = float(re.search(r"raw decode ([0-9.]+)", _figure_text(r.stdout, "paste_sharpness_ratio")).group(1))
    assert float(figs["paste_sharpness_ratio"]) > raw, "the paste keeps more of the photo's detail than the decode"


def test_bench_unseen_quick_scores_uploads_through_a_running_service():
    r = subprocess.run([sys.executable, "-m", "scripts.bench.unseen", "--quick"], cwd=ROOT, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    figs = _figures(r.stdout)
    assert set(figs) == {"ck_valence_sign", "ck_emotion_acc"}
    assert 0 <= float(figs["ck_valence_sign"]) <= 1 and "majority class" in _figure_text(r.stdout, "ck_emotion_acc")
    rows = dict(re.findall(r"^  (happy|sad)\s+([+-][0-9.]+)\s", r.stdout, re.M))
    assert float(rows["happy"]) > float(rows["sad"]), "even a one-epoch run reads happy faces above sad ones"
    assert "crop whole" in r.stdout, "uploads went through the service's crop (faces this small are taken whole)"


def test_bench_unseen_refuses_a_folder_without_labels(tmp_path):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.unseen", "--data", str(tmp_path), "--runs", "levasa"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "labels.csv" in r.stderr, r.stderr


def test_bench_scale_serves_many_large_runs_from_maps_and_a_shared_store(runs_dir):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.scale", "--points", "3000", "--runs", "3",
                        "--run", str(runs_dir / "tiny")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    figs = _figures(r.stdout)
    assert float(figs["proj_bytes_per_point"]) == 9.0  # x and y as float32, the emotion code as one byte
    assert float(figs["startup_4x400k_s"]) > 0 and float(figs["worker_rss_4x400k_mib"]) > 0
    runs = ROOT / "bench-out" / "scale-3000" / "runs"
    assert len(list((runs / ".thumbs").iterdir())) == 1 and len(list(runs.glob("scale*"))) == 3  # one store, 3 runs
    bad = subprocess.run([sys.executable, "-m", "scripts.bench.scale", "--points", "0",
                          "--run", str(runs_dir / "tiny")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--points" in bad.stderr


def test_bench_map_prints_paint_lasso_hover_and_pan_beside_the_plotly_map(runs_dir):
    r = subprocess.run([sys.executable, "-m", "scripts.bench.map", "--quick", "--points", "3000", "--small", "1000",
                        "--run", str(runs_dir / "tiny")], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    figs = _figures(r.stdout)
    for name in ("paint_3k_ratio", "paint_3k_s", "paint_1k_ratio", "lasso_3k_ms", "hover_thumb_3k_ms", "pan_fps_3k"):
        assert float(figs[name]) > 0, name
    sel = re.findall(r"lasso: ([\d,]+) of ([\d,]+) points selected", r.stdout)
    assert sel and all(0.2 < int(a.replace(",", "")) / int(b.replace(",", "")) < 0.3 for a, b in sel)  # a quarter
    assert "plotly WebGL map, 1,000 points" in r.stdout  # the baseline is the plotly map, measured in this run
    bad = subprocess.run([sys.executable, "-m", "scripts.bench.map", "--points", "10", "--run", str(runs_dir / "tiny")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--points" in bad.stderr


def test_bench_bigrun_draws_a_packed_store_and_serves_every_face(runs_dir):
    out = ROOT / "bench-out" / "bigrun-300"
    shutil.rmtree(out, ignore_errors=True)
    tiny = str(runs_dir / "tiny")
    r = subprocess.run([sys.executable, "-m", "scripts.bench.bigrun", "--faces", "300", "--run", tiny],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    figs = _figures(r.stdout)
    assert float(figs["synth_pack_faces_s"]) > 0 and float(figs["export_300_min"]) > 0
    assert "served by a real server: 300 points on the map" in r.stdout
    assert (out / "faces" / "faces.npy").is_file() and not (out / "faces" / "images").exists()
    assert not (out / "faces" / ".cache").exists(), "the packed store is its own cache"
    bad = subprocess.run([sys.executable, "-m", "scripts.bench.bigrun", "--faces", "5", "--run", tiny],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--faces" in bad.stderr


def test_bench_affectnet_imports_a_list_in_its_own_layout_and_decodes_it_into_the_cache():
    r = subprocess.run([sys.executable, "-m", "scripts.bench.affectnet", "--rows", "2500", "--decode", "300"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    figs = _figures(r.stdout)
    assert float(figs["affectnet_import_rows_s"]) > 0
    assert float(figs["cache_decode_img_s"]) > 0
    kept = re.search(r"([\d,]+) kept, ([\d,]+) skipped", r.stdout)
    assert kept and int(kept[2].replace(",", "")) > 0  # expression 8-10 rows are dropped, as AffectNet's must be
    out = ROOT / "bench-out" / "affectnet-2500"
    assert (out / "imported" / "labels.csv").read_text().count("\n") == int(kept[1].replace(",", "")) + 1
    assert any((out / "decode-300" / ".cache").glob("images-*.npy"))  # decoded into the cache file
    bad = subprocess.run([sys.executable, "-m", "scripts.bench.affectnet", "--rows", "10", "--decode", "20"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--decode" in bad.stderr
