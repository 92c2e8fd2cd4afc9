"""``sarhad border import``: an official line replaces the demo line; bad input is refused and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import shapely
import typer
from border_support import snapshot
from shapely.geometry import LineString, Point
from sqlalchemy import select
from typer.testing import CliRunner, Result

from sarhad.accounts.actors import SystemActor
from sarhad.audit.models import AuditEntry
from sarhad.border import cli as border_cli
from sarhad.border import geo, queries, seeding
from sarhad.border.models import BorderLine
from sarhad.core.node import Node

READER = SystemActor("reader")


def said(result: Result) -> str:
    """What the command printed, with Rich's line wrapping undone."""
    return " ".join(result.output.split())


def run(*args: str) -> Result:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """sarhad (border commands only)."""

    border_cli.register(app)
    return CliRunner().invoke(app, list(args))


def _seed(node: Node) -> None:
    with node.transaction() as session:
        seeding.seed_reference_scenario(session, node, SystemActor("seed"), seeding.reference_data())


def _reference_coordinates() -> list[list[float]]:
    coords: list[list[float]] = seeding.reference_data()["border"]["geometry"]["coordinates"]
    return coords


def _write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


MALFORMED = {
    "not JSON": ('{"type": "LineString", "coordinates": [[61.5, 25.1], [61.6, 25.3]', "invalid JSON"),
    "a point, not a line": ({"type": "Point", "coordinates": [61.5, 25.1]}, "no line geometry"),
    "one position": ({"type": "LineString", "coordinates": [[61.5, 25.1]]}, "a line needs at least 2"),
    "latitude out of range": (
        {"type": "LineString", "coordinates": [[61.5, 25.1], [61.6, 95.0]]},
        "outside [-90, 90]",
    ),
    "text for a number": (
        {"type": "LineString", "coordinates": [[61.5, 25.1], ["61.6", 25.3]]},
        "is not a number",
    ),
    "a line that crosses itself": (
        {"type": "LineString", "coordinates": [[61.0, 25.0], [62.0, 26.0], [62.0, 25.0], [61.0, 26.0]]},
        "crosses itself",
    ),
    "an empty collection": ({"type": "FeatureCollection", "features": []}, "no features"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_geojson_is_refused_with_the_reason_and_nothing_is_written(
    node: Node, node_dir: Path, tmp_path: Path, case: str
) -> None:
    _seed(node)
    content, reason = MALFORMED[case]
    with node.sessions() as session:
        before = snapshot(session)
    result = run(
        "border", "import", str(_write(tmp_path, "bad.geojson", content)), "--data-dir", str(node_dir)
    )
    assert result.exit_code == 1
    assert reason in said(result)
    assert "nothing was imported" in said(result)
    with node.sessions() as session:
        assert snapshot(session) == before  # not one row changed, not one audit entry added


def test_a_refusal_after_parsing_also_writes_nothing(node: Node, node_dir: Path, tmp_path: Path) -> None:
    _seed(node)
    good = _write(
        tmp_path, "official.geojson", {"type": "LineString", "coordinates": _reference_coordinates()}
    )
    with node.sessions() as session:
        before = snapshot(session)
    result = run("border", "import", str(good), "--data-dir", str(node_dir), "--cut-km", "100,200")
    assert result.exit_code == 1
    assert "has 6 sections, so give 5 cut points (got 2)" in said(result)
    with node.sessions() as session:
        assert snapshot(session) == before


def test_a_denser_official_line_replaces_the_demo_line_and_sections_stay_in_place(
    node: Node, node_dir: Path, tmp_path: Path
) -> None:
    _seed(node)
    with node.sessions() as session:
        old_sections = {s.id: (s.start_m, s.end_m) for s in queries.list_sections(session, READER)}
    dense = shapely.segmentize(LineString(_reference_coordinates()), 0.02)  # ~2 km steps, same course
    official = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"kind": "border"},
                "geometry": json.loads(shapely.to_geojson(dense)),
            },
            {
                "type": "Feature",
                "properties": {"kind": "pillar"},
                "geometry": {"type": "Point", "coordinates": [61.5, 25.2]},
            },
        ],
    }
    result = run(
        "border", "import", str(_write(tmp_path, "official.geojson", official)), "--data-dir", str(node_dir)
    )
    assert result.exit_code == 0, result.output
    assert "border line PK-IR replaced" in said(result)
    with node.sessions() as session:
        line = session.get(BorderLine, "PK-IR")
        assert line is not None
        sections = queries.list_sections(session, READER)
        segments = queries.list_fence_segments(session, READER)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "border.import")).one()
        taftan = queries.locate(session, READER, 61.5844, 28.948)
    assert line.source == "import:official.geojson"
    assert len(line.geometry["coordinates"]) > 100
    assert line.length_m == pytest.approx(geo.geodesic_length_m(dense), rel=1e-6)
    assert [s.id for s in sections] == list(old_sections)
    for section in sections:
        old_start, old_end = old_sections[section.id]
        assert section.start_m == pytest.approx(old_start, abs=500)  # the limit is still at the same place
        assert section.end_m == pytest.approx(old_end, abs=500)
    by_id = {s.id: s for s in sections}
    for segment in segments:  # the fence is re-measured on the new line
        section = by_id[segment.section_id]
        assert segment.length_m == pytest.approx(
            (segment.end_fraction - segment.start_fraction) * section.length_m, abs=0.5
        )
    assert entry.details["source"] == "official.geojson" and entry.actor == "cli"
    assert taftan.side == "PK"

    # and the seed, run again, does not put the demo line back
    _seed(node)
    with node.sessions() as session:
        line = session.get(BorderLine, "PK-IR")
        assert line is not None
        assert line.source == "import:official.geojson"


