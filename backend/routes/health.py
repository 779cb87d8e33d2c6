"""Liveness and readiness."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from backend.deps import StateDep
from backend.schemas import Health, Readiness, RunStatus

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health)
async def read_health() -> Health:
    """Liveness: the process answers."""
    return Health()


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness, "description": "no run serves"}})
async def read_readiness(state: StateDep):
    """Readiness: every run with its status (a broken one named with its reason); 503 when none serves."""
    reg = state.registry
    runs = [RunStatus(name=r.name, status=r.status, error=r.error, missing=r.stored.missing) for r in reg.runs.values()]
    body = Readiness(ready=bool(reg.ready()), device=str(reg.device), runs=runs)
    return body if body.ready else JSONResponse(body.model_dump(), status_code=503)
