"""Seeding the reference scenario into a migrated database: what it loads, and that it is idempotent."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from border_support import snapshot
from sqlalchemy import select

from sarhad.accounts.actors import SystemActor
from sarhad.accounts.models import Position
from sarhad.audit.models import AuditEntry
from sarhad.border import domain, edits, queries, seeding
from sarhad.border.models import BorderLine, BorderSection, Crossing, CrossingSide, FenceSegment
from sarhad.border.schemas import CrossingPatch
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings

READER = SystemActor("reader")


def test_seeding_gives_at_least_six_consecutive_sections_covering_the_whole_line(seeded: Node) -> None:
    with seeded.sessions() as session:
        line = session.scalars(select(BorderLine)).one()
        sections = queries.list_sections(session, READER)
    assert len(sections) >= 6
    assert sections[0].start_m == 0.0
    assert sections[-1].end_m == pytest.approx(line.length_m, abs=0.01)
    for before, after in itertools.pairwise(sections):
        assert after.start_m == before.end_m  # consecutive: no gap, no overlap
        assert before.geometry["coordinates"][-1] == after.geometry["coordinates"][0]
    measured = sum(domain.line_length_m(domain.as_line(s.geometry)) for s in sections)
    assert measured == pytest.approx(line.length_m, rel=1e-6)  # geodesic lengths add up


def test_taftan_mirjaveh_is_seeded_as_an_open_road_and_rail_crossing_with_a_side_each(seeded: Node) -> None:
    with seeded.sessions() as session:
        crossing = session.get(Crossing, "taftan-mirjaveh")
        assert crossing is not None
        sides = {
            s.party: s
            for s in session.scalars(select(CrossingSide).where(CrossingSide.crossing_id == crossing.id))
        }
    assert crossing.status == "open"
    assert crossing.modes == ["road", "rail"]
    assert crossing.hours["always_open"] is True
    assert crossing.section_id == "S5"
    assert sides["PK"].names["en"] == "Taftan" and sides["IR"].names["en"] == "Mirjaveh"
    assert sides["PK"].geometry == {"type": "Point", "coordinates": [61.5844, 28.948]}
    assert sides["IR"].geometry == {"type": "Point", "coordinates": [61.4503, 29.0147]}


def test_fence_segment_lengths_are_geodesic_along_their_stretch_of_the_line(seeded: Node) -> None:
    with seeded.sessions() as session:
        sections = {s.id: s for s in queries.list_sections(session, READER)}
        segments = list(session.scalars(select(FenceSegment)))
    assert segments
    for segment in segments:
        section = sections[segment.section_id]
        expected = (segment.end_fraction - segment.start_fraction) * section.length_m
        assert segment.length_m == pytest.approx(expected, abs=0.5), segment.id
        assert segment.length_m == pytest.approx(
            domain.line_length_m(domain.as_line(segment.geometry)), abs=0.01
        )


def test_seeding_twice_changes_nothing(seeded: Node) -> None:
    with seeded.sessions() as session:
        before = snapshot(session)
    with seeded.transaction() as session:
        report = seeding.seed_reference_scenario(
            session, seeded, SystemActor("seed"), seeding.reference_data()
        )
    with seeded.sessions() as session:
        after = snapshot(session)
    assert not report.changed
    assert after == before  # not one row, position or audit entry more or different


def test_seeding_again_keeps_what_users_changed(seeded: Node) -> None:
    with seeded.transaction() as session:
        edits.update_crossing(
            session, seeded, SystemActor("editor"), "taftan-mirjaveh", CrossingPatch(status="closed")
        )
    with seeded.transaction() as session:
        seeding.seed_reference_scenario(session, seeded, SystemActor("seed"), seeding.reference_data())
    with seeded.sessions() as session:
        assert queries.access_crossing(session, READER, "taftan-mirjaveh").status == "closed"


def test_the_first_seed_is_audited_once(seeded: Node) -> None:
    with seeded.sessions() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "border.seed")).all()
    assert len(entries) == 1
    assert entries[0].details["sections"]["created"] >= 6


def test_positions_are_seeded_for_the_nodes_own_party_only(seeded: Node) -> None:
    with seeded.sessions() as session:
        ids = {p.id for p in session.scalars(select(Position))}
        commander = session.get(Position, "PK-S1-CDR")
        assert commander is not None
    assert {"PK-MOI", "PK-S1-CDR", "PK-S6-CDR"} <= ids
    assert not any(i.startswith("IR-") for i in ids)
    assert commander.kind == "commander" and commander.section_id == "S1" and commander.parent_id == "PK-MOI"
    assert set(commander.names) == {"en", "ur", "fa"}  # names in every script


def test_an_iran_node_gets_iran_positions_and_the_same_shared_geography(
    make_node_dir: Callable[..., Path],
) -> None:
    data_dir = make_node_dir("IR", "Iran")
    node = build_node(load_settings(data_dir))
    try:
        with node.transaction() as session:
            seeding.seed_reference_scenario(session, node, SystemActor("seed"), seeding.reference_data())
        with node.sessions() as session:
            ids = {p.id for p in session.scalars(select(Position))}
            sections = session.scalars(select(BorderSection)).all()
        assert {"IR-MOI", "IR-S1-CDR", "IR-S6-CDR"} <= ids
        assert not any(i.startswith("PK-") for i in ids)
        assert len(sections) >= 6
    finally:
        node.dispose()
