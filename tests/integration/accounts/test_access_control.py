"""Every route declares who may call it, and refuses everyone else.

The test walks the real application's routes, so a route added later without ``requires(...)`` or
``public(...)`` fails here, and every protected route is called anonymously and with a role that lacks
its permission.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from sarhad.accounts import services
from sarhad.accounts.actors import SystemActor
from sarhad.accounts.domain import ROLE_PERMISSIONS, Permission, Role, permissions_for
from sarhad.accounts.services import Principal
from sarhad.app import create_app
from sarhad.core.errors import PermissionDenied
from sarhad.core.node import Node
from sarhad.web.deps import ACCESS_ATTRIBUTE

PASSWORD = "correct horse battery"


def _access(route: APIRoute) -> tuple[str, ...] | None:
    def walk(dependant: Any) -> tuple[str, ...] | None:
        for dep in dependant.dependencies:
            marker = getattr(dep.call, ACCESS_ATTRIBUTE, None)
            if marker is not None:
                return tuple(marker)
            found = walk(dep)
            if found is not None:
                return found
        return None

    return walk(route.dependant)


def _routes(client: TestClient) -> list[APIRoute]:
    """All API routes, including those of included routers (newer FastAPI wraps them lazily)."""
    found: list[APIRoute] = []

    def walk(routes: Any) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            inner = getattr(route, "original_router", None)
            if inner is not None:
                walk(inner.routes)

    walk(client.app.routes)  # type: ignore[attr-defined]
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture
def client_with_roles(node: Node) -> Iterator[tuple[TestClient, dict[str, str]]]:
    tokens: dict[str, str] = {}
    with node.transaction() as session:
        for role in Role:
            services.create_user(
                session,
                node.clock,
                SystemActor(),
                username=f"u.{role.value.replace('_', '-')}",
                password=PASSWORD,
                roles=[role.value],
            )
    with TestClient(create_app(node, run_workers=False)) as client:
        for role in Role:
            answer = client.post(
                "/api/v1/auth/token",
                data={"username": f"u.{role.value.replace('_', '-')}", "password": PASSWORD},
            )
            assert answer.status_code == 200, answer.text
            tokens[role.value] = answer.json()["access_token"]
        yield client, tokens


def test_every_route_declares_who_may_call_it(app_client: TestClient) -> None:
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in _routes(app_client) if _access(r) is None]
    assert undeclared == [], f"routes without requires(...) or public(...): {undeclared}"


def test_every_protected_route_refuses_an_anonymous_caller(app_client: TestClient) -> None:
    checked = 0
    for route in _routes(app_client):
        access = _access(route)
        assert access is not None
        if access[0] == "public":
            continue
        for method in sorted(route.methods - {"HEAD"}):
            answer = app_client.request(method, _concrete(route.path))
            assert answer.status_code == 401, f"{method} {route.path} answered {answer.status_code} to nobody"
            assert answer.json()["error"]["code"] == "not_authenticated"
            checked += 1
    assert checked > 20  # the app really has protected routes; an empty walk would prove nothing


def test_every_protected_route_refuses_a_role_without_its_permission(
    client_with_roles: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = client_with_roles
    checked = 0
    for route in _routes(client):
        access = _access(route)
        assert access is not None
        if access[0] in ("public", "signed_in"):
            continue
        needed = {Permission(p) for p in access}
        lacking = [role for role in Role if not needed <= ROLE_PERMISSIONS[role]]
        if not lacking:
            continue  # every role may call it (e.g. reading one's own profile)
        role = lacking[0]
        for method in sorted(route.methods - {"HEAD"}):
            answer = client.request(
                method, _concrete(route.path), headers={"Authorization": f"Bearer {tokens[role.value]}"}
            )
            assert answer.status_code == 403, (
                f"{method} {route.path} answered {answer.status_code} to {role.value}, which lacks {access}"
            )
            assert answer.json()["error"]["code"] == "forbidden"
            checked += 1
    assert checked > 10


def test_account_services_check_users_manage_themselves(node: Node) -> None:
    system = SystemActor()
    with node.transaction() as session:
        services.create_user(
            session, node.clock, system, username="op", password="a long password", roles=["operator"]
        )
    with node.sessions() as session:
        user = services.access_user(session, system, "op")
    principal = Principal(
        user_id=user.id,
        username="op",
        display_name="op",
        roles=("operator",),
        permissions=permissions_for(["operator"]),
        session_id="s1",
        via="bearer",
        csrf_token="",
        language="en",
        time_zone="UTC",
        calendar="gregorian",
        scope_sections=(),
    )
    with node.transaction() as session, pytest.raises(PermissionDenied):
        services.create_user(
            session, node.clock, principal, username="op2", password="a long password", roles=["admin"]
        )
    with node.sessions() as session:
        assert services.access_user(session, principal, "op").username == "op"  # one's own account
        with pytest.raises(PermissionDenied):
            services.list_users(session, principal)
