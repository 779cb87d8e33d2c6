"""Service settings: one pydantic-settings object, read from LEVASA_* environment variables (or a .env file).

    LEVASA_PORT=8080 LEVASA_RUNS_DIR=/data/runs python -m backend

A bad value stops start-up with a message that names the setting (backend/__main__.py prints it).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEVASA_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"  # loopback by default: expose deliberately (0.0.0.0 in the container)
    port: int = Field(8000, ge=0, le=65535)  # 0 = any free port
    runs_dir: Path = Path("runs")  # every sub-folder with a config.json is served as a run
    device: str = "auto"  # auto (the GPU when there is one), cpu, cuda, cuda:N
    precision: str = "auto"  # auto: fp32 for single faces, bf16 for batches where the CPU/GPU runs it natively
    torch_threads: int = Field(0, ge=0)  # torch CPU threads for inference; 0 = torch's default (one per core)
    max_upload_bytes: int = Field(10 * 2**20, ge=1024)  # per uploaded file
    max_request_bytes: int = Field(64 * 2**20, ge=1024)  # per request body (a batch of uploads, base64 included)
    max_image_pixels: int = Field(40_000_000, ge=4096)  # declared width x height; larger is refused as a bomb
    max_batch: int = Field(64, ge=1, le=1024)  # images or latents in one request
    max_grid: int = Field(21, ge=2, le=41)  # the edit grid's largest N (N x N faces)
    microbatch: int = Field(64, ge=1, le=1024)  # the most requests the model worker runs as one batch
    cors_origins: list[str] = []  # CORS stays closed unless origins are listed here
    frontend_dir: Path = Path(__file__).resolve().parent.parent / "frontend"

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if v not in ("auto", "cpu", "cuda") and not (v.startswith("cuda:") and v[5:].isdigit()):
            raise ValueError(f"must be auto, cpu, cuda or cuda:N, got {v!r}")
        return v

    @field_validator("precision")
    @classmethod
    def _precision(cls, v: str) -> str:
        if v not in ("auto", "fp32", "bf16"):
            raise ValueError(f"must be auto, fp32 or bf16, got {v!r}")
        return v
