#!/usr/bin/env python3
"""Screenshot pages of a running demo for the README: `make demo` in one terminal, then this.

    python scripts/screenshot.py [--base http://127.0.0.1:8701] [--party PK] [--out docs/images]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8701")
    parser.add_argument("--party", default="PK")
    parser.add_argument("--user", default="liaison")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--pages", default="map:/map")
    args = parser.parse_args()
    credentials = json.loads(Path("var/demo/credentials.json").read_text(encoding="utf-8"))
    username = f"{args.party.lower()}.{args.user}"
    password = credentials[args.party][username]
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 860})
        page.goto(f"{args.base}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        for item in args.pages.split(","):
            name, path = item.split(":", 1)
            page.goto(f"{args.base}{path}")
            if path.startswith("/map"):
                page.wait_for_selector("#map[data-ready='1']", timeout=20_000)
            page.screenshot(path=str(args.out / f"{name}.png"))
            print(f"wrote {args.out / f'{name}.png'}")
        browser.close()


if __name__ == "__main__":
    main()
