"""Border pages: the map shell (no CDN, no inline script), the tables, and the CSRF-protected edit forms."""

from __future__ import annotations

import json
import re

import pytest
from border_support import PASSWORD
from fastapi.testclient import TestClient

from sarhad.accounts.actors import SystemActor
from sarhad.border import queries
from sarhad.core.node import Node
from support.pages import post_login

READER = SystemActor("reader")


def _sign_in(client: TestClient, username: str) -> None:
    answer = post_login(client, username, PASSWORD)
    assert answer.status_code == 303, answer.text


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def test_map_page_loads_leaflet_and_its_script_from_this_node_only(client: TestClient) -> None:
    _sign_in(client, "reader")
    page = client.get("/map")
    assert page.status_code == 200
    html = page.text
    assert 'id="map"' in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    sources = [re.search(r'src="([^"]+)"', attrs).group(1) for attrs, _ in scripts if "src=" in attrs]  # type: ignore[union-attr]
    # The layout's own scripts (times, numbers and the Solar Hijri picker for the viewer; the alerts banner),
    # Leaflet, the map core, the layers other packages plug in (incidents: the cluster plugin and its layer),
    # then the page's script; every one of them served by this node.
    assert "/static/alerts.js" in sources
    own = [s for s in sources if s not in ("/static/alerts.js", "/static/sarhad-i18n.js")]
    assert own[:2] == ["/static/leaflet/leaflet.js", "/border/static/sarhad-map.js"]
    assert "/border/static/border-map.js" in own
    assert "/incidents/static/incidents-layer.js" in own
    for source in sources:
        assert source.startswith("/") and client.get(source).status_code == 200, source
    assert "/static/leaflet/leaflet.css" in html
    assert "http://" not in " ".join(sources) and "https://" not in html.split("<body")[0]  # no CDN
    # The only inline <script> is a JSON data block, which the Content-Security-Policy does not execute.
    inline = [(attrs, body) for attrs, body in scripts if "src=" not in attrs]
    assert len(inline) == 1 and 'type="application/json"' in inline[0][0]
    config = json.loads(inline[0][1])
    assert config["api"] == "/api/v1/border" and config["tileUrl"] == ""
    assert config["partyOrder"] == ["IR", "PK"]
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_map_side_panel_lists_every_section_with_fence_bars(client: TestClient, seeded: Node) -> None:
    _sign_in(client, "reader")
    html = client.get("/map").text
    with seeded.sessions() as session:
        section_ids = [s.id for s in queries.list_sections(session, READER)]
    for section_id in section_ids:
        assert f'data-section="{section_id}"' in html
    assert html.count('class="bar fence-bar"') >= 2 * len(section_ids)


@pytest.mark.parametrize(
    ("name", "media_type"), [("border-map.js", "text/javascript"), ("border.css", "text/css")]
)
def test_the_map_assets_are_served_publicly_with_their_type(
    client: TestClient, name: str, media_type: str
) -> None:
    answer = client.get(f"/border/static/{name}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(media_type)


def test_only_listed_static_files_are_served(client: TestClient) -> None:
    assert client.get("/border/static/..%2Fservices.py").status_code == 404
    assert client.get("/border/static/services.py").status_code == 404


def test_leaflet_itself_comes_from_the_installed_package(client: TestClient) -> None:
    assert client.get("/static/leaflet/leaflet.js").status_code == 200
    assert client.get("/static/leaflet/leaflet.css").status_code == 200


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/border", "S1"),
        ("/border/crossings", "taftan-mirjaveh"),
        ("/border/markets", "mand-market"),
        ("/border/posts", "pk-taftan-post"),
        ("/border/fence", "PK-S1-F1"),
    ],
)
def test_border_tables_render_with_csv_export_links(client: TestClient, path: str, expected: str) -> None:
    _sign_in(client, "reader")
    page = client.get(path)
    assert page.status_code == 200
    assert expected in page.text
    assert "format=csv" in page.text
    assert "/edit" not in page.text  # a reader gets no edit links


def test_filters_narrow_the_table(client: TestClient) -> None:
    _sign_in(client, "reader")
    html = client.get("/border/fence", params={"section": "S2", "party": "PK"}).text
    assert "PK-S2-F1" in html and "PK-S2-F2" in html
    assert "PK-S1-F1" not in html and "IR-S2-F1" not in html
    assert "/api/v1/border/fence?section=S2&amp;party=PK&amp;format=csv" in html


def test_edit_form_needs_the_csrf_token_and_then_saves(client: TestClient, seeded: Node) -> None:
    _sign_in(client, "editor")
    form = client.get("/border/fence/PK-S2-F2/edit")
    assert form.status_code == 200
    token = _csrf(form.text)
    forged = client.post("/border/fence/PK-S2-F2", data={"status": "complete"}, follow_redirects=False)
    assert forged.status_code == 403
    with seeded.sessions() as session:
        assert queries.access_fence_segment(session, READER, "PK-S2-F2").status == "under_construction"
    saved = client.post(
        "/border/fence/PK-S2-F2",
        data={"status": "complete", "reason": "handed over", "csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/border/fence?updated=PK-S2-F2"
    with seeded.sessions() as session:
        assert queries.access_fence_segment(session, READER, "PK-S2-F2").status == "complete"


def test_a_refused_form_is_shown_again_with_the_reason_and_what_was_typed(
    client: TestClient, seeded: Node
) -> None:
    _sign_in(client, "editor")
    token = _csrf(client.get("/border/markets/mand-market/edit").text)
    answer = client.post(
        "/border/markets/mand-market",
        data={
            "status": "operating",
            "weekly": "mon thu 09:00-15:00\nfunday 10:00-11:00",
            "csrf_token": token,
        },
    )
    assert answer.status_code == 422
    assert "Line 2: unknown day(s) funday" in answer.text
    assert 'id="f-weekly" aria-invalid="true" aria-describedby="f-weekly-error"' in answer.text
    assert 'href="#f-weekly">Weekly hours: Line 2' in answer.text  # the summary links to the field
    assert "funday 10:00-11:00" in answer.text  # what was typed is kept
    with seeded.sessions() as session:
        assert queries.access_market(session, READER, "mand-market").schedule["weekly"][0]["days"] == [
            "mon",
            "thu",
        ]


def test_crossing_hours_form_saves_weekly_slots(client: TestClient, seeded: Node) -> None:
    _sign_in(client, "editor")
    token = _csrf(client.get("/border/crossings/mand-pishin/edit").text)
    answer = client.post(
        "/border/crossings/mand-pishin",
        data={
            "status": "restricted",
            "weekly": "sat sun 09:00-13:00",
            "time_zone": "Asia/Karachi",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    with seeded.sessions() as session:
        crossing = queries.access_crossing(session, READER, "mand-pishin")
    assert crossing.status == "restricted"
    assert crossing.hours == {
        "always_open": False,
        "time_zone": "Asia/Karachi",
        "weekly": [{"days": ["sat", "sun"], "open": "09:00", "close": "13:00"}],
    }
