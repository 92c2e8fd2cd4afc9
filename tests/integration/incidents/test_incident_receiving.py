"""A received incident that breaks a rule, or claims this node's name, is refused (``RecordRefused``, which the
exchange quarantines with the refusal as its reason) and nothing of it is stored."""

from __future__ import annotations

from typing import Any

import pytest
from incident_helpers import count

from sarhad.core.errors import ErrorCode, RecordRefused
from sarhad.core.node import Node
from sarhad.exchange.registry import IncomingRecord
from sarhad.incidents import sharing
from sarhad.incidents.models import Incident


def record(origin: str, **changes: Any) -> IncomingRecord:
    content: dict[str, Any] = {
        "type": "drug_smuggling",
        "status": "reported",
        "status_reason": "",
        "occurred_at": "2026-11-23T10:00:00+00:00",
        "reported_at": "2026-11-23T10:30:00+00:00",
        "location": {"lat": 28.95, "lon": 61.7},
        "side": origin,
        "section": "S5",
        "distance_to_border_m": 1200.0,
        "description": "Hashish seized near Taftan.",
        "casualties": {},
        "seizures": [],
        "persons_apprehended": 0,
        "impact_level": "medium",
        "source_reliability": "B",
        "info_credibility": "2",
        "exercise": False,
        "follow_up_of": None,
        "attachments": [],
        "created_at": "2026-11-23T10:30:00+00:00",
        "updated_at": "2026-11-23T10:30:00+00:00",
        **changes,
    }
    return IncomingRecord(
        kind="incident",
        origin=origin,
        record_id="0193f1a2-0000-7000-8000-000000000001",
        version=1,
        op="upsert",
        handling="no_onward",
        tlp="amber",
        content=content,
        content_hash="0" * 64,
        link="IR->PK",
        seq=1,
        sent_at="2026-11-23T10:31:00Z",
    )


@pytest.mark.parametrize(
    ("origin", "changes", "words", "field", "code"),
    [
        # Broken content, whatever its origin: refused after the own-origin check, so PK's name comes first.
        ("PK", {"status": "lost"}, "claims to originate from PK", None, ErrorCode.NOT_ORIGINATOR),
        ("PK", {}, "claims to originate from PK", None, ErrorCode.NOT_ORIGINATOR),
        ("IR", {"impact_level": "catastrophic"}, "impact level 'catastrophic'", "impact_level", None),
        ("IR", {"status": "lost"}, "unknown incident status 'lost'", "status", None),
        ("IR", {"casualties": {"bystanders": 1}}, "unknown casualty category", "casualties.bystanders", None),
    ],
)
def test_a_received_incident_that_breaks_a_rule_is_refused_and_not_stored(
    pk: Node,
    origin: str,
    changes: dict[str, Any],
    words: str,
    field: str | None,
    code: ErrorCode | None,
) -> None:
    with pytest.raises(RecordRefused) as refused, pk.transaction() as session:
        sharing.apply_received(session, pk, record(origin, **changes))
    expected = code or ErrorCode.RECORD_REFUSED
    assert words in refused.value.message
    assert refused.value.code == expected
    assert refused.value.reason.startswith(f"refused ({expected.value}): ")
    assert refused.value.details.get("field") == field
    assert count(pk, Incident) == 0
