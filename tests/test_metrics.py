"""Prometheus /metrics: request counts and latency per route template, model calls by kind, runs by status."""

from __future__ import annotations

import re

import pytest

from backend.main import create_app
from backend.settings import Settings


@pytest.fixture(scope="module")
def client(runs_dir):
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings(runs_dir=runs_dir))) as c:
        yield c


def _value(text: str, name: str, **labels) -> float:
    """The sample's value, or 0 when the series is absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_by_route_template_and_status(client):
    before = client.get("/metrics").text
    sid = client.get("/api/runs/tiny/projections").json()["ids"][0]
    for v in (0.1, 0.5, -0.3):
        assert client.post("/api/runs/tiny/edit", json={"sample": sid, "valence": v, "arousal": 0.2}).status_code == 200
    assert client.post("/api/runs/tiny/edit", json={"sample": sid, "valence": 3, "arousal": 0}).status_code == 422
    assert client.get("/api/runs/nope/projections").status_code == 404
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    route = "/api/runs/{run}/edit"
    ok = _value(text, "levasa_http_requests_total", method="POST", route=route, status="200")
    assert ok - _value(before, "levasa_http_requests_total", method="POST", route=route, status="200") == 3
    assert _value(text, "levasa_http_requests_total", method="POST", route=route, status="422") >= 1
    assert _value(text, "levasa_http_requests_total", route="/api/runs/{run}/projections", status="404") >= 1
    assert _value(text, "levasa_http_request_duration_seconds_count", method="POST", route=route) >= 4
    assert "/api/runs/nope" not in text and "/api/runs/tiny" not in text  # templates only: no label per path


def test_metrics_show_model_calls_and_runs_by_status(client):
    sid = client.get("/api/runs/tiny/projections").json()["ids"][0]
    client.post("/api/runs/tiny/edit", json={"sample": sid, "valence": 0.2, "arousal": 0.2})
    client.post("/api/runs/tiny/edit-grid", json={"sample": sid, "n": 3})
    text = client.get("/metrics").text
    assert _value(text, "levasa_model_call_seconds_count", kind="edit") >= 1
    assert _value(text, "levasa_model_call_seconds_count", kind="edit-grid") >= 1
    assert _value(text, "levasa_model_batch_size_count", kind="edit") >= 1
    assert _value(text, "levasa_runs", status="ready") == 1
    assert _value(text, "levasa_runs", status="error") == 2  # the truncated and the badconfig runs
    assert re.search(r"^levasa_http_requests_in_flight \d", text, re.M)
