"""Helpers for scripts and tests that talk to a real server: start uvicorn on a free loopback port, and a small
keep-alive HTTP/1.1 client on asyncio streams (a load generator light enough to share 2 cores with the server)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from models.runs import CONFIG

ROOT = Path(__file__).resolve().parents[2]  # the repository


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(runs_dir: Path, port: int | None = None, env: dict | None = None,
                 timeout: float = 120.0, log_path: Path | None = None,
                 args: list[str] | None = None) -> tuple[subprocess.Popen, str]:
    """``python -m backend`` on 127.0.0.1:PORT serving runs_dir; returns (process, base URL) once /api/health answers.
    The caller stops it (stop_server)."""
    port = port or free_port()
    full_env = {**os.environ, "LEVASA_RUNS_DIR": str(runs_dir), "LEVASA_PORT": str(port),
                "LEVASA_HOST": "127.0.0.1", **(env or {})}
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "backend", "--log-level", "warning", *(args or [])], cwd=ROOT,
                            env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} (log: {log_path})")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not answer within {timeout:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (uvicorn's worker processes included), SIGKILL after 10 s."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def ensure_bench_run(quick: bool, run_arg: Path | None) -> Path:
    """The run a benchmark serves: ``run_arg`` when given; else the demo's LeVAsa (trained if missing), or with
    ``quick`` a 1-epoch LeVAsa on 2,000 synthetic faces in bench-out/."""
    from scripts.bench.runs import demo_levasa

    return run_arg if run_arg is not None else demo_levasa(quick)


def bench_run(quick: bool, run_arg: Path | None, need: str = CONFIG) -> Path | None:
    """ensure_bench_run, resolved; None (after saying why on stderr) when the folder lacks ``need``."""
    run_dir = ensure_bench_run(quick, run_arg).resolve()
    if not (run_dir / need).is_file():
        hint = "not a run folder" if need == CONFIG else f"levasa export {run_dir}"
        print(f"error: {run_dir} has no {need} ({hint})", file=sys.stderr)
        return None
    return run_dir


@dataclass
class Served:
    """A server started by ``served_run``."""

    name: str  # the run's name, as the API spells it
    url: str
    host: str
    port: int
    proc: subprocess.Popen
    tmp: Path  # the temporary folder: runs/ (a link to the run) and server.log; gone after the block


@contextlib.contextmanager
def served_run(run_dir: Path, env: dict | None = None, tmpdir_env: bool = False) -> Iterator[Served]:
    """Serve one run folder alone: a temporary runs folder holding a link to it, a server on a free loopback port
    with its log beside it, stopped (and the folder removed) when the block ends. With ``tmpdir_env`` the server's
    TMPDIR is that folder too, so a test can see whether it left any file behind."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        runs = tmp_path / "runs"
        runs.mkdir()
        os.symlink(run_dir, runs / run_dir.name)
        full_env = {**(env or {}), **({"TMPDIR": tmp} if tmpdir_env else {})}
        proc, url = start_server(runs, env=full_env, log_path=tmp_path / "server.log")
        try:
            yield Served(run_dir.name, url, "127.0.0.1", int(url.rsplit(":", 1)[1]), proc, tmp_path)
        finally:
            stop_server(proc)


class Conn:
    """One keep-alive HTTP/1.1 connection. request() -> (status, headers (lower-case names), body)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Conn:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def request(self, method: str, path: str, body: bytes = b"", content_type: str = "application/json",
                      headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            await self.open()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n{extra}\r\n").encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        hdrs: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            hdrs[k.strip().lower()] = v.strip()
        if "content-length" in hdrs:
            data = await self.reader.readexactly(int(hdrs["content-length"]))
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            data = b"".join(parts)
        else:
            data = await self.reader.read()
        if hdrs.get("connection", "").lower() == "close":
            await self.close()
        return status, hdrs, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None
