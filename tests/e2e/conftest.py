"""Browser fixtures: Playwright (sync API) driving Debian's Chromium at /usr/bin/chromium.

Playwright's own browser download is never used (``playwright install`` cannot reach its CDN here); the
system Chromium comes from ``scripts/install-system-deps.sh``. Without it the browser tests are skipped on a
developer machine and fail under CI. Playwright gives every launch a fresh temporary ``--user-data-dir``
(it refuses one in ``args``), so no profile state leaks between runs.

    def test_login_page(page: Page, ...) -> None:
        page.goto(f"{pk.url}/login")
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = Path(os.environ.get("SARHAD_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the whole session."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium, or run scripts/install-system-deps.sh)"
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            chromium_sandbox=False,
            args=CHROMIUM_ARGS,
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_context(chromium: Browser) -> Iterator[BrowserContext]:
    """A new, isolated browser context (cookies, storage) per test; English, UTC, a desktop viewport."""
    context = chromium.new_context(
        locale="en-GB",
        timezone_id="UTC",
        viewport={"width": 1280, "height": 900},
        ignore_https_errors=True,
    )
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Iterator[Page]:
    """A fresh page in its own context."""
    new_page = browser_context.new_page()
    try:
        yield new_page
    finally:
        new_page.close()
