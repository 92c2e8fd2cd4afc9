"""The shared-record lifecycle: what every record kind shared over the exchange does the same way.

A kind declares itself once (:class:`SharedKind`: its exchange name, its table, its noun) and its services
call these for the steps every shared record has:

- own records: :func:`access_own` (fetch with permission; a received record is never changed here, a
  withdrawn one is final), :func:`access_held` (own or received, for a release), :func:`release`,
  :func:`release_new` (version 1 released as its kind's create asked), :func:`publish_version` (a new
  version follows every release), :func:`withdraw_own` (tombstones);
- received records (called by the kind's handlers): :func:`store_received` (never overwrites a newer
  version; refuses a record claiming this node's origin) and :func:`apply_received_withdrawal`.

The pure checks (labels, handling, targets, reasons, content times) are in ``exchange.record_rules``. Everything
here writes in the caller's transaction: the row, its history, the audit entries and the envelopes commit
together or not at all. A kind keeps its own rules (what valid content is, its fields) and its own timeline.

The row of a kind (:class:`SharedRow`) is keyed by ``(origin, id)`` and holds the current version; the
optional history table holds every version's content exactly as released or received.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, SystemActor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.core.errors import (
    Conflict,
    ErrorCode,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RecordRefused,
    RuleError,
)
from sarhad.core.formats import iso_utc
from sarhad.core.node import Node
from sarhad.exchange import peers
from sarhad.exchange import record_rules as rules
from sarhad.exchange import release as exchange_release
from sarhad.exchange.domain import Handling
from sarhad.exchange.models import Release
from sarhad.exchange.registry import IncomingRecord


class SharedRow(Protocol):
    """The columns the lifecycle reads and writes on a kind's table (the kind's own columns are its own)."""

    origin: str
    id: str
    version: int
    content_hash: str
    withdrawn_at: datetime | None
    withdraw_reason: str
    received_at: datetime | None


R = TypeVar("R", bound=SharedRow)


@dataclass(frozen=True)
class SharedKind(Generic[R]):
    """A shared record kind, declared once by its package.

    ``versions`` is the history table, if the kind keeps one: its columns are ``origin``, ``version_id``
    (the record's id), ``version``, ``content``, ``content_hash``, ``recorded_at``, ``recorded_by``.
    ``labelled``: the row keeps the current TLP and handling (``tlp``, ``handling`` columns).
    ``hint`` ends the refusal of a change to a received record (``{origin}`` is filled in).
    ``check_changeable(row, verb)`` refuses a change to an own record in a state that forbids it; without
    it, a withdrawn record is final (409 ``withdrawn``).
    ``purge``: the row's content columns and the blank each is set to when the originator withdraws a
    received record (:func:`apply_received_withdrawal`; the history's content is purged too).
    """

    name: str  # the record kind on the exchange
    model: type[R]
    noun: str  # "bulletin": messages, and the audit actions ("bulletin.withdraw", "bulletin.receive", …)
    versions: type[Any] | None = None
    version_id: str = "record_id"
    labelled: bool = True
    hint: str = ""
    check_changeable: Callable[[R, str], None] | None = None
    purge: tuple[tuple[str, Any], ...] = ()

    @property
    def plural(self) -> str:
        return self.noun + "s"


# --- own records ------------------------------------------------------------------------------------------


def not_originator(kind: SharedKind[Any], record_id: str, origin: str, verb: str) -> PermissionDenied:
    """The refusal of a change to a received record: only its originator changes it."""
    return PermissionDenied(
        f"{kind.noun} {record_id} was received from {origin}; received {kind.plural} are never {verb} here. "
        f"Only {origin}, its originator, can do that.{kind.hint.format(origin=origin)}",
        code=ErrorCode.NOT_ORIGINATOR,
    )


def _own(
    session: Session, node: Node, kind: SharedKind[R], record_id: str, origin: str | None, verb: str
) -> R:
    origin = origin or node.party
    if origin != node.party:
        if session.get(kind.model, (origin, record_id)) is None:
            raise NotFound(f"no {kind.noun} {record_id} from {origin} is held here")
        raise not_originator(kind, record_id, origin, verb)
    row = session.get(kind.model, (origin, record_id))
    if row is None:
        # Own records are addressed by id alone in places (PUT /api/v1/bulletins/{id}); say whose it is.
        model: Any = kind.model  # a mapped class: its attributes are columns here
        received = session.scalar(
            select(model.origin).where(model.id == record_id, model.origin != node.party)
        )
        if received is not None:
            raise not_originator(kind, record_id, received, verb)
        raise NotFound(f"no {kind.noun} {record_id} of {node.party}")
    if kind.check_changeable is not None:
        kind.check_changeable(row, verb)
    elif row.withdrawn_at is not None:
        raise Conflict(
            f"{kind.noun} {record_id} was withdrawn on {iso_utc(row.withdrawn_at)}; a withdrawn "
            f"{kind.noun} is not changed or released again (write a new one)",
            code=ErrorCode.WITHDRAWN,
        )
    return row


def access_own(
    session: Session,
    node: Node,
    actor: Actor,
    kind: SharedKind[R],
    record_id: str,
    *,
    permission: Permission,
    doing: str,
    verb: str,
    origin: str | None = None,
) -> R:
    """One of this node's own records, to change it: ``actor`` needs ``permission`` (``doing`` names the work
    in the refusal); a received record is refused (403 ``not_originator``), a withdrawn one too (409)."""
    require(actor, permission, doing)
    return _own(session, node, kind, record_id, origin, verb)


def access_held(
    session: Session,
    node: Node,
    actor: Actor,
    kind: SharedKind[R],
    record_id: str,
    *,
    origin: str | None = None,
) -> R:
    """A record held here, own or received, to release it (``records.release``): not withdrawn."""
    require(actor, Permission.RECORDS_RELEASE, "releasing records to other parties")
    origin = origin or node.party
    row = session.get(kind.model, (origin, record_id))
    if row is None or (origin != node.party and row.withdrawn_at is not None):
        raise NotFound(f"no {kind.noun} {record_id} from {origin} is held here")
    if row.withdrawn_at is not None:
        raise Conflict(
            f"{kind.noun} {record_id} was withdrawn; a withdrawn {kind.noun} is not released again",
            code=ErrorCode.WITHDRAWN,
        )
    return row


def access_readable(
    session: Session,
    node: Node,
    actor: Actor,
    kind: SharedKind[R],
    record_id: str,
    origin: str,
    *,
    permission: Permission,
    doing: str,
    client_ip: str = "",
    audit: bool = True,
    hide_withdrawn: bool = True,
) -> R:
    """A record held here, to read it: ``actor`` needs ``permission``. A received record its originator
    withdrew is gone for the reader (404 ``withdrawn``) unless ``hide_withdrawn`` is False (a kind that shows a
    withdrawn record as a state of it, as requests do). Reading a received record is a sensitive read: it is
    audited as ``<noun>.read`` in the caller's transaction, unless ``audit`` is False (a page that reads the
    same record again for a form)."""
    require(actor, permission, doing)
    row = session.get(kind.model, (origin, record_id))
    if row is None:
        raise NotFound(f"no {kind.noun} {record_id} from {origin} is held here")
    if origin == node.party:
        return row
    if hide_withdrawn and row.withdrawn_at is not None:
        raise NotFound(
            f"{kind.noun} {record_id} from {origin} was withdrawn by its originator", code=ErrorCode.WITHDRAWN
        )
    if audit:
        record_event(
            session,
            node.clock,
            actor=actor.username,
            action=f"{kind.noun}.read",
            record_kind=kind.name,
            record_id=row.id,
            client_ip=client_ip,
            details={"origin": origin, "version": row.version},
        )
    return row


def current_content(session: Session, kind: SharedKind[Any], row: SharedRow) -> dict[str, Any] | None:
    """The content of the current version exactly as stored in the history (None: no history row)."""
    if kind.versions is None:
        return None
    stored = session.get(kind.versions, (row.origin, row.id, row.version))
    return dict(stored.content) if stored is not None else None


def release(
    session: Session,
    node: Node,
    actor: Actor,
    kind: SharedKind[R],
    row: R,
    to: Sequence[str],
    *,
    content: dict[str, Any],
    tlp: str | None = None,
    handling: str | None = None,
    client_ip: str = "",
) -> list[Release]:
    """Release a held record (its current and all later versions) to more parties (from :func:`access_held`).

    The label may be kept or tightened, never loosened. An own record's handling defaults to the row's; a
    received one goes onward only if its originator allowed that (the exchange refuses otherwise, saying to
    ask the originator) and keeps the originator's handling.
    """
    current_tlp: str = getattr(row, "tlp")  # noqa: B009 - a labelled kind's column, not on the protocol
    current_handling: str = getattr(row, "handling")  # noqa: B009
    own = row.origin == node.party
    try:
        if not to:
            raise RuleError("to", "name at least one party to release to")
        label = rules.check_release_tlp(current_tlp, tlp or current_tlp, kind.noun)
        if own:
            handling_code = rules.check_handling(handling or current_handling)
            targets = rules.check_release_targets(node.party, to, peers.peer_parties(session), field="to")
        else:  # the exchange checks the originator's handling code first, with its own message
            handling_code = rules.check_onward_handling(current_handling, handling, kind.noun)
            targets = sorted(set(to))
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    releases = exchange_release.release_record(
        session,
        node,
        kind=kind.name,
        record_id=row.id,
        version=row.version,
        content=content,
        to=targets,
        handling=handling_code.value,
        tlp=label.value,
        actor=actor,
        client_ip=client_ip,
        origin=None if own else row.origin,
    )
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action=f"{kind.noun}.release" if own else f"{kind.noun}.release_onward",
        record_kind=kind.name,
        record_id=row.id,
        client_ip=client_ip,
        details={
            "origin": row.origin,
            "to": targets,
            "version": row.version,
            "tlp": label.value,
            "handling": handling_code.value,
        },
    )
    return releases


def release_new(
    session: Session,
    node: Node,
    actor: Actor,
    kind: SharedKind[R],
    row: R,
    to: Sequence[str],
    *,
    content: dict[str, Any],
    client_ip: str = "",
) -> list[Release]:
    """Release a record just created here (version 1, from :func:`add_version`) to ``to`` with the row's own
    label and handling; nothing when ``to`` is empty.

    For a kind whose create takes its first release along: it has checked the targets
    (``record_rules.check_release_targets``) and the release permission with the rest of its input, before
    anything was written, and its creation entry in the audit log says the rest, so no ``<noun>.release``
    entry is written here (the exchange audits each release).
    """
    if not to:
        return []
    return exchange_release.release_record(
        session,
        node,
        kind=kind.name,
        record_id=row.id,
        version=row.version,
        content=content,
        to=to,
        handling=getattr(row, "handling"),  # noqa: B009 - a labelled kind's column, not on the protocol
        tlp=getattr(row, "tlp"),  # noqa: B009
        actor=actor,
        client_ip=client_ip,
    )


def add_version(
    session: Session,
    node: Node,
    kind: SharedKind[Any],
    row: SharedRow,
    content: dict[str, Any],
    by: str,
    *,
    history: Mapping[str, Any] | None = None,
) -> str:
    """Hash the row's current version and keep its content in the history table, if the kind has one
    (``history``: the kind's own columns of the history row, e.g. the change that made the version)."""
    row.content_hash = exchange_release.content_hash(content)
    if kind.versions is not None:
        session.flush()  # a new row first: the history row refers to it
        values = {
            "origin": row.origin,
            kind.version_id: row.id,
            "version": row.version,
            "content": content,
            "content_hash": row.content_hash,
            "recorded_at": node.clock.now(),
            "recorded_by": by,
            **(history or {}),
        }
        session.add(kind.versions(**values))
    return row.content_hash


def publish_version(
    session: Session,
    node: Node,
    actor: Actor,
    kind: SharedKind[Any],
    row: SharedRow,
    content: dict[str, Any],
    *,
    action: str = "update",
    client_ip: str = "",
    details: Mapping[str, Any] | None = None,
    history: Mapping[str, Any] | None = None,
) -> int:
    """A new version of an own record (``row.version`` already counted up): hashed, kept in the history,
    audited as ``<noun>.<action>`` (with ``details``), and sent after every active release. Returns the
    envelopes written.

    A new version of a released record crosses the border with no one deciding again, so changing a record
    that has a release in force needs ``records.release`` too (403 ``release_required``): whoever may
    change a record but not release one edits it only while it is unreleased. Raised before anything is
    written; the caller's transaction rolls back the change to the row."""
    check_may_change_released(session, node, actor, kind, row)
    add_version(session, node, kind, row, content, actor.username, history=history)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action=f"{kind.noun}.{action}",
        record_kind=kind.name,
        record_id=row.id,
        client_ip=client_ip,
        details={"version": row.version, "content_hash": row.content_hash, **(details or {})},
    )
    return exchange_release.publish_version(
        session,
        node,
        kind=kind.name,
        record_id=row.id,
        version=row.version,
        content=content,
        actor=actor,
    )


