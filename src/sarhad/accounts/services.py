"""The one write path for users, positions and sign-in. API, pages and CLI all call these functions."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import (
    Permission,
    WeakPassword,
    check_password,
    check_roles,
    check_username,
    permissions_for,
)
from sarhad.accounts.models import AuthSession, LoginAttempt, Position, PositionHolder, User
from sarhad.audit.services import record_event
from sarhad.core import text
from sarhad.core.clock import Clock
from sarhad.core.errors import (
    Conflict,
    ErrorCode,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RuleError,
    TooManyRequests,
)
from sarhad.core.ids import new_id
from sarhad.core.settings import Settings
from sarhad.live import services as live_events

# argon2id with the library's RFC 9106 "low memory" profile defaults.
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")


@dataclass(frozen=True)
class Principal:
    """Who is calling, resolved from a session cookie or a bearer token."""

    user_id: str
    username: str
    display_name: str
    roles: tuple[str, ...]
    permissions: frozenset[Permission]
    session_id: str
    via: str
    csrf_token: str
    language: str
    time_zone: str
    calendar: str
    scope_sections: tuple[str, ...]
    expires_at: datetime | None = None  # when the session or token ends (None: not from a session)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_user(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    username: str,
    password: str,
    roles: list[str],
    display_name: str = "",
    scope_sections: Sequence[str] = (),
    language: str = "en",
    time_zone: str = "UTC",
    calendar: str = "gregorian",
) -> User:
    """Add a local user with one or more roles; needs ``users.manage``."""
    require(actor, Permission.USERS_MANAGE, "managing users")
    try:
        check_username(username)
        check_password(password, (username, display_name))
        roles = check_roles(roles)
        text.check_title(display_name, "display_name")
    except WeakPassword as exc:
        raise _weak(exc) from exc
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"user {username!r} already exists", code=ErrorCode.USER_EXISTS)
    now = clock.now()
    user = User(
        id=new_id(),
        username=username,
        display_name=display_name or username,
        password_hash=_hasher.hash(password),
        roles=roles,
        scope_sections=list(scope_sections),
        language=language,
        time_zone=time_zone,
        calendar=calendar,
        disabled=False,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    record_event(
        session,
        clock,
        actor=actor.username,
        action="user.create",
        record_kind="user",
        record_id=username,
        details={"roles": roles},
    )
    return user


def _user_named(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def access_user(session: Session, actor: Actor, username: str) -> User:
    """A user's account: one's own with ``profile``, anyone's with ``users.manage``."""
    if username == actor.username:
        require(actor, Permission.PROFILE, "seeing your profile")
    else:
        require(actor, Permission.USERS_MANAGE, "managing users")
    return _user_named(session, username)


def list_users(session: Session, actor: Actor) -> Sequence[User]:
    """Every local user, by username; needs ``users.manage``."""
    require(actor, Permission.USERS_MANAGE, "managing users")
    return session.scalars(select(User).order_by(User.username)).all()


def set_disabled(session: Session, clock: Clock, actor: Actor, username: str, disabled: bool) -> User:
    """Disable a user (ending all their sessions) or enable them again; needs ``users.manage``."""
    require(actor, Permission.USERS_MANAGE, "managing users")
    user = _user_named(session, username)
    user.disabled = disabled
    if disabled:
        _revoke_all(session, clock, user.id)
    record_event(
        session,
        clock,
        actor=actor.username,
        action="user.disable" if disabled else "user.enable",
        record_kind="user",
        record_id=username,
    )
    return user


def _weak(exc: WeakPassword) -> InvalidInput:
    return InvalidInput(str(exc), code=ErrorCode.WEAK_PASSWORD, details={"field": "password"})


def set_password(session: Session, clock: Clock, actor: Actor, username: str, password: str) -> User:
    """Set a user's password (ending their sessions); needs ``users.manage``."""
    require(actor, Permission.USERS_MANAGE, "managing users")
    user = _user_named(session, username)
    try:
        check_password(password, (user.username, user.display_name))
    except WeakPassword as exc:
        raise _weak(exc) from exc
    user.password_hash = _hasher.hash(password)
    user.password_changed_at = clock.now()
    _revoke_all(session, clock, user.id)
    record_event(
        session, clock, actor=actor.username, action="user.password", record_kind="user", record_id=username
    )
    return user


def set_preferences(
    session: Session, clock: Clock, actor: Principal, *, language: str, time_zone: str, calendar: str
) -> User:
    """Change the signed-in user's own language, time zone and calendar; needs ``profile``."""
    require(actor, Permission.PROFILE, "changing your preferences")
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFound("no such user")
    user.language, user.time_zone, user.calendar = language, time_zone, calendar
    return user


def _revoke_all(session: Session, clock: Clock, user_id: str) -> None:
    session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    live_events.publish_revocation(session, clock, user_id=user_id)  # open event streams end at once


