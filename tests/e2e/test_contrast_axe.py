"""axe-core (bundled in the axe-playwright-python wheel, injected by the test; nothing from a CDN) over the main
pages in English and Persian: no serious or critical violation, colour contrast (WCAG AA, 4.5:1) included,
with a FLASH message waiting (the red banner and the waiting row on screen) and an acknowledged one in the list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect
from test_alerts_and_dashboard import LIAISON_PASSWORD, _add_user
from test_hotline_pages import PASSWORD, _prepare

from sarhad.core.settings import load_settings
from support.processes import NodeProcess

PAGES = [
    "/",
    "/hotline",
    "{thread}",
    "/incidents",
    "/incidents/reports/daily",
    "/requests",
    "/bulletins",
    "/exchange",
    "/border",
    "/map",
]


@pytest.fixture
def pair(make_node_dir: Callable[..., Path]) -> Iterator[dict[str, NodeProcess]]:
    dirs = _prepare(make_node_dir)
    _add_user(dirs["PK"], "liaison", ["liaison_officer"], ["PK-S2-CDR"])
    with (
        NodeProcess(dirs["PK"], port=load_settings(dirs["PK"]).port, name="pk") as pk,
        NodeProcess(dirs["IR"], port=load_settings(dirs["IR"]).port, name="ir") as ir,
    ):
        yield {"PK": pk, "IR": ir}


def _sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login?next=/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/")


def _send(page: Page, base: str, to: str, precedence: str, subject: str) -> str:
    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    answer = page.request.post(
        f"{base}/api/v1/hotline/messages",
        headers={"X-CSRF-Token": token},
        data={"to_position": to, "precedence": precedence, "subject": subject, "body": "Contrast check."},
    )
    assert answer.status == 201, answer.text()
    return str(answer.json()["id"])


def _serious(page: Page) -> list[str]:
    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in ("serious", "critical"):
            targets = [
                ", ".join(n["target"]) + ": " + n.get("failureSummary", "")[:160]
                for n in violation["nodes"][:3]
            ]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


def test_main_pages_have_no_serious_accessibility_violations_in_english_and_persian(
    chromium: Browser, pair: dict[str, NodeProcess]
) -> None:
    pk, ir = pair["PK"], pair["IR"]
    # reduced motion: the FLASH banner stops pulsing, so axe measures its colours rather than leaving them
    # "incomplete" behind an animated shadow
    context = chromium.new_context(
        locale="en-GB",
        timezone_id="Asia/Karachi",
        viewport={"width": 1366, "height": 768},
        reduced_motion="reduce",
    )
    context.set_default_timeout(15_000)
    try:
        ir_page = context.new_page()
        _sign_in(ir_page, ir.url, "commander", PASSWORD)
        acked = _send(ir_page, ir.url, "PK-S2-CDR", "FLASH", "Acknowledged already")
        waiting = _send(ir_page, ir.url, "PK-S2-CDR", "FLASH", "Armed group crossing at pillar 40")
        ir_page.close()
        context.clear_cookies()

        page = context.new_page()
        _sign_in(page, pk.url, "liaison", LIAISON_PASSWORD)
        expect(page.locator("#alerts .urgent-alert")).to_have_count(2, timeout=30_000)
        page.goto(f"{pk.url}/hotline/messages/{acked}")
        page.click("form.ack-form button[type=submit]")
        expect(page.locator("#alerts .urgent-alert")).to_have_count(1)

        problems: dict[str, list[str]] = {}
        for language in ("en", "fa"):
            page.goto(f"{pk.url}/")
            page.click(f"button[name=language][value={language}]")
            expect(page.locator("html")).to_have_attribute("lang", language)
            for path in PAGES:
                url = path.format(thread=f"/hotline/messages/{waiting}")
                page.goto(f"{pk.url}{url}")
                expect(page.locator("#alerts .urgent-alert")).to_have_count(1)
                page.wait_for_load_state("networkidle")
                found = _serious(page)
                if found:
                    problems[f"{language} {url}"] = found
        assert not problems, "\n".join(f"{page_}: {v}" for page_, vs in problems.items() for v in vs)
    finally:
        context.close()
