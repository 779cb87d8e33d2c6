"""Prometheus metrics with the official client (prometheus_client): requests and latency per route, model time and
batch size per kind of call, runs loaded. Scraped at GET /metrics.

Routes are labelled by their template (/api/runs/{run}/edit), never the raw path, so a client cannot grow the label
set; requests that match no route share the label "unmatched".
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """One registry per app (tests build many apps in one process; the global registry would refuse duplicates)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter("levasa_http_requests", "HTTP requests by method, route template and status",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("levasa_http_request_duration_seconds", "HTTP request latency by route template",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge("levasa_http_requests_in_flight", "requests being served now", registry=r)
        self.model_seconds = Histogram("levasa_model_call_seconds", "model-thread time per call (a batch of "
                                       "requests, or one unbatched job)", ["kind"], buckets=LATENCY_BUCKETS,
                                       registry=r)
        self.batch_size = Histogram("levasa_model_batch_size", "requests served by one model call", ["kind"],
                                    buckets=(1, 2, 4, 8, 16, 32, 64), registry=r)
        self.runs = Gauge("levasa_runs", "runs found in the runs folder, by status", ["status"], registry=r)

    def model_call(self, kind: str, seconds: float, size: int) -> None:
        self.model_seconds.labels(kind).observe(seconds)
        self.batch_size.labels(kind).observe(size)

    def render(self, registry_of_runs=None) -> bytes:
        if registry_of_runs is not None:
            statuses = [sr.status for sr in registry_of_runs.runs.values()]
            for status in ("ready", "error"):
                self.runs.labels(status).set(statuses.count(status))
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI: times every HTTP request and counts it by its route template and status."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.m = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = 500  # what the client gets if the app raises before answering
        t0 = time.perf_counter()

        async def send_status(msg):
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
            await send(msg)

        self.m.in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.m.in_flight.dec()
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "")
            self.m.requests.labels(method, route, str(status)).inc()
            self.m.latency.labels(method, route).observe(time.perf_counter() - t0)
