"""Recipes and run management: a finished run with the same recipe is reused, another recipe retrains, exports are
written once until the weights change; every recipe file in configs/ loads."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import pytest

from models.config import ConfigError
from models.recipes import Recipe, load_recipe, recipe_names


def _recipe(model: dict, **train) -> Recipe:
    base = load_recipe("levasa-heads")
    return Recipe("r", "", None, dataclasses.replace(base.model, **model),
                  dataclasses.replace(base.train, epochs=1, batch_size=32, split_column="", **train))


def test_ensure_run_reuses_matching_runs_and_retrains_changed_ones(synth_dir, tmp_path, capsys):
    from models.train.ensure import ensure_run

    first = ensure_run(tmp_path / "r", _recipe({}), data=synth_dir)
    stamp = (tmp_path / "r" / "summary.json").stat().st_mtime_ns
    again = ensure_run(tmp_path / "r", _recipe({}), data=synth_dir, threads=1)  # runtime-only: still the same run
    assert "exists with this recipe" in capsys.readouterr().out
    assert again == first and (tmp_path / "r" / "summary.json").stat().st_mtime_ns == stamp
    ensure_run(tmp_path / "r", _recipe({"zz_dim": 16}), data=synth_dir)
    assert "another recipe" in capsys.readouterr().out
    assert json.loads((tmp_path / "r" / "config.json").read_text())["model"]["zz_dim"] == 16


def test_ensure_exported_writes_once_until_the_weights_change(tiny_run, tmp_path, capsys):
    from models.eval.export import ensure_exported

    run = tmp_path / "t"
    shutil.copytree(tiny_run, run)
    assert ensure_exported(run) and "exporting" in capsys.readouterr().out
    files = [run / f for f in ("latents.npz", "thumbs.json", "projections.npz")]
    stamps = [f.stat().st_mtime_ns for f in files]
    assert not ensure_exported(run)
    assert capsys.readouterr().out == "" and [f.stat().st_mtime_ns for f in files] == stamps
    w = run / "model.safetensors"
    os.utime(w, ns=(w.stat().st_atime_ns, max(stamps) + 10**9))  # newer weights: export again
    assert ensure_exported(run) and "exporting" in capsys.readouterr().out


@pytest.mark.parametrize("name", recipe_names())
def test_every_recipe_file_loads_with_its_data_and_about(name):
    from scripts.demo import REAL_RECIPE

    r = load_recipe(name)
    assert r.about
    if name == REAL_RECIPE:  # levasa demo --data gives it its folder
        assert r.data is None
    else:
        assert r.data is not None and r.data.name in ("synthetic", "fer2013_va")


def test_every_run_a_benchmark_group_trains_has_a_recipe():
    from scripts.bench import chunks
    from scripts.bench import eval as bench_eval

    named = {n for names, vanilla in chunks.GROUPS.values() for n in (*names, vanilla)}
    named |= {n for names in bench_eval.GROUPS.values() for n in names}
    assert named - set(recipe_names()) == set()  # a group trains its runs from configs/NAME.json


def test_the_demo_recipes_differ_only_in_what_the_docs_say():
    lev, van = load_recipe("levasa"), load_recipe("vanilla")
    assert lev.train == van.train  # the same budget and split: comparable
    assert (lev.model.kind, van.model.kind) == ("levasa", "vanilla")
    assert tuple(lev.model.hidden) == tuple(van.model.hidden) == (512,)  # the same network, no 128-unit bottleneck
    assert lev.model.edit_weight == 0.05 and lev.model.edit_local and lev.model.edit_start == 0.5
    old = load_recipe("levasa-bottleneck"), load_recipe("vanilla-bottleneck")  # the pair the older results measured
    assert {tuple(r.model.hidden) for r in old} == {(512, 128)} and old[0].model.edit_weight == 0.1


def test_a_recipe_with_an_unknown_section_or_name_is_refused(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": {}, "trian": {}}))
    with pytest.raises(ConfigError, match="unknown section.*trian"):
        load_recipe(bad)
    with pytest.raises(ConfigError, match="no recipe 'nope'; known: .*fer-levasa"):
        load_recipe("nope")


def test_the_train_command_reads_a_recipes_data_as_load_recipe_does(tmp_path, monkeypatch):
    """--config configs/X.json finds the recipe's data folder relative to the repository, from any working folder."""
    from models.recipes import RECIPES_DIR
    from scripts import train

    monkeypatch.chdir(tmp_path)
    parser, model_fields, train_fields = train.build_parser()
    args = parser.parse_args(["--config", str(RECIPES_DIR / "levasa.json"), "--name", "x"])
    _, _, data = train.configs_from_args(args, model_fields, train_fields)
    assert data == load_recipe("levasa").data and data.is_absolute()


def test_recipes_command_compares_two_recipes_setting_by_setting(capsys):
    from scripts.recipes import main

    assert main(["levasa", "levasa-wide-swap"]) == 0
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows == {"model.disentangle": ["none", "swap"], "model.disentangle_weight": ["0.1", "0.05"],
                    "model.disentangle_start": ["-1.0", "0.15"]}  # the variant's changes, nothing else


def test_recipes_command_marks_a_recipes_own_settings_and_lists_every_recipe(capsys):
    from models.recipes import RECIPES_DIR
    from scripts.recipes import main

    assert main(["fer-levasa"]) == 0
    lines = capsys.readouterr().out.splitlines()
    own = {line.split()[1] for line in lines if line.startswith("  * ")}
    raw = json.loads((RECIPES_DIR / "fer-levasa.json").read_text())
    assert own == {"data"} | {f"{s}.{k}" for s in ("model", "train") for k in raw[s]}  # what the file spells out
    assert "hidden" not in raw["model"] and any(line.split()[:2] == ["model.hidden", "[512,"] for line in lines)
    assert main([]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[:len(recipe_names())]]
    assert listed == recipe_names()


def test_recipes_command_refuses_an_unknown_recipe_with_exit_2(capsys):
    from scripts.recipes import main

    assert main(["levasa", "nope"]) == 2
    assert "no recipe 'nope'; known: " in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["levasa", "vanilla", "fer-levasa"])
    assert e.value.code == 2 and "at most two recipes" in capsys.readouterr().err


def test_a_command_whose_reader_goes_away_stops_without_a_traceback():
    """`levasa recipes | head`: the reader closes the pipe after a line; the command stops quietly."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "scripts.cli", "recipes"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=0)
    proc.stdout.read(20)
    proc.stdout.close()  # the reader goes away with most of the listing unread
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (0, 1) and "Traceback" not in err, err
