"""The incident form shows every problem at once, next to its field, in the user's words and language; the CSV
import page imports in the background (the one write path, ``bulk.import_csv``), all or nothing, and a file
exported from the list imports again."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from fastapi.testclient import TestClient
from incident_helpers import body, count, snapshot_counts

from sarhad.incidents.models import Incident
from support.pages import post_login

PASSWORD = "correct horse battery"


def sign_in(client: TestClient, username: str = "liaison") -> str:
    answer = post_login(client, username, PASSWORD)
    assert answer.status_code in (302, 303), answer.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/incidents/new").text)
    assert token
    return token.group(1)


def test_every_problem_of_the_form_is_shown_at_once_next_to_its_field(
    client: TestClient, liaison: dict[str, str], pk
) -> None:  # type: ignore[no-untyped-def]
    csrf = sign_in(client)
    future = (pk.clock.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "csrf_token": csrf,
        "type": "",
        "occurred_at": future,
        "lat": "95",
        "lon": "east",
        "description": " ",
        "casualty_security_killed": "two",
        "seizures": "opium; 12; barrels\nhashish 4 kg",
    }
    answer = client.post("/incidents/new", data=form)
    assert answer.status_code == 422
    page = answer.text
    for name in ("type", "occurred_at", "lat", "lon", "description", "casualty_security_killed", "seizures"):
        assert f'id="f-{name}" aria-invalid="true" aria-describedby="f-{name}-error"' in page, name
        assert f'id="f-{name}-error"' in page and f'href="#f-{name}"' in page, name
    assert "A latitude is between -90 and 90 degrees." in page
    assert "Write a number in degrees" in page
    assert "This time is in the future" in page
    assert "Line 2: write item; quantity; unit" in page
    assert "Choose one of the options." in page  # the unit "barrels"
    summary = page[
        page.index('class="error-summary"') : page.index("</div>", page.index('class="error-summary"'))
    ]
    assert "Latitude:" in summary and "Longitude:" in summary
    assert "seizures[" not in page and "lon:" not in page and "+00:00 is after" not in page
    assert client.get("/api/v1/incidents", headers=liaison).json() == []


def test_the_form_errors_are_in_the_users_language(client: TestClient, liaison: dict[str, str], pk) -> None:  # type: ignore[no-untyped-def]
    csrf = sign_in(client)
    client.post("/me/language", data={"csrf_token": csrf, "language": "fa", "next": "/"})
    answer = client.post(
        "/incidents/new", data={"csrf_token": csrf, "lat": "x", "lon": "61.7", "description": ""}
    )
    assert answer.status_code == 422 and 'lang="fa"' in answer.text
    assert "Write a number in degrees" not in answer.text and 'aria-invalid="true"' in answer.text


def _wait_for(client: TestClient, location: str) -> str:
    job_id = location.split("job=")[1]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(
            f"/incidents/import/{job_id}/status", headers={"Accept": "application/json"}
        ).json()
        if status["state"] != "running":
            return client.get(location).text
        time.sleep(0.05)
    raise AssertionError("the import did not end")


def test_the_exported_csv_imports_again_from_the_page(
    client: TestClient, liaison: dict[str, str], pk
) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/incidents", json=body(pk), headers=liaison)
    client.post(
        "/api/v1/incidents",
        json=body(pk, description="=HYPERLINK looks like a formula", seizures=[], lat=28.9, lon=61.75),
        headers=liaison,
    )
    exported = client.get("/api/v1/incidents?format=csv&days=30", headers=liaison)
    assert exported.status_code == 200 and exported.text.count("\n") == 3
    csrf = sign_in(client)
    answer = client.post(
        "/incidents/import",
        data={"csrf_token": csrf},
        files={"file": ("export.csv", exported.content, "text/csv")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = _wait_for(client, answer.headers["location"])
    assert "Imported 2 incidents." in page and 'id="import-progress" max="2" value="2"' in page
    listed = client.get("/api/v1/incidents?days=30", headers=liaison).json()
    assert len(listed) == 4
    descriptions = sorted(i["description"] for i in listed)
    assert descriptions.count("=HYPERLINK looks like a formula") == 2  # the export's formula guard taken off
    seizures = [i["seizures"] for i in listed if i["seizures"]]
    assert len(seizures) == 2 and seizures[0] == seizures[1]


def test_a_refused_file_writes_nothing_and_lists_each_row_in_words(
    client: TestClient, liaison: dict[str, str], pk
) -> None:  # type: ignore[no-untyped-def]
    when = (pk.clock.now() - timedelta(hours=2)).isoformat()
    text = (
        "type,occurred_at,lat,lon,description\n"
        f"drug_smuggling,{when},28.95,61.70,good row\n"
        f"drug_smuggling,{when},95,61.70,bad latitude\n"
        f"drug_smuggling,yesterday,28.95,61.70,bad time\n"
    )
    before = snapshot_counts(pk)
    csrf = sign_in(client)
    answer = client.post(
        "/incidents/import",
        data={"csrf_token": csrf},
        files={"file": ("bad.csv", text.encode(), "text/csv")},
        follow_redirects=False,
    )
    page = _wait_for(client, answer.headers["location"])
    assert "Nothing was imported." in page and "2 rows were refused" in page
    assert (
        "A latitude is between -90 and 90 degrees." in page and "Write a date and time with its zone" in page
    )
    assert '<td data-label="Line">3</td><td data-label="Field">Latitude</td>' in page
    assert snapshot_counts(pk) == before and count(pk, Incident) == 0

    not_text = client.post(
        "/incidents/import",
        data={"csrf_token": csrf},
        files={"file": ("bad.csv", b"type,lat\n\xff\xfe\x00", "text/csv")},
    )
    assert not_text.status_code == 422 and "save it as CSV UTF-8" in not_text.text
    assert 'id="f-file" aria-invalid="true"' in not_text.text
    assert snapshot_counts(pk) == before


def test_someone_elses_import_is_not_found(client: TestClient, liaison: dict[str, str], pk) -> None:  # type: ignore[no-untyped-def]
    when = (pk.clock.now() - timedelta(hours=2)).isoformat()
    csrf = sign_in(client)
    answer = client.post(
        "/incidents/import",
        data={"csrf_token": csrf},
        files={
            "file": (
                "one.csv",
                f"type,occurred_at,lat,lon,description\ndrug_smuggling,{when},28.95,61.70,x\n".encode(),
                "text/csv",
            )
        },
        follow_redirects=False,
    )
    _wait_for(client, answer.headers["location"])
    job_id = answer.headers["location"].split("job=")[1]
    client.post("/logout", data={"csrf_token": csrf})
    post_login(client, "operator", PASSWORD)
    other = client.get(f"/incidents/import/{job_id}/status", headers={"Accept": "application/json"})
    assert other.status_code in (403, 404)
