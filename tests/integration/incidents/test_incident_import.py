"""``sarhad incidents import FILE.csv``: row errors by line number, all or nothing, --good-rows-only, and the
fast bulk path storing the same facts (side, section, hash) as the one-by-one path."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer
from incident_helpers import count, seed_border
from sqlalchemy import select
from typer.testing import CliRunner, Result

from sarhad.accounts.actors import SystemActor
from sarhad.core.node import Node
from sarhad.exchange.release import content_hash
from sarhad.incidents import cli as incidents_cli
from sarhad.incidents import domain, locate, versions, writing
from sarhad.incidents.models import Incident, IncidentVersion

HEADER = (
    "type,occurred_at,lat,lon,description,impact_level,seizures,casualties,persons_apprehended,exercise\n"
)


def run(*args: str) -> Result:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """sarhad (incident commands only)."""

    incidents_cli.register(app)
    return CliRunner().invoke(app, ["incidents", *args])


def output(result: Result) -> str:
    return " ".join(result.output.split())


def write(tmp_path: Path, node: Node, rows: list[str]) -> Path:
    when = (node.clock.now() - timedelta(days=1)).isoformat(timespec="seconds")
    path = tmp_path / "incidents.csv"
    path.write_text(HEADER + "".join(r.replace("WHEN", when) + "\n" for r in rows), encoding="utf-8")
    return path


GOOD = [
    'drug_smuggling,WHEN,28.95,61.70,"Hashish, 120 kg",medium,hashish:120:kg,,2,yes',
    "fuel_smuggling,WHEN,26.11,61.85,Diesel near Mand,low,diesel:800:l|petrol:0.5:l,security_injured=1,0,no",
]
BAD = [
    "alien_landing,WHEN,28.95,61.70,x,low,,,0,no",
    "drug_smuggling,WHEN,95,61.70,x,low,,,0,no",
    "drug_smuggling,WHEN,28.95,61.70,x,low,opium:-3:kg,,0,no",
    "drug_smuggling,2999-01-01T00:00:00+00:00,28.95,61.70,x,low,,,0,no",
    "drug_smuggling,WHEN,33.7,73.1,far away,low,,,0,no",
]


def test_import_all_good_rows_places_them_like_the_api(node: Node, node_dir: Path, tmp_path: Path) -> None:
    seed_border(node)
    result = run("import", str(write(tmp_path, node, GOOD)), "--data-dir", str(node_dir))
    assert result.exit_code == 0, result.output
    assert "imported 2 of 2 rows" in output(result)
    with node.sessions() as session:
        rows = {i.description: i for i in session.scalars(select(Incident))}
        assert (rows["Hashish, 120 kg"].side, rows["Hashish, 120 kg"].section_id) == ("PK", "S5")
        assert rows["Hashish, 120 kg"].exercise is True
        assert rows["Diesel near Mand"].casualties == {"security_injured": 1}
        for incident in rows.values():
            where = locate.place_of(session, incident.lat, incident.lon)
            assert (incident.side, incident.section_id) == (where.side, where.section_id)
            # version 1 is the row itself until the first change; its hash is the exchange's content hash
            [first] = versions.history(session, incident)
            assert (first["version"], first["change"]) == (1, "import")
            assert first["content_hash"] == content_hash(domain.snapshot(incident)) == incident.content_hash
    assert count(node, IncidentVersion) == 0


def test_first_change_of_an_imported_incident_keeps_version_1_in_the_history(
    node: Node, node_dir: Path, tmp_path: Path
) -> None:
    seed_border(node)
    assert run("import", str(write(tmp_path, node, GOOD[:1])), "--data-dir", str(node_dir)).exit_code == 0
    with node.sessions() as session:
        incident_id = session.scalars(select(Incident.id)).one()
    with node.transaction() as session:
        writing.transition_incident(session, node, SystemActor(), incident_id, "validate")
    with node.sessions() as session:
        incident = session.get(Incident, (node.party, incident_id))
        assert incident is not None
        history = versions.history(session, incident)
        assert [(h["version"], h["change"]) for h in history] == [(2, "validate"), (1, "import")]
        assert history[1]["content"]["status"] == "reported" and history[0]["changed"] == ["status"]


def test_one_bad_row_and_nothing_is_imported_with_errors_by_line(
    node: Node, node_dir: Path, tmp_path: Path
) -> None:
    seed_border(node)
    result = run("import", str(write(tmp_path, node, GOOD + BAD)), "--data-dir", str(node_dir))
    assert result.exit_code == 1
    text = output(result)
    for line, words in ((4, "type"), (5, "lat"), (6, "negative"), (7, "future"), (8, "km from the border")):
        assert f"line {line}:" in text and words in text, (line, words, text)
    assert "nothing was imported" in text
    assert count(node, Incident) == 0 and count(node, IncidentVersion) == 0


def test_good_rows_only_imports_the_valid_rows(node: Node, node_dir: Path, tmp_path: Path) -> None:
    seed_border(node)
    path = write(tmp_path, node, GOOD + BAD)
    result = run("import", str(path), "--data-dir", str(node_dir), "--good-rows-only")
    assert result.exit_code == 0, result.output
    assert "imported 2 of 7 rows" in output(result) and "5 refused" in output(result)
    assert count(node, Incident) == 2


def test_far_rows_pass_with_confirm_far(node: Node, node_dir: Path, tmp_path: Path) -> None:
    seed_border(node)
    path = write(tmp_path, node, ["drug_smuggling,WHEN,33.7,73.1,far away,low,,,0,no"])
    result = run("import", str(path), "--data-dir", str(node_dir), "--confirm-far")
    assert result.exit_code == 0, result.output
    assert count(node, Incident) == 1


def test_a_file_with_a_wrong_header_is_refused(node: Node, node_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("type,when,lat,lon,description\n", encoding="utf-8")
    result = run("import", str(path), "--data-dir", str(node_dir))
    assert result.exit_code == 1 and "missing column(s): occurred_at" in output(result)