def check_may_change_released(
    session: Session, node: Node, actor: Actor, kind: SharedKind[Any], row: SharedRow
) -> None:
    """Refuse a new version of a released own record to an actor without ``records.release`` (see
    :func:`publish_version`)."""
    if actor.can(Permission.RECORDS_RELEASE):
        return
    released = exchange_release.active_releases(session, kind.name, row.id, node.party)
    if released:
        parties = ", ".join(sorted({rel.to_party for rel in released}))
        raise PermissionDenied(
            f"{kind.noun} {row.id} is released to {parties}; a new version would go there too, and your role "
            f"does not allow releasing records (needs {Permission.RECORDS_RELEASE.value}). Ask someone who "
            "may release records to make this change.",
            code=ErrorCode.RELEASE_REQUIRED,
        )


def withdraw_own(
    session: Session,
    node: Node,
    actor: Actor,
    kind: SharedKind[R],
    record_id: str,
    reason: str,
    *,
    permission: Permission = Permission.RECORDS_RELEASE,
    doing: str = "withdrawing released records",
    origin: str | None = None,
    client_ip: str = "",
) -> R:
    """Withdraw one of this node's records: every party it went to gets a signed tombstone with the reason
    and stops showing it; the row keeps when and why (``<noun>.withdraw`` in the audit log). Final."""
    require(actor, permission, doing)
    try:
        reason = rules.check_reason(reason, kind.noun)
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    row = _own(session, node, kind, record_id, origin, "withdrawn")
    tombstones = exchange_release.withdraw_record(
        session,
        node,
        kind=kind.name,
        record_id=row.id,
        version=row.version,
        actor=actor,
        reason=reason,
    )
    row.withdrawn_at, row.withdraw_reason = node.clock.now(), reason
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action=f"{kind.noun}.withdraw",
        record_kind=kind.name,
        record_id=row.id,
        client_ip=client_ip,
        details={"version": row.version, "tombstones": tombstones, "reason": reason},
    )
    return row


