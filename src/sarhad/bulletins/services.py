"""The one write path for liaison bulletins. The API, the pages, the CLI and the exchange handlers call these.

Each change writes the bulletin, its version, the audit entry and — for a released bulletin — the outbound
envelopes in the caller's transaction (the exchange's transactional outbox), so either all of it happens or
none of it does.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor as Actor
from sarhad.accounts.actors import SystemActor as SystemActor
from sarhad.accounts.actors import require as _require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import AuditEvent, record_event, record_events
from sarhad.bulletins import domain
from sarhad.bulletins.domain import KIND, BulletinFields, BulletinRuleError
from sarhad.bulletins.models import Bulletin, BulletinVersion
from sarhad.bulletins.schemas import BulletinContent, BulletinContentIn
from sarhad.core.database import insert_rows, table_of
from sarhad.core.errors import Conflict, ErrorCode, InvalidInput, NotFound, PermissionDenied
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.exchange import release
from sarhad.exchange.domain import Handling, Op
from sarhad.exchange.models import Release
from sarhad.exchange.peers import peer_parties
from sarhad.exchange.registry import IncomingRecord
from sarhad.exchange.release import Delivery

_CONTENT = frozenset({"content"})  # a version's content, given to insert_rows as canonical JSON text


def _invalid(exc: BulletinRuleError) -> InvalidInput:
    return InvalidInput(f"{exc.field}: {exc.message}", details={"field": exc.field})


def _check_content(data: BulletinContentIn) -> BulletinFields:
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
    except BulletinRuleError as exc:
        raise _invalid(exc) from exc


def _field_values(fields: BulletinFields) -> dict[str, Any]:
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
    for name, value in _field_values(fields).items():
        setattr(bulletin, name, value)


def _add_version(session: Session, bulletin: Bulletin, content: dict[str, Any], by: str, node: Node) -> None:
    session.add(
        BulletinVersion(
            origin=bulletin.origin,
            bulletin_id=bulletin.id,
            version=bulletin.version,
            content=content,
            content_hash=release.content_hash(content),
            recorded_at=node.clock.now(),
            recorded_by=by,
        )
    )


def _not_originator(bulletin_id: str, origin: str, verb: str) -> PermissionDenied:
    return PermissionDenied(
        f"bulletin {bulletin_id} was received from {origin}; received bulletins are never {verb} here. "
        f"Only {origin}, its originator, can do that.",
        code=ErrorCode.NOT_ORIGINATOR,
    )


def editable_bulletin(
    session: Session, node: Node, bulletin_id: str, origin: str | None, verb: str
) -> Bulletin:
    """This node's own bulletin, not withdrawn; a received one is refused with the reason."""
    origin = origin or node.party
    if origin != node.party:
        if session.get(Bulletin, (origin, bulletin_id)) is None:
            raise NotFound(f"no bulletin {bulletin_id} from {origin} is held here")
        raise _not_originator(bulletin_id, origin, verb)
    bulletin = session.get(Bulletin, (origin, bulletin_id))
    if bulletin is None:
        received = session.scalar(
            select(Bulletin.origin).where(Bulletin.id == bulletin_id, Bulletin.origin != node.party)
        )
        if received is not None:
            raise _not_originator(bulletin_id, received, verb)
        raise NotFound(f"no bulletin {bulletin_id} of {node.party}")
    if bulletin.withdrawn_at is not None:
        raise Conflict(
            f"bulletin {bulletin_id} was withdrawn on {domain.iso(bulletin.withdrawn_at)}; "
            "a withdrawn bulletin is not changed or released again (write a new one)",
            code=ErrorCode.WITHDRAWN,
        )
    return bulletin


def current_content(session: Session, bulletin: Bulletin) -> dict[str, Any]:
    """The content of the current version exactly as stored (for a received one: as its originator sent it)."""
    row = session.get(BulletinVersion, (bulletin.origin, bulletin.id, bulletin.version))
    return dict(row.content) if row is not None else domain.snapshot(bulletin)


# --- writing ---------------------------------------------------------------------------------------------


@dataclass
class _Draft:
    """A new bulletin's content fields, enough for ``domain.snapshot`` before any row exists."""

    title: str
    body: str
    place_name: str | None
    lat: float | None
    lon: float | None
    valid_from: datetime | None
    valid_until: datetime | None
    created_at: datetime
    updated_at: datetime


