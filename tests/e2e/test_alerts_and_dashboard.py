"""Alerts on every page, the home dashboard and the navigation per role, in a real browser.

The key scenario runs two real node processes: IR's commander is on the incidents map page when PK's commander
sends a FLASH message; the banner appears there live (no reload), the alarm plays, the tab title and favicon
change; IR acknowledges from the banner, and PK's thread page shows it acknowledged, still without a reload.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from test_hotline_pages import _prepare, sign_in

from sarhad.core.settings import load_settings
from support.processes import NodeProcess


@pytest.fixture
def pair(make_node_dir: Callable[..., Path]) -> Iterator[dict[str, NodeProcess]]:
    dirs = _prepare(make_node_dir)
    with (
        NodeProcess(dirs["PK"], port=load_settings(dirs["PK"]).port, name="pk") as pk,
        NodeProcess(dirs["IR"], port=load_settings(dirs["IR"]).port, name="ir") as ir,
    ):
        yield {"PK": pk, "IR": ir}


def _context(browser: Browser, zone: str) -> BrowserContext:
    context = browser.new_context(locale="en-GB", timezone_id=zone, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(15_000)
    return context


def _send_flash(page: Page, base: str, subject: str) -> None:
    sign_in(page, base, "/hotline/compose")
    page.select_option(
        "select[name=channel]",
        label=page.locator("select[name=channel] option", has_text="IR-S2-CDR").first.inner_text(),
    )
    page.select_option("select[name=precedence]", "FLASH")
    page.fill("input[name=subject]", subject)
    page.fill("textarea[name=body]", "Twelve men, two vehicles, heading north.")
    page.click("form.hotline-compose button[type=submit]")
    expect(page).to_have_url(re.compile(r".*/hotline/messages/[0-9a-f-]+$"))


def test_flash_banner_on_the_incidents_map_alarms_and_is_acknowledged_from_there_and_pk_sees_it_live(
    chromium: Browser, pair: dict[str, NodeProcess]
) -> None:
    pk, ir = pair["PK"], pair["IR"]
    ir_context, pk_context = _context(chromium, "Asia/Tehran"), _context(chromium, "Asia/Karachi")
    try:
        ir_page = ir_context.new_page()
        sign_in(ir_page, ir.url, "/incidents")
        banner = ir_page.locator("#alerts")
        expect(banner).to_have_attribute("data-connected", "1")
        expect(banner).to_be_hidden()
        expect(banner).to_have_attribute("data-alarm", "0")
        quiet_title = ir_page.title()
        assert not quiet_title.startswith("(")
        ir_page.evaluate("window.__notReloaded = true")
        # The officer has clicked on the page (browsers let a page make sound only after a user gesture).
        ir_page.click("footer.foot")

        pk_page = pk_context.new_page()
        _send_flash(pk_page, pk.url, "Armed group crossing at pillar 40")
        pk_page.evaluate("window.__notReloaded = true")
        expect(pk_page.locator("#message-state [data-state]")).to_have_attribute("data-state", "delivered")

        # IR, still on the map page: the banner, the alarm playing, the title and the favicon badge
        item = banner.locator(".urgent-alert")
        expect(item).to_have_count(1)
        expect(item).to_contain_text("Armed group crossing at pillar 40")
        expect(item).to_contain_text("FLASH")
        expect(banner).to_be_visible()
        expect(banner).to_have_attribute("data-alarm", "1")
        expect(banner).to_have_attribute("data-audio", "running")
        assert int(banner.get_attribute("data-beeps") or "0") >= 1
        expect(ir_page).to_have_title(re.compile(r"^\(1\) FLASH · "))
        expect(banner).to_have_attribute("data-favicon", "badge")
        assert (ir_page.locator("#favicon").get_attribute("href") or "").startswith("data:image/png;base64,")
        assert ir_page.url == f"{ir.url}/incidents"
        assert ir_page.evaluate("window.__notReloaded === true")

        # the same banner is on any other page at once, rendered by the server (it survives a reload)
        other = ir_context.new_page()
        other.goto(f"{ir.url}/bulletins")
        expect(other.locator("#alerts .urgent-alert")).to_have_count(1)
        expect(other.locator("#alerts")).to_have_attribute("data-count", "1")
        other.close()

        # muting silences the alarm but keeps the banner; unmuting brings it back
        ir_page.click("#alerts-mute")
        expect(banner).to_have_attribute("data-alarm", "0")
        expect(banner).to_have_attribute("data-muted", "1")
        expect(ir_page.locator("#alerts-mute")).to_have_attribute("aria-pressed", "true")
        expect(item).to_have_count(1)
        ir_page.click("#alerts-mute")
        expect(banner).to_have_attribute("data-alarm", "1")

        # acknowledge from the banner, on the map page: the banner, the alarm, the title and the badge go
        ir_page.click("#alerts .ack-button")
        expect(item).to_have_count(0)
        expect(banner).to_be_hidden()
        expect(banner).to_have_attribute("data-alarm", "0")
        expect(banner).to_have_attribute("data-favicon", "plain")
        expect(ir_page).to_have_title(quiet_title)
        assert ir_page.url == f"{ir.url}/incidents"
        assert ir_page.evaluate("window.__notReloaded === true")

        # PK: acknowledged, by IR's commander, without a reload
        expect(pk_page.locator("#message-state [data-state]")).to_have_attribute("data-state", "acknowledged")
        expect(pk_page.locator("#ack-line")).to_contain_text("commander (IR-S2-CDR)")
        assert pk_page.evaluate("window.__notReloaded === true")
    finally:
        ir_context.close()
        pk_context.close()
