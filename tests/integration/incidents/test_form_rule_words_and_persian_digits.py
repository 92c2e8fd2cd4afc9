"""A Persian officer's incident form: numbers, coordinates and the time typed with Persian (or Arabic-Indic)
digits are read like Latin ones (``web.forms.LatinDigitsMiddleware``, the one place for every page form), while
the description keeps the digits typed; and a broken domain rule is told in Persian, never in the API's
English (``web.forms.rule_message``), while the API keeps its English message."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

from fastapi.testclient import TestClient
from incident_helpers import body

from sarhad.core.calendars import localize_digits
from support.pages import post_login

PASSWORD = "correct horse battery"


def persian_officer(client: TestClient) -> str:
    answer = post_login(client, "liaison", PASSWORD)
    assert answer.status_code in (302, 303), answer.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/incidents/new").text)
    assert token
    client.post("/me/language", data={"csrf_token": token.group(1), "language": "fa", "next": "/"})
    return token.group(1)


def persian(text: str) -> str:
    return localize_digits(text, "fa")


def test_numbers_and_times_typed_in_persian_digits_are_read(
    client: TestClient, liaison: dict[str, str], pk
) -> None:  # type: ignore[no-untyped-def]
    csrf = persian_officer(client)
    # A wall-clock time 20 hours ago in UTC is in the past in the officer's zone, whatever it is.
    occurred = (pk.clock.now().astimezone(UTC) - timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "csrf_token": csrf,
        "type": "drug_smuggling",
        "occurred_at": persian(occurred),
        "lat": "۲۸٫۹۵",  # Persian digits and the Persian decimal separator
        "lon": "٦١٫٧٠",  # Arabic-Indic digits
        "description": "خودرو ۶ کیلومتر شرق تفتان توقیف شد",
        "impact_level": "medium",
        "persons_apprehended": "۳",
        "casualty_security_injured": "۲",
        "source_reliability": "B",
        "info_credibility": "2",
    }
    answer = client.post("/incidents/new", data=form, follow_redirects=False)
    assert answer.status_code == 303, re.findall(r'class="field-error"[^>]*>([^<]+)', answer.text)
    [saved] = client.get("/api/v1/incidents?days=7", headers=liaison).json()
    assert (saved["lat"], saved["lon"]) == (28.95, 61.70)
    assert saved["persons_apprehended"] == 3
    assert saved["casualties"]["security_injured"] == 2
    assert saved["description"] == "خودرو ۶ کیلومتر شرق تفتان توقیف شد"  # free text keeps its digits


def test_a_broken_rule_is_told_in_persian_on_a_persian_page(
    client: TestClient, liaison: dict[str, str], pk
) -> None:  # type: ignore[no-untyped-def]
    csrf = persian_officer(client)
    occurred = (pk.clock.now().astimezone(UTC) - timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "csrf_token": csrf,
        "type": "drug_smuggling",
        "occurred_at": occurred,
        "lat": "28.95",
        "lon": "61.70",
        "description": "test",
        "impact_level": "medium",
        "source_reliability": "B",
        "info_credibility": "9",  # not one of the grading's 1-6
    }
    answer = client.post("/incidents/new", data=form)
    assert answer.status_code == 422 and 'lang="fa"' in answer.text
    shown = re.findall(r'id="f-info_credibility-error"[^>]*>([^<]+)', answer.text)
    assert shown == ["اعتبار اطلاعات یک رقم از ۱ تا ۶ است."], shown
    assert "credibility is a digit" not in answer.text.lower()
    # The API keeps its English message (clients and logs read it).
    refused = client.post("/api/v1/incidents", json=body(pk, info_credibility="9"), headers=liaison)
    assert refused.status_code == 422
    assert "information credibility is a digit from 1 to 6" in refused.json()["error"]["message"]