def create_bulletins(
    session: Session,
    node: Node,
    actor: Actor,
    items: Sequence[BulletinContentIn],
    *,
    tlp: str,
    handling: str = Handling.NO_ONWARD.value,
    release_to: Sequence[str] = (),
    client_ip: str = "",
) -> list[str]:
    """Write version 1 of new bulletins and, if ``release_to`` names parties, release them at once.

    All are checked before anything is written (a bad one refuses the call, naming it); each table is
    then written with one statement. Returns the new ids in the order given.
    """
    _require(actor, Permission.BULLETINS_WRITE, "writing bulletins")
    if release_to:
        _require(actor, Permission.RECORDS_RELEASE, "releasing records to other parties")
    checked: list[BulletinFields] = []
    for index, data in enumerate(items):
        try:
            checked.append(_check_content(data))
        except InvalidInput as exc:
            if len(items) == 1:
                raise
            raise InvalidInput(f"bulletin {index + 1}: {exc.message}", details=exc.details) from exc
    try:
        label, handling_code = domain.check_tlp(tlp), domain.check_handling(handling)
        targets = (
            domain.check_release_targets(node.party, list(release_to), peer_parties(session))
            if release_to
            else []
        )
    except BulletinRuleError as exc:
        raise _invalid(exc) from exc
    now = node.clock.now()
    rows: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    events: list[AuditEvent] = []
    releases: list[release.ReleaseItem] = []
    for fields in checked:
        row = {
            "origin": node.party,
            "id": new_id(),
            "version": 1,
            **_field_values(fields),
            "tlp": label.value,
            "handling": handling_code.value,
            "created_by": actor.username,
            "created_at": now,
            "updated_at": now,
            "withdrawn_at": None,
            "withdraw_reason": "",
            "received_at": None,
        }
        content = domain.snapshot(_Draft(**_field_values(fields), created_at=now, updated_at=now))
        canonical, row["content_hash"] = release.canonical_content(content)  # hashed, stored and signed
        rows.append(row)
        versions.append(
            {
                "origin": node.party,
                "bulletin_id": row["id"],
                "version": 1,
                "content": canonical.decode(),
                "content_hash": row["content_hash"],
                "recorded_at": now,
                "recorded_by": actor.username,
            }
        )
        events.append(
            AuditEvent(
                actor=actor.username,
                action="bulletin.create",
                record_kind=KIND,
                record_id=row["id"],
                client_ip=client_ip,
                details={"version": 1, "tlp": row["tlp"], "content_hash": row["content_hash"]},
            )
        )
        if targets:
            releases.append(
                release.ReleaseItem(
                    kind=KIND,
                    record_id=row["id"],
                    version=1,
                    content=content,
                    to=targets,
                    handling=row["handling"],
                    tlp=row["tlp"],
                    content_json=canonical,
                )
            )
    if not rows:
        return []
    insert_rows(session, table_of(Bulletin), rows)
    insert_rows(session, table_of(BulletinVersion), versions, encoded=_CONTENT)
    record_events(session, node.clock, events)
    release.release_records(session, node, releases, actor=actor, client_ip=client_ip)
    return [row["id"] for row in rows]


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
    (bulletin_id,) = create_bulletins(
        session, node, actor, [data], tlp=tlp, handling=handling, release_to=release_to, client_ip=client_ip
    )
    bulletin = session.get(Bulletin, (node.party, bulletin_id))
    assert bulletin is not None
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
    _require(actor, Permission.BULLETINS_WRITE, "writing bulletins")
    bulletin = editable_bulletin(session, node, bulletin_id, origin, "edited")
    if expected_version is not None and expected_version != bulletin.version:
        raise Conflict(
            f"bulletin {bulletin_id} is at version {bulletin.version} now, not {expected_version}; "
            "someone changed it meanwhile. Reload it and edit again.",
            code=ErrorCode.STALE_VERSION,
        )
    fields = _check_content(data)
    try:
        label = domain.check_tlp(tlp).value if tlp else bulletin.tlp
    except BulletinRuleError as exc:
        raise _invalid(exc) from exc
    if label != bulletin.tlp and release.active_releases(session, KIND, bulletin.id, node.party):
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
    content = domain.snapshot(bulletin)
    bulletin.content_hash = release.content_hash(content)
    _add_version(session, bulletin, content, actor.username, node)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="bulletin.update",
        record_kind=KIND,
        record_id=bulletin.id,
        client_ip=client_ip,
        details={"version": bulletin.version, "tlp": bulletin.tlp, "content_hash": bulletin.content_hash},
    )
    release.publish_version(
        session,
        node,
        kind=KIND,
        record_id=bulletin.id,
        version=bulletin.version,
        content=content,
        actor=actor,
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
    _require(actor, Permission.RECORDS_RELEASE, "releasing records to other parties")
    origin = origin or node.party
    bulletin = session.get(Bulletin, (origin, bulletin_id))
    own = origin == node.party
    if bulletin is None or (not own and bulletin.withdrawn_at is not None):
        raise NotFound(f"no bulletin {bulletin_id} from {origin} is held here")
    if bulletin.withdrawn_at is not None:
        raise Conflict(
            f"bulletin {bulletin_id} was withdrawn; a withdrawn bulletin is not released again",
            code=ErrorCode.WITHDRAWN,
        )
    if not to:
        raise InvalidInput("to: name at least one party to release to", details={"field": "to"})
    try:
        label = domain.check_release_tlp(bulletin.tlp, tlp or bulletin.tlp)
        if own:
            handling_code = domain.check_handling(handling or bulletin.handling)
            targets = domain.check_release_targets(node.party, list(to), peer_parties(session))
        else:
            # Received: the exchange checks the originator's handling code first, with its own message.
            handling_code = domain.check_onward_handling(bulletin.handling, handling)
            targets = sorted(set(to))
    except BulletinRuleError as exc:
        raise _invalid(exc) from exc
    releases = release.release_record(
        session,
        node,
        kind=KIND,
        record_id=bulletin.id,
        version=bulletin.version,
        content=current_content(session, bulletin),
        to=targets,
        handling=handling_code.value,
        tlp=label.value,
        actor=actor,
        client_ip=client_ip,
        origin=None if own else bulletin.origin,
    )
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="bulletin.release" if own else "bulletin.release_onward",
        record_kind=KIND,
        record_id=bulletin.id,
        client_ip=client_ip,
        details={
            "origin": bulletin.origin,
            "to": targets,
            "version": bulletin.version,
            "tlp": label.value,
            "handling": handling_code.value,
        },
    )
    return releases


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
    _require(actor, Permission.RECORDS_RELEASE, "withdrawing released records")
    reason = reason.strip()
    if not reason or len(reason) > domain.REASON_MAX:
        raise InvalidInput(
            f"reason: say why the bulletin is withdrawn (1 to {domain.REASON_MAX} characters)",
            details={"field": "reason"},
        )
    bulletin = editable_bulletin(session, node, bulletin_id, origin, "withdrawn")
    tombstones = release.withdraw_record(
        session,
        node,
        kind=KIND,
        record_id=bulletin.id,
        version=bulletin.version,
        actor=actor,
        reason=reason,
    )
    bulletin.withdrawn_at = node.clock.now()
    bulletin.withdraw_reason = reason
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="bulletin.withdraw",
        record_kind=KIND,
        record_id=bulletin.id,
        client_ip=client_ip,
        details={"version": bulletin.version, "tombstones": tombstones, "reason": reason},
    )
    return bulletin


