"""The one write path of QRF units (the API, pages, demo and exchange handlers call these), and the reads.

Each change writes the unit, its status-history row, the audit entry, a live event and — for a shared
unit — the outbound envelopes, in the caller's transaction. Sharing is the exchange's shared-record
lifecycle (``exchange.records``, kind ``qrf.unit``); this module adds what is a unit's own: its status
rules (``domain.transition``) and the fact that its strength never leaves the node (``content``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.border.models import BorderPost
from sarhad.core.errors import ErrorCode, InvalidInput, RecordRefused, RuleError
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.exchange import peers, records
from sarhad.exchange import record_rules as rules
from sarhad.exchange import release as exchange_release
from sarhad.exchange.domain import Handling, Tlp
from sarhad.exchange.record_rules import content_time
from sarhad.exchange.registry import IncomingRecord
from sarhad.live import services as live
from sarhad.qrf import domain
from sarhad.qrf.domain import KIND, Status
from sarhad.qrf.models import QrfStatusChange, QrfUnit
from sarhad.qrf.schemas import QrfUnitContent, UnitIn

UNITS = records.SharedKind(
    KIND,
    QrfUnit,
    "qrf_unit",
    hint=" Ask its originator to change the unit's status.",
    purge=(("call_sign", ""), ("station_name", ""), ("lat", None), ("lon", None)),
)
LIVE_TOPIC = "qrf.changed"


def content(unit: QrfUnit) -> dict[str, Any]:
    """What a shared unit's record carries: its readiness only. Never ``strength`` (nor who set the status)."""
    return {
        "call_sign": unit.call_sign,
        "unit_type": unit.unit_type,
        "station": {
            "post": unit.station_post,
            "name": unit.station_name,
            "lat": unit.lat,
            "lon": unit.lon,
            "section": unit.section_id,
        },
        "status": unit.status,
        "notice_minutes": unit.notice_minutes,
        "status_since": content_time(unit.status_since),
        "confirmed_at": content_time(unit.confirmed_at),
    }


def announce(session: Session, node: Node, unit: QrfUnit, change: str) -> None:
    """Tell live boards that a unit changed (ids and the new status only; each board reads the unit again
    with its viewer's permissions)."""
    data = {"origin": unit.origin, "id": unit.id, "status": unit.status, "change": change}
    live.publish(session, node, LIVE_TOPIC, data, permission=Permission.QRF_READ.value)


def _history(unit: QrfUnit, from_status: str | None, by: str) -> QrfStatusChange:
    return QrfStatusChange(
        origin=unit.origin,
        unit_id=unit.id,
        version=unit.version,
        from_status=from_status,
        status=unit.status,
        notice_minutes=unit.notice_minutes,
        at=unit.confirmed_at,
        by=by,
    )


def _station(session: Session, node: Node, post_id: str) -> BorderPost:
    post = session.get(BorderPost, post_id)
    if post is None or post.party != node.party:
        raise InvalidInput(
            f"station: {post_id!r} is not a border post of {node.party} (GET /api/v1/border/posts lists them)",
            code=ErrorCode.QRF_UNKNOWN_POST,
            details={"field": "station"},
        )
    return post


def _point(post: BorderPost) -> tuple[float | None, float | None]:
    if not post.geometry:
        return None, None
    point = shape(post.geometry).representative_point()
    return round(point.y, 6), round(point.x, 6)


def create_unit(session: Session, node: Node, actor: Actor, data: UnitIn, *, client_ip: str = "") -> QrfUnit:
    """A new own unit, at version 1, released at once to ``data.share_with`` (if any)."""
    require(actor, Permission.QRF_MANAGE, "managing QRF units")
    if data.share_with:
        require(actor, Permission.RECORDS_RELEASE, "sharing a unit's readiness with other parties")
    try:
        call_sign = domain.check_call_sign(data.call_sign)
        strength = domain.check_strength(data.strength)
        notice = domain.check_notice(data.status, data.notice_minutes)
        if data.status not in domain.READY | {Status.UNAVAILABLE, Status.OUT_OF_SERVICE}:
            raise RuleError(
                "status",
                "a new unit starts available, on standby, unavailable or out of service (dispatch it after)",
                code=ErrorCode.QRF_ILLEGAL_TRANSITION,
            )
        targets = (
            rules.check_release_targets(
                node.party, data.share_with, peers.peer_parties(session), "share_with"
            )
            if data.share_with
            else []
        )
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    post = _station(session, node, data.station)
    lat, lon = _point(post)
    now = node.clock.now()
    unit = QrfUnit(
        origin=node.party,
        id=new_id(),
        version=1,
        call_sign=call_sign,
        unit_type=data.unit_type.value,
        station_post=post.id,
        station_name=post.names.get("en", post.id),
        lat=lat,
        lon=lon,
        section_id=post.section_id,
        strength=strength,
        status=data.status.value,
        notice_minutes=notice,
        status_since=now,
        confirmed_at=now,
        tlp=Tlp.AMBER.value,
        handling=Handling.NO_ONWARD.value,
        content_hash="",
        created_by=actor.username,
        created_at=now,
        updated_at=now,
        withdrawn_at=None,
        withdraw_reason="",
        received_at=None,
    )
    session.add(unit)
    unit_content = content(unit)
    records.add_version(session, node, UNITS, unit, unit_content, actor.username)
    session.flush()  # the unit first: its history row refers to it
    session.add(_history(unit, None, actor.username))
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="qrf_unit.create",
        record_kind=KIND,
        record_id=unit.id,
        client_ip=client_ip,
        details={"call_sign": call_sign, "status": unit.status, "share_with": targets},
    )
    records.release_new(session, node, actor, UNITS, unit, targets, content=unit_content, client_ip=client_ip)
    announce(session, node, unit, "created")
    return unit


