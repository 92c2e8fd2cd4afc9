"""The node's own ASGI middleware: the body-size guard, the security headers and the request metrics."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from sarhad.app import MAX_BODY_BYTES


def _sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample with exactly these labels, or 0 if it is not there yet."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    match = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", metrics, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_requests_are_counted_and_timed_per_route_template(app_client: TestClient) -> None:
    before = _sample(
        app_client.get("/metrics").text,
        "sarhad_http_requests_total",
        method="GET",
        route="/healthz",
        status="200",
    )
    for _ in range(3):
        assert app_client.get("/healthz").status_code == 200
    app_client.get("/no/such/page", headers={"Accept": "application/json"})
    text = app_client.get("/metrics").text
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
