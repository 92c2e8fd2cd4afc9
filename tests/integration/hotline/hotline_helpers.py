"""Building blocks for the hotline tests: two seeded, paired nodes with commanders on duty, in-process delivery."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.audit.models import AuditEntry
from sarhad.core.node import Node
from sarhad.exchange.models import OutboundEnvelope
from sarhad.hotline import configuration
from sarhad.hotline.models import HotlineEvent, HotlineMessage
from support.inprocess import deliver, pair

__all__ = ["deliver", "pair"]

PASSWORD = "correct horse battery"


def seed_node(node: Node, counterpart: str) -> None:
    """The reference scenario's hotline positions (the ministry, a commander per section, as border seeding
    names them) and users: ``commander`` holds every section commander, ``secretariat`` the ministry,
    ``deputy`` and ``operator`` nothing, ``admin`` is a hotline administrator."""
    from sarhad.border.seeding import reference_data

    party = node.party
    with node.transaction() as session:
        accounts.upsert_position(
            session,
            SystemActor(),
            position_id=f"{party}-MOI",
            party=party,
            names={"en": "Ministry"},
            kind="ministry",
        )
        session.flush()
        for section in reference_data()["sections"]:
            accounts.upsert_position(
                session,
                SystemActor(),
                position_id=f"{party}-{section['id']}-CDR",
                party=party,
                names={"en": f"Sector commander {section['id']}"},
                kind="commander",
                section_id=section["id"],
                parent_id=f"{party}-MOI",
            )
        for username, role in (
            ("commander", "commander"),
            ("deputy", "commander"),
            ("secretariat", "secretariat"),
            ("operator", "operator"),
            ("admin", "admin"),
        ):
            accounts.create_user(
                session,
                node.clock,
                SystemActor(),
                username=username,
                password=PASSWORD,
                roles=[role],
                display_name=username.title(),
            )
        session.flush()
        from sarhad.accounts.models import Position

        for position in session.scalars(select(Position).where(Position.party == party)).all():
            holder = "secretariat" if position.kind == "ministry" else "commander"
            accounts.assign_position(
                session, node.clock, SystemActor(), position_id=position.id, username=holder
            )


def seed_channels(node: Node, counterpart: str) -> None:
    with node.transaction() as session:
        configuration.seed_reference_channels(session, node, SystemActor(), counterpart)


def token(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def count(node: Node, model: Any) -> int:
    with node.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def message(node: Node, origin: str, message_id: str) -> HotlineMessage:
    with node.sessions() as session:
        row = session.get(HotlineMessage, (origin, message_id))
        assert row is not None, f"no message {origin}/{message_id} on {node.party}"
        return row


def timeline_kinds(node: Node, origin: str, message_id: str) -> list[str]:
    with node.sessions() as session:
        return list(
            session.scalars(
                select(HotlineEvent.kind)
                .where(HotlineEvent.message_origin == origin, HotlineEvent.message_id == message_id)
                .order_by(HotlineEvent.id)
            ).all()
        )


def audit_actions(node: Node, prefix: str) -> list[str]:
    with node.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
            ).all()
        )


def snapshot(node: Node) -> tuple[int, int, int, int]:
    """Counts that a refused request must leave unchanged."""
    return (
        count(node, HotlineMessage),
        count(node, HotlineEvent),
        count(node, OutboundEnvelope),
        len(audit_actions(node, "hotline.send")) + len(audit_actions(node, "hotline.ack")),
    )
