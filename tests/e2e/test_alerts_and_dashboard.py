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
        ir_context.grant_permissions(["notifications"], origin=ir.url)  # as if allowed on an earlier visit
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
        expect(banner).to_have_attribute("data-notified", "1")  # one desktop notification for the message
        assert (ir_page.locator("#favicon").get_attribute("href") or "").startswith("data:image/png;base64,")
        assert ir_page.url == f"{ir.url}/incidents"
        assert ir_page.evaluate("window.__notReloaded === true")

        # the same banner is on any other page at once, rendered by the server (it survives a reload)
        other = ir_context.new_page()
        other.goto(f"{ir.url}/bulletins")
        expect(other.locator("#alerts .urgent-alert")).to_have_count(1)
        expect(other.locator("#alerts")).to_have_attribute("data-count", "1")
        other.close()

        # the alarm follows the officer who moves on to another page (by the navigation)
        nav_page = ir_context.new_page()
        nav_page.goto(f"{ir.url}/incidents")
        nav_page.click("#mainnav >> text=Bulletins")
        expect(nav_page).to_have_url(f"{ir.url}/bulletins")
        expect(nav_page.locator("#alerts")).to_have_attribute("data-alarm", "1")
        expect(nav_page.locator("#alerts")).to_have_attribute("data-audio", "running")
        nav_page.close()

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


LIAISON_PASSWORD = "staple battery horse"


def _add_user(data_dir: Path, username: str, roles: list[str], positions: list[str]) -> None:
    from sarhad.accounts import services as accounts
    from sarhad.accounts.actors import SystemActor
    from sarhad.core.node import build_node

    node = build_node(load_settings(data_dir))
    try:
        with node.transaction() as session:
            accounts.create_user(
                session, node.clock, SystemActor(), username=username, password=LIAISON_PASSWORD, roles=roles
            )
            session.flush()
            for pid in positions:
                accounts.assign_position(
                    session, node.clock, SystemActor(), position_id=pid, username=username
                )
    finally:
        node.dispose()


@pytest.fixture
def pair_with_liaison(make_node_dir: Callable[..., Path]) -> Iterator[dict[str, NodeProcess]]:
    dirs = _prepare(make_node_dir)
    _add_user(dirs["PK"], "liaison", ["liaison_officer"], ["PK-S2-CDR"])
    _add_user(dirs["PK"], "admin", ["admin"], [])
    with (
        NodeProcess(dirs["PK"], port=load_settings(dirs["PK"]).port, name="pk") as pk,
        NodeProcess(dirs["IR"], port=load_settings(dirs["IR"]).port, name="ir") as ir,
    ):
        yield {"PK": pk, "IR": ir}


def _sign_in_as(page: Page, base: str, username: str, then: str = "/") -> None:
    page.goto(f"{base}/login?next={then}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", LIAISON_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}{then}")


def _send_api(page: Page, base: str, subject: str) -> None:
    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    answer = page.request.post(
        f"{base}/api/v1/hotline/messages",
        headers={"X-CSRF-Token": token},
        data={
            "to_position": "IR-S2-CDR",
            "precedence": "PRIORITY",
            "subject": subject,
            "body": "Status check.",
        },
    )
    assert answer.status == 201, answer.text()


def _nav_on_one_line(page: Page) -> bool:
    return bool(
        page.evaluate(
            """() => {
              // the entries drawn on the bar (those under a closed "More" are not drawn)
              const links = [...document.querySelectorAll('#mainnav > a, #mainnav > .navmore > summary')];
              const tops = new Set(links.map(a => Math.round(a.getBoundingClientRect().top)));
              const nav = document.getElementById('mainnav');
              return links.length > 0 && tops.size === 1 && nav.scrollWidth <= nav.clientWidth + 1
                && document.documentElement.scrollWidth <= window.innerWidth;
            }"""
        )
    )


