"""Exercise incidents for ``sarhad demo``: a month of incidents on this party's side of the border, near its
crossings (Taftan, Mand, Gabd, Chedgi / Mirjaveh, Pishin, Rimdan, Kuhak) and posts, every one marked as
exercise data (the ``exercise`` flag in the record, "EXERCISE" in the text and on the pages).

Each incident is written through the services with the node clock set to its report time, so its history is
realistic (reported shortly after it occurred, validated or closed a few hours later). About half are
released to the other party (the nodes are paired when this runs; the envelopes go when the nodes start).
The random choices are seeded with the party code, so a demo looks the same every time.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from sarhad.accounts.actors import SystemActor
from sarhad.border import seeding as border
from sarhad.core.clock import FixedClock
from sarhad.core.node import Node
from sarhad.exchange.models import Peer
from sarhad.incidents import writing
from sarhad.incidents.locate import BorderLocator, Place
from sarhad.incidents.schemas import IncidentContentIn

log = logging.getLogger(__name__)
EXERCISE = "EXERCISE — "
DAYS = 30
PER_DAY = 2.2

# (type, weight, impact levels, description templates, seizure choices, casualties possible)
PLAN: list[tuple[str, int, tuple[str, ...], tuple[str, ...], tuple[tuple[str, int, int, str], ...], bool]] = [
    (
        "drug_smuggling",
        8,
        ("medium", "high"),
        (
            "Vehicle intercepted near {place} carrying narcotics; driver and helper detained.",
            "Foot patrol found a cache of narcotics in a ravine south of {place}.",
        ),
        (("opium", 20, 400, "kg"), ("hashish", 50, 900, "kg"), ("methamphetamine", 2, 60, "kg")),
        False,
    ),
    (
        "fuel_smuggling",
        7,
        ("low", "medium"),
        (
            "Pickups with jerrycans of diesel stopped on the track towards {place}.",
            "Fuel convoy of motorcycles turned back at the line near {place}.",
        ),
        (("diesel", 300, 4000, "l"), ("petrol", 200, 2000, "l")),
        False,
    ),
    (
        "goods_smuggling",
        4,
        ("low",),
        ("Truck with undeclared goods held at the approach to {place}.",),
        (("cigarettes", 50, 600, "packets"), ("tyres", 10, 80, "units")),
        False,
    ),
    (
        "illegal_crossing",
        6,
        ("low", "medium"),
        ("Group of persons crossed the line at night near {place}; some apprehended.",),
        (),
        False,
    ),
    (
        "human_smuggling",
        3,
        ("medium", "high"),
        ("Smuggler with migrants in a closed van stopped near {place}.",),
        (),
        False,
    ),
    (
        "fence_damage",
        2,
        ("low", "medium"),
        ("Fence cut over about 20 m east of {place}; repaired.",),
        (),
        False,
    ),
    (
        "cross_border_fire",
        1,
        ("high", "very_high"),
        ("Shots fired across the line towards a post near {place}; no return fire.",),
        (),
        True,
    ),
    ("armed_attack", 1, ("high", "very_high"), ("Armed men attacked a patrol near {place}.",), (), True),
    (
        "explosive_device",
        1,
        ("high",),
        ("Improvised device found on the road to {place} and defused.",),
        (),
        False,
    ),
    ("kidnapping", 1, ("very_high",), ("Trader abducted on the road near {place}.",), (), False),
]


def _anchors(party: str) -> list[tuple[str, float, float]]:
    """(place name, lon, lat) of this party's crossing sides and posts."""
    data = border.reference_data()
    anchors: list[tuple[str, float, float]] = []
    for crossing in data["crossings"]:
        side = crossing.get("sides", {}).get(party)
        if side and side.get("location"):
            lon, lat = side["location"]["coordinates"]
            anchors += [(side["names"]["en"], float(lon), float(lat))] * 3  # crossings are the busiest
    for post in data["posts"]:
        if post["party"] == party and post.get("geometry"):
            lon, lat = post["geometry"]["coordinates"]
            name = post["names"]["en"].replace(" post", "").replace(" HQ", "")
            anchors.append((name, float(lon), float(lat)))
    return anchors