# --- received records (called by the kind's handlers) ------------------------------------------------------


def peer_actor(record: IncomingRecord) -> str:
    """Who wrote a received change, in the audit log and the history: ``peer:IR``."""
    return f"peer:{record.origin}"


def refuse_own_origin(session: Session, node: Node, kind: SharedKind[Any], record: IncomingRecord) -> None:
    """Refuse a received record that could touch this node's own records.

    Only this node writes records of origin ``node.party``, so a peer sending one is refused. A peer's
    record reusing the id of one of ours is refused too: ids are UUIDv7 made by their originator, so a reuse
    is a fault or a forgery, and pages and services address own records by id alone (and say whose a
    received record with that id is), which must stay unambiguous on this node.
    """
    if record.origin == node.party:
        raise RecordRefused(
            f"{kind.noun} {record.record_id} claims to originate from {node.party}, this node; refused",
            code=ErrorCode.NOT_ORIGINATOR,
        )
    if session.get(kind.model, (node.party, record.record_id)) is not None:
        raise RecordRefused(
            f"{kind.noun} {record.record_id} from {record.origin} reuses the id of a {kind.noun} of "
            f"{node.party}; refused",
            code=ErrorCode.NOT_ORIGINATOR,
        )


@dataclass(frozen=True)
class Stored(Generic[R]):
    """What :func:`store_received` did: the row, whether it was new here, whether the version was newer."""

    row: R
    is_new: bool
    newer: bool