def test_dashboard_navigation_per_role_and_the_exchange_page_saying_up_behind_down_in_words(
    chromium: Browser, pair_with_liaison: dict[str, NodeProcess]
) -> None:
    pk, ir = pair_with_liaison["PK"], pair_with_liaison["IR"]
    context = _context(chromium, "Asia/Karachi")
    try:
        page = context.new_page()
        _sign_in_as(page, pk.url, "liaison")
        # the dashboard: every panel a liaison officer may see
        for panel in ("messages", "requests", "incidents", "links", "alerts"):
            expect(page.locator(f"#panel-{panel}")).to_be_visible()
        expect(page.locator("#panel-incidents")).to_contain_text("S2")  # the section of the position held
        # the navigation: what the role may use, on one line at 1366 px
        nav = page.locator("#mainnav")
        for label in ("Hotline", "Incidents", "Requests", "Bulletins", "Exchange", "Joint records"):
            expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
        expect(nav.get_by_role("link", name="Users")).to_have_count(0)
        assert _nav_on_one_line(page)
        # the secondary entries wait under "More", and open over the page
        expect(nav.get_by_role("link", name="Situation report", exact=True)).to_be_hidden()
        nav.locator(".navmore > summary").click()
        for label in ("Situation report", "Impact levels", "Border data"):
            expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
        nav.get_by_role("link", name="Situation report", exact=True).click()
        expect(page).to_have_url(re.compile(r"/incidents/reports/daily"))
        expect(page.locator("#mainnav .navmore > summary")).to_have_attribute("aria-current", "true")
        assert _nav_on_one_line(page)
        page.click("button[name=language][value=fa]")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        assert _nav_on_one_line(page)
        page.click("button[name=language][value=ur]")
        expect(page.locator("html")).to_have_attribute("lang", "ur")
        assert _nav_on_one_line(page)
        page.click("button[name=language][value=en]")

        # the exchange page: a message delivered makes the link "up"; with IR stopped it says "behind", then
        # "down since …" after the failed attempt, all without a reload
        page.goto(f"{pk.url}/exchange")
        _send_api(page, pk.url, "Link check one")
        state = page.locator("#exchange-states [data-peer=IR] [data-link-state]")
        expect(state).to_have_attribute("data-link-state", "up", timeout=30_000)
        expect(state).to_have_text("up")
        page.evaluate("window.__notReloaded = true")
        ir.stop()
        _send_api(page, pk.url, "Link check two")
        expect(state).to_have_attribute("data-link-state", "down", timeout=30_000)
        expect(state).to_contain_text("down since")
        expect(page.locator("#exchange-states [data-peer=IR]")).to_contain_text("1 record waiting")
        assert page.evaluate("window.__notReloaded === true")
        page.goto(f"{pk.url}/")
        expect(page.locator("#panel-links [data-peer=IR] [data-link-state]")).to_have_attribute(
            "data-link-state", "down"
        )

        # the admin: the hotline's settings and the exchange, no messages or incidents to read
        admin = context.new_page()
        context.clear_cookies()
        _sign_in_as(admin, pk.url, "admin")
        admin_nav = admin.locator("#mainnav")
        expect(admin_nav.get_by_role("link", name="Hotline", exact=True)).to_have_attribute(
            "href", "/hotline/admin"
        )
        expect(admin_nav.get_by_role("link", name="Users", exact=True)).to_be_visible()
        expect(admin_nav.get_by_role("link", name="Incidents", exact=True)).to_have_count(0)
        expect(admin.locator("#panel-messages")).to_have_count(0)
        expect(admin.locator("#panel-links")).to_be_visible()
        admin.click("#mainnav >> text=Hotline")
        expect(admin).to_have_url(f"{pk.url}/hotline/admin")

        # a phone: the navigation folds into a menu button that opens and closes it
        admin.set_viewport_size({"width": 390, "height": 844})
        toggle = admin.locator(".navtoggle")
        expect(toggle).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(admin_nav).to_be_hidden()
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(admin_nav.get_by_role("link", name="Users", exact=True)).to_be_visible()
        toggle.click()
        expect(admin_nav).to_be_hidden()
    finally:
        context.close()