# --- receiving (called by the exchange through handlers.py) ---------------------------------------------------


def _refuse_own_origin(session: Session, node: Node, record: IncomingRecord) -> None:
    """Refuse a received record that could touch this node's own bulletins.

    Only this node writes bulletins of origin ``node.party``, so a peer relaying one is refused. And the
    exchange keys releases by ``(kind, id)`` without the origin, so a peer's bulletin reusing the id of one
    of ours (ids are visible to every receiver) would let its later versions or withdrawal act on our
    releases; such an id is refused too.
    """
    if record.origin == node.party:
        raise ValueError(
            f"bulletin {record.record_id} claims to originate from {node.party}, this node; refused"
        )
    if session.get(Bulletin, (node.party, record.record_id)) is not None:
        raise ValueError(
            f"bulletin {record.record_id} from {record.origin} reuses the id of a bulletin of {node.party}; refused"
        )


def _received_fields(record: IncomingRecord) -> tuple[BulletinContent, BulletinFields]:
    checked = record.validated  # the exchange has checked the content against BulletinContent already
    content = (
        checked if isinstance(checked, BulletinContent) else BulletinContent.model_validate(record.content)
    )
    place = content.place
    fields = domain.check_bulletin(  # the same rules as for our own users; a BulletinRuleError quarantines
        title=content.title,
        body=content.body,
        place_name=place.name if place else None,
        lat=place.lat if place else None,
        lon=place.lon if place else None,
        valid_from=content.valid_from,
        valid_until=content.valid_until,
    )
    return content, fields