def store_received(
    session: Session,
    node: Node,
    kind: SharedKind[R],
    record: IncomingRecord,
    fill: Callable[[R], None],
    *,
    new_row: Mapping[str, Any] | None = None,
    history: Mapping[str, Any] | None = None,
) -> Stored[R]:
    """Store a received version (the kind has checked its content already).

    Refuses a record claiming this node's origin or reusing an own id (:func:`refuse_own_origin`). A newer
    version (or the first) becomes the current one: ``fill(row)`` sets the kind's fields, this sets the
    version, hash, labels and ``received_at``, and lifts an earlier withdrawal as the exchange's generic copy
    does. An older or repeated version never overwrites a newer one; it only joins the history. A new row
    starts with ``new_row``'s values; ``history`` adds the kind's own columns to the history row. Audited as ``<noun>.receive`` (``<noun>.receive_stale`` for an older
    version). A newer version of a record this node passed on follows that onward release.
    """
    refuse_own_origin(session, node, kind, record)
    now = node.clock.now()
    by = peer_actor(record)
    row = session.get(kind.model, (record.origin, record.record_id))
    is_new = row is None
    newer = row is None or record.version > row.version
    if row is None:
        make: Callable[..., R] = kind.model
        row = make(origin=record.origin, id=record.record_id, **(new_row or {}))
        session.add(row)
    if newer:
        fill(row)
        row.version, row.content_hash, row.received_at = record.version, record.content_hash, now
        if kind.labelled:
            setattr(row, "tlp", record.tlp)  # noqa: B010 - a labelled kind's column, not on the protocol
            setattr(row, "handling", record.handling)  # noqa: B010
        row.withdrawn_at, row.withdraw_reason = None, ""
        session.flush()
    if (
        kind.versions is not None
        and session.get(kind.versions, (record.origin, record.record_id, record.version)) is None
    ):
        values = {
            "origin": record.origin,
            kind.version_id: record.record_id,
            "version": record.version,
            # an older version arriving after the originator withdrew the record is kept purged (§11.3)
            "content": {} if row.withdrawn_at is not None else record.content,
            "content_hash": record.content_hash,
            "recorded_at": now,
            "recorded_by": by,
            **(history or {}),
        }
        session.add(kind.versions(**values))
    record_event(
        session,
        node.clock,
        actor=by,
        action=f"{kind.noun}.receive" if newer else f"{kind.noun}.receive_stale",
        record_kind=kind.name,
        record_id=record.record_id,
        details={"origin": record.origin, "version": record.version, "link": record.link, "seq": record.seq},
    )
    if newer and not is_new and record.handling == Handling.ONWARD_ALLOWED.value:
        # We may have released this record onward: its later versions follow that release, as our own do.
        exchange_release.publish_version(
            session,
            node,
            kind=kind.name,
            record_id=record.record_id,
            version=record.version,
            content=record.content,
            actor=SystemActor(by),
            origin=record.origin,
            origin_sig=record.origin_sig,
        )
    return Stored(row=row, is_new=is_new, newer=newer)


