"""HTTP API for sign-in and accounts: parse, check access, call a service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from sarhad.accounts import services
from sarhad.accounts.domain import Permission
from sarhad.accounts.models import User
from sarhad.accounts.schemas import MeOut, PositionOut, TokenAnswer, UserOut
from sarhad.accounts.services import Principal
from sarhad.core.errors import TooManyRequests
from sarhad.web.deps import NodeDep, client_ip, public, requires

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _user_out(user: User) -> UserOut:
    return UserOut(
        username=user.username,
        display_name=user.display_name,
        roles=list(user.roles),
        scope_sections=list(user.scope_sections or []),
        language=user.language,
        time_zone=user.time_zone,
        calendar=user.calendar,
        disabled=user.disabled,
    )


@router.post("/auth/token", response_model=TokenAnswer)
def issue_token(
    request: Request,
    node: NodeDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    _: None = public("sign-in"),
) -> TokenAnswer:
    """Exchange a username and password for a bearer token (OAuth2 password form fields)."""
    ip = client_ip(request)
    throttled: TooManyRequests | None = None
    with node.transaction() as session:
        try:
            user = services.authenticate(
                session, node.settings, node.clock, username=username, password=password, client_ip=ip
            )
        except TooManyRequests as exc:  # audited: commit the refusal, then answer it
            user, throttled = None, exc
        secret = (
            services.open_session(session, node.settings, node.clock, user, kind="bearer", client_ip=ip)[0]
            if user
            else None
        )
    if throttled is not None:
        raise throttled
    if secret is None:
        raise services.bad_credentials()
    return TokenAnswer(access_token=secret, expires_in=node.settings.token_ttl_minutes * 60)


@router.post("/auth/logout", status_code=204)
def revoke_token(request: Request, node: NodeDep, principal: Principal = requires()) -> None:
    """Revoke the token (or session) used for this call."""
    with node.transaction() as session:
        services.revoke_session(session, node.clock, principal, client_ip(request))


@router.get("/me", response_model=MeOut)
def who_am_i(node: NodeDep, principal: Principal = requires(Permission.PROFILE)) -> MeOut:
    with node.sessions() as session:
        user = services.access_user(session, principal, principal.username)
        positions = services.positions_held(session, user.id, node.clock.now())
    return MeOut(
        **_user_out(user).model_dump(),
        permissions=sorted(p.value for p in principal.permissions),
        positions=positions,
        party=node.party,
    )


@router.get("/users", response_model=list[UserOut])
def list_users(node: NodeDep, principal: Principal = requires(Permission.USERS_MANAGE)) -> list[UserOut]:
    with node.sessions() as session:
        return [_user_out(u) for u in services.list_users(session, principal)]


@router.get("/positions", response_model=list[PositionOut])
def list_positions(node: NodeDep, _: Principal = requires(Permission.PROFILE)) -> list[PositionOut]:
    """This node's positions (duty posts) and who holds each now."""
    now = node.clock.now()
    with node.sessions() as session:
        return [
            PositionOut(
                id=p.id,
                party=p.party,
                names=p.names,
                kind=p.kind,
                section_id=p.section_id,
                parent_id=p.parent_id,
                holders=[u.username for u in services.current_holders(session, p.id, now)],
            )
            for p in services.list_positions(session)
        ]
