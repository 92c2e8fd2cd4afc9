"""Issue 15, hole 11: the command line's imports end in a clear message and exit status 1, never a traceback,
and write nothing: a 2 MB CSV value, a NUL in a CSV value, GeoJSON nested thousands deep."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from sarhad.accounts.actors import SystemActor
from sarhad.border import cli as border_cli
from sarhad.border import seeding
from sarhad.border.models import BorderLine
from sarhad.core.node import Node
from sarhad.incidents import cli as incidents_cli
from sarhad.incidents.models import Incident

HEADER = "type,occurred_at,lat,lon,description,impact_level\n"


def run(*args: str) -> Result:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """sarhad (import commands only)."""

    incidents_cli.register(app)
    border_cli.register(app)
    return CliRunner().invoke(app, list(args))


def said(result: Result) -> str:
    return " ".join(result.output.split())


def ended_with_a_message(result: Result) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not an exception escaping
    assert "Traceback" not in result.output
    assert "error:" in result.output


def incidents(node: Node) -> int:
    with node.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Incident)) or 0)


@pytest.fixture
def seeded(node: Node) -> Node:
    with node.transaction() as session:
        seeding.seed_reference_scenario(session, node, SystemActor("seed"), seeding.reference_data())
    return node


def csv_file(node: Node, tmp_path: Path, description: str) -> Path:
    when = (node.clock.now() - timedelta(days=1)).isoformat(timespec="seconds")
    path = tmp_path / "incidents.csv"
    path.write_text(
        HEADER
        + f"drug_smuggling,{when},28.95,61.70,Hashish in a pickup,low\n"
        + f'drug_smuggling,{when},28.95,61.70,"{description}",low\n',
        encoding="utf-8",
    )
    return path


def test_a_2_mb_csv_value_ends_in_a_message_naming_the_line(
    seeded: Node, node_dir: Path, tmp_path: Path
) -> None:
    result = run(
        "incidents", "import", str(csv_file(seeded, tmp_path, "x" * 2_000_000)), "--data-dir", str(node_dir)
    )
    ended_with_a_message(result)
    assert "line 3: a value is longer than" in said(result)
    assert incidents(seeded) == 0


def test_a_nul_in_a_csv_value_is_a_row_error_naming_the_column(
    seeded: Node, node_dir: Path, tmp_path: Path
) -> None:
    result = run(
        "incidents", "import", str(csv_file(seeded, tmp_path, "a\x00b")), "--data-dir", str(node_dir)
    )
    ended_with_a_message(result)
    assert "line 3: description: text may not contain NUL" in said(result)
    assert incidents(seeded) == 0


@pytest.mark.parametrize(
    "document",
    [
        '{"type": "LineString", "coordinates": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[61, 29], [62, 30]]}, '
        '"properties": ' + '{"a": ' * 5_000 + "1" + "}" * 5_000 + "}",
    ],
    ids=["deep-coordinates", "deep-properties"],
)
def test_deeply_nested_geojson_ends_in_a_message(
    seeded: Node, node_dir: Path, tmp_path: Path, document: str
) -> None:
    with seeded.sessions() as session:
        before = session.scalars(select(BorderLine.geometry)).all()
    path = tmp_path / "line.geojson"
    path.write_text(document, encoding="utf-8")
    result = run("border", "import", str(path), "--data-dir", str(node_dir))
    ended_with_a_message(result)
    assert "nested too deeply" in said(result) and "nothing was imported" in said(result)
    with seeded.sessions() as session:
        assert session.scalars(select(BorderLine.geometry)).all() == before


@pytest.mark.parametrize(
    "document",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"border": {"geometry": 5}, "sections": "none"}',
        '["not", "a", "scenario"]',
    ],
    ids=["deep", "wrong-shape", "a-list"],
)
def test_a_broken_reference_scenario_ends_in_a_message(
    node: Node, node_dir: Path, tmp_path: Path, document: str
) -> None:
    path = tmp_path / "reference.json"
    path.write_text(document, encoding="utf-8")
    result = run("border", "seed", "--reference", str(path), "--data-dir", str(node_dir))
    ended_with_a_message(result)
    with node.sessions() as session:
        assert session.scalar(select(func.count()).select_from(BorderLine)) == 0