def login_throttle_rule(
    session: Session, settings: Settings, clock: Clock, username: str, client_ip: str
) -> str | None:
    """Which throttle rule refuses this sign-in now, or None (``docs/security.md``, "Sign-in throttle").

    Failures count per client address: ``login_max_failures`` for one username from one address, and
    ``login_max_failures_per_address`` for any usernames from one address, within ``login_window_minutes``.
    Failures from other addresses never count, so nobody can lock an account by failing to sign in to it
    from elsewhere; the owner signs in from their own address. Refused attempts are not failures (they are
    not checked), so hammering a refused address does not extend its wait.
    """
    since = clock.now() - timedelta(minutes=settings.login_window_minutes)
    failed = (LoginAttempt.client_ip == client_ip, LoginAttempt.at >= since, LoginAttempt.success.is_(False))
    from_address = session.scalar(select(func.count(LoginAttempt.id)).where(*failed)) or 0
    if from_address >= settings.login_max_failures_per_address:
        return "address"
    if from_address < settings.login_max_failures:
        return None
    for_user = (
        session.scalar(select(func.count(LoginAttempt.id)).where(*failed, LoginAttempt.username == username))
        or 0
    )
    return "address_and_username" if for_user >= settings.login_max_failures else None


def check_login_throttle(
    session: Session, settings: Settings, clock: Clock, username: str, client_ip: str = ""
) -> None:
    """Refuse a sign-in (429 ``login_throttled``) while a throttle rule holds for this address."""
    rule = login_throttle_rule(session, settings, clock, username, client_ip)
    if rule is not None:
        raise TooManyRequests(
            f"too many failed sign-ins from this address; try again in {settings.login_window_minutes} minutes",
            code=ErrorCode.LOGIN_THROTTLED,
            details={"rule": rule},
        )


def authenticate(
    session: Session, settings: Settings, clock: Clock, *, username: str, password: str, client_ip: str
) -> User | None:
    """Check a username and password; None if they do not match or the account is disabled.

    The attempt is recorded and audited in the caller's transaction, which must commit even on failure
    (so the caller raises ``BAD_CREDENTIALS`` after committing). One answer for unknown users, wrong
    passwords and disabled accounts alike, so it does not tell an attacker which usernames exist.

    A throttled attempt (``check_login_throttle``) is audited (outcome ``denied``, the rule in the details)
    and raises ``TooManyRequests``: the caller catches it inside its transaction, commits, then raises it.
    """
    try:
        check_login_throttle(session, settings, clock, username, client_ip)
    except TooManyRequests as exc:
        record_event(
            session,
            clock,
            actor=username,
            action="auth.login",
            outcome="denied",
            record_kind="user",
            record_id=username,
            client_ip=client_ip,
            details={"reason": "throttled", **(exc.details or {})},
        )
        raise
    user = session.scalar(select(User).where(User.username == username))
    ok = False
    if user is None:
        # Spend the same time as a real check so the response time does not reveal unknown usernames.
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
    else:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
        ok = ok and not user.disabled
    session.add(LoginAttempt(username=username, client_ip=client_ip, at=clock.now(), success=ok))
    record_event(
        session,
        clock,
        actor=username,
        action="auth.login",
        outcome="ok" if ok else "failed",
        record_kind="user",
        record_id=username,
        client_ip=client_ip,
    )
    if not ok or user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def bad_credentials() -> NotAuthenticated:
    return NotAuthenticated(
        "wrong username or password, or the account is disabled", code=ErrorCode.BAD_CREDENTIALS
    )


def open_session(
    session: Session, settings: Settings, clock: Clock, user: User, *, kind: str, client_ip: str
) -> tuple[str, AuthSession]:
    """Create a cookie session or a bearer token; return the secret (shown once) and the row."""
    secret = secrets.token_urlsafe(32)
    ttl = settings.session_ttl_minutes if kind == "cookie" else settings.token_ttl_minutes
    now = clock.now()
    row = AuthSession(
        id=new_id(),
        token_hash=hash_secret(secret),
        user_id=user.id,
        kind=kind,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + timedelta(minutes=ttl),
        revoked_at=None,
        client_ip=client_ip,
    )
    session.add(row)
    return secret, row


def resolve_secret(session: Session, clock: Clock, secret: str, kind: str) -> Principal:
    """The principal behind a session cookie or bearer token, or NotAuthenticated saying why not."""
    # One statement for the session and its user: this runs on every request.
    found = session.execute(
        select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.token_hash == hash_secret(secret))
    ).first()
    if found is None or found[0].kind != kind:
        raise NotAuthenticated("unknown session or token; sign in again", code=ErrorCode.BAD_TOKEN)
    row, user = found
    if row.revoked_at is not None:
        raise NotAuthenticated("this session was signed out; sign in again", code=ErrorCode.TOKEN_REVOKED)
    if row.expires_at <= clock.now():
        raise NotAuthenticated("this session has expired; sign in again", code=ErrorCode.TOKEN_EXPIRED)
    if user.disabled:
        raise NotAuthenticated("the account is disabled", code=ErrorCode.ACCOUNT_DISABLED)
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=tuple(user.roles),
        permissions=permissions_for(user.roles),
        session_id=row.id,
        via=kind,
        csrf_token=row.csrf_token,
        language=user.language,
        time_zone=user.time_zone,
        calendar=user.calendar,
        scope_sections=tuple(user.scope_sections or ()),
        expires_at=row.expires_at,
    )


