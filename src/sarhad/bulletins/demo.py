"""Exercise bulletins for ``sarhad demo``: a few liaison bulletins of this party, written and released to the
other party by the demo liaison officer, as that user would on the bulletin page.

Each is written through the bulletins services as the liaison officer's own principal (the roles and
permissions of the account, not a system actor), with the node clock set back to the bulletin's time, so the
list and the history read like a real week. Released ones go to every paired peer; the demo nodes' delivery
workers carry them over once the nodes run. Pakistan writes in English, Iran in Persian (each side's demo
users read their own language). Seeded the same way every time.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from sarhad.accounts.domain import permissions_for
from sarhad.accounts.models import User
from sarhad.accounts.services import Principal
from sarhad.bulletins import services
from sarhad.bulletins.schemas import BulletinContentIn
from sarhad.core.clock import FixedClock
from sarhad.core.node import Node
from sarhad.exchange.models import Peer

log = logging.getLogger(__name__)

# (hours ago, tlp, released, title, body, place: (name, lat, lon) or None, valid for hours or None)
Plan = tuple[int, str, bool, str, str, tuple[str, float, float] | None, int | None]
PLANS: dict[str, list[Plan]] = {
    "PK": [
        (
            150,
            "green",
            True,
            "EXERCISE — Taftan crossing: extended hours for cargo",
            "EXERCISE — Cargo lanes at Taftan stay open until 22:00 local time this week to clear the backlog "
            "of trucks. Passenger hours are unchanged.",
            ("Taftan", 28.975, 61.59),
            24 * 7,
        ),
        (
            52,
            "amber",
            True,
            "EXERCISE — Joint patrol schedule, section S5",
            "EXERCISE — Proposed joint patrol along section S5 on Thursday 06:00–12:00, meeting point at "
            "pillar 180. Please confirm your team and radio channel.",
            ("Section S5, pillar 180", 28.62, 61.83),
            48,
        ),
        (
            20,
            "amber",
            True,
            "EXERCISE — Sandstorm warning near Mashkel",
            "EXERCISE — The Met Office forecasts a sandstorm from tonight; visibility under 200 m. Posts in "
            "sections S3 and S4 will reduce patrols.",
            ("Mashkel", 27.93, 62.93),
            36,
        ),
        (
            3,
            "amber",
            False,
            "EXERCISE — Draft: fence repair near Gabd",
            "EXERCISE — Fence damaged over 400 m near Gabd after flooding; repair team requested. Not yet "
            "released: the liaison officer is checking the extent.",
            ("Gabd", 25.09, 61.66),
            None,
        ),
    ],
    "IR": [
        (
            130,
            "green",
            True,
            "تمرین — ساعت کار گذرگاه میرجاوه در تعطیلات",
            "تمرین — گذرگاه میرجاوه در روزهای تعطیل هفته آینده از ساعت ۸ تا ۱۶ برای مسافران باز است.",
            ("میرجاوه", 29.02, 61.45),
            24 * 7,
        ),
        (
            40,
            "amber",
            True,
            "تمرین — هشدار قاچاق سوخت در محدوده پیشین",
            "تمرین — گزارش‌ها از کاروان خودروهای حامل سوخت در محدوده پیشین حکایت دارد. لطفاً گشت‌های "
            "سمت خود را در بخش S2 افزایش دهید.",
            ("پیشین", 26.08, 61.75),
            72,
        ),
        (
            8,
            "amber",
            True,
            "تمرین — جلسه فرماندهان مرزی",
            "تمرین — جلسه فرماندهان مرزی دو طرف پنجشنبه ساعت ۱۰ در گذرگاه میرجاوه برگزار می‌شود.",
            ("میرجاوه", 29.02, 61.45),
            48,
        ),
    ],
}


def _liaison(node: Node, party: str) -> Principal | None:
    """The demo liaison officer as a principal: the account's own roles and permissions."""
    username = f"{party.lower()}.liaison"
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
    actor = _liaison(node, party)
    with node.sessions() as session:
        peers = [p.party for p in session.scalars(select(Peer).order_by(Peer.party)).all()]
    if actor is None:
        log.info("no demo liaison officer on %s: no exercise bulletins seeded", party)
        return
    now = node.clock.now()
    written = 0
    for hours, tlp, released, title, body, place, valid_hours in PLANS.get(party, []):
        at = now - timedelta(hours=hours)
        content: dict[str, Any] = {"title": title, "body": body}
        if place is not None:
            content["place"] = {"name": place[0], "lat": place[1], "lon": place[2]}
        if valid_hours is not None:
            content.update(valid_from=at, valid_until=at + timedelta(hours=valid_hours))
        past = dataclasses.replace(node, clock=FixedClock(at))
        with past.transaction() as session:
            services.create_bulletin(
                session,
                past,
                actor,
                BulletinContentIn.model_validate(content),
                tlp=tlp,
                release_to=peers if released else (),
            )
        written += 1
    log.info(
        "%s exercise bulletins seeded on %s (released to %s)", written, party, ", ".join(peers) or "none"
    )
