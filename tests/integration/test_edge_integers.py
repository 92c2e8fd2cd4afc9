"""Integers beyond 64 bits and negative ids are refused where the request is parsed (422 naming the field),
never passed to the database driver (which answered 500)."""

from __future__ import annotations

import re
from typing import Any, get_args

import pytest
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from sarhad.accounts import services
from sarhad.accounts.actors import SystemActor
from sarhad.app import create_app
from sarhad.core.node import Node
from sarhad.core.params import parse_row_id
from sarhad.live.domain import parse_last_event_id

PASSWORD = "correct horse battery"
HUGE = 2**64
INCIDENT = {
    "type": "drug_smuggling",
    "occurred_at": "2026-01-01T00:00:00Z",
    "lat": 29,
    "lon": 62,
    "description": "x",
}
BAD_IDS = [
    str(HUGE),
    str(2**63),
    str(2**31),
    "-1",
    "0",
    "9" * 40,
]  # alert ids are INTEGER (32-bit on PostgreSQL)
BAD_BIG_IDS = [str(HUGE), str(2**63), "-1", "0", "9" * 40]  # audit entry ids are BIGINT


@pytest.fixture
def client(node: Node) -> TestClient:
    with node.transaction() as session:
        services.create_user(
            session,
            node.clock,
            SystemActor(),
            username="root",
            password=PASSWORD,
            roles=["admin", "liaison_officer", "auditor"],
        )
    client = TestClient(create_app(node, run_workers=False), raise_server_exceptions=False)
    answer = client.post("/api/v1/auth/token", data={"username": "root", "password": PASSWORD})
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return client


def _refused(answer: Any, field: str) -> None:
    assert answer.status_code == 422, (answer.status_code, answer.text)
    body = answer.json()["error"]
    assert body["code"] == "invalid"
    assert field in [p["field"] for p in body["details"]["problems"]], body


@pytest.mark.parametrize("value", BAD_IDS)
def test_alert_ack_refuses_an_id_out_of_range(client: TestClient, value: str) -> None:
    _refused(client.post(f"/api/v1/exchange/alerts/{value}/ack"), "alert_id")
    _refused(client.post(f"/exchange/alerts/{value}/ack"), "alert_id")


@pytest.mark.parametrize("value", BAD_BIG_IDS)
def test_audit_refuses_a_before_id_out_of_range(client: TestClient, value: str) -> None:
    _refused(client.get("/api/v1/audit", params={"before_id": value}), "before_id")
    _refused(client.get("/audit", params={"before_id": value}), "before_id")


@pytest.mark.parametrize("value", [str(HUGE), str(2**63), str(2**31), "-1", "9" * 40])
def test_events_refuse_a_last_event_id_out_of_range(client: TestClient, value: str) -> None:
    _refused(client.get("/api/v1/events", params={"last_event_id": value}), "last_event_id")


def test_the_largest_id_of_each_column_is_accepted_and_simply_not_found(client: TestClient) -> None:
    answer = client.post(f"/api/v1/exchange/alerts/{2**31 - 1}/ack")
    assert answer.status_code == 404, answer.text
    answer = client.get("/api/v1/audit", params={"before_id": str(2**63 - 1)})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PUT", "/api/v1/incidents/x", {**INCIDENT, "persons_apprehended": HUGE}, "persons_apprehended"),
        ("PUT", "/api/v1/incidents/x", {**INCIDENT, "casualties": {"killed": HUGE}}, "casualties.killed"),
        ("PUT", "/api/v1/incidents/x", {**INCIDENT, "version": HUGE}, "version"),
        ("PUT", "/api/v1/bulletins/x", {"title": "t", "body": "b", "version": HUGE}, "version"),
        ("PUT", "/api/v1/hotline/config/deadlines", {"deadlines": {"flash": HUGE}}, "deadlines.flash"),
        ("PUT", "/api/v1/requests/IR/x", {"text": "t", "version": HUGE}, "version"),
        ("PUT", "/api/v1/hotline/config/policies/PK-X", {"steps": [], "max_repeats": HUGE}, "max_repeats"),
    ],
)
def test_json_bodies_refuse_integers_out_of_range(
    client: TestClient, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    answer = client.request(method, path, json=body)
    assert answer.status_code == 422, (answer.status_code, answer.text)
    assert field in [p["field"] for p in answer.json()["error"]["details"]["problems"]], answer.text


def test_parse_row_id_takes_decimal_ids_in_range_only() -> None:
    assert parse_row_id("1") == 1 and parse_row_id(str(2**31 - 1)) == 2**31 - 1
    assert parse_row_id(str(2**63 - 1), maximum=2**63 - 1) == 2**63 - 1
    assert [parse_row_id(v) for v in ("0", "-1", str(2**31), "1e3", "١٢", "", " ")] == [None] * 7


def _routes(routes: list[Any]) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):  # an included router (FastAPI keeps it whole)
            found += _routes(route.original_router.routes)
        elif getattr(route, "routes", None):
            found += _routes(route.routes)
    return found


def _params(dependant: Dependant) -> list[ModelField]:
    params = (
        dependant.path_params + dependant.query_params + dependant.header_params + dependant.cookie_params
    )
    for sub in dependant.dependencies:
        params += _params(sub)
    return params


def _bounds(annotation: Any, metadata: list[Any]) -> tuple[Any, Any]:
    """The (ge, le) of an int parameter, from the route's own constraints or the annotated type's."""
    low = high = None
    candidates = list(metadata)
    for arg in get_args(annotation) or (annotation,):
        candidates += list(getattr(arg, "__metadata__", ()))
    for item in candidates:
        low = getattr(item, "ge", low) if getattr(item, "ge", None) is not None else low
        high = getattr(item, "le", high) if getattr(item, "le", None) is not None else high
    return low, high


def test_every_integer_parameter_of_the_api_and_pages_is_bounded(node: Node) -> None:
    """A guard for routes added later: every int in a path, query, header or cookie has both bounds within 64
    bits (the exchange's peer-facing /exchange/v1 routes are the protocol's, bounded there)."""
    app = create_app(node, check_migrations=False, run_workers=False)
    unbounded = []
    for route in _routes(app.routes):
        if route.path.startswith("/exchange/v1/"):
            continue
        for param in _params(route.dependant):
            annotation = param.field_info.annotation
            if int not in (annotation, *get_args(annotation)) and not re.search(r"\bint\b", str(annotation)):
                continue
            low, high = _bounds(annotation, param.field_info.metadata)
            if low is None or high is None or low < -(2**63) or high > 2**63 - 1:
                unbounded.append(f"{sorted(route.methods)} {route.path} {param.name}: {low}..{high}")
    assert unbounded == [], unbounded


def test_a_last_event_id_header_beyond_the_event_ids_is_ignored() -> None:
    assert parse_last_event_id(str(2**31 - 1)) == 2**31 - 1
    assert [parse_last_event_id(v) for v in (str(2**31), str(2**40), "-1", "١٢", "x")] == [None] * 5
