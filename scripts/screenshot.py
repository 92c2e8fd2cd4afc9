#!/usr/bin/env python3
"""Screenshots of the main pages for the README and docs (``make screenshot``), written to docs/images/.

Uses the demo's two real nodes: if they already answer (``make demo`` running in another terminal) it uses
them; otherwise it prepares the demo (``var/demo``, as ``make demo`` does), starts both nodes, takes the
screenshots and stops them. Headless Chromium (Debian's, at /usr/bin/chromium) through Playwright, signed in as
the demo users, at 1366×768 (desktop) and 390×844 (phone), in English, Persian (IR's users) and Urdu (a PK
user who picks Urdu on the "me" page, as a user would, and back). Each PNG is reduced to a 256-colour palette
so the set stays small (under ~1.5 MB).

    python scripts/screenshot.py [--root var/demo] [--out docs/images] [--only map,statistics]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright
from rich.console import Console

CHROMIUM = os.environ.get("SARHAD_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
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
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
URLS = {"PK": "http://127.0.0.1:8701", "IR": "http://127.0.0.1:8702"}


@dataclass(frozen=True)
class Shot:
    name: str  # docs/images/<name>.png
    party: str
    user: str  # the demo role (pk.<user>)
    path: str
    viewport: dict[str, int]
    language: str = ""  # switch the user to this language first (on the "me" page), and back afterwards
    ready: str = ""  # "map" (its layers painted, see MAP_PAINTED) or a selector to wait for (a drawn chart)


SHOTS = (
    Shot("map", "PK", "liaison", "/map", DESKTOP, ready="map"),
    Shot("home", "PK", "commander", "/", DESKTOP),
    Shot("incidents-fa", "IR", "liaison", "/incidents?days=30", DESKTOP, ready="map"),
    Shot(
        "statistics",
        "PK",
        "analyst",
        "/incidents/reports/statistics",
        DESKTOP,
        ready="figure[data-drawn='1']",
    ),
    # Yesterday's report (the party's own day): today's may be empty just after midnight.
    Shot(
        "daily-report-ur", "PK", "analyst", "/incidents/reports/daily?day={yesterday}", DESKTOP, language="ur"
    ),
    Shot(
        "statistics-fa-phone",
        "IR",
        "analyst",
        "/incidents/reports/statistics",
        PHONE,
        ready="figure[data-drawn='1']",
    ),
    Shot("bulletins-phone", "PK", "liaison", "/bulletins", PHONE),
)


# A map is ready for its picture when its script says every layer is drawn (data-ready), no zoom is running, the
# offline basemap and the border line are in the page, and every vector layer is painted at its own size (a
# page style once shrank Leaflet's SVG layers to nothing: data-ready was there, the picture had no line).
MAP_PAINTED = """() => {
  const map = document.querySelector('#map');
  if (!map || map.getAttribute('data-ready') !== '1' || map.classList.contains('leaflet-zoom-anim')) return false;
  if (!map.querySelector('path.basemap-boundary, path.country-outline') || !map.querySelector('path.border-line')) {
    return false;
  }
  const layers = Array.from(map.querySelectorAll('.leaflet-pane > svg'));
  return layers.length > 0 && layers.every((svg) => {
    const shown = svg.getBoundingClientRect();
    return svg.clientWidth > 0 && svg.clientHeight > 0 && Math.abs(shown.width - svg.clientWidth) < 1;
  });
}"""


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def demo_nodes(root: Path, console: Console) -> Iterator[dict[str, dict[str, str]]]:
    """The demo's credentials, with both nodes answering for the duration."""
    if all(_up(url) for url in URLS.values()):
        console.print("using the demo nodes already running")
        yield json.loads((root / "credentials.json").read_text(encoding="utf-8"))
        return
    from sarhad.core.files import open_private_log
    from sarhad.demo import PARTIES, prepare, wait_ready

    credentials = prepare(root, console)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for party in PARTIES:
            log = os.fdopen(open_private_log(root / party.code.lower() / "node.log"), "ab")
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
                    [sys.executable, "-m", "sarhad", "serve", "--data-dir", str(root / party.code.lower())],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            log.close()
        for party, process in zip(PARTIES, processes, strict=True):
            wait_ready(f"http://127.0.0.1:{party.port}", process)
        time.sleep(3)  # a few seconds for the delivery workers to carry the seeded releases over
        yield credentials
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _language(page: Page, base: str, code: str) -> str:
    """Pick ``code`` on the "me" page; returns the language it replaced."""
    page.goto(f"{base}/me")
    select = page.locator("select[name=language]")
    before = select.input_value()
    select.select_option(code)
    page.locator("form[action='/me'] button[type=submit]").first.click()
    page.wait_for_load_state("load")
    return before


def _yesterday(party: str) -> str:
    """The day before today on the party's own clock (the demo node's time zone)."""
    from sarhad.demo import PARTIES

    zone = next(p.time_zone for p in PARTIES if p.code == party)
    return (datetime.now(ZoneInfo(zone)).date() - timedelta(days=1)).isoformat()


def _save(png: bytes, path: Path) -> int:
    """The screenshot as a 256-colour palette PNG (a fraction of the size, no visible loss for pages)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    small = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)
    return path.stat().st_size


def take(browser: Browser, shot: Shot, credentials: dict[str, dict[str, str]], out: Path) -> int:
    base = URLS[shot.party]
    username = f"{shot.party.lower()}.{shot.user}"
    context = browser.new_context(viewport=shot.viewport, device_scale_factor=1, locale="en-GB")
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        _sign_in(page, base, username, credentials[shot.party][username])
        previous = _language(page, base, shot.language) if shot.language else ""
        page.goto(f"{base}{shot.path.format(yesterday=_yesterday(shot.party))}")
        page.wait_for_load_state("load")
        # Not best effort: a picture of a map without its layers is worse than no picture (the run fails).
        if shot.ready == "map":
            page.wait_for_function(MAP_PAINTED, timeout=20_000)
        elif shot.ready:
            page.wait_for_selector(shot.ready, timeout=20_000, state="attached")
        page.evaluate("document.fonts.ready.then(() => true)")
        page.wait_for_timeout(400)  # a last layout pass
        size = _save(page.screenshot(full_page=False), out / f"{shot.name}.png")
        if previous:
            _language(page, base, previous)
        return size
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, default=Path("var/demo"))
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--only", default="", help="comma-separated shot names (default: all)")
    args = parser.parse_args()
    wanted = {n for n in args.only.split(",") if n}
    console = Console()
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    with demo_nodes(args.root, console) as credentials, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, chromium_sandbox=False)
        try:
            for shot in SHOTS:
                if wanted and shot.name not in wanted:
                    continue
                size = take(browser, shot, credentials, args.out)
                total += size
                console.print(f"wrote {args.out / (shot.name + '.png')} ({size // 1024} KB)")
        finally:
            browser.close()
    console.print(f"{total // 1024} KB in all")


if __name__ == "__main__":
    main()
