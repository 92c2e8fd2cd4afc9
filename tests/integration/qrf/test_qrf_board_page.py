"""The QRF board page (/qrf): own and received units by section, the strength only for own units, stale
statuses flagged, the live mark for the event stream; and the ``qrf`` layer on the one map (/map)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta

from fastapi.testclient import TestClient

from sarhad.accounts.actors import SystemActor
from sarhad.core.clock import FixedClock
from sarhad.core.node import Node
from sarhad.qrf import services
from sarhad.qrf.domain import STALE_AFTER, UnitType
from sarhad.qrf.schemas import UnitIn
from support.inprocess import deliver
from support.pages import post_login
from support.pairs import PASSWORD, app_client

COMMANDER = SystemActor("seed")


def add(node: Node, call_sign: str, post: str, *, shared: bool, hours_ago: float = 0) -> str:
    at = dataclasses.replace(node, clock=FixedClock(node.clock.now() - timedelta(hours=hours_ago)))
    data = UnitIn(
        call_sign=call_sign,
        unit_type=UnitType.MEDICAL,
        station=post,
        strength=23,
        share_with=["IR"] if shared else [],
    )
    with at.transaction() as session:
        return services.create_unit(session, at, COMMANDER, data).id


def test_the_board_lists_both_sides_units_by_section_and_flags_stale_ones(pk: Node, ir: Node) -> None:
    add(pk, "Medic-9", "pk-taftan-post", shared=True, hours_ago=STALE_AFTER.total_seconds() / 3600 + 1)
    add(pk, "Quiet-1", "pk-gabd-post", shared=False)
    deliver(pk, ir)
    with app_client(ir) as client:
        assert post_login(client, "liaison", PASSWORD).status_code == 303
        page = client.get("/qrf")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Medic-9" in html and "Quiet-1" not in html  # IR sees only what PK shared
    item = re.search(r'<li class="qrf-unit status-available stale received"[^>]*data-key="PK/[^"]+"', html)
    assert item is not None, html
    assert 'data-section="S5"' in html and "data-live-after=" in html
    shown = html.split('id="qrf-list"')[1].split("</aside>")[0]
    assert "Strength" not in shown  # the other side never sent it
    config = json.loads(
        re.search(r'<script type="application/json" id="qrf-config">(.*?)</script>', html, re.S)[1]
    )
    assert config["qrf"]["url"] == "/api/v1/qrf/units" and config["qrf"]["live"] is True


def test_the_own_board_shows_strength_and_the_map_gets_the_qrf_layer(client: TestClient, pk: Node) -> None:
    add(pk, "Quiet-1", "pk-gabd-post", shared=False)
    assert post_login(client, "commander", PASSWORD).status_code == 303
    html = client.get("/qrf").text
    assert "Quiet-1" in html and "Strength: 23" in html and 'class="qrf-unit status-available own"' in html
    assert re.search(r'"kind": ?"qrf"', client.get("/map").text)
    assert post_login(client, "trader", PASSWORD).status_code == 303
    assert client.get("/qrf").status_code == 403
