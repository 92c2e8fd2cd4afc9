"""The STIX import's summary of a bundle's other objects, in words (pure: no database)."""

from __future__ import annotations

from sarhad.intel.stix_import import summary_of


def test_objects_of_other_types_are_counted_not_dropped_silently() -> None:
    objects = [
        {"type": "report", "id": "report--1", "name": "R"},
        {"type": "malware", "id": "malware--1", "name": "M1"},
        {"type": "malware", "id": "malware--2", "name": "M2"},
        {"type": "attack-pattern", "id": "attack-pattern--1", "name": "A"},
        {"type": "marking-definition", "id": "marking-definition--1"},
    ]
    assert summary_of(objects, objects[0]) == "Other objects not summarised: 1 attack-pattern, 2 malware."


def test_a_relationship_to_an_object_outside_the_bundle_names_its_id() -> None:
    objects = [
        {"type": "threat-actor", "id": "threat-actor--1", "name": "Cell"},
        {
            "type": "relationship",
            "id": "relationship--1",
            "relationship_type": "located-at",
            "source_ref": "threat-actor--1",
            "target_ref": "location--9",
        },
    ]
    summary = summary_of(objects, {})
    assert "Threat actors:\n- Cell" in summary
    assert "Relationships:\n- Cell located at location--9" in summary
