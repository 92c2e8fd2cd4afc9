"""Who may call what. Every route declares ``requires(...)`` or ``public()``; a test enforces it.

A principal comes from a bearer token (API clients) or a session cookie (pages). Cookie-authenticated
requests that change state must carry the session's CSRF token (form field or ``X-CSRF-Token`` header).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal, resolve_secret
from sarhad.core.errors import ErrorCode, NotAuthenticated, PermissionDenied
from sarhad.core.i18n import LANGUAGES, current_language
from sarhad.core.node import Node

SESSION_COOKIE = "sarhad_session"
LANGUAGE_COOKIE = "sarhad_lang"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ACCESS_ATTRIBUTE = "__sarhad_access__"


def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


NodeDep = Annotated[Node, Depends(get_node)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def _principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    node = get_node(request)
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise NotAuthenticated(
                "the Authorization header must be 'Bearer <token>'", code=ErrorCode.BAD_TOKEN
            )
        kind, secret = "bearer", secret.strip()
    elif request.cookies.get(SESSION_COOKIE):
        kind, secret = "cookie", request.cookies[SESSION_COOKIE]
    else:
        raise NotAuthenticated("sign in first", code=ErrorCode.NOT_AUTHENTICATED)
    with node.sessions() as session:
        principal = resolve_secret(session, node.clock, secret, kind)
    if kind == "cookie" and request.method not in SAFE_METHODS:
        await _check_csrf(request, principal)
    request.state.principal = principal
    current_language.set(principal.language if principal.language in LANGUAGES else "en")
    return principal


async def _check_csrf(request: Request, principal: Principal) -> None:
    token = request.headers.get("x-csrf-token")
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        token = value if isinstance(value, str) else None
    if token != principal.csrf_token:
        raise PermissionDenied(
            "the form's security token is missing or stale; reload the page", code=ErrorCode.CSRF
        )


def requires(*permissions: Permission) -> Any:
    """Dependency: the caller must be signed in and hold every named permission."""

    async def dependency(request: Request) -> Principal:
        principal = await _principal(request)
        missing = [p.value for p in permissions if p not in principal.permissions]
        if missing:
            raise PermissionDenied(
                f"your role does not allow this (needs {', '.join(missing)})", code=ErrorCode.FORBIDDEN
            )
        return principal

    setattr(dependency, ACCESS_ATTRIBUTE, tuple(p.value for p in permissions) or ("signed_in",))
    return Depends(dependency)


def public(reason: str) -> Any:
    """Dependency for the few routes anyone may call (login page, health, peer-signed exchange calls)."""

    async def dependency() -> None:
        return None

    setattr(dependency, ACCESS_ATTRIBUTE, ("public", reason))
    return Depends(dependency)
