"""The incident form sees every broken content rule at once (``incident_problems``); the import reads what the
list's CSV export writes (its seizures form, its formula guard)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sarhad.core.formats import csv_safe
from sarhad.incidents import bulk, domain

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TYPES = {
    "drug_smuggling": domain.IncidentType(
        code="drug_smuggling", names={"en": "Drug smuggling"}, group="smuggling"
    )
}


def test_incident_problems_names_every_broken_rule_not_only_the_first() -> None:
    problems = domain.incident_problems(
        type="no_such_type",
        occurred_at=NOW + timedelta(days=2),
        lat=95.0,
        lon=61.7,
        description=" ",
        impact_level="enormous",
        now=NOW,
        types=TYPES,
        casualties={"security_killed": -1},
        seizures=[{"item": "opium", "quantity": 1, "unit": "barrels"}],
        persons_apprehended=None,
        source_reliability="Z",
        info_credibility="6",
    )
    fields = sorted(p.field for p in problems)
    assert fields == sorted(
        [
            "type",
            "description",
            "casualties.security_killed",
            "seizures[0].unit",
            "impact_level",
            "source_reliability",
            "lat",
            "occurred_at",
        ]
    )


def test_a_valid_incident_has_no_problems() -> None:
    assert not domain.incident_problems(
        type="drug_smuggling",
        occurred_at=NOW - timedelta(hours=1),
        lat=28.95,
        lon=61.7,
        description="Hashish",
        impact_level="low",
        now=NOW,
        types=TYPES,
    )


def test_the_import_reads_the_exports_seizures_and_formula_guard() -> None:
    assert bulk._parse_seizures("black tar opium 120 kg; diesel 800 l") == [
        {"item": "black tar opium", "quantity": 120.0, "unit": "kg"},
        {"item": "diesel", "quantity": 800.0, "unit": "l"},
    ]
    assert bulk._parse_seizures("opium:120:kg|diesel:800:l")[1] == {
        "item": "diesel",
        "quantity": 800.0,
        "unit": "l",
    }
    for text in ("=HYPERLINK(x)", "+92 300", "@home", "-not a number"):
        assert bulk._unguarded(csv_safe(text)) == text
    assert bulk._unguarded("'quoted") == "'quoted"
    assert bulk.check_header(["type", "occurred_at", "lat", "lon", "description", "origin", "id", "tlp"])
