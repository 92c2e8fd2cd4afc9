"""Exercise intelligence reports for ``sarhad demo``: a few graded reports of this party, written by the demo
analyst and approved (four eyes) and released to the other party by the demo commander, and one draft waiting
for approval.

Each is written through the intel services as the demo accounts' own principals, with the node clock set back
to the report's time. Pakistan writes in English, Iran in Persian. The full text and the source note stay on
the originating node; the other side sees the releasable part and the grading.
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
from sarhad.intel import services
from sarhad.intel.schemas import ReportIn

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Plan:
    hours_ago: int
    approved: bool
    report_type: str
    reliability: str
    credibility: str
    tlp: str
    title: str
    body: str
    releasable: str
    source_note: str


PLANS: dict[str, list[Plan]] = {
    "PK": [
        Plan(
            96,
            True,
            "threat_warning",
            "B",
            "2",
            "amber",
            "EXERCISE — Armed group expected near pillar 180",
            "EXERCISE — A source in Panjgur reports that a group of about 12 armed men is preparing to cross "
            "near pillar 180 within 72 hours, guided by a local smuggler.",
            "EXERCISE — An armed group of about 12 is expected to attempt a crossing near pillar 180 within "
            "72 hours. Increase patrols on both sides of section S5.",
            "EXERCISE — Source is a fuel trader in Panjgur, met twice; reporting has been accurate before.",
        ),
        Plan(
            30,
            True,
            "pattern_of_activity",
            "C",
            "3",
            "green",
            "EXERCISE — Night fuel convoys near Mashkel",
            "EXERCISE — Observation posts counted 4 to 6 pickup trucks carrying fuel drums each night "
            "between 01:00 and 04:00 over the past two weeks, using the dry river bed.",
            "EXERCISE — Fuel convoys of 4 to 6 pickups cross near Mashkel most nights between 01:00 and "
            "04:00, using the dry river bed.",
            "",
        ),
        Plan(
            2,
            False,
            "assessment",
            "F",
            "6",
            "amber",
            "EXERCISE — Draft: assessment of kidnapping risk at Taftan",
            "EXERCISE — Draft assessment awaiting the commander's approval.",
            "EXERCISE — Kidnapping risk on the Taftan road is assessed as raised for the coming week.",
            "",
        ),
    ],
    "IR": [
        Plan(
            80,
            True,
            "information_report",
            "B",
            "3",
            "amber",
            "تمرین — انتقال سلاح در محدوده میرجاوه",
            "تمرین — منبع ما گزارش می‌دهد که یک محموله سلاح سبک در روستای مرزی نزدیک میرجاوه نگهداری می‌شود.",
            "تمرین — احتمال انتقال یک محموله سلاح سبک از محدوده میرجاوه به سمت مرز در روزهای آینده وجود دارد.",
            "تمرین — منبع از ساکنان محلی است و دو بار گزارش درست داده است.",
        ),
        Plan(
            12,
            True,
            "threat_warning",
            "A",
            "2",
            "amber",
            "تمرین — هشدار تهدید برای گشت‌های بخش S2",
            "تمرین — بر اساس چند منبع، گروهی مسلح قصد حمله به گشت‌های مرزی بخش S2 را دارد.",
            "تمرین — گشت‌های بخش S2 در دو طرف مرز در معرض تهدید حمله مسلحانه هستند.",
            "",
        ),
    ],
}


def _principal(node: Node, username: str) -> Principal | None:
    """A demo account as a principal: its own roles and permissions."""
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
    analyst = _principal(node, f"{party.lower()}.analyst")
    commander = _principal(node, f"{party.lower()}.commander")
    if analyst is None or commander is None:
        log.info("no demo analyst or commander on %s: no exercise intelligence seeded", party)
        return
    with node.sessions() as session:
        peers = [p.party for p in session.scalars(select(Peer).order_by(Peer.party)).all()]
    now = node.clock.now()
    for plan in PLANS.get(party, []):
        at = now - timedelta(hours=plan.hours_ago)
        data = ReportIn.model_validate(
            {
                "title": plan.title,
                "body": plan.body,
                "releasable": plan.releasable,
                "report_type": plan.report_type,
                "reliability": plan.reliability,
                "credibility": plan.credibility,
                "source_note": plan.source_note,
                "tlp": plan.tlp,
                "period_start": at - timedelta(days=7),
                "period_end": at,
                "release_to": peers,
            }
        )
        written = dataclasses.replace(node, clock=FixedClock(at))
        with written.transaction() as session:
            report = services.create_report(session, written, analyst, data)
        if plan.approved:
            approved = dataclasses.replace(node, clock=FixedClock(at + timedelta(hours=1)))
            with approved.transaction() as session:
                services.approve_report(session, approved, commander, report.id)
    log.info("%s exercise intelligence reports seeded on %s", len(PLANS.get(party, [])), party)
