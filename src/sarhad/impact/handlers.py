"""Impact levels travel as joint records (``joint.proposal`` / ``joint.decision``, handled by the exchange).

This module only registers the joint subject ``border.section_impact`` and its content schema, so proposals
received from a peer are checked against the same rules as our own (the exchange loads every feature's
``handlers`` before applying a received record).
"""

from __future__ import annotations

from sarhad.exchange.joint import register_subject
from sarhad.impact.domain import SUBJECT
from sarhad.impact.schemas import ImpactContent

register_subject(SUBJECT, ImpactContent)