def apply_received_many(session: Session, node: Node, records: list[IncomingRecord]) -> None:
    """The same effect as ``apply_received`` / ``withdraw_received`` for each record, in order.

    The common case on a busy link — the first version of a bulletin not held here, once in the run — is
    written for the whole run with one statement per table; anything else goes one by one.
    """
    ids = sorted({r.record_id for r in records})
    origins = sorted({r.origin for r in records} | {node.party})  # ours too: a peer reusing our id is refused
    held: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        # origin first: the primary key (origin, id) answers this, whatever the size of the table
        held.update(
            session.scalars(select(Bulletin.id).where(Bulletin.origin.in_(origins), Bulletin.id.in_(chunk)))
        )
    times = Counter(r.record_id for r in records)
    now = node.clock.now()
    rows: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    events: list[AuditEvent] = []

    def write_new() -> None:
        if rows:
            insert_rows(session, table_of(Bulletin), rows)
            insert_rows(session, table_of(BulletinVersion), versions, encoded=_CONTENT)
            record_events(session, node.clock, events)
            rows.clear()
            versions.clear()
            events.clear()

    for record in records:
        first = record.op == Op.UPSERT.value and times[record.record_id] == 1 and record.record_id not in held
        if not first or record.origin == node.party:
            write_new()  # keeps the audit log in the order of the link
            if record.op == Op.WITHDRAW.value:
                withdraw_received(session, node, record)
            else:
                apply_received(session, node, record)
            continue
        content, fields = _received_fields(record)
        by = f"peer:{record.origin}"
        rows.append(
            {
                "origin": record.origin,
                "id": record.record_id,
                "version": record.version,
                **_field_values(fields),
                "tlp": record.tlp,
                "handling": record.handling,
                "content_hash": record.content_hash,
                "created_by": by,
                "created_at": content.created_at,
                "updated_at": content.updated_at,
                "withdrawn_at": None,
                "withdraw_reason": "",
                "received_at": now,
            }
        )
        versions.append(
            {
                "origin": record.origin,
                "bulletin_id": record.record_id,
                "version": record.version,
                "content": record.content_text(),
                "content_hash": record.content_hash,
                "recorded_at": now,
                "recorded_by": by,
            }
        )
        events.append(
            AuditEvent(
                actor=by,
                action="bulletin.receive",
                record_kind=KIND,
                record_id=record.record_id,
                details={
                    "origin": record.origin,
                    "version": record.version,
                    "link": record.link,
                    "seq": record.seq,
                },
            )
        )
    write_new()


def apply_received(session: Session, node: Node, record: IncomingRecord) -> None:
    """Store a received bulletin version. Never overwrites a newer version; older ones only join the history."""
    _refuse_own_origin(session, node, record)
    content, fields = _received_fields(record)
    now = node.clock.now()
    by = f"peer:{record.origin}"
    bulletin = session.get(Bulletin, (record.origin, record.record_id))
    is_new = bulletin is None
    newer = is_new or (bulletin is not None and record.version > bulletin.version)
    if bulletin is None:
        bulletin = Bulletin(
            origin=record.origin,
            id=record.record_id,
            created_by=by,
            created_at=content.created_at,
            withdraw_reason="",
        )
        session.add(bulletin)
    if newer:
        _set_fields(bulletin, fields)
        bulletin.version = record.version
        bulletin.tlp, bulletin.handling = record.tlp, record.handling
        bulletin.content_hash = record.content_hash
        bulletin.updated_at = content.updated_at
        bulletin.received_at = now
        bulletin.withdrawn_at, bulletin.withdraw_reason = None, ""
        session.flush()
    if session.get(BulletinVersion, (record.origin, record.record_id, record.version)) is None:
        session.add(
            BulletinVersion(
                origin=record.origin,
                bulletin_id=record.record_id,
                version=record.version,
                content=record.content,
                content_hash=record.content_hash,
                recorded_at=now,
                recorded_by=by,
            )
        )
    record_event(
        session,
        node.clock,
        actor=by,
        action="bulletin.receive" if newer else "bulletin.receive_stale",
        record_kind=KIND,
        record_id=record.record_id,
        details={"origin": record.origin, "version": record.version, "link": record.link, "seq": record.seq},
    )
    if newer and not is_new and record.handling == Handling.ONWARD_ALLOWED.value:
        # We released this bulletin onward earlier: later versions follow that release, as our own do.
        release.publish_version(
            session,
            node,
            kind=KIND,
            record_id=record.record_id,
            version=record.version,
            content=record.content,
            actor=SystemActor(by),
            origin=record.origin,
        )


