"""The API docs page (/docs, Swagger UI) in a real browser with no network beyond loopback: it must render every
operation from files this server serves, not from a CDN."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from scripts.bench.serve import start_server, stop_server

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt")
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory):
    """The service with an empty runs folder: the docs do not need a run."""
    root = tmp_path_factory.mktemp("docs-site")
    (root / "runs").mkdir()
    proc, url = start_server(root / "runs", log_path=root / "server.log")
    yield url
    stop_server(proc)


def test_docs_render_every_operation_offline(docs_server):
    from scripts.bench.browser import launch

    left, asked = [], []

    def only_loopback(route):
        url = route.request.url
        if urlsplit(url).hostname in LOOPBACK:
            asked.append(urlsplit(url).path)
            return route.continue_()
        left.append(url)
        return route.abort()

    with playwright_api.sync_playwright() as p:
        browser = launch(p)
        try:
            ctx = browser.new_context(base_url=docs_server)
            ctx.route("**/*", only_loopback)
            page = ctx.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto("/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            shown = page.locator(".opblock-summary-path").all_inner_texts()
            page.wait_for_load_state("networkidle")
        finally:
            browser.close()
    paths = {s.replace("\u200b", "").strip() for s in shown}  # Swagger UI breaks long paths with zero-width spaces
    for want in ("/api/runs/{run}/edit", "/api/runs/{run}/encode", "/api/emotions", "/api/ready"):
        assert want in paths, f"{want} not rendered; the page shows {sorted(paths)}"
    assert not left, f"requests that left loopback: {left}"
    local = {"/vendor/swagger-ui/swagger-ui-bundle.js", "/vendor/swagger-ui/swagger-ui.css", "/openapi.json"}
    assert local <= set(asked), f"the page fetched {sorted(set(asked))}"
    assert not errors, f"JavaScript errors on /docs: {errors}"
