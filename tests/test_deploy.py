"""Containers: docker-compose.yml validated by Debian's docker-compose (no Docker engine runs here), and the
Dockerfile's promises checked as text."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT


def _config(*profiles: str) -> dict:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose not found: `make test` installs it (apt-get install docker-compose)")
    args = [exe, "-f", str(ROOT / "docker-compose.yml")]
    for p in profiles:
        args += ["--profile", p]
    r = subprocess.run([*args, "config"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return yaml.safe_load(r.stdout)


def test_compose_file_is_valid_and_the_api_checks_readiness():
    cfg = _config()
    api = cfg["services"]["api"]
    assert api["restart"] == "unless-stopped"
    assert "/api/ready" in " ".join(api["healthcheck"]["test"])
    assert any(p["target"] == 8000 for p in api["ports"])
    (vol,) = api["volumes"]  # v1 prints the short form: HOST:CONTAINER:MODE
    assert vol.endswith(":/app/runs:ro")
    assert api["environment"]["LEVASA_RUNS_DIR"] == "/app/runs" and api["environment"]["LEVASA_HOST"] == "0.0.0.0"
    assert api["build"]["args"]["TORCH_INDEX"].endswith("/cpu")


def test_train_and_gpu_services_live_under_profiles():
    cfg = _config("train", "gpu")
    assert cfg["services"]["train"]["profiles"] == ["train"]
    assert cfg["services"]["train"]["command"][:3] == ["python", "-m", "scripts.demo"]
    gpu = cfg["services"]["api-gpu"]
    assert gpu["profiles"] == ["gpu"] and gpu["environment"]["LEVASA_DEVICE"] == "cuda"
    (dev,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert dev["driver"] == "nvidia" and dev["capabilities"] == ["gpu"]
    assert "/cu" in gpu["build"]["args"]["TORCH_INDEX"]


def test_a_broken_compose_file_is_refused(tmp_path):
    bad = tmp_path / "docker-compose.yml"
    bad.write_text("services:\n  api:\n    restart: sometimes\n    ports: 8000\n")
    r = subprocess.run([shutil.which("docker-compose") or "docker-compose", "-f", str(bad), "config", "-q"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0  # the validator is real: it rejects what is wrong


def test_dockerfile_builds_cpu_by_default_checks_readiness_and_runs_unprivileged():
    text = (ROOT / "Dockerfile").read_text()
    assert "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in text
    assert "torch==2.13.0" in text and "-r requirements.txt" in text
    assert "HEALTHCHECK" in text and "/api/ready" in text
    assert "USER levasa" in text and 'CMD ["python", "-m", "backend"]' in text
    # the image holds every package the commands import, and the recipes the train service's demo loads by name
    copied = {line.split()[1].rstrip("/") for line in text.splitlines() if line.startswith("COPY ")}
    assert {"backend", "frontend", "models", "scripts", "configs"} <= copied, copied
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"runs", "data", ".venv", ".git"} <= set(ignored)  # no weights, datasets or venv baked into the image
