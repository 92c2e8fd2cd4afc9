"""Forms and errors in a real browser on the demo nodes: every problem of the incident form at once, next to its
field, in Persian; a request to the other side made from an incident page (the incident chosen, never typed)
and the requests list's countdown; the exported incident list imported again from the page with a progress
bar; an error page with a human title."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from demo_pair import DemoPair, demo_pair
from playwright.sync_api import Browser, BrowserContext, Page, expect


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPair]:
    with demo_pair(tmp_path_factory.mktemp("demo"), wait_for_exchange=False) as running:
        yield running


@pytest.fixture
def liaison(chromium: Browser, pair: DemoPair) -> Iterator[Page]:
    context: BrowserContext = chromium.new_context(
        locale="en-GB", timezone_id="UTC", viewport={"width": 390, "height": 844}
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{pair.pk.url}/login")
    page.fill("input[name=username]", "pk.liaison")
    page.fill("input[name=password]", pair.password("pk.liaison"))
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login"))
    page.click("button[name=language][value=en]")  # the language is the user's; a test may have changed it
    expect(page.locator("html")).to_have_attribute("lang", "en")
    try:
        yield page
    finally:
        context.close()


def test_every_problem_of_the_incident_form_is_shown_at_once_next_to_its_field_in_persian(
    liaison: Page, pair: DemoPair
) -> None:
    page = liaison
    page.goto(f"{pair.pk.url}/incidents/new")
    page.click("button[name=language][value=fa]")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.goto(f"{pair.pk.url}/incidents/new")
    page.select_option("select[name=type]", "drug_smuggling")
    future = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    page.fill("input[name=occurred_at]", future)
    page.fill("input[name=lat]", "95")
    page.fill("input[name=lon]", "east")
    page.fill("textarea[name=description]", "Hashish in a pickup")
    page.fill("input[name=casualty_security_killed]", "two")
    page.fill("textarea[name=seizures]", "hashish; 20; kg\nopium 4 kg")
    page.click("form button[type=submit].primary")

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_attribute("role", "alert")
    links = summary.locator("a")
    expect(links).to_have_count(5)  # occurred_at, lat, lon, a casualty count, the seizures
    invalid = page.locator("[aria-invalid=true]")
    expect(invalid).to_have_count(5)
    for name in ("occurred_at", "lat", "lon", "casualty_security_killed", "seizures"):
        field = page.locator(f"#f-{name}")
        expect(field).to_have_attribute("aria-invalid", "true")
        message = page.locator(f"#{field.get_attribute('aria-describedby')}")
        expect(message).to_be_visible()
        expect(summary.locator(f"a[href='#f-{name}']")).to_be_visible()
    expect(page.locator("#f-lat-error")).to_have_text(
        "عرض جغرافیایی بین -۹۰ و ۹۰ درجه است."
    )  # Persian digits
    text = summary.inner_text()
    assert "lon" not in text and "casualties." not in text and "+00:00" not in text, text
    # what was typed is kept
    expect(page.locator("#f-lon")).to_have_value("east")
    summary.locator("a[href='#f-lon']").click()
    expect(page).to_have_url(re.compile(r"#f-lon$"))


def test_a_request_to_the_other_side_from_an_incident_page_and_the_countdown_on_the_list(
    liaison: Page, pair: DemoPair
) -> None:
    page = liaison
    token = pair.token("pk.liaison")
    own = httpx.get(
        f"{pair.pk.url}/api/v1/incidents?days=365&origin=PK&limit=1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()[0]
    page.goto(f"{pair.pk.url}/incidents/PK/{own['id']}")
    page.click("a.request-other-side")
    expect(page).to_have_url(re.compile(r"/requests/new\?incident=PK/"))
    expect(page.locator("select[name=incident]")).to_have_value(f"PK/{own['id']}")
    assert page.locator("input[name=incident_id]").count() == 0  # nothing to type
    page.select_option("select[name=to]", "IR")
    page.select_option("select[name=kind]", "action")
    page.select_option("select[name=action]", "search")
    page.select_option("select[name=deadline]", "7d")
    page.fill("textarea[name=text]", "Search the area east of the crossing for the second vehicle.")
    page.click("form button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/requests/PK/"))

    page.goto(f"{pair.pk.url}/requests")
    table = page.locator("#requests-list")
    expect(table).to_have_attribute("data-countdown-ready", "1")
    row = table.locator("tr", has_text="Search the area east of the crossing")
    incident = row.locator("td.request-incident")
    expect(incident.locator(f"a[href='/incidents/PK/{own['id']}']")).to_have_count(1)
    assert own["id"] not in incident.inner_text()  # named by type, place and time, not by its id
    expect(incident.locator("time")).to_have_count(1)
    expect(incident).to_contain_text(re.compile(r"\d+\.\d{3}, \d+\.\d{3}"))
    expect(row.locator(".countdown")).to_have_text(re.compile(r"^(6 d 23 h \d+ min|7 d 0 h 0 min) left$"))
    overdue = table.locator("tr.overdue .countdown.overdue").first
    expect(overdue).to_have_text(re.compile(r"^overdue by "))


def test_the_exported_incident_list_imports_again_from_the_page_with_a_progress_bar(
    liaison: Page, pair: DemoPair
) -> None:
    page = liaison
    token = pair.token("pk.liaison")
    headers = {"Authorization": f"Bearer {token}"}
    exported = httpx.get(f"{pair.pk.url}/api/v1/incidents?format=csv&days=365", headers=headers, timeout=30)
    assert exported.status_code == 200
    header, *rows = exported.text.splitlines(keepends=True)
    assert len(rows) > 20
    big = header + "".join(rows * (6000 // len(rows) + 1))  # a file large enough to import for a while
    total = len(rows) * (6000 // len(rows) + 1)

    page.goto(f"{pair.pk.url}/incidents")
    page.click("#filters-toggle")  # on a phone the picture's filters and actions fold behind one button
    page.click("a[href='/incidents/import']")
    page.set_input_files(
        "input[name=file]", files=[{"name": "export.csv", "mimeType": "text/csv", "buffer": big.encode()}]
    )
    page.click("#import-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/incidents/import\?job="))
    bar = page.locator("#import-progress")
    expect(bar).to_have_attribute("max", str(total))
    expect(page.locator(".import-result")).to_have_text(f"Imported {total} incidents.", timeout=120_000)
    expect(page.locator("#import-progress")).to_have_attribute("value", str(total))
    expect(page.locator("#import-count")).to_have_text(f"{total} of {total} rows checked")
    status_url = page.locator("#import-job").get_attribute("data-status-url") or ""
    status = page.request.get(f"{pair.pk.url}{status_url}").json()
    assert status == {**status, "state": "done", "processed": total, "imported": total, "errors": 0}


def test_an_error_page_has_a_human_title(liaison: Page, pair: DemoPair) -> None:
    page = liaison
    answer = page.goto(f"{pair.pk.url}/incidents/PK/no-such-incident")
    assert answer is not None and answer.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page).to_have_title(re.compile(r"^Not found"))
    assert "not_found" not in page.locator("main").inner_text()
