"""The FastAPI app: wiring only. Settings, the run registry and the model worker live on app.state.levasa."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

import torch
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartParser

from backend.deps import AppState
from backend.engine import Batcher
from backend.errors import http_error, validation_error
from backend.limits import BodyLimit
from backend.prometheus import Metrics, MetricsMiddleware
from backend.registry import Registry
from backend.routes import decode, edit, emotions, encode, health, projections, runs, samples
from backend.settings import Settings
from backend.static import mount_docs, mount_frontend
from models.device import resolve_device

log = logging.getLogger("levasa")

DESCRIPTION = """Serves trained LeVAsa and vanilla VAE runs: encode faces to latents and valence/arousal, decode,
reconstruct, edit a face's valence and arousal, and the dataset's projections for the explorer page at `/`.

Every endpoint under `/api/runs/{run}` takes a run name from `GET /api/runs`. Bad input gets a 4xx whose `detail` says
what was wrong and what is accepted."""


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher = Batcher(settings.microbatch, on_call=metrics.model_call)
        reg = registry
        if reg is None:
            reg = Registry(settings.runs_dir, resolve_device(settings.device), settings.precision)
            # Loading runs on the model thread too: every torch call of the process then comes from one thread, so
            # there is one OpenMP thread team. A second team (from loading on the main thread) spins on the same two
            # cores and doubled the time of a single edit when measured.
            await batcher.run(lambda: _load(reg, settings.torch_threads), "load")
        app.state.levasa = AppState(settings, reg, batcher)
        warm = asyncio.get_running_loop().create_task(_warm_graphs(reg, batcher))
        try:
            yield
        finally:
            warm.cancel()
            batcher.close()

    # docs_url/redoc_url off: FastAPI's pages load their scripts from a CDN; /docs is served locally (backend.static).
    app = FastAPI(title="LeVAsa Explorer API", version="0.4.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    for r in (health, runs, emotions, encode, decode, edit, projections, samples):
        app.include_router(r.router)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)

    # Uploads stay in memory: Starlette spools a file part to a temporary file past spool_max_size (1 MB by default);
    # with the spool as large as the biggest body we accept, nothing an upload holds is ever written to disk.
    MultiPartParser.spool_max_size = settings.max_request_bytes + 1
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["*"], expose_headers=["X-Read-Valence", "X-Read-Arousal", "X-Emotion",
                                                                "X-Grid-Layout", "X-Face-Box", "X-Face-Crop"])
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: refused bodies are counted too

    @app.get("/metrics", include_in_schema=False)
    async def read_metrics(request: Request) -> Response:
        """Prometheus metrics (text exposition format)."""
        reg = getattr(getattr(request.app.state, "levasa", None), "registry", None)
        return Response(metrics.render(reg), media_type=metrics.content_type)

    mount_docs(app)
    mount_frontend(app, settings.frontend_dir)
    return app


async def _warm_graphs(reg: Registry, batcher: Batcher) -> None:
    """Every run's frozen graphs, built on the model thread one at a time once the server is up: a request that
    arrives meanwhile waits for one graph at most (and a path asked for first is built by its request)."""
    for sr in reg.ready():
        for name in sr.infer.graph_names:
            await batcher.run(lambda sr=sr, name=name: sr.infer.graph(name), "warm")


def _load(reg: Registry, threads: int) -> None:
    if threads:
        torch.set_num_threads(threads)
    reg.load_all()
    for sr in reg.runs.values():
        log.info("run %-20s %s%s", sr.name, sr.status, f": {sr.error}" if sr.error else "")
