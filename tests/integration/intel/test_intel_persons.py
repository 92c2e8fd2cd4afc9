"""Persons: identifiers checked and kept in one form, never recorded twice, every read audited, refusals with
nothing written, and no intelligence for an operator."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from intel_helpers import actions, count

from sarhad.core.node import Node
from sarhad.intel.models import IntelEntity
from support.pairs import bearer

PERSON: dict[str, Any] = {
    "names": {"en": "Abdul Rahim Baloch", "ur": "عبدالرحیم بلوچ", "fa": "عبدالرحیم بلوچ"},
    "aliases": ["Rahimo"],
    "birth_year": 1984,
    "nationality": "PK",
    "cnic": "5440112345671",
    "national_code": "۰۴۹۹۳۷۰۸۹۹",
}


def test_a_person_is_recorded_with_identifiers_in_one_form_and_every_read_is_audited(
    pk: Node, ir: Node, client: TestClient, analyst: dict[str, str]
) -> None:
    created = client.post("/api/v1/intel/entities", json=PERSON, headers=analyst)
    assert created.status_code == 201, created.text
    person = created.json()
    assert (person["cnic"], person["national_code"]) == ("54401-1234567-1", "0499370899")
    found = client.get("/api/v1/intel/entities", params={"q": "0499370899"}, headers=analyst).json()
    assert [p["id"] for p in found] == [person["id"]]
    assert (
        client.get("/api/v1/intel/entities", params={"q": "Rahimo"}, headers=analyst).json()[0]["id"]
        == person["id"]
    )
    in_persian = client.get("/api/v1/intel/entities", params={"q": "عبدالرحیم"}, headers=analyst).json()
    assert [p["id"] for p in in_persian] == [person["id"]]
    one = client.get(f"/api/v1/intel/entities/{person['id']}", headers=analyst)
    assert one.status_code == 200 and one.json()["names"]["fa"] == "عبدالرحیم بلوچ"
    assert actions(pk, "intel_entity.") == ["intel_entity.create", "intel_entity.read"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"national_code": "0499370898"}, "national_code"),  # wrong check digit
        ({"national_code": "1111111111"}, "national_code"),
        ({"national_code": "04993708"}, "national_code"),
        ({"cnic": "95202-1234567-1"}, "cnic"),  # no province 9
        ({"cnic": "35202-123456-1"}, "cnic"),
    ],
)
def test_a_bad_identifier_is_refused_and_nothing_is_written(
    pk: Node, ir: Node, client: TestClient, analyst: dict[str, str], change: dict[str, Any], field: str
) -> None:
    answer = client.post("/api/v1/intel/entities", json={**PERSON, **change}, headers=analyst)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "bad_identifier" and error["details"]["field"] == field
    assert count(pk, IntelEntity) == 0 and actions(pk, "intel_entity.") == []


def test_the_same_number_is_never_recorded_for_two_persons(
    pk: Node, ir: Node, client: TestClient, analyst: dict[str, str]
) -> None:
    first = client.post("/api/v1/intel/entities", json=PERSON, headers=analyst).json()
    again = client.post(
        "/api/v1/intel/entities",
        json={"names": {"en": "Someone else"}, "national_code": "049-937089-9"},
        headers=analyst,
    )
    assert again.status_code == 409 and again.json()["error"]["details"] == {
        "field": "national_code",
        "id": first["id"],
    }
    assert count(pk, IntelEntity) == 1


@pytest.mark.parametrize(
    "change", [{"names": {}}, {"names": {"en": "  "}}, {"birth_year": 2099}, {"height": 180}]
)
def test_a_person_without_a_name_or_with_bad_fields_is_refused(
    pk: Node, ir: Node, client: TestClient, analyst: dict[str, str], change: dict[str, Any]
) -> None:
    answer = client.post("/api/v1/intel/entities", json={**PERSON, **change}, headers=analyst)
    assert answer.status_code == 422, answer.text
    assert count(pk, IntelEntity) == 0


def test_an_operator_sees_no_persons(pk: Node, ir: Node, client: TestClient, analyst: dict[str, str]) -> None:
    person = client.post("/api/v1/intel/entities", json=PERSON, headers=analyst).json()
    operator = bearer(client, "operator")
    assert client.get("/api/v1/intel/entities", headers=operator).status_code == 403
    assert client.get(f"/api/v1/intel/entities/{person['id']}", headers=operator).status_code == 403
    assert client.post("/api/v1/intel/entities", json=PERSON, headers=operator).status_code == 403
