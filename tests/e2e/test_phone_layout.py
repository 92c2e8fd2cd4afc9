"""No page overflows sideways: every page of the app (enumerated from the feature packages' page routes, so a
new page is visited without editing this test), each with the demo's data, at 390×844 (a phone) and at
1366×768, in English on PK and in Persian (right to left) on IR. Tables reflow into cards on the phone."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from demo_pair import DemoPair, demo_pair
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, BrowserContext, Page, expect

from sarhad.features import FEATURES, feature_module

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
ROLES = ("liaison", "commander", "admin", "auditor", "trade", "analyst", "secretariat", "operator", "custody")
PARAM = re.compile(r"\{(\w+)\}")

OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width && (box.right > width + 1 || box.left < -1)) {
      const parent = el.parentElement;
      const pbox = parent ? parent.getBoundingClientRect() : null;
      if (!pbox || pbox.right <= width + 1 && pbox.left >= -1) {
        wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
          (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
          " [" + Math.round(box.left) + "," + Math.round(box.right) + "]");
      }
    }
  }
  return {scroll: document.scrollingElement.scrollWidth, width: width, wide: wide.slice(0, 8)};
}"""


def page_routes() -> list[str]:
    """Every GET route of the feature packages' pages modules that answers a page (HTML)."""
    paths = []
    for feature in FEATURES:
        module = feature_module(feature, "pages")
        for route in getattr(module, "router", None).routes if module is not None else ():
            if "GET" in getattr(route, "methods", ()) and route.response_class is HTMLResponse:
                paths.append(route.path)
    return paths


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPair]:
    with demo_pair(tmp_path_factory.mktemp("demo")) as running:
        for node, process in (("pk", running.pk), ("ir", running.ir)):
            # a bulletin with a long unbroken reference in it: the pages must wrap what people type
            token = running.token(f"{node}.liaison")
            created = httpx.post(
                f"{process.url}/api/v1/bulletins",
                json={
                    "title": "Crossing hours changed at the main gate from Monday",
                    "body": "Reference " + "X" * 80 + "\nThe gate opens at 07:00 instead of 08:00.",
                    "place": {"name": "Main gate", "lat": 29.0, "lon": 61.6},
                    "tlp": "amber",
                },
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert created.status_code == 201, created.text
            commander = {"Authorization": f"Bearer {running.token(f'{node}.commander')}"}
            channels = httpx.get(
                f"{process.url}/api/v1/hotline/channels", headers=commander, timeout=10
            ).json()
            channel = next(c["id"] for c in channels if c["held_by_me"])
            sent = httpx.post(
                f"{process.url}/api/v1/hotline/messages",
                json={
                    "channel": channel,
                    "precedence": "IMMEDIATE",
                    "subject": "Convoy seen near the fence",
                    "body": "Six trucks.",
                },
                headers=commander,
                timeout=10,
            )
            assert sent.status_code == 201, sent.text
        yield running


def _first(url: str, token: str, path: str, pick: Any = None) -> dict[str, Any]:
    answer = httpx.get(f"{url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200, (path, answer.text[:300])
    body = answer.json()
    items = body["features"] if isinstance(body, dict) and "features" in body else body
    items = [i for i in items if pick is None or pick(i)]
    assert items, f"the demo has nothing at {path}"
    found: dict[str, Any] = items[0].get("properties", items[0]) if "properties" in items[0] else items[0]
    if "id" not in found and "id" in items[0]:
        found["id"] = items[0]["id"]
    return found


def concrete_urls(pair: DemoPair, node: str) -> dict[str, list[str]]:
    """Each page route with its parameters filled from the node's demo data (several where it matters: an own
    and a received incident)."""
    process = pair.pk if node == "pk" else pair.ir
    other = "IR" if node == "pk" else "PK"
    url, liaison, commander = process.url, pair.token(f"{node}.liaison"), pair.token(f"{node}.commander")
    own = _first(url, liaison, "/api/v1/incidents?days=365", lambda i: i["origin"] != other)
    received = _first(url, liaison, f"/api/v1/incidents?days=365&origin={other}")
    request = _first(url, liaison, "/api/v1/requests")
    bulletin = _first(url, liaison, "/api/v1/bulletins")
    message = _first(url, commander, "/api/v1/hotline/messages")
    crossing = _first(
        url,
        liaison,
        "/api/v1/border/crossings",
        lambda i: i["properties"].get("crossing_kind") == "official_crossing",
    )
    markets = httpx.get(
        f"{url}/api/v1/border/markets", headers={"Authorization": f"Bearer {liaison}"}, timeout=10
    ).json()["features"]
    # only the host party edits a market, and the demo's markets are all on PK's side: IR has none to edit
    hosted = [
        m["properties"].get("id", m.get("id")) for m in markets if m["properties"]["host_party"] != other
    ]
    assert hosted or node == "ir"
    fence = _first(url, liaison, "/api/v1/border/fence", lambda i: i["properties"]["party"] != other)
    joint = httpx.get(f"{url}/api/v1/joint", headers={"Authorization": f"Bearer {liaison}"}, timeout=10)
    joints = joint.json() if joint.status_code == 200 else []
    own_report = _first(url, liaison, "/api/v1/intel/reports", lambda r: r["own"])
    # the other side's demo releases its reports after its incidents: wait for the link to carry them
    for _ in range(120):
        held = httpx.get(
            f"{url}/api/v1/intel/reports?origin={other}",
            headers={"Authorization": f"Bearer {liaison}"},
            timeout=10,
        ).json()
        if held:
            break
        time.sleep(0.5)
    received_report = _first(url, liaison, f"/api/v1/intel/reports?origin={other}")
    values: dict[str, list[dict[str, str]]] = {
        "/incidents/{origin}/{incident_id}": [
            {"origin": own["origin"], "incident_id": own["id"]},
            {"origin": received["origin"], "incident_id": received["id"]},
        ],
        "/incidents/{origin}/{incident_id}/edit": [{"origin": own["origin"], "incident_id": own["id"]}],
        "/requests/{origin}/{request_id}": [{"origin": request["origin"], "request_id": request["id"]}],
        "/bulletins/{origin}/{bulletin_id}": [{"origin": bulletin["origin"], "bulletin_id": bulletin["id"]}],
        "/bulletins/{origin}/{bulletin_id}/edit": [
            {"origin": bulletin["origin"], "bulletin_id": bulletin["id"]}
        ],
        "/hotline/messages/{message_id}": [{"message_id": message["id"]}],
        "/border/crossings/{crossing_id}/edit": [{"crossing_id": crossing["crossing"]}],
        "/border/markets/{market_id}/edit": [{"market_id": m} for m in hosted[:1]],
        "/border/fence/{segment_id}/edit": [{"segment_id": fence["id"]}],
        "/impact/{section}": [{"section": "S5"}],
        "/joint/{joint_id}": [{"joint_id": j["id"]} for j in joints[:1]],
        "/intel/{origin}/{report_id}": [
            {"origin": r["origin"], "report_id": r["id"]} for r in (own_report, received_report)
        ],
    }
    urls: dict[str, list[str]] = {}
    for route in page_routes():
        if not PARAM.search(route):
            urls[route] = [route]
            continue
        assert route in values, f"{route}: a new page; give it demo data in concrete_urls()"
        urls[route] = [PARAM.sub(lambda m, v=v: v[m.group(1)], route) for v in values[route]]  # type: ignore[misc]
    urls["(not found)"] = ["/incidents/PK/no-such-incident"]
    urls["/requests?filtered"] = ["/requests?direction=incoming&status=open"]
    return urls


def _signed_in(
    browser: Browser, url: str, username: str, password: str, viewport: dict[str, int]
) -> BrowserContext:
    context = browser.new_context(locale="en-GB", timezone_id="UTC", viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login"))
    page.close()
    return context


def _check(page: Page, url: str) -> tuple[int, dict[str, Any]]:
    answer = page.goto(url, wait_until="load")
    status = answer.status if answer is not None else 0
    page.wait_for_timeout(0)
    return status, page.evaluate(OVERFLOW)


@pytest.mark.parametrize(
    ("node", "viewport"),
    [("pk", PHONE), ("pk", DESKTOP), ("ir", PHONE)],
    ids=["pk-390", "pk-1366", "ir-fa-390"],
)
def test_no_page_overflows_sideways(
    chromium: Browser, pair: DemoPair, node: str, viewport: dict[str, int]
) -> None:
    process = pair.pk if node == "pk" else pair.ir
    urls = concrete_urls(pair, node)
    contexts: dict[str, BrowserContext] = {}
    problems: list[str] = []
    visited: dict[str, str] = {}
    try:
        for route, paths in urls.items():
            for path in paths:
                for role in ROLES:
                    username = f"{node}.{role}"
                    if username not in contexts:
                        contexts[username] = _signed_in(
                            chromium, process.url, username, pair.password(username), viewport
                        )
                    page = contexts[username].new_page()
                    try:
                        status, measured = _check(page, f"{process.url}{path}")
                    finally:
                        page.close()
                    if status == 403:
                        continue  # this role may not see it; the next one may
                    if status not in (200, 404) or (status == 404 and route != "(not found)"):
                        problems.append(f"{path} as {username}: HTTP {status}")
                    elif measured["scroll"] > measured["width"]:
                        problems.append(f"{path} as {username}: {measured}")
                    visited[path] = username
                    break
                else:
                    problems.append(f"{path}: no demo role may open it")
    finally:
        for context in contexts.values():
            context.close()
    print(f"{len(visited)} pages at {viewport['width']} px on {node}: {visited}")
    assert not problems, "\n".join(problems)
    assert len(visited) >= 35


def test_tables_reflow_into_cards_on_a_phone(chromium: Browser, pair: DemoPair) -> None:
    context = _signed_in(chromium, pair.pk.url, "pk.liaison", pair.password("pk.liaison"), PHONE)
    try:
        page = context.new_page()
        page.goto(f"{pair.pk.url}/requests")
        cell = page.locator("#requests-list tbody tr").first.locator("td").nth(2)
        expect(cell).to_have_attribute("data-label", "Incident")
        assert (
            page.evaluate("getComputedStyle(document.querySelector('#requests-list td')).display") == "block"
        )
        label = page.evaluate(
            "getComputedStyle(document.querySelector('#requests-list td'), '::before').content"
        )
        assert label == '"Direction"'
        assert (
            page.evaluate("getComputedStyle(document.querySelector('#requests-list thead')).position")
            == "absolute"
        )
    finally:
        context.close()
