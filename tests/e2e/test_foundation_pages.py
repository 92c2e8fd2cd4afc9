"""A person's first minutes: sign in, switch to Persian, choose the Solar Hijri calendar, look at the map."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jdatetime
import pytest
from playwright.sync_api import Page, expect

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.core.node import build_node
from sarhad.core.settings import load_settings
from support.processes import NodeProcess

PASSWORD = "correct horse battery"
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


@pytest.fixture
def seeded_node(make_node_dir, tmp_path: Path) -> Iterator[NodeProcess]:  # type: ignore[no-untyped-def]
    from sarhad.border import seeding as border

    data_dir = make_node_dir("PK", "Pakistan")
    node = build_node(load_settings(data_dir))
    with node.transaction() as session:
        border.seed_reference_scenario(session, node, SystemActor("seed"), border.reference_data())
        accounts.create_user(
            session,
            node.clock,
            SystemActor(),
            username="pk.liaison",
            password=PASSWORD,
            roles=["liaison_officer"],
            time_zone="Asia/Karachi",
        )
    node.dispose()
    with NodeProcess(data_dir) as process:
        yield process


def test_sign_in_switch_to_persian_see_solar_hijri_dates_and_the_border_on_the_map(
    page: Page, seeded_node: NodeProcess
) -> None:
    page.goto(f"{seeded_node.url}/")
    expect(page).to_have_url(f"{seeded_node.url}/login?next=/")
    page.fill("input[name=username]", "pk.liaison")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")

    page.click("button[name=language][value=fa]")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "fa")

    page.goto(f"{seeded_node.url}/me")
    page.select_option("select[name=calendar]", "solar_hijri")
    page.click("form[action='/me'] button[type=submit]")
    footer_time = page.locator("#now time")
    expect(footer_time).to_have_attribute("data-calendar", "solar_hijri")
    # The expected date is computed here, independently of the page, from the clock and the user's zone.
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Karachi")).date()
    solar = jdatetime.date.fromgregorian(date=today)
    expected = f"{solar.day} {jdatetime.date.j_months_fa[solar.month - 1]} {solar.year}".translate(
        PERSIAN_DIGITS
    )
    assert expected in footer_time.inner_text()

    page.goto(f"{seeded_node.url}/map")
    expect(page.locator("#map")).to_have_attribute("data-ready", "1", timeout=20_000)
    border_path = page.locator("path.border-line")
    expect(border_path.first).to_be_visible()
    assert len(border_path.first.get_attribute("d") or "") > 20  # a drawn line, not an empty path
