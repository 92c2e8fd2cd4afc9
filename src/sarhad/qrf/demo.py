"""Exercise QRF units for ``sarhad demo``: several units per side at its own posts, some shared with the other
side, with a recent status history (a dispatch that went responding → on scene → returning → available).

Each unit is added and moved through the QRF services as the demo commander's own principal, with the node
clock set back to each step's time, so the board and the histories read like a real day; one unit is left
unconfirmed for longer than the stale threshold, so the board shows the flag. Seeded the same way every time.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

from sqlalchemy import select

from sarhad.accounts.domain import permissions_for
from sarhad.accounts.models import User
from sarhad.accounts.services import Principal
from sarhad.core.clock import FixedClock
from sarhad.core.node import Node
from sarhad.exchange.models import Peer
from sarhad.qrf import services
from sarhad.qrf.domain import UnitType
from sarhad.qrf.schemas import UnitIn

log = logging.getLogger(__name__)

# (call sign, type, post, strength, shared, hours ago created, [(hours ago, status, notice minutes)])
Plan = tuple[str, str, str, int, bool, int, list[tuple[int, str, int | None]]]
PLANS: dict[str, list[Plan]] = {
    "PK": [
        ("Falcon-1", "air", "pk-nokkundi-wing-hq", 12, True, 30,
         [(5, "responding", None), (4, "on_scene", None), (3, "returning", None), (2, "available", None)]),
        ("Tiger-2", "mobile_infantry", "pk-taftan-post", 40, True, 20, [(1, "standby", 15)]),
        ("Medic-5", "medical", "pk-mashkel-post", 8, True, 10, []),  # unconfirmed for 10 h: stale
        ("Shield-3", "eod", "pk-chedgi-post", 6, False, 26, [(3, "unavailable", None)]),
        ("Lancer-4", "mounted", "pk-gabd-post", 30, False, 8, [(1, "available", None)]),
    ],
    "IR": [
        ("Simorgh-1", "air", "ir-zahedan-hq", 10, True, 30, [(2, "standby", 30)]),
        ("Paya-2", "mobile_infantry", "ir-mirjaveh-post", 45, True, 24,
         [(6, "responding", None), (5, "on_scene", None), (4, "returning", None), (3, "available", None)]),
        ("Emdad-3", "medical", "ir-saravan-hq", 9, True, 2, []),
        ("Khanjar-4", "k9", "ir-pishin-post", 12, False, 12, [(1, "out_of_service", None)]),
    ],
}  # fmt: skip


def _commander(node: Node, party: str) -> Principal | None:
    """The demo commander as a principal: the account's own roles and permissions."""
    username = f"{party.lower()}.commander"
    with node.sessions() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        return None
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=tuple(user.roles),
        permissions=permissions_for(user.roles),
        session_id="demo-seed",
        via="demo",
        csrf_token="",
        language=user.language,
        time_zone=user.time_zone,
        calendar=user.calendar,
        scope_sections=tuple(user.scope_sections or ()),
    )


def seed(node: Node, party: str) -> None:
    actor = _commander(node, party)
    if actor is None:
        log.info("no demo commander on %s: no exercise QRF units seeded", party)
        return
    with node.sessions() as session:
        peers = [p.party for p in session.scalars(select(Peer).order_by(Peer.party)).all()]
    now = node.clock.now()
    for call_sign, unit_type, post, strength, shared, created, steps in PLANS.get(party, []):
        past = dataclasses.replace(node, clock=FixedClock(now - timedelta(hours=created)))
        data = UnitIn(
            call_sign=call_sign,
            unit_type=UnitType(unit_type),
            station=post,
            strength=strength,
            share_with=peers if shared else [],
        )
        with past.transaction() as session:
            unit_id = services.create_unit(session, past, actor, data).id
        for hours, status, notice in steps:
            step = dataclasses.replace(node, clock=FixedClock(now - timedelta(hours=hours)))
            with step.transaction() as session:
                services.set_status(session, step, actor, unit_id, status, notice)
    log.info("%s exercise QRF units seeded on %s", len(PLANS.get(party, [])), party)