def _point(
    rng: random.Random, locator: BorderLocator, party: str, lon: float, lat: float
) -> tuple[float, float, Place] | None:
    for _attempt in range(20):
        x = round(lon + rng.uniform(-0.12, 0.12), 5)
        y = round(lat + rng.uniform(-0.12, 0.12), 5)
        place = locator.place(x, y)
        if place.side == party and (place.distance_to_border_m or 0) < 40_000:
            return x, y, place
    return None


def _content(rng: random.Random, kind: tuple[Any, ...], place_name: str) -> dict[str, Any]:
    code, _weight, impacts, texts, seizures, violent = kind
    content: dict[str, Any] = {
        "type": code,
        "description": EXERCISE + rng.choice(texts).format(place=place_name),
        "impact_level": rng.choice(impacts),
        "source_reliability": rng.choice("ABBCC"),
        "info_credibility": rng.choice("1223"),
        "exercise": True,
        "persons_apprehended": rng.choice((0, 0, 1, 2, 3, 5)) if code != "fence_damage" else 0,
    }
    if seizures:
        item, low, high, unit = rng.choice(seizures)
        content["seizures"] = [{"item": item, "quantity": rng.randint(low, high), "unit": unit}]
    if violent:
        content["casualties"] = {
            k: v
            for k, v in {
                "security_injured": rng.choice((0, 1, 2)),
                "civilian_injured": rng.choice((0, 0, 1)),
                "assailant_killed": rng.choice((0, 0, 1)),
            }.items()
            if v
        }
    return content


def seed(node: Node, party: str) -> None:
    rng = random.Random(f"sarhad-demo-incidents-{party}")
    with node.sessions() as session:
        locator = BorderLocator.load(session)
        peers = [p.party for p in session.scalars(select(Peer).order_by(Peer.party)).all()]
    anchors = _anchors(party)
    if locator.empty or not anchors:
        log.info("no border or no anchors for %s: no exercise incidents seeded", party)
        return
    actor = SystemActor(f"{party.lower()}.liaison")
    now = node.clock.now()
    kinds = [k for k in PLAN for _ in range(k[1])]
    count = int(DAYS * PER_DAY)
    written = 0
    first_of_kind: dict[str, str] = {}
    for _n in range(count):
        occurred = now - timedelta(minutes=rng.randint(90, DAYS * 24 * 60))
        name, lon, lat = rng.choice(anchors)
        point = _point(rng, locator, party, lon, lat)
        if point is None:
            continue
        x, y, place = point
        kind = rng.choice(kinds)
        data = IncidentContentIn.model_validate(
            {**_content(rng, kind, name), "occurred_at": occurred.isoformat(), "lat": y, "lon": x}
        )
        reported_at = occurred + timedelta(minutes=rng.randint(20, 80))
        at = dataclasses.replace(node, clock=FixedClock(reported_at))
        draft = occurred > now - timedelta(hours=30) and rng.random() < 0.3
        release = bool(peers) and not draft and rng.random() < 0.5
        follow_up = None
        if kind[0] in first_of_kind and rng.random() < 0.15:
            follow_up = (party, first_of_kind[kind[0]])
        with at.transaction() as session:
            written_incident = writing.create_incident(
                session,
                at,
                actor,
                data,
                draft=draft,
                follow_up_of=follow_up,
                tlp="amber",
                release_to=peers[:1] if release else (),
                place=place,
            ).incident
        incident_id = written_incident.id
        first_of_kind.setdefault(kind[0], incident_id)
        written += 1
        if draft:
            continue
        roll = rng.random()
        later = dataclasses.replace(
            node, clock=FixedClock(min(reported_at + timedelta(hours=rng.randint(2, 20)), now))
        )
        if roll < 0.45:
            with later.transaction() as session:
                writing.transition_incident(session, later, actor, incident_id, "validate")
        if roll < 0.2:
            with later.transaction() as session:
                writing.transition_incident(session, later, actor, incident_id, "close")
        elif roll > 0.95:
            with later.transaction() as session:
                writing.transition_incident(
                    session, later, actor, incident_id, "dismiss", "EXERCISE — duplicate of an earlier report"
                )
    log.info("%s exercise incidents seeded on %s", written, party)
