"""Sign-in, sign-out, preferences and the users page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sarhad.accounts import login_csrf, services
from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.audit.services import record_event
from sarhad.core.calendars import CALENDARS
from sarhad.core.errors import ErrorCode, InvalidInput, PermissionDenied, SarhadError, TooManyRequests
from sarhad.core.i18n import LANGUAGES, gettext
from sarhad.core.node import Node
from sarhad.web.deps import LANGUAGE_COOKIE, SESSION_COOKIE, NodeDep, client_ip, public, requires
from sarhad.web.forms import FormErrors, form_errors
from sarhad.web.templating import add_nav_item, render

router = APIRouter(include_in_schema=False)
add_nav_item("/users", "Users", Permission.USERS_MANAGE.value)

COMMON_ZONES = ["UTC", "Asia/Karachi", "Asia/Tehran", "Asia/Kabul", "Asia/Dubai", "Europe/London"]


def safe_next(value: str | None) -> str:
    """Only same-site relative paths are followed after sign-in (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or urlparse(value).netloc:
        return "/"
    return value


def _login_page(
    request: Request,
    node: Node,
    *,
    next: str,
    error: str | None = None,
    username: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The sign-in form with a fresh pre-session CSRF token, in its field and in its cookie."""
    token = login_csrf.new_token(node.settings.secret_key)
    response = render(
        request,
        "login.html",
        {"next": safe_next(next), "error": error, "username": username, "csrf_token": token},
        status_code=status_code,
    )
    response.set_cookie(
        login_csrf.COOKIE,
        token,
        max_age=login_csrf.MAX_AGE_SECONDS,
        httponly=True,
        samesite="strict",
        secure=node.settings.tls.enabled,
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, node: NodeDep, next: str = "/", _: None = public("sign-in page")
) -> HTMLResponse:
    return _login_page(request, node, next=next)


@router.post("/login", response_model=None)
def login(
    request: Request,
    node: NodeDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    _: None = public("sign-in"),
) -> Response:
    ip = client_ip(request)
    cookie = request.cookies.get(login_csrf.COOKIE, "")
    if not login_csrf.valid(node.settings.secret_key, cookie, csrf_token):
        # Login CSRF: another site posting this form would sign the browser into the attacker's account.
        with node.transaction() as session:
            record_event(
                session,
                node.clock,
                actor=username,
                action="auth.login",
                outcome="denied",
                record_kind="user",
                record_id=username,
                client_ip=ip,
                details={"reason": "csrf"},
            )
        error = PermissionDenied(
            "the form's security token is missing or stale; reload the page", code=ErrorCode.CSRF
        )
        return _login_page(
            request, node, next=next, error=gettext(error.message), username=username, status_code=403
        )
    try:
        throttled: TooManyRequests | None = None
        with node.transaction() as session:
            try:
                user = services.authenticate(
                    session, node.settings, node.clock, username=username, password=password, client_ip=ip
                )
            except TooManyRequests as exc:  # audited: commit the refusal, then answer it
                user, throttled = None, exc
            secret = (
                services.open_session(session, node.settings, node.clock, user, kind="cookie", client_ip=ip)[
                    0
                ]
                if user
                else None
            )
        if throttled is not None:
            raise throttled
        if secret is None:
            raise services.bad_credentials()
    except SarhadError as exc:
        return _login_page(
            request,
            node,
            next=next,
            error=gettext(exc.message),
            username=username,
            status_code=exc.status_code,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.delete_cookie(login_csrf.COOKIE, path="/login")
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=node.settings.session_ttl_minutes * 60,
        httponly=True,
        samesite="strict",
        secure=node.settings.tls.enabled,
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, node: NodeDep, principal: Principal = requires()) -> RedirectResponse:
    with node.transaction() as session:
        services.revoke_session(session, node.clock, principal, client_ip(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def choose_language_anonymous(
    code: str, next: str = "/", _: None = public("language for sign-in page")
) -> RedirectResponse:
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 86400, samesite="lax")
    return response


def _me_labels() -> dict[str, str]:
    return {
        "language": gettext("Language"),
        "time_zone": gettext("Time zone"),
        "calendar": gettext("Calendar"),
    }


def _me_page(
    request: Request, node: Node, principal: Principal, errors: FormErrors | None = None
) -> HTMLResponse:
    with node.sessions() as session:
        positions = services.positions_held(session, principal.user_id, node.clock.now())
    zones = sorted(set(COMMON_ZONES) | {principal.time_zone})
    return render(
        request,
        "me.html",
        {"positions": positions, "zones": zones, "errors": errors or form_errors(principal, _me_labels())},
        principal=principal,
        status_code=422 if errors else 200,
    )


@router.get("/me", response_class=HTMLResponse)
def preferences_page(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.PROFILE)
) -> HTMLResponse:
    return _me_page(request, node, principal)


@router.post("/me", response_model=None)
def save_preferences(
    request: Request,
    node: NodeDep,
    language: Annotated[str, Form(max_length=8)] = "",
    time_zone: Annotated[str, Form(max_length=64)] = "",
    calendar: Annotated[str, Form(max_length=16)] = "",
    principal: Principal = requires(Permission.PROFILE),
) -> Response:
    errors = form_errors(principal, _me_labels())
    for name, ok in (
        ("language", language in LANGUAGES),
        ("time_zone", time_zone in available_timezones()),
        ("calendar", calendar in CALENDARS),
    ):
        if not ok:
            errors.add(name, gettext("Choose one of the options."))
    if errors:
        return _me_page(request, node, principal, errors)
    with node.transaction() as session:
        services.set_preferences(
            session, node.clock, principal, language=language, time_zone=time_zone, calendar=calendar
        )
    return RedirectResponse("/me", status_code=303)


@router.post("/me/language")
def switch_language(
    node: NodeDep,
    language: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
    principal: Principal = requires(Permission.PROFILE),
) -> RedirectResponse:
    if language not in LANGUAGES:
        raise InvalidInput(f"unknown language {language!r}")
    with node.transaction() as session:
        services.set_preferences(
            session,
            node.clock,
            principal,
            language=language,
            time_zone=principal.time_zone,
            calendar=principal.calendar,
        )
    return RedirectResponse(safe_next(next), status_code=303)


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.USERS_MANAGE)
) -> HTMLResponse:
    with node.sessions() as session:
        users = services.list_users(session, principal)
        positions = services.list_positions(session, node.party)
        holders = {
            p.id: [u.username for u in services.current_holders(session, p.id, node.clock.now())]
            for p in positions
        }
    return render(
        request,
        "users.html",
        {"users": users, "positions": positions, "holders": holders},
        principal=principal,
    )
