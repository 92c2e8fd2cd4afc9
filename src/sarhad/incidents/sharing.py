"""Sharing incidents with other parties (record kind ``incident``): releasing and withdrawing our own, the
releases and deliveries of an incident, and applying what a peer releases or withdraws (called by the exchange
through handlers.py).

The steps every shared record has are the exchange's shared-record lifecycle (``exchange.records``, the kind
declared as ``versions.INCIDENTS``); this module adds what is an incident's own: a draft is not released,
received incidents are not passed on, and a received version is checked by the incident rules. The content on
the link is ``domain.snapshot``; its bytes are hashed (RFC 8785), so they never change for a version once
written.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor
from sarhad.accounts.domain import Permission
from sarhad.core.errors import InvalidInput, RecordRefused, RuleError
from sarhad.core.node import Node
from sarhad.exchange import records
from sarhad.exchange import release as exchange_release
from sarhad.exchange.models import Release
from sarhad.exchange.registry import IncomingRecord
from sarhad.exchange.release import Delivery
from sarhad.incidents import domain
from sarhad.incidents.domain import KIND, Status
from sarhad.incidents.models import Incident
from sarhad.incidents.schemas import IncidentContent
from sarhad.incidents.versions import INCIDENTS, announce, current_content, materialize_version
from sarhad.incidents.writing import access_own_incident

# --- releasing and withdrawing our own ------------------------------------------------------------------------


def release_incident(
    session: Session,
    node: Node,
    actor: Actor,
    incident_id: str,
    to: Sequence[str],
    *,
    tlp: str | None = None,
    handling: str | None = None,
    origin: str | None = None,
    client_ip: str = "",
) -> Incident:
    """Release one of our incidents (this and all later versions) to more parties; a draft is refused (report
    it first), and so is a received one (``origin`` another party): incidents are not passed on. Returns the
    incident."""
    incident = access_own_incident(
        session,
        node,
        actor,
        incident_id,
        origin,
        permission=Permission.RECORDS_RELEASE,
        doing="releasing records to other parties",
        verb="released onward",
    )
    try:
        domain.check_releasable(incident.status)
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    records.release(
        session,
        node,
        actor,
        INCIDENTS,
        incident,
        to,
        content=current_content(session, incident),
        tlp=tlp,
        handling=handling,
        client_ip=client_ip,
    )
    return incident


def withdraw_incident(
    session: Session, node: Node, actor: Actor, incident_id: str, reason: str, *, client_ip: str = ""
) -> Incident:
    """Withdraw one of our incidents: every party it went to gets a signed tombstone and stops showing it."""
    incident = records.withdraw_own(session, node, actor, INCIDENTS, incident_id, reason, client_ip=client_ip)
    # Like every change, a withdrawal writes out the version 1 row a bulk-imported incident has not written yet.
    materialize_version(session, incident)
    announce(session, node, incident.origin, incident.id, "withdraw")
    return incident


def releases_of(session: Session, incident: Incident) -> Sequence[Release]:
    """The releases of an incident the caller has already accessed, by party."""
    return session.scalars(
        select(Release)
        .where(
            Release.record_kind == KIND, Release.record_id == incident.id, Release.origin == incident.origin
        )
        .order_by(Release.to_party)
    ).all()


def delivery_summary(
    session: Session, incidents: Sequence[Incident], party: str
) -> dict[str, list[Delivery]]:
    """Per own incident id: the latest envelope to each party."""
    own = [i.id for i in incidents if i.origin == party]
    if not own:
        return {}
    result: dict[str, list[Delivery]] = {}
    for rid, items in exchange_release.deliveries(session, KIND, own).items():
        latest: dict[str, Delivery] = {}
        for item in items:
            latest[item.party] = item
        result[rid] = [latest[p] for p in sorted(latest)]
    return result


# --- receiving (called by the exchange through handlers.py) -------------------------------------------------


def apply_received(session: Session, node: Node, record: IncomingRecord) -> None:
    """Store a received incident version. Never overwrites a newer version; older ones only join the history.

    The side and section are the originator's (both nodes hold the same reference border); the content
    rules are ours, applied again (a broken rule refuses the record, which the exchange quarantines)."""
    # A record in this node's name is refused as such before its content is looked at.
    records.refuse_own_origin(session, node, INCIDENTS, record)
    content = IncidentContent.model_validate(record.content)
    try:
        domain.check_received_type(content.type)
        if content.status not in {s.value for s in Status}:
            raise RuleError("status", f"unknown incident status {content.status!r}")
        domain.check_impact(content.impact_level)
        domain.check_casualties(content.casualties)
    except RuleError as exc:
        raise RecordRefused.from_rule(exc) from exc

    def fill(incident: Incident) -> None:
        incident.type = content.type
        incident.status, incident.status_reason = content.status, content.status_reason
        incident.occurred_at = content.occurred_at
        incident.reported_at = content.reported_at
        incident.lat, incident.lon = content.location.lat, content.location.lon
        incident.side, incident.section_id = content.side, content.section
        incident.distance_to_border_m = content.distance_to_border_m
        incident.description = content.description
        incident.casualties = dict(content.casualties)
        incident.seizures = [s.model_dump() for s in content.seizures]
        incident.persons_apprehended = content.persons_apprehended
        incident.impact_level = content.impact_level
        incident.source_reliability, incident.info_credibility = (
            content.source_reliability,
            content.info_credibility,
        )
        incident.exercise = content.exercise
        incident.follow_up_of_origin = content.follow_up_of.origin if content.follow_up_of else None
        incident.follow_up_of_id = content.follow_up_of.id if content.follow_up_of else None
        incident.attachments = [a.model_dump() for a in content.attachments]
        incident.updated_at = content.updated_at

    first = {
        "created_by": records.peer_actor(record),
        "created_at": content.created_at,
        "withdraw_reason": "",
    }
    records.store_received(
        session, node, INCIDENTS, record, fill, new_row=first, history={"change": "received"}
    )
    announce(session, node, record.origin, record.record_id, "received")


def withdraw_received(session: Session, node: Node, record: IncomingRecord) -> None:
    """Apply a peer's tombstone: the incident is no longer shown here (an unknown one is ignored)."""
    records.apply_received_withdrawal(session, node, INCIDENTS, record)
    announce(session, node, record.origin, record.record_id, "withdrawn")
