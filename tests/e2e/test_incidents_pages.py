"""The situational picture in a real browser: IR's map shows the incident PK released to it (origin PK), and
the type filter keeps only the chosen type — two real node processes, headless Chromium."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.border import seeding as border
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.exchange.identity import identity
from sarhad.exchange.peers import add_peer
from support.processes import NodeProcess, free_port, get_token

PASSWORD = "correct horse battery"


@pytest.fixture
def pair_of_processes(make_node_dir: Callable[..., Path]) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    dirs = {
        "PK": make_node_dir("PK", "Pakistan", port=free_port()),
        "IR": make_node_dir("IR", "Iran", port=free_port()),
    }
    nodes: dict[str, Node] = {code: build_node(load_settings(d)) for code, d in dirs.items()}
    for code, node in nodes.items():
        with node.transaction() as session:
            border.seed_reference_scenario(session, node, SystemActor("seed"), border.reference_data())
            accounts.create_user(
                session,
                node.clock,
                SystemActor(),
                username="liaison",
                password=PASSWORD,
                roles=["liaison_officer"],
            )
        for other_code, other in nodes.items():
            if other_code != code:
                with node.transaction() as session:
                    add_peer(
                        session,
                        node,
                        party=other_code,
                        url=other.settings.base_url,
                        public_key_b64=identity(other).public_key_b64,
                        name=other.settings.name,
                        actor=SystemActor("test"),
                    )
    for node in nodes.values():
        node.dispose()
    ports = {code: load_settings(d).port for code, d in dirs.items()}
    with NodeProcess(dirs["PK"], port=ports["PK"]) as pk, NodeProcess(dirs["IR"], port=ports["IR"]) as ir:
        yield pk, ir


def _create(pk: NodeProcess, token: str, incident_type: str, lat: float, lon: float, text: str) -> str:
    body = {
        "type": incident_type,
        "occurred_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
        "lat": lat,
        "lon": lon,
        "description": text,
        "impact_level": "high",
        "release_to": ["IR"],
    }
    answer = httpx.post(
        f"{pk.url}/api/v1/incidents", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 201, answer.text
    incident_id: str = answer.json()["id"]
    return incident_id


def test_ir_map_shows_the_received_incident_filtered_by_type(
    page: Page, pair_of_processes: tuple[NodeProcess, NodeProcess]
) -> None:
    pk, ir = pair_of_processes
    token = get_token(pk.url, "liaison", PASSWORD)
    drugs = _create(pk, token, "drug_smuggling", 28.95, 61.70, "Hashish intercepted east of Taftan")
    fuel = _create(pk, token, "fuel_smuggling", 26.11, 61.87, "Diesel convoy near Mand")
    ir_token = get_token(ir.url, "liaison", PASSWORD)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        held = httpx.get(f"{ir.url}/api/v1/incidents", headers={"Authorization": f"Bearer {ir_token}"}).json()
        if len(held) == 2:
            break
        time.sleep(0.1)
    assert {i["id"] for i in held} == {drugs, fuel}, pk.logs() + ir.logs()

    page.goto(f"{ir.url}/login?next=/incidents")
    page.fill("input[name=username]", "liaison")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login"))  # signed in (the session cookie set) before going on
    page.goto(f"{ir.url}/incidents?days=7&type=drug_smuggling")
    map_el = page.locator("#map")
    expect(map_el).to_have_attribute("data-ready", "1", timeout=20_000)
    expect(map_el).to_have_attribute("data-markers", "1")
    marker = page.locator(".incident-marker.origin-PK.received.type-drug_smuggling")
    expect(marker).to_have_count(1)
    expect(page.locator(".incident-marker.type-fuel_smuggling")).to_have_count(0)
    item = page.locator(f"#incident-list li[data-key='PK/{drugs}']")
    expect(item).to_be_visible()
    expect(item.locator(".origin-badge.received")).to_have_text("PK")
    expect(page.locator(f"#incident-list li[data-key='PK/{fuel}']")).to_have_count(0)

    # click-through: the marker's popup links to the incident's page, shown with its origin. Waits on state
    # only: the popup is open (its list item is marked active) and holds the link; the link is then clicked
    # as an event, as the marker is, because a pointer click waits for the map's pan and zoom animations to
    # settle, which on a busy machine outlasted the timeout.
    marker.dispatch_event("click")
    expect(item).to_have_class(re.compile(r"\bactive\b"))
    link = page.locator(".leaflet-popup a.incident-link")
    expect(link).to_have_attribute("href", f"/incidents/PK/{drugs}")
    link.dispatch_event("click")
    expect(page).to_have_url(f"{ir.url}/incidents/PK/{drugs}")
    expect(page.locator("h1")).to_contain_text("PK")
    expect(page.locator("body")).to_contain_text("Received from PK")

    # another type: only the fuel incident
    page.goto(f"{ir.url}/incidents?days=7&type=fuel_smuggling")
    expect(page.locator("#map")).to_have_attribute("data-ready", "1", timeout=20_000)
    expect(page.locator(".incident-marker.type-fuel_smuggling")).to_have_count(1)
    expect(page.locator(".incident-marker.type-drug_smuggling")).to_have_count(0)
