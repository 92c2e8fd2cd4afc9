"""Intelligence in a real browser on the demo nodes: PK's analyst writes a graded report with a tearline, the
form refusing first with every problem at once; PK's commander approves it (four eyes); IR's liaison officer
then reads the releasable part and the grading, and never the full text or the note on the source."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from demo_pair import DemoPair, demo_pair
from playwright.sync_api import Browser, Page, expect

FULL_TEXT = "Source KESTREL saw the courier load two crates at the Mand workshop"
SOURCE_NOTE = "KESTREL is the mechanic's nephew"
RELEASABLE = "Two crates of small arms may cross near Mand this week."


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPair]:
    with demo_pair(tmp_path_factory.mktemp("demo"), wait_for_exchange=False) as running:
        yield running


def signed_in(chromium: Browser, pair: DemoPair, url: str, username: str) -> Page:
    context = chromium.new_context(locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", pair.password(username))
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login"))
    page.click("button[name=language][value=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    return page


def test_a_report_written_approved_and_read_across_the_border(chromium: Browser, pair: DemoPair) -> None:
    analyst = signed_in(chromium, pair, pair.pk.url, "pk.analyst")
    analyst.click("nav a[href='/intel']")
    analyst.click("a[href='/intel/new']")
    analyst.fill("input[name=title]", "Arms crates at Mand")
    analyst.click("form button[type=submit].primary")  # the texts left empty: refused, every problem listed
    summary = analyst.locator("#error-summary")
    if summary.count() == 0:  # the browser's own required-field check stopped the submission first
        expect(analyst.locator("textarea[name=body]:invalid")).to_have_count(1)
    analyst.fill("textarea[name=body]", FULL_TEXT)
    analyst.fill("textarea[name=releasable]", RELEASABLE)
    analyst.fill("textarea[name=source_note]", SOURCE_NOTE)
    analyst.select_option("select[name=report_type]", "threat_warning")
    analyst.select_option("select[name=reliability]", "B")
    analyst.select_option("select[name=credibility]", "2")
    analyst.check("input[name=release_to][value=IR]")
    analyst.click("form button[type=submit].primary")
    expect(analyst.locator("h1")).to_contain_text("Arms crates at Mand")
    expect(analyst.get_by_text("the author of a report cannot approve it")).to_be_visible()
    report_path = re.sub(r"^https?://[^/]+", "", analyst.url)
    analyst.context.close()

    commander = signed_in(chromium, pair, pair.pk.url, "pk.commander")
    commander.goto(f"{pair.pk.url}{report_path}")
    expect(commander.locator("dd").first).to_contain_text("usually reliable, probably true")
    commander.click("button:has-text('Approve')")
    expect(commander.locator("table.grid")).to_contain_text("IR")
    commander.context.close()

    liaison = signed_in(chromium, pair, pair.ir.url, "ir.liaison")
    liaison.goto(f"{pair.ir.url}/intel?origin=PK")
    link = liaison.get_by_role("link", name="Arms crates at Mand")
    for _ in range(30):  # the delivery worker carries it over; reload until it has
        if link.count():
            break
        liaison.wait_for_timeout(1000)
        liaison.reload()
    link.click()
    expect(liaison.locator(".releasable")).to_contain_text(RELEASABLE)
    expect(liaison.locator("dd").first).to_contain_text("usually reliable, probably true")
    content = liaison.content()
    assert FULL_TEXT not in content and SOURCE_NOTE not in content
    liaison.context.close()