def withdraw_received(session: Session, node: Node, record: IncomingRecord) -> None:
    """The originator withdrew a bulletin: stop showing it, and pass the withdrawal on where we relayed it."""
    _refuse_own_origin(session, node, record)
    bulletin = session.get(Bulletin, (record.origin, record.record_id))
    if bulletin is None:
        return
    reason = str(record.content.get("reason", ""))[: domain.REASON_MAX]
    if bulletin.withdrawn_at is None:
        bulletin.withdrawn_at, bulletin.withdraw_reason = node.clock.now(), reason
    record_event(
        session,
        node.clock,
        actor=f"peer:{record.origin}",
        action="bulletin.withdrawn_by_origin",
        record_kind=KIND,
        record_id=record.record_id,
        details={"origin": record.origin, "version": record.version, "reason": reason},
    )
    release.withdraw_record(
        session,
        node,
        kind=KIND,
        record_id=record.record_id,
        version=bulletin.version,
        actor=SystemActor(f"peer:{record.origin}"),
        reason=reason,
        origin=record.origin,
    )


# --- reading ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulletinFilter:
    origin: str | None = None
    text: str | None = None
    tlp: str | None = None
    include_withdrawn: bool = False  # our own withdrawn bulletins; received withdrawn ones are never shown
    limit: int = 200


MAX_LIST = 1000


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


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
        pattern = _like_pattern(flt.text.strip())
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
    _require(actor, Permission.BULLETINS_READ, "reading bulletins")
    bulletin = session.get(Bulletin, (origin, bulletin_id))
    if bulletin is None:
        raise NotFound(f"no bulletin {bulletin_id} from {origin} is held here")
    if origin != node.party:
        if bulletin.withdrawn_at is not None:
            raise NotFound(
                f"bulletin {bulletin_id} from {origin} was withdrawn by its originator",
                code=ErrorCode.WITHDRAWN,
            )
        record_event(
            session,
            node.clock,
            actor=actor.username,
            action="bulletin.read",
            record_kind=KIND,
            record_id=bulletin.id,
            client_ip=client_ip,
            details={"origin": origin, "version": bulletin.version},
        )
    return bulletin


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
    return release.deliveries(session, KIND, [bulletin.id])[bulletin.id]


def latest_per_party(items: Iterable[Delivery]) -> list[Delivery]:
    """The latest envelope to each party (``items`` oldest first), by party."""
    latest: dict[str, Delivery] = {}
    for item in items:
        latest[item.party] = item
    return [latest[party] for party in sorted(latest)]


def delivery_summary(session: Session, bulletins: Sequence[Bulletin]) -> dict[str, list[Delivery]]:
    """Per bulletin id: the state of the latest envelope to each party."""
    all_items = release.deliveries(session, KIND, [b.id for b in bulletins])
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
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for b in bulletins:
        deliveries = " ".join(f"{d.party}:v{d.version}:{d.state}" for d in summary.get(b.id, []))
        writer.writerow(
            [
                b.origin,
                b.id,
                b.version,
                domain.csv_safe(b.title),
                domain.csv_safe(b.body),
                b.tlp,
                b.handling,
                domain.csv_safe(b.place_name or ""),
                "" if b.lat is None else b.lat,
                "" if b.lon is None else b.lon,
                domain.iso(b.valid_from) or "",
                domain.iso(b.valid_until) or "",
                domain.iso(b.created_at),
                domain.iso(b.updated_at),
                domain.iso(b.received_at) or "",
                domain.iso(b.withdrawn_at) or "",
                deliveries,
            ]
        )
    return buffer.getvalue()


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
                "valid_from": domain.iso(b.valid_from),
                "valid_until": domain.iso(b.valid_until),
                "updated_at": domain.iso(b.updated_at),
            },
        }
        for b in bulletins
        if b.lat is not None and b.lon is not None
    ]
    return {"type": "FeatureCollection", "features": features}
