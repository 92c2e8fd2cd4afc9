"""Pure rules of incidents: taxonomy, content checks, workflow, attachments by content, record content."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from sarhad.core.errors import RuleError
from sarhad.exchange.record_rules import content_time
from sarhad.incidents import domain

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def check(**changes: object) -> domain.IncidentFields:
    values: dict[str, object] = {
        "type": "drug_smuggling",
        "occurred_at": NOW - timedelta(hours=1),
        "lat": 28.95,
        "lon": 61.7,
        "description": "  Hashish seized  ",
        "impact_level": "medium",
        "now": NOW,
        "types": domain.BUILTIN_TYPES,
    }
    values.update(changes)
    return domain.check_incident(**values)  # type: ignore[arg-type]


def test_the_taxonomy_holds_the_issue_types_and_is_extendable_by_a_node_file(tmp_path: Path) -> None:
    expected = {
        "armed_attack", "explosive_device", "cross_border_fire", "kidnapping", "drug_smuggling",
        "fuel_smuggling", "goods_smuggling", "human_smuggling", "illegal_crossing", "fence_damage",
        "border_violation", "other",
    }  # fmt: skip
    assert set(domain.BUILTIN_TYPES) == expected
    extra = tmp_path / "incident_types.json"
    extra.write_text(json.dumps({"types": [{"code": "livestock_smuggling", "names": {"en": "Livestock"}}]}))
    assert "livestock_smuggling" in domain.load_taxonomy(extra)
    extra.write_text(json.dumps({"types": [{"code": "Bad Code", "names": {"en": "x"}}]}))
    with pytest.raises(ValueError, match="snake_case"):
        domain.load_taxonomy(extra)


def test_valid_content_is_normalised() -> None:
    fields = check(
        seizures=[{"item": " Opium ", "quantity": 3, "unit": "KG"}], casualties={"civilian_injured": 0}
    )
    assert fields.description == "Hashish seized"
    assert fields.seizures == [domain.Seizure("opium", 3.0, "kg")]
    assert fields.casualties == {}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type": "ufo"}, "type"),
        ({"lat": 91.0}, "lat"),
        ({"lon": -180.5}, "lon"),
        ({"lat": float("nan")}, "lat"),
        ({"occurred_at": NOW + timedelta(minutes=6)}, "occurred_at"),
        ({"occurred_at": datetime(2026, 11, 23, 10, 0)}, "occurred_at"),
        ({"description": "   "}, "description"),
        ({"impact_level": "critical"}, "impact_level"),
        ({"seizures": [{"item": "opium", "quantity": -0.5, "unit": "kg"}]}, "seizures[0].quantity"),
        ({"seizures": [{"item": "", "quantity": 1, "unit": "kg"}]}, "seizures[0].item"),
        ({"seizures": [{"item": "x", "quantity": 1, "unit": "bags"}]}, "seizures[0].unit"),
        ({"casualties": {"aliens": 1}}, "casualties.aliens"),
        ({"casualties": {"civilian_killed": -1}}, "casualties.civilian_killed"),
        ({"persons_apprehended": -1}, "persons_apprehended"),
        ({"source_reliability": "G"}, "source_reliability"),
        ({"info_credibility": "7"}, "info_credibility"),
    ],
)
def test_bad_content_names_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(RuleError) as info:
        check(**changes)
    assert info.value.field == field


def test_small_clock_skew_is_accepted() -> None:
    assert check(occurred_at=NOW + timedelta(minutes=4)).occurred_at == NOW + timedelta(minutes=4)


def test_received_type_codes_are_accepted_if_well_formed() -> None:
    assert check(type="camel_smuggling", types=None).type == "camel_smuggling"
    with pytest.raises(RuleError):
        check(type="Not A Code", types=None)


def test_far_from_border_warning() -> None:
    assert domain.far_from_border_warning(10_000) is None
    assert domain.far_from_border_warning(None) is None
    warning = domain.far_from_border_warning(120_000)
    assert warning is not None and "120.0 km" in warning


def test_workflow_transitions() -> None:
    assert domain.check_transition("draft", "report") == domain.Status.REPORTED
    assert domain.check_transition("reported", "validate") == domain.Status.VALIDATED
    assert domain.check_transition("validated", "close") == domain.Status.CLOSED
    assert domain.check_transition("reported", "dismiss", "duplicate") == domain.Status.DISMISSED
    with pytest.raises(RuleError, match="say why"):
        domain.check_transition("reported", "dismiss", " ")
    with pytest.raises(RuleError, match="closed"):
        domain.check_transition("closed", "validate")
    with pytest.raises(RuleError):
        domain.check_transition("draft", "validate")
    with pytest.raises(RuleError, match="unknown action"):
        domain.check_transition("draft", "publish")


def test_draft_flag_after_24_hours() -> None:
    assert not domain.draft_overdue("draft", NOW - timedelta(hours=23), NOW)
    assert domain.draft_overdue("draft", NOW - timedelta(hours=25), NOW)
    assert not domain.draft_overdue("reported", NOW - timedelta(hours=25), NOW)


@pytest.mark.parametrize(
    ("name", "data", "media_type"),
    [
        ("photo.jpg", b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        ("photo.JPEG", b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        ("map.png", b"\x89PNG\r\n\x1a\nrest", "image/png"),
        ("pic.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        ("report.pdf", b"%PDF-1.7\n", "application/pdf"),
    ],
)
def test_attachments_accepted_by_content(name: str, data: bytes, media_type: str) -> None:
    assert domain.check_attachment(name, data) == (name, media_type)


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("photo.png", b"MZ\x90\x00", "not a JPEG"),
        ("evil.html", b"<html><script>", "not a JPEG"),
        ("photo.png", b"%PDF-1.4", "disguised"),
        ("invoice.pdf.exe", b"%PDF-1.4", "disguised"),
        ("empty.png", b"", "empty"),
        ("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "at most"),
    ],
)
def test_disguised_oversized_or_empty_attachments_are_refused(name: str, data: bytes, words: str) -> None:
    with pytest.raises(RuleError, match=words):
        domain.check_attachment(name, data, max_bytes=64)


def test_attachment_names_lose_their_paths() -> None:
    assert domain.check_attachment("../../etc/x.pdf", b"%PDF-1")[0] == "x.pdf"
    assert domain.check_attachment("C:\\temp\\scan.pdf", b"%PDF-1")[0] == "scan.pdf"


def test_notable_rule() -> None:
    assert domain.notable("high", {})
    assert domain.notable("low", {"civilian_injured": 1})
    assert not domain.notable("medium", {})


def test_shared_content_keeps_writing_times_with_plus_zero_offset() -> None:
    # The content of every version is hashed and signed; its time text must stay byte for byte as released.
    assert content_time(datetime(2026, 11, 23, 15, 15, tzinfo=timezone(timedelta(hours=5)))) == (
        "2026-11-23T10:15:00+00:00"
    )
    assert content_time(None) is None


@pytest.mark.parametrize(
    "occurred_at",
    [
        datetime(1899, 12, 31, 23, 0, tzinfo=UTC),
        datetime(26, 11, 23, 8, 0, tzinfo=UTC),  # 0026 for 2026
        datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=5))),  # astimezone(UTC) would overflow
        datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),  # and here too
    ],
)
def test_occurrence_times_before_1900_or_far_ahead_are_refused(occurred_at: datetime) -> None:
    """Issue 15, hole 11: a year before 1900 is a typo, not an incident; and neither end may overflow."""
    with pytest.raises(RuleError) as refused:
        check(occurred_at=occurred_at)
    assert refused.value.field == "occurred_at"