def test_a_line_running_the_other_way_is_refused_unless_reversed(
    node: Node, node_dir: Path, tmp_path: Path
) -> None:
    _seed(node)
    backwards = _write(
        tmp_path, "backwards.geojson", {"type": "LineString", "coordinates": _reference_coordinates()[::-1]}
    )
    with node.sessions() as session:
        before = snapshot(session)
    refused = run("border", "import", str(backwards), "--data-dir", str(node_dir))
    assert refused.exit_code == 1
    assert "runs the opposite way" in said(refused) and "--reverse" in said(refused)
    with node.sessions() as session:
        assert snapshot(session) == before
    accepted = run("border", "import", str(backwards), "--data-dir", str(node_dir), "--reverse")
    assert accepted.exit_code == 0, accepted.output
    with node.sessions() as session:
        assert queries.locate(session, READER, 61.5844, 28.948).side == "PK"
        assert queries.locate(session, READER, 61.4503, 29.0147).side == "IR"


def test_a_first_line_needs_its_parties_and_gets_sections_from_cut_points(
    node_dir: Path, node: Node, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "line.geojson",
        {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "LineString", "coordinates": _reference_coordinates()},
        },
    )
    refused = run("border", "import", str(path), "--data-dir", str(node_dir))
    assert refused.exit_code == 1
    assert "give --left-party and --right-party" in said(refused)
    result = run(
        "border",
        "import",
        str(path),
        "--data-dir",
        str(node_dir),
        "--left-party",
        "IR",
        "--right-party",
        "PK",
        "--cut-km",
        "100,300",
    )
    assert result.exit_code == 0, result.output
    with node.sessions() as session:
        sections = queries.list_sections(session, READER)
        where = queries.locate(session, READER, 61.5844, 28.948)
    assert [s.id for s in sections] == ["IR-PK-S1", "IR-PK-S2", "IR-PK-S3"]
    assert sections[1].start_m == 100_000.0 and sections[2].start_m == 300_000.0
    assert (where.side, where.section_id) == ("PK", "IR-PK-S3")


def test_import_warns_about_places_that_fall_on_the_other_side(
    node: Node, node_dir: Path, tmp_path: Path
) -> None:
    _seed(node)
    coords = _reference_coordinates()
    # Move the line 0.2° east south of 29°N: Taftan (61.58°E) ends up west of it, i.e. on Iran's side.
    shifted = [[lon + 0.2, lat] if lat < 29.0 else [lon, lat] for lon, lat in coords]
    result = run(
        "border",
        "import",
        str(_write(tmp_path, "shifted.geojson", {"type": "LineString", "coordinates": shifted})),
        "--data-dir",
        str(node_dir),
    )
    assert result.exit_code == 0, result.output
    assert "warning: crossing taftan-mirjaveh (PK side) of PK is on the IR side of the new line" in said(
        result
    )
    assert geo.side_of_line(Point(61.5844, 28.948), LineString(shifted), "IR", "PK") == "IR"
