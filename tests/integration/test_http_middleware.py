"""The node's own ASGI middleware: the body-size guard, the security headers, Cache-Control and the request
metrics, which are served on their own address only (issue 15, hole 11)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from sarhad.app import MAX_BODY_BYTES, create_app
from sarhad.core.node import Node


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def metrics_url(node: Node) -> Iterator[tuple[TestClient, str]]:
    """The app with ``metrics_address`` set to a free loopback port, and the scrape URL there."""
    address = f"127.0.0.1:{_free_port()}"
    node.settings = node.settings.model_copy(update={"metrics_address": address})
    with TestClient(create_app(node, run_workers=False)) as client:
        yield client, f"http://{address}/metrics"


def _sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample with exactly these labels, or 0 if it is not there yet."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    match = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", metrics, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_requests_are_counted_and_timed_per_route_template(metrics_url: tuple[TestClient, str]) -> None:
    app_client, url = metrics_url
    before = _sample(
        httpx.get(url).text,
        "sarhad_http_requests_total",
        method="GET",
        route="/healthz",
        status="200",
    )
    for _ in range(3):
        assert app_client.get("/healthz").status_code == 200
    app_client.get("/no/such/page", headers={"Accept": "application/json"})
    text = httpx.get(url).text
    assert (
        _sample(text, "sarhad_http_requests_total", method="GET", route="/healthz", status="200")
        == before + 3
    )
    assert _sample(text, "sarhad_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert (
        _sample(text, "sarhad_http_request_duration_seconds_count", method="GET", route="/healthz")
        == before + 3
    )


def test_a_declared_oversized_body_is_refused_before_it_is_read(app_client: TestClient) -> None:
    response = app_client.post(
        "/api/v1/bulletins",
        content=b"{}",
        headers={"Content-Length": str(MAX_BODY_BYTES + 1), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert response.headers["x-frame-options"] == "DENY"


def test_a_malformed_content_length_is_refused(app_client: TestClient) -> None:
    response = app_client.post("/api/v1/bulletins", content=b"{}", headers={"Content-Length": "12x"})
    assert response.status_code == 413


def test_every_response_carries_the_security_headers_once(app_client: TestClient) -> None:
    for path in ("/healthz", "/login", "/no/such/page"):
        response = app_client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert len(response.headers.get_list("x-frame-options")) == 1


def test_the_metrics_are_not_served_on_the_nodes_own_port(metrics_url: tuple[TestClient, str]) -> None:
    app_client, url = metrics_url
    assert app_client.get("/metrics", headers={"Accept": "application/json"}).status_code == 404
    assert "sarhad_http_requests_total" in httpx.get(url).text


def test_without_a_metrics_address_nothing_serves_metrics(app_client: TestClient) -> None:
    assert app_client.get("/metrics", headers={"Accept": "application/json"}).status_code == 404


def test_every_answer_but_static_assets_says_no_store(app_client: TestClient) -> None:
    for path, accept in (
        ("/healthz", "application/json"),
        ("/login", "text/html"),
        ("/api/v1/incidents", "application/json"),  # 401: still no-store
        ("/no/such/page", "application/json"),
        ("/api/openapi.json", "application/json"),
    ):
        response = app_client.get(path, headers={"Accept": accept})
        assert response.headers.get_list("cache-control") == ["no-store"], path
    for path in (
        "/static/sarhad.css",
        "/static/swagger-ui/swagger-ui.css",
        "/incidents/static/incidents.css",
    ):
        response = app_client.get(path)
        assert response.status_code == 200, path
        assert "no-store" not in response.headers.get("cache-control", ""), path


def test_the_api_docs_load_only_the_nodes_own_files(app_client: TestClient) -> None:
    page = app_client.get("/api/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/static/") for s in sources), sources
    assert "<script>" not in page.text  # no inline script: the CSP (script-src 'self') would refuse it
    for source in sources:
        assert app_client.get(source).status_code == 200, source
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_a_405_lists_the_methods_of_the_paths_own_routes(app_client: TestClient) -> None:
    """Issue 15, hole 12: GET and POST of one path are two routes; the router's 405 named only the first one's,
    and a path shadowed by a less specific template answered that route's 422."""
    json = {"Accept": "application/json"}
    answer = app_client.request("OPTIONS", "/api/v1/bulletins", headers=json)
    assert answer.status_code == 405 and answer.headers["allow"] == "GET, POST"
    answer = app_client.request("OPTIONS", "/api/v1/incidents/types", headers=json)
    assert answer.status_code == 405 and answer.headers["allow"] == "GET"  # not PUT /incidents/{incident_id}
    answer = app_client.put("/api/v1/incidents/reports/daily", json={}, headers=json)
    assert answer.status_code == 405 and answer.headers["allow"] == "GET"
    assert answer.json()["error"]["code"] == "method_not_allowed"
