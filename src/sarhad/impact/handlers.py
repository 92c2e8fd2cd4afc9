"""Impact levels travel as joint records (``joint.proposal`` / ``joint.decision``, handled by the exchange).

This module only registers the joint subject ``border.section_impact`` and its content schema, so proposals
received from a peer are checked against the same rules as our own (the exchange loads every feature's
``handlers`` before applying a received record).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sarhad.accounts.domain import Permission
from sarhad.core.node import Node
from sarhad.exchange.joint import register_subject
from sarhad.exchange.models import JointRecord
from sarhad.impact.domain import SUBJECT
from sarhad.impact.schemas import ImpactContent
from sarhad.live import services as live

LIVE_TOPIC = "impact.changed"


def announce(session: Session, node: Node, joint: JointRecord) -> None:
    """Tell live clients (the maps) that a section's level or proposal changed; they read the levels again."""
    live.publish(session, node, LIVE_TOPIC, {"joint": joint.id}, permission=Permission.BORDER_READ.value)


register_subject(SUBJECT, ImpactContent, on_change=announce)
