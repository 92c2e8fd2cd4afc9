"""The import's fast content hash equals the exchange's RFC 8785 content hash, for every float it may meet."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sarhad.exchange.release import content_hash
from sarhad.incidents.bulk import _fast_hash


def content(
    lat: float, lon: float, distance: float | None, quantities: list[float], text: str
) -> dict[str, Any]:
    return {
        "type": "drug_smuggling",
        "status": "reported",
        "status_reason": "",
        "occurred_at": "2026-11-23T10:00:00+00:00",
        "reported_at": None,
        "location": {"lat": lat, "lon": lon},
        "side": "PK",
        "section": "S5",
        "distance_to_border_m": distance,
        "description": text,
        "casualties": {"security_injured": 2},
        "seizures": [{"item": "opium", "quantity": q, "unit": "kg"} for q in quantities],
        "persons_apprehended": 3,
        "impact_level": "low",
        "source_reliability": "B",
        "info_credibility": "2",
        "exercise": True,
        "follow_up_of": None,
        "attachments": [],
        "created_at": "2026-11-23T10:00:00+00:00",
        "updated_at": "2026-11-23T10:00:00+00:00",
    }


@pytest.mark.parametrize(
    "quantity", [0.0, -0.0, 1.0, 120.0, 0.5, 0.1, 1e-4, 1.5e-5, 1e15, 1e16, 1e21, 2.0**53, 123456.789]
)
def test_fast_hash_matches_for_edge_values(quantity: float) -> None:
    c = content(28.95, 61.7, 10432.1, [quantity], "Hashish — حشیش\u200f")
    assert _fast_hash(c) == content_hash(c)


@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    distance=st.none() | st.floats(0, 2e7),
    quantities=st.lists(st.floats(0, 1e12), max_size=3),
    text=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
)
def test_fast_hash_matches_for_any_row(
    lat: float, lon: float, distance: float | None, quantities: list[float], text: str
) -> None:
    c = content(lat, lon, distance, quantities, text)
    assert _fast_hash(c) == content_hash(c)
