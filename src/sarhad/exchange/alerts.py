"""Alerts and the quarantine: what the exchange needs the people who run the node to look at.

An alert is raised by the exchange itself (equivocation, a receipt naming a hash we never signed, a
quarantined record, a failed receipt hook), in the transaction that found the problem. People with
``exchange.read`` list them, with ``exchange.admin`` acknowledge them and read the quarantined envelopes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.core.errors import NotFound
from sarhad.core.node import Node
from sarhad.exchange.models import Alert, InboundEnvelope


def raise_alert(
    session: Session,
    node: Node,
    *,
    kind: str,
    severity: str,
    message: str,
    link: str = "",
    seq: int | None = None,
) -> Alert:
    """Record an alert (and its audit entry) in the caller's transaction."""
    alert = Alert(
        kind=kind,
        severity=severity,
        message=message,
        link=link,
        seq=seq,
        at=node.clock.now(),
        acknowledged_at=None,
        acknowledged_by="",
    )
    session.add(alert)
    record_event(
        session,
        node.clock,
        actor="system",
        action=f"exchange.alert.{kind}",
        record_kind="link",
        record_id=f"{link}#{seq}" if seq else link,
        details={"message": message},
    )
    return alert


def list_alerts(
    session: Session, actor: Actor, *, include_acknowledged: bool = False, limit: int = 200
) -> Sequence[Alert]:
    """The newest alerts, unacknowledged ones only unless ``include_acknowledged``."""
    require(actor, Permission.EXCHANGE_READ, "seeing the exchange's alerts")
    query = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if not include_acknowledged:
        query = query.where(Alert.acknowledged_at.is_(None))
    return session.scalars(query).all()


def acknowledge_alert(session: Session, node: Node, alert_id: int, *, actor: Actor) -> Alert:
    """Mark an alert as seen and dealt with by ``actor``."""
    require(actor, Permission.EXCHANGE_ADMIN, "acknowledging alerts")
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    alert.acknowledged_at, alert.acknowledged_by = node.clock.now(), actor.username
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="exchange.alert.acknowledge",
        record_kind="alert",
        record_id=str(alert_id),
    )
    return alert


def access_quarantine(
    session: Session, node: Node, actor: Actor, *, client_ip: str = "", limit: int = 200
) -> Sequence[InboundEnvelope]:
    """The newest quarantined envelopes (records that could not be applied), with the reason.

    Their records may be sensitive and were never applied, so reading them is audited.
    """
    require(actor, Permission.EXCHANGE_ADMIN, "reading the quarantine")
    record_event(
        session, node.clock, actor=actor.username, action="exchange.quarantine.read", client_ip=client_ip
    )
    return session.scalars(
        select(InboundEnvelope)
        .where(InboundEnvelope.status == "quarantined")
        .order_by(InboundEnvelope.received_at.desc())
        .limit(limit)
    ).all()
