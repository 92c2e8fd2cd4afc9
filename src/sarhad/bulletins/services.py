"""The one write path for liaison bulletins. The API, the pages, the CLI and the exchange handlers call these.

Each change writes the bulletin, its version, the audit entry and — for a released bulletin — the outbound
envelopes in the caller's transaction (the exchange's transactional outbox), so either all of it happens or
none of it does. The steps every shared record has (access to one's own, release, new versions, withdrawal,
storing what peers send) are the exchange's shared-record lifecycle (``exchange.records``); this module adds
what is a bulletin's own: its content rules and fields. Many bulletins at once (imports, a busy link) go
through ``bulk.py``, which gives the same rows with one statement per table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor as Actor
from sarhad.accounts.actors import SystemActor as SystemActor
from sarhad.accounts.actors import require as _require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.bulletins import domain
from sarhad.bulletins.domain import KIND, BulletinFields
from sarhad.bulletins.models import Bulletin, BulletinVersion
from sarhad.bulletins.schemas import BulletinContent, BulletinContentIn
from sarhad.core.errors import Conflict, ErrorCode, InvalidInput, RecordRefused, RuleError
from sarhad.core.formats import csv_text, iso_utc, like_pattern
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.exchange import peers, records
from sarhad.exchange import record_rules as rules
from sarhad.exchange import release as exchange_release
from sarhad.exchange.domain import Handling
from sarhad.exchange.models import Release
from sarhad.exchange.registry import IncomingRecord
from sarhad.exchange.release import Delivery

BULLETINS = records.SharedKind(
    KIND,
    Bulletin,
    "bulletin",
    versions=BulletinVersion,
    version_id="bulletin_id",
    # what a withdrawal by the originator purges from a received bulletin (the hash stays)
    purge=(("title", ""), ("body", ""), ("place_name", None), ("lat", None), ("lon", None)),
)


def check_content(data: BulletinContentIn) -> BulletinFields:
    """A bulletin typed here, by every content rule (422 naming the field that breaks one)."""
    place = data.place
    try:
        return domain.check_bulletin(
            title=data.title,
            body=data.body,
            place_name=place.name if place else None,
            lat=place.lat if place else None,
            lon=place.lon if place else None,
            valid_from=data.valid_from,
            valid_until=data.valid_until,
        )
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc


def check_labels(
    session: Session, node: Node, tlp: str, handling: str, release_to: Sequence[str]
) -> tuple[str, str, list[str]]:
    """The label, handling and release targets of new bulletins (no targets: not released yet)."""
    try:
        label, handling_code = rules.check_tlp(tlp), rules.check_handling(handling)
        parties = peers.peer_parties(session) if release_to else set()
        targets = rules.check_release_targets(node.party, release_to, parties) if release_to else []
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    return label.value, handling_code.value, targets


def field_values(fields: BulletinFields) -> dict[str, Any]:
    """A checked bulletin's content as the row's column values."""
    place = fields.place
    return {
        "title": fields.title,
        "body": fields.body,
        "place_name": place.name if place else None,
        "lat": place.lat if place else None,
        "lon": place.lon if place else None,
        "valid_from": fields.valid_from,
        "valid_until": fields.valid_until,
    }


def _set_fields(bulletin: Bulletin, fields: BulletinFields) -> None:
    for name, value in field_values(fields).items():
        setattr(bulletin, name, value)


def access_own_bulletin(
    session: Session, node: Node, actor: Actor, bulletin_id: str, origin: str | None = None
) -> Bulletin:
    """One of this node's own bulletins, to edit it (``bulletins.write``): a received one is refused (403
    ``not_originator``), a withdrawn one too (409 ``withdrawn``)."""
    return records.access_own(
        session,
        node,
        actor,
        BULLETINS,
        bulletin_id,
        permission=Permission.BULLETINS_WRITE,
        doing="writing bulletins",
        verb="edited",
        origin=origin,
    )


def current_content(session: Session, bulletin: Bulletin) -> dict[str, Any]:
    """The content of the current version exactly as stored (for a received one: as its originator sent it)."""
    stored = records.current_content(session, BULLETINS, bulletin)
    return stored if stored is not None else domain.snapshot(bulletin)


# --- writing ---------------------------------------------------------------------------------------------


def create_bulletin(
    session: Session,
    node: Node,
    actor: Actor,
    data: BulletinContentIn,
    *,
    tlp: str,
    handling: str = Handling.NO_ONWARD.value,
    release_to: Sequence[str] = (),
    client_ip: str = "",
) -> Bulletin:
    """Write version 1 of a new bulletin and, if ``release_to`` names parties, release it to them at once."""
    _require(actor, Permission.BULLETINS_WRITE, "writing bulletins")
    if release_to:
        _require(actor, Permission.RECORDS_RELEASE, "releasing records to other parties")
    fields = check_content(data)
    label, handling_code, targets = check_labels(session, node, tlp, handling, release_to)
    now = node.clock.now()
    bulletin = Bulletin(
        origin=node.party,
        id=new_id(),
        version=1,
        **field_values(fields),
        tlp=label,
        handling=handling_code,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
        withdrawn_at=None,
        withdraw_reason="",
        received_at=None,
    )
    session.add(bulletin)
    content = domain.snapshot(bulletin)
    records.add_version(session, node, BULLETINS, bulletin, content, actor.username)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="bulletin.create",
        record_kind=KIND,
        record_id=bulletin.id,
        client_ip=client_ip,
        details={"version": 1, "tlp": label, "content_hash": bulletin.content_hash},
    )
    records.release_new(
        session, node, actor, BULLETINS, bulletin, targets, content=content, client_ip=client_ip
    )
    return bulletin


def update_bulletin(
    session: Session,
    node: Node,
    actor: Actor,
    bulletin_id: str,
    data: BulletinContentIn,
    *,
    origin: str | None = None,
    tlp: str | None = None,
    expected_version: int | None = None,
    client_ip: str = "",
) -> Bulletin:
    """A new version of one of this node's bulletins; it follows every active release automatically.

    Received bulletins are never editable. An edit that changes nothing makes no new version.
    """
    bulletin = access_own_bulletin(session, node, actor, bulletin_id, origin)
    if expected_version is not None and expected_version != bulletin.version:
        raise Conflict(
            f"bulletin {bulletin_id} is at version {bulletin.version} now, not {expected_version}; "
            "someone changed it meanwhile. Reload it and edit again.",
            code=ErrorCode.STALE_VERSION,
        )
    fields = check_content(data)
    try:
        label = rules.check_tlp(tlp).value if tlp else bulletin.tlp
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    if label != bulletin.tlp and exchange_release.active_releases(session, KIND, bulletin.id, node.party):
        raise InvalidInput(
            f"tlp: bulletin {bulletin_id} is already released as TLP:{bulletin.tlp.upper()}; its label cannot "
            "change under the receivers. Withdraw it and write a new bulletin instead.",
            details={"field": "tlp"},
        )
    before = domain.snapshot(bulletin)
    _set_fields(bulletin, fields)
    if domain.snapshot(bulletin) == before and label == bulletin.tlp:
        return bulletin  # nothing changed: no new version, nothing sent
    bulletin.version += 1
    bulletin.tlp = label
    bulletin.updated_at = node.clock.now()
    records.publish_version(
        session,
        node,
        actor,
        BULLETINS,
        bulletin,
        domain.snapshot(bulletin),
        client_ip=client_ip,
        details={"tlp": bulletin.tlp},
    )
    return bulletin


def release_bulletin(
    session: Session,
    node: Node,
    actor: Actor,
    bulletin_id: str,
    to: Sequence[str],
    *,
    origin: str | None = None,
    tlp: str | None = None,
    handling: str | None = None,
    client_ip: str = "",
) -> list[Release]:
    """Release a bulletin (its current and all later versions) to more parties.

    For one of our own bulletins the handling defaults to the bulletin's. A received bulletin goes onward
    only if its originator allowed that (the exchange refuses otherwise, saying to ask the originator), and
    keeps the originator's handling.
    """
    bulletin = records.access_held(session, node, actor, BULLETINS, bulletin_id, origin=origin)
    return records.release(
        session,
        node,
        actor,
        BULLETINS,
        bulletin,
        to,
        content=current_content(session, bulletin),
        tlp=tlp,
        handling=handling,
        client_ip=client_ip,
    )


def withdraw_bulletin(
    session: Session,
    node: Node,
    actor: Actor,
    bulletin_id: str,
    reason: str,
    *,
    origin: str | None = None,
    client_ip: str = "",
) -> Bulletin:
    """Withdraw one of our bulletins: every party it went to gets a signed tombstone and stops showing it."""
    return records.withdraw_own(
        session, node, actor, BULLETINS, bulletin_id, reason, origin=origin, client_ip=client_ip
    )


# --- receiving (called by the exchange through handlers.py) ---------------------------------------------------


def received_fields(record: IncomingRecord) -> tuple[BulletinContent, BulletinFields]:
    """A received version's content, checked by the same rules as our own users' (a broken one is refused)."""
    checked = record.validated  # the exchange has checked the content against BulletinContent already
    content = (
        checked if isinstance(checked, BulletinContent) else BulletinContent.model_validate(record.content)
    )
    place = content.place
    try:
        fields = domain.check_bulletin(
            title=content.title,
            body=content.body,
            place_name=place.name if place else None,
            lat=place.lat if place else None,
            lon=place.lon if place else None,
            valid_from=content.valid_from,
            valid_until=content.valid_until,
        )
    except RuleError as exc:
        raise RecordRefused.from_rule(exc) from exc
    return content, fields


def apply_received(session: Session, node: Node, record: IncomingRecord) -> None:
    """Store a received bulletin version. Never overwrites a newer version; older ones only join the history."""
    content, fields = received_fields(record)

    def fill(bulletin: Bulletin) -> None:
        _set_fields(bulletin, fields)
        bulletin.updated_at = content.updated_at

    first = {
        "created_by": records.peer_actor(record),
        "created_at": content.created_at,
        "withdraw_reason": "",
    }
    records.store_received(session, node, BULLETINS, record, fill, new_row=first)


def withdraw_received(session: Session, node: Node, record: IncomingRecord) -> None:
    """The originator withdrew a bulletin: stop showing it, and pass the withdrawal on where we relayed it."""
    records.apply_received_withdrawal(session, node, BULLETINS, record)


# --- reading ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulletinFilter:
    origin: str | None = None
    text: str | None = None
    tlp: str | None = None
    include_withdrawn: bool = False  # our own withdrawn bulletins; received withdrawn ones are never shown
    limit: int = 200


MAX_LIST = 1000


def list_bulletins(session: Session, node: Node, flt: BulletinFilter) -> Sequence[Bulletin]:
    """Own and received bulletins, newest change first."""
    query = select(Bulletin)
    if flt.include_withdrawn:
        query = query.where(or_(Bulletin.withdrawn_at.is_(None), Bulletin.origin == node.party))
    else:
        query = query.where(Bulletin.withdrawn_at.is_(None))
    if flt.origin:
        query = query.where(Bulletin.origin == flt.origin)
    if flt.tlp:
        query = query.where(Bulletin.tlp == flt.tlp)
    if flt.text and flt.text.strip():
        pattern = like_pattern(flt.text.strip())
        query = query.where(
            or_(Bulletin.title.ilike(pattern, escape="\\"), Bulletin.body.ilike(pattern, escape="\\"))
        )
    query = query.order_by(Bulletin.updated_at.desc(), Bulletin.id.desc()).limit(
        max(1, min(flt.limit, MAX_LIST))
    )
    return session.scalars(query).all()


def get_bulletin(
    session: Session, node: Node, actor: Actor, origin: str, bulletin_id: str, *, client_ip: str = ""
) -> Bulletin:
    """One bulletin. Reading a received one is a sensitive read and is audited (in the caller's transaction)."""
    return records.access_readable(
        session,
        node,
        actor,
        BULLETINS,
        bulletin_id,
        origin,
        permission=Permission.BULLETINS_READ,
        doing="reading bulletins",
        client_ip=client_ip,
    )


def versions_of(session: Session, bulletin: Bulletin) -> Sequence[BulletinVersion]:
    return session.scalars(
        select(BulletinVersion)
        .where(BulletinVersion.origin == bulletin.origin, BulletinVersion.bulletin_id == bulletin.id)
        .order_by(BulletinVersion.version.desc())
    ).all()


def releases_of(session: Session, bulletin: Bulletin) -> Sequence[Release]:
    """This node's release decisions for the bulletin (for a received one: where we passed it on)."""
    return session.scalars(
        select(Release)
        .where(
            Release.record_kind == KIND, Release.record_id == bulletin.id, Release.origin == bulletin.origin
        )
        .order_by(Release.to_party)
    ).all()


def timeline(session: Session, bulletin: Bulletin) -> list[Delivery]:
    """Every envelope written for the bulletin, oldest first: per party queued → sent → receipted."""
    return exchange_release.deliveries(session, KIND, [bulletin.id])[bulletin.id]


def latest_per_party(items: Iterable[Delivery]) -> list[Delivery]:
    """The latest envelope to each party (``items`` oldest first), by party."""
    latest: dict[str, Delivery] = {}
    for item in items:
        latest[item.party] = item
    return [latest[party] for party in sorted(latest)]


def delivery_summary(session: Session, bulletins: Sequence[Bulletin]) -> dict[str, list[Delivery]]:
    """Per bulletin id: the state of the latest envelope to each party."""
    all_items = exchange_release.deliveries(session, KIND, [b.id for b in bulletins])
    return {rid: latest_per_party(items) for rid, items in all_items.items()}


CSV_COLUMNS = (
    "origin",
    "id",
    "version",
    "title",
    "body",
    "tlp",
    "handling",
    "place_name",
    "lat",
    "lon",
    "valid_from",
    "valid_until",
    "created_at",
    "updated_at",
    "received_at",
    "withdrawn_at",
    "deliveries",
)


def bulletins_as_csv(bulletins: Sequence[Bulletin], summary: dict[str, list[Delivery]]) -> str:
    """The list as CSV (times in UTC; text from another state's node cannot smuggle a spreadsheet formula)."""
    return csv_text(
        CSV_COLUMNS,
        (
            {
                "origin": b.origin,
                "id": b.id,
                "version": b.version,
                "title": b.title,
                "body": b.body,
                "tlp": b.tlp,
                "handling": b.handling,
                "place_name": b.place_name,
                "lat": b.lat,
                "lon": b.lon,
                "valid_from": iso_utc(b.valid_from),
                "valid_until": iso_utc(b.valid_until),
                "created_at": iso_utc(b.created_at),
                "updated_at": iso_utc(b.updated_at),
                "received_at": iso_utc(b.received_at),
                "withdrawn_at": iso_utc(b.withdrawn_at),
                "deliveries": " ".join(f"{d.party}:v{d.version}:{d.state}" for d in summary.get(b.id, [])),
            }
            for b in bulletins
        ),
    )


def bulletins_as_geojson(bulletins: Sequence[Bulletin]) -> dict[str, Any]:
    """Bulletins with a point as a GeoJSON FeatureCollection (RFC 7946: longitude first)."""
    features = [
        {
            "type": "Feature",
            "id": f"{b.origin}/{b.id}",
            "geometry": {"type": "Point", "coordinates": [b.lon, b.lat]},
            "properties": {
                "origin": b.origin,
                "id": b.id,
                "version": b.version,
                "title": b.title,
                "tlp": b.tlp,
                "place_name": b.place_name or "",
                "valid_from": iso_utc(b.valid_from),
                "valid_until": iso_utc(b.valid_until),
                "updated_at": iso_utc(b.updated_at),
            },
        }
        for b in bulletins
        if b.lat is not None and b.lon is not None
    ]
    return {"type": "FeatureCollection", "features": features}