def purge_content(session: Session, kind: SharedKind[R], row: R) -> None:
    """Purge a withdrawn received record's content from the kind's row and history; the hashes stay, so what
    was received can still be proved (docs/exchange-protocol.md §11.3). The exchange purges its own copies."""
    for column, blank in kind.purge:
        setattr(row, column, copy.deepcopy(blank))
    if kind.versions is not None:
        versions: Any = kind.versions  # a mapped class: its attributes are columns here
        session.execute(
            update(versions)
            .where(versions.origin == row.origin, getattr(versions, kind.version_id) == row.id)
            .values(content={})
        )


def apply_received_withdrawal(
    session: Session, node: Node, kind: SharedKind[R], record: IncomingRecord
) -> R | None:
    """The originator withdrew a record: mark it withdrawn here (the first time; audited as
    ``<noun>.withdrawn_by_origin`` each time) and pass the tombstone on where this node relayed it.
    Returns the row, or None if the record was never held here."""
    refuse_own_origin(session, node, kind, record)
    row = session.get(kind.model, (record.origin, record.record_id))
    if row is None:
        return None
    reason = rules.received_reason(record.content)
    if row.withdrawn_at is None:
        row.withdrawn_at, row.withdraw_reason = node.clock.now(), reason
    purge_content(session, kind, row)
    by = peer_actor(record)
    record_event(
        session,
        node.clock,
        actor=by,
        action=f"{kind.noun}.withdrawn_by_origin",
        record_kind=kind.name,
        record_id=record.record_id,
        details={"origin": record.origin, "version": record.version, "reason": reason},
    )
    exchange_release.withdraw_record(
        session,
        node,
        kind=kind.name,
        record_id=record.record_id,
        version=record.version,  # the tombstone as its originator signed it (§11.2)
        actor=SystemActor(by),
        reason=reason,
        origin=record.origin,
        origin_sig=record.origin_sig,
    )
    return row
