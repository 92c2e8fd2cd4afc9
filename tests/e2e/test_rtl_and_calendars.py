"""Right-to-left and the two calendars, as an officer sees them in Chromium on the demo's Iranian node.

IR's liaison officer reads Persian on the Solar Hijri calendar (Asia/Tehran); an Urdu-speaking officer is added.
The pages: the Jalali picker on every date-time input fills the Gregorian ISO value the server reads; the script
faces load (Nastaliq for Urdu, Vazirmatn for Persian) and only on their pages; party codes and times keep their
order inside right-to-left text and the arrow between two parties points the reading way; the hotline timeline
shows seconds; scripts format times in the viewer's calendar, zone and digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from rich.console import Console

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.core.node import build_node
from sarhad.core.settings import load_settings
from sarhad.demo import prepare
from support.processes import NodeProcess

URDU_USER, URDU_PASSWORD = "ir.urdu", "correct horse battery"
HIJRI_USERS = {"ir.urdu.hijri": "ur", "ir.english.hijri": "en"}
PERSIAN_TIME_WITH_SECONDS = re.compile(r"[۰-۹]{2}:[۰-۹]{2}:[۰-۹]{2}")


@pytest.fixture(scope="module")
def ir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, dict[str, str]]]:
    root = tmp_path_factory.mktemp("demo")
    credentials = prepare(root, Console(quiet=True))["IR"]
    node = build_node(load_settings(root / "ir"))
    with node.transaction() as session:
        accounts.create_user(
            session,
            node.clock,
            SystemActor("test"),
            username=URDU_USER,
            password=URDU_PASSWORD,
            roles=["liaison_officer"],
            language="ur",
            time_zone="Asia/Karachi",
            calendar="gregorian",
        )
        # Users on the Solar Hijri calendar who read Urdu or English (the picker's words follow them).
        for username, language in HIJRI_USERS.items():
            accounts.create_user(
                session,
                node.clock,
                SystemActor("test"),
                username=username,
                password=URDU_PASSWORD,
                roles=["liaison_officer"],
                language=language,
                time_zone="Asia/Tehran",
                calendar="solar_hijri",
            )
            credentials[username] = URDU_PASSWORD
    node.dispose()
    credentials[URDU_USER] = URDU_PASSWORD
    with NodeProcess(root / "ir") as process:
        yield process, credentials


def sign_in(page: Page, ir: tuple[NodeProcess, dict[str, str]], username: str) -> str:
    process, credentials = ir
    page.goto(f"{process.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", credentials[username])
    page.click("button[type=submit]")
    expect(page.locator(".usermenu .me")).to_be_visible()
    return process.url


def refused_by_policy(page: Page) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None)
    return messages


def test_solar_hijri_picker_fills_the_iso_value_the_server_reads(
    page: Page, ir: tuple[NodeProcess, dict[str, str]]
) -> None:
    csp = refused_by_policy(page)
    url = sign_in(page, ir, "ir.liaison")
    page.goto(f"{url}/bulletins/new")
    valid_from = page.locator("input[name=valid_from]")
    expect(valid_from).to_have_attribute("type", "hidden")  # the picker took the browser's control's place
    shown = page.locator("input[name=valid_from] + input.jdp-input")
    expect(shown).to_be_visible()

    shown.click()  # the picker opens on the Solar Hijri month; a day in it fills both inputs
    expect(page.locator("jdp-container")).to_be_visible()
    page.locator("jdp-container .jdp-day:not(.not-in-month)").nth(14).click()
    assert re.fullmatch(r"14\d\d/\d\d/15( \d\d:\d\d)?", shown.input_value()), shown.input_value()
    assert re.fullmatch(r"20\d\d-\d\d-\d\d(T\d\d:\d\d)?", valid_from.input_value()), valid_from.input_value()

    shown.fill("1405/09/16 08:30")  # typed in the Solar Hijri calendar, the wall clock of Tehran
    assert valid_from.input_value() == "2026-12-07T08:30"
    page.keyboard.press("Escape")
    page.fill("input[name=title]", "Market day moved")
    page.fill("textarea[name=body]", "The market opens on Thursday this week.")
    page.click("form button.primary[type=submit]")
    expect(page.locator("h1")).to_contain_text("Market day moved")
    valid = page.locator("p", has=page.locator("strong", has_text="اعتبار"))
    expect(valid.locator("time").first).to_have_text("۱۶ آذر ۱۴۰۵، ۰۸:۳۰")
    assert csp == []


@pytest.mark.parametrize(
    ("username", "today", "empty", "close"),
    [
        ("ir.liaison", "امروز", "پاک کردن", "بستن"),
        ("ir.urdu.hijri", "آج", "صاف کریں", "بند کریں"),
        ("ir.english.hijri", "Today", "Clear", "Close"),
    ],
)
def test_the_solar_hijri_pickers_buttons_speak_the_pages_language(
    page: Page, ir: tuple[NodeProcess, dict[str, str]], username: str, today: str, empty: str, close: str
) -> None:
    """The picker library writes its buttons in Persian; a user on the Solar Hijri calendar who reads Urdu or
    English gets them in their language (translated by the page, relabelled by sarhad-i18n.js)."""
    csp = refused_by_policy(page)
    url = sign_in(page, ir, username)
    page.goto(f"{url}/bulletins/new")
    page.locator("input[name=valid_from] + input.jdp-input").click()
    picker = page.locator("jdp-container")
    expect(picker).to_be_visible()
    expect(picker.locator(".jdp-btn-today")).to_have_text(today)
    expect(picker.locator(".jdp-btn-empty")).to_have_text(empty)
    expect(picker.locator(".jdp-btn-close")).to_have_text(close)
    # Moving to another month redraws the picker: the buttons keep the page's words.
    picker.locator(".jdp-icon-plus").first.click()
    expect(picker.locator(".jdp-btn-today")).to_have_text(today)
    assert csp == []


def test_script_faces_load_for_urdu_and_persian_only(
    page: Page, ir: tuple[NodeProcess, dict[str, str]]
) -> None:
    url = sign_in(page, ir, URDU_USER)
    page.goto(f"{url}/border")
    expect(page.locator("html")).to_have_attribute("lang", "ur")
    family = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert family.startswith('"Sarhad Nastaliq"'), family
    page.evaluate("document.fonts.ready")
    loaded = page.evaluate(
        "Array.from(document.fonts).filter(f => f.family.includes('Sarhad Nastaliq') && f.status === 'loaded')"
        ".length"
    )
    assert loaded >= 1
    assert page.locator('link[href="/static/fonts-fa.css"]').count() == 0

    page.click("button[name=language][value=fa]")
    expect(page.locator("html")).to_have_attribute("lang", "fa")
    page.evaluate("document.fonts.ready")
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("Vazirmatn")
    assert page.evaluate(
        "Array.from(document.fonts).some(f => f.family.includes('Vazirmatn') && f.status === 'loaded')"
    )
    page.click("button[name=language][value=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.locator('link[href^="/static/fonts-"]').count() == 0


def test_party_codes_times_and_arrows_keep_their_order_right_to_left(
    page: Page, ir: tuple[NodeProcess, dict[str, str]]
) -> None:
    url = sign_in(page, ir, "ir.liaison")
    page.goto(f"{url}/requests")
    row = page.locator("table.grid tbody tr").filter(has=page.locator(".arrow")).first
    expect(row).to_be_visible()
    arrow = row.locator(".arrow")
    direction = arrow.inner_text()
    # In a right-to-left row the text runs from the right: the word, the arrow, then the other party. Outgoing
    # (us to them) points the reading way, leftwards; incoming (them to us) points back to the word.
    assert direction == ("←" if "خروجی" in row.locator("td").first.inner_text() else "→")
    boxes = row.locator("td").first.evaluate(
        """cell => {
            const range = document.createRange();
            range.selectNodeContents(cell.firstChild);  // the word before the arrow: outgoing or incoming
            const box = r => ({x: r.left, right: r.right, y: r.top});
            return {word: box(range.getBoundingClientRect()),
                    arrow: box(cell.querySelector('.arrow').getBoundingClientRect()),
                    party: box(cell.querySelector('.party-badge').getBoundingClientRect())};
        }"""
    )
    assert boxes["word"]["x"] > boxes["arrow"]["x"]  # read from the right: the word, then the arrow
    if abs(boxes["party"]["y"] - boxes["arrow"]["y"]) < 4:  # on one line: the party stands left of the arrow
        assert boxes["party"]["right"] <= boxes["arrow"]["x"] + 1, boxes
    else:  # wrapped: the party opens the next line, at its right
        assert boxes["party"]["y"] > boxes["arrow"]["y"] and boxes["party"]["x"] > boxes["arrow"]["x"], boxes
    assert page.evaluate("getComputedStyle(document.querySelector('time')).unicodeBidi") == "isolate"
    assert page.evaluate("getComputedStyle(document.querySelector('.party-badge')).unicodeBidi") == "isolate"
    made = row.locator("td").last.locator("time")
    assert re.search(r"[۰-۹]{4}", made.inner_text()) and not re.search(r"[0-9]", made.inner_text())


def test_hotline_timeline_shows_seconds_in_the_viewers_calendar(
    page: Page, ir: tuple[NodeProcess, dict[str, str]]
) -> None:
    url = sign_in(page, ir, "ir.commander")
    page.goto(f"{url}/hotline/compose")
    page.select_option("select[name=precedence]", "IMMEDIATE")
    page.fill("input[name=subject]", "Convoy at Taftan")
    page.fill("textarea[name=body]", "Twelve trucks waiting since 14:00.")
    page.click("form.hotline-compose button[type=submit]")
    expect(page.locator(".hotline-message .subject")).to_have_text("Convoy at Taftan")
    expect(page.locator(".prec")).to_have_text("فوری")  # IMMEDIATE, as a word of the page's language
    step = page.locator("table.timeline tbody tr[data-kind=queued] td").nth(2)
    assert PERSIAN_TIME_WITH_SECONDS.search(step.inner_text()), step.inner_text()
    assert "۱۴۰" in step.inner_text()  # a Solar Hijri year


def test_scripts_format_times_and_numbers_for_the_viewer(
    page: Page, ir: tuple[NodeProcess, dict[str, str]]
) -> None:
    url = sign_in(page, ir, "ir.liaison")
    page.goto(f"{url}/")
    page.wait_for_function("window.sarhadI18n !== undefined")
    assert page.evaluate("sarhadI18n.locale") == "fa-IR-u-ca-persian-nu-arabext"
    text = page.evaluate("sarhadI18n.formatTime('2026-12-07T14:05:09Z', {seconds: true})")
    assert "۱۴۰۵" in text and "آذر" in text and "۱۷:۳۵:۰۹" in text, text
    assert page.evaluate("sarhadI18n.formatNumber(1234.5)") == "۱٬۲۳۴٫۵"
    assert (
        page.evaluate("JSON.stringify(sarhadI18n.fromJalali(1405, 1, 1))")
        == '{"year":2026,"month":3,"day":21}'
    )