def set_status(
    session: Session,
    node: Node,
    actor: Actor,
    unit_id: str,
    status: str,
    notice_minutes: int | None = None,
    *,
    client_ip: str = "",
) -> QrfUnit:
    """Move an own unit to ``status`` by the transition table (or confirm its current status).

    Every change or confirmation is a new version: a shared unit's readiness follows its release with no one
    deciding again — the originator decided to share this unit's readiness, status changes included, so a
    duty officer without ``records.release`` sets the status of a shared unit too (unlike an edit of a
    released bulletin). Refused (nothing written): a received unit (403), an illegal transition (422).
    """
    unit = records.access_own(
        session, node, actor, UNITS, unit_id, permission=Permission.QRF_MANAGE, doing="managing QRF units",
        verb="changed",
    )  # fmt: skip
    previous = unit.status
    try:
        change = domain.transition(Status(unit.status), domain.check_status(status), notice_minutes)
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    now = node.clock.now()
    unit.status, unit.notice_minutes = change.status.value, change.notice_minutes
    if change.changed:
        unit.status_since = now
    unit.confirmed_at = unit.updated_at = now
    unit.version += 1
    unit_content = content(unit)
    records.add_version(session, node, UNITS, unit, unit_content, actor.username)
    session.add(_history(unit, previous, actor.username))
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="qrf_unit.status" if change.changed else "qrf_unit.confirm",
        record_kind=KIND,
        record_id=unit.id,
        client_ip=client_ip,
        details={
            "version": unit.version,
            "from": previous,
            "status": unit.status,
            "notice_minutes": unit.notice_minutes,
            "content_hash": unit.content_hash,
        },
    )
    exchange_release.publish_version(
        session, node, kind=KIND, record_id=unit.id, version=unit.version, content=unit_content, actor=actor
    )
    announce(session, node, unit, "status" if change.changed else "confirmed")
    return unit


def share_unit(
    session: Session, node: Node, actor: Actor, unit_id: str, to: Sequence[str], *, client_ip: str = ""
) -> QrfUnit:
    """Share an own unit's readiness with more parties (its current and every later status)."""
    unit = records.access_own(
        session, node, actor, UNITS, unit_id, permission=Permission.QRF_MANAGE, doing="managing QRF units",
        verb="shared",
    )  # fmt: skip
    require(actor, Permission.RECORDS_RELEASE, "sharing a unit's readiness with other parties")
    records.release(session, node, actor, UNITS, unit, to, content=content(unit), client_ip=client_ip)
    return unit


# --- reads ---------------------------------------------------------------------------------------------


def shared_with(session: Session, node: Node, unit: QrfUnit) -> list[str]:
    if unit.origin != node.party:
        return []
    return sorted({r.to_party for r in exchange_release.active_releases(session, KIND, unit.id, node.party)})


def list_units(session: Session, actor: Actor) -> list[QrfUnit]:
    """Every unit on the board: own ones and the received ones their originators have not withdrawn."""
    require(actor, Permission.QRF_READ, "reading the QRF board")
    query = (
        select(QrfUnit)
        .where(QrfUnit.withdrawn_at.is_(None))
        .order_by(QrfUnit.section_id, QrfUnit.origin, QrfUnit.call_sign)
    )
    return list(session.scalars(query).all())


def get_unit(session: Session, node: Node, actor: Actor, origin: str, unit_id: str) -> QrfUnit:
    return records.access_readable(
        session, node, actor, UNITS, unit_id, origin, permission=Permission.QRF_READ, doing="reading the QRF board",
        audit=False,
    )  # fmt: skip


def history_of(session: Session, unit: QrfUnit) -> list[QrfStatusChange]:
    query = (
        select(QrfStatusChange)
        .where(QrfStatusChange.origin == unit.origin, QrfStatusChange.unit_id == unit.id)
        .order_by(QrfStatusChange.id)
    )
    return list(session.scalars(query).all())


# --- received units (the kind's handlers) ----------------------------------------------------------------


def apply_received(session: Session, node: Node, record: IncomingRecord) -> None:
    """A version of the other side's unit: checked by the unit rules, stored as theirs (by origin)."""
    data = QrfUnitContent.model_validate(record.content)
    try:
        call_sign = domain.check_call_sign(data.call_sign)
        unit_type = domain.check_unit_type(data.unit_type)
        status = domain.check_status(data.status)
        notice = domain.check_notice(status, data.notice_minutes)
    except RuleError as exc:
        raise RecordRefused.from_rule(exc) from exc
    held = session.get(QrfUnit, (record.origin, record.record_id))
    previous = held.status if held is not None else None

    def fill(unit: QrfUnit) -> None:
        unit.call_sign, unit.unit_type = call_sign, unit_type.value
        unit.station_post, unit.station_name = data.station.post, data.station.name
        unit.lat, unit.lon, unit.section_id = data.station.lat, data.station.lon, data.station.section
        unit.strength = None
        unit.status, unit.notice_minutes = status.value, notice
        unit.status_since, unit.confirmed_at = data.status_since, data.confirmed_at
        unit.updated_at = data.confirmed_at

    stored = records.store_received(
        session,
        node,
        UNITS,
        record,
        fill,
        new_row={"created_by": records.peer_actor(record), "created_at": data.status_since},
    )
    if stored.newer:
        session.add(_history(stored.row, previous, records.peer_actor(record)))
        announce(session, node, stored.row, "received")


def withdraw_received(session: Session, node: Node, record: IncomingRecord) -> None:
    unit = records.apply_received_withdrawal(session, node, UNITS, record)
    if unit is not None:
        announce(session, node, unit, "withdrawn")