def session_is_current(session: Session, clock: Clock, session_id: str) -> bool:
    """Is the session or token still good: not signed out, not expired, its user not disabled?"""
    found = session.execute(
        select(AuthSession.revoked_at, AuthSession.expires_at, User.disabled)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.id == session_id)
    ).first()
    if found is None:
        return False
    revoked_at, expires_at, disabled = found
    return revoked_at is None and expires_at > clock.now() and not disabled


def revoke_session(session: Session, clock: Clock, actor: Principal, client_ip: str = "") -> None:
    """Sign out: revoke the session or token the actor called with (no permission needed to leave)."""
    session.execute(
        update(AuthSession)
        .where(AuthSession.id == actor.session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    live_events.publish_revocation(session, clock, session_id=actor.session_id)  # its open streams end
    record_event(
        session,
        clock,
        actor=actor.username,
        action="auth.logout",
        record_kind="session",
        record_id=actor.session_id,
        client_ip=client_ip,
    )


# --- positions and the duty roster -------------------------------------------------------------------
#
# The roster lookups (positions_held, current_holders, list_positions) take no actor: other packages'
# services call them to route a message or decide who may act for a position (also from jobs and for
# received records, where there is no signed-in user); the API serves them with ``profile``, which every
# signed-in user holds.


def upsert_position(
    session: Session,
    actor: Actor,
    *,
    position_id: str,
    party: str,
    names: dict[str, str],
    kind: str = "post",
    section_id: str | None = None,
    parent_id: str | None = None,
) -> Position:
    """Create a position (duty post) or set its names, kind, section and parent; needs ``users.manage``."""
    require(actor, Permission.USERS_MANAGE, "managing positions")
    if not names.get("en"):
        raise InvalidInput("a position needs at least an English name")
    try:
        text.check_identifier(position_id, "position_id")
        for language, name in names.items():
            text.check_title(name, f"names.{language}")
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    position = session.get(Position, position_id)
    if position is None:
        position = Position(
            id=position_id,
            party=party,
            names=names,
            kind=kind,
            section_id=section_id,
            parent_id=parent_id,
            extra={},
        )
        session.add(position)
    else:
        position.names, position.kind, position.section_id = names, kind, section_id
        position.parent_id = parent_id
    return position


def assign_position(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    position_id: str,
    username: str,
    since: datetime | None = None,
) -> PositionHolder:
    """Put a user on duty in a position from ``since`` (now by default), ending any current holder's turn.

    Needs ``users.manage``.
    """
    require(actor, Permission.USERS_MANAGE, "managing positions")
    if session.get(Position, position_id) is None:
        raise NotFound(f"no position {position_id!r}")
    user = _user_named(session, username)
    start = since or clock.now()
    session.execute(
        update(PositionHolder)
        .where(PositionHolder.position_id == position_id, PositionHolder.until.is_(None))
        .values(until=start)
    )
    holder = PositionHolder(position_id=position_id, user_id=user.id, since=start, until=None)
    session.add(holder)
    record_event(
        session,
        clock,
        actor=actor.username,
        action="position.assign",
        record_kind="position",
        record_id=position_id,
        details={"user": username},
    )
    return holder


def positions_held(session: Session, user_id: str, at: datetime) -> list[str]:
    """The positions the user holds at ``at`` (a roster lookup, no permission of its own)."""
    rows = session.scalars(
        select(PositionHolder.position_id).where(
            PositionHolder.user_id == user_id,
            PositionHolder.since <= at,
            (PositionHolder.until.is_(None)) | (PositionHolder.until > at),
        )
    ).all()
    return list(rows)


def current_holders(session: Session, position_id: str, at: datetime) -> list[User]:
    """The users on duty in a position at ``at`` (a roster lookup, no permission of its own)."""
    return list(
        session.scalars(
            select(User)
            .join(PositionHolder, PositionHolder.user_id == User.id)
            .where(
                PositionHolder.position_id == position_id,
                PositionHolder.since <= at,
                (PositionHolder.until.is_(None)) | (PositionHolder.until > at),
            )
        ).all()
    )


def list_positions(session: Session, party: str | None = None) -> Sequence[Position]:
    """The positions, of one party or all, by id (a roster lookup, no permission of its own)."""
    query = select(Position).order_by(Position.id)
    if party:
        query = query.where(Position.party == party)
    return session.scalars(query).all()
