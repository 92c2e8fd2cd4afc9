"""The QRF board in a real browser, across the line (issue 19): the two demo nodes run as real processes; IR's
liaison officer has the board open; PK's commander sets a shared unit responding; IR's board shows it on the
list and the map without a reload, and never its strength."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from demo_pair import DemoPair, demo_pair
from playwright.sync_api import Page, expect

READY = 30_000


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPair]:
    with demo_pair(tmp_path_factory.mktemp("demo")) as running:
        yield running


def _sign_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/login?next=/qrf")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/qrf$"))


def test_pk_sets_a_shared_unit_responding_and_irs_board_shows_it_without_reload(
    page: Page, pair: DemoPair
) -> None:
    pk_token = pair.token("pk.commander")
    headers = {"Authorization": f"Bearer {pk_token}"}
    units = httpx.get(f"{pair.pk.url}/api/v1/qrf/units", headers=headers, timeout=10).json()
    (tiger,) = [u for u in units if u["call_sign"] == "Tiger-2"]
    assert tiger["status"] == "standby" and tiger["shared_with"] == ["IR"]

    _sign_in(page, pair.ir.url, "ir.liaison", pair.password("ir.liaison"))
    map_el = page.locator("#map")
    expect(map_el).to_have_attribute("data-ready", "1", timeout=READY)
    item = page.locator(f"#qrf-list li[data-key='PK/{tiger['id']}']")
    expect(item).to_have_attribute("data-status", "standby", timeout=READY)  # delivered by the demo's workers
    page.evaluate("window.qrfNoReload = true")

    answer = httpx.post(
        f"{pair.pk.url}/api/v1/qrf/units/{tiger['id']}/status",
        json={"status": "responding"},
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text

    expect(item).to_have_attribute("data-status", "responding", timeout=READY)
    expect(item.locator(".qrf-status")).to_have_text("در حال اعزام")  # ir.liaison reads Persian
    expect(page.locator(".qrf-marker.status-responding.received")).to_have_count(1)
    assert page.evaluate("window.qrfNoReload") is True  # the same page: updated live, not reloaded
    expect(item).not_to_contain_text("استعداد نفرات")  # "Strength": never shown for the other side's unit
    expect(page.locator("#qrf-list")).not_to_have_attribute("data-updates", "0")
