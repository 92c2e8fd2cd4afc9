"""The OpenAPI document tells the truth: every status code and content type the node answers is declared.

FastAPI declares a route's success answer and, for routes with parameters, a 422 in its own shape; the node's
refusals come from elsewhere (the access dependencies, the services' ``SarhadError``, the body-size guard, the
NUL rule, the router's 405) and all share one shape, ``{"error": {"code", "message", "details"?}}``. This module
adds to each operation the refusals that can reach it, derived from the route itself:

- 401 and 403: a route that needs a signed-in user (``requires``), and the peer-signed exchange endpoints;
- 422: every operation (validation, the NUL rule, the services' rules), in the node's error shape;
- 413 and 400: an operation with a request body (the 32 MiB guard; a body that cannot be parsed), and 400 on
  every peer-facing exchange endpoint (protocol refusals);
- 404: an operation with path parameters or a request body (the record addressed or referred to is not held);
- 409: an operation that changes state (stale version, withdrawn, already released, …);
- 401 and 429: sign-in (wrong credentials, the throttle).

The router stops at the first route whose path matches, so a 405's ``Allow`` and an undeclared method on a path
that a less specific route also matches (``PUT /incidents/reports/daily`` against ``PUT /incidents/{origin}/
{incident_id}``) are settled here too: :func:`allowed_methods`, :func:`shadowed`.

A route's own ``responses=`` (a CSV or PDF export's content type, a 201, …) are kept as declared; only codes it
does not declare are added. The error codes themselves are listed by ``sarhad.core.errors.ErrorCode``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from sarhad.web.deps import ACCESS_ATTRIBUTE

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "A stable code (sarhad.core.errors.ErrorCode)."},
                "message": {"type": "string", "description": "For people; may change."},
                "details": {"type": "object", "description": "The field to correct, limits, problems."},
            },
        }
    },
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
DESCRIPTIONS = {
    "400": "Malformed request (a body that cannot be parsed, or a protocol refusal)",
    "401": "Not signed in, or the token or session is not valid",
    "403": "The caller's role does not allow this, or the form's CSRF token is missing",
    "404": "No such record (or one referred to) is held here",
    "409": "Conflicts with the record's state (stale version, withdrawn, already done)",
    "413": "Request body over the limit",
    "422": "Invalid input: the field and the rule it broke",
    "429": "Too many attempts; try again later",
}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PEER_PREFIX = "/exchange/"
SIGN_IN_PATHS = frozenset({"/api/v1/auth/token"})  # 401 wrong credentials, 429 throttled


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with one that adds the refusals to every operation (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, routes=app.routes, description=app.description
            )
            add_refusals(document, _api_routes(app.routes))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def add_refusals(document: dict[str, Any], routes: list[APIRoute]) -> None:
    document.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for route in routes:
        if not route.include_in_schema:
            continue
        path_item = document.get("paths", {}).get(route.path_format, {})
        for method in route.methods or ():
            operation = path_item.get(method.lower())
            if operation is None:
                continue
            for code in sorted(_refusals(route, method, operation)):
                _declare(operation, code)


def _refusals(route: APIRoute, method: str, operation: dict[str, Any]) -> set[str]:
    codes = {"422"}
    access = _access(route)
    peer = route.path_format.startswith(PEER_PREFIX)
    if peer or (access is not None and access[0] != "public"):
        codes |= {"401", "403"}
    if operation.get("requestBody") is not None:
        codes |= {"400", "413", "404"}  # 400: a body that cannot be parsed (not JSON, a broken form)
    if route.param_convertors or "{" in route.path_format:
        codes.add("404")
    if method in WRITES:
        codes.add("409")
    if peer:
        codes |= {"400", "404"}
    if route.path_format in SIGN_IN_PATHS:
        codes |= {"401", "429"}
    return codes


def _declare(operation: dict[str, Any], code: str) -> None:
    responses = operation.setdefault("responses", {})
    existing = responses.get(code)
    if existing is None or (code == "422" and _is_fastapi_validation(existing)):
        responses[code] = {
            "description": DESCRIPTIONS[code],
            "content": {"application/json": {"schema": ERROR_REF}},
        }


def _is_fastapi_validation(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _api_routes(routes: Any) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found.extend(_api_routes(inner.routes))
    return found


def _access(route: APIRoute) -> tuple[str, ...] | None:
    def walk(dependant: Any) -> tuple[str, ...] | None:
        for dependency in dependant.dependencies:
            marker = getattr(dependency.call, ACCESS_ATTRIBUTE, None)
            if marker is not None:
                return tuple(marker)
            found = walk(dependency)
            if found is not None:
                return found
        return None

    return walk(route.dependant)


# What a route answers besides JSON, for its ``responses=`` (``responses=answers(CSV, GEOJSON)``): the 200's
# content types, each with the shape of its body.
CSV: dict[str, Any] = {"text/csv": {"schema": {"type": "string"}}}
GEOJSON: dict[str, Any] = {"application/geo+json": {"schema": {"type": "object"}}}
PDF: dict[str, Any] = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
EVENT_STREAM: dict[str, Any] = {"text/event-stream": {"schema": {"type": "string"}}}
ATTACHMENT: dict[str, Any] = {
    kind: {"schema": {"type": "string", "format": "binary"}}
    for kind in ("image/jpeg", "image/png", "image/webp", "application/pdf")
}


def answers(*kinds: dict[str, Any], json: bool = True) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route whose 200 is also (or, with ``json=False``, only) one of ``kinds``."""
    content: dict[str, Any] = {"application/json": {}} if json else {}
    for kind in kinds:
        content.update(kind)
    return {200: {"content": content}}


def allowed_methods(routes: Any, scope: Any) -> list[str]:
    """The ``Allow`` of a 405: the methods of the most specific routes whose path matches (most fixed segments:
    ``/incidents/types`` is its own resource, not an incident id), as the OpenAPI document lists them."""
    return sorted({method for route in most_specific(routes, scope) for method in route.methods or ()})


def shadowed(routes: Any, scope: Any) -> bool:
    """Whether the route that matched ``scope`` is less specific than another route of the same path that does
    not take its method (``PUT /incidents/reports/daily`` matched ``PUT /incidents/{origin}/{incident_id}``):
    the answer is then 405, not the matched route's 422."""
    route = scope.get("route")
    if route is None or not hasattr(route, "path_format"):
        return False
    specific = most_specific(routes, scope)
    if not specific or route in specific or _fixed(route) >= _fixed(specific[0]):
        return False
    return not any(scope.get("method") in (other.methods or ()) for other in specific)


def most_specific(routes: Any, scope: Any) -> list[Any]:
    matching = _matching(routes, scope)
    best = max((_fixed(route) for route in matching), default=0)
    return [route for route in matching if _fixed(route) == best]


def _matching(routes: Any, scope: Any) -> list[Any]:
    from starlette.routing import Match

    found: list[Any] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found.extend(_matching(inner.routes, scope))
        elif getattr(route, "methods", None) and route.matches(scope)[0] != Match.NONE:
            found.append(route)
    return found


def _fixed(route: Any) -> int:
    """How many segments of the route's path are fixed words rather than parameters."""
    return sum(1 for part in str(route.path_format).split("/") if part and "{" not in part)
