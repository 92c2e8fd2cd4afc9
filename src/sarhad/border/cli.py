"""``sarhad border …``: import an official border line, seed the reference scenario, locate, fence progress."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sarhad.accounts.actors import SystemActor
from sarhad.border import line_import, queries, seeding
from sarhad.cli import DataDir, console, err_console, fail, open_node
from sarhad.core.errors import SarhadError

CLI = SystemActor("cli")  # the command line acts as the operator of the node: every permission


def _cut_points(text: str | None) -> list[float] | None:
    if text is None:
        return None
    if not text.strip():
        return []
    try:
        return [float(part) for part in text.split(",")]
    except ValueError as exc:
        raise fail(f"--cut-km must be comma-separated kilometres, e.g. 60,255,385; got {text!r}") from exc


def register(app: typer.Typer) -> None:
    border = typer.Typer(help="Border line, sections, crossings, markets and fence.", no_args_is_help=True)
    app.add_typer(border, name="border")

    @border.command("import")
    def import_line(
        file: Annotated[
            Path,
            typer.Argument(
                help="GeoJSON file: a LineString or MultiLineString (Geometry, Feature or FeatureCollection)."
            ),
        ],
        data_dir: DataDir,
        line: Annotated[
            str | None,
            typer.Option("--line", help="Id of the border line to replace (default: the only one)."),
        ] = None,
        left_party: Annotated[
            str | None, typer.Option(help="Party on the left, walking from the first to the last position.")
        ] = None,
        right_party: Annotated[str | None, typer.Option(help="Party on the right.")] = None,
        reverse: Annotated[bool, typer.Option(help="Flip the line's direction before importing.")] = False,
        cut_km: Annotated[
            str | None,
            typer.Option(
                help="Section limits in km from the start, e.g. 60,255,385 (default: keep the current limits in place)."
            ),
        ] = None,
    ) -> None:
        """Import an official border line. Nothing is written unless the whole import succeeds."""
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"cannot read {file}: {exc}") from exc
        node = open_node(data_dir)
        try:
            with node.transaction() as session:
                report = line_import.import_border_line(
                    session,
                    node.clock,
                    CLI,
                    text,
                    source_name=file.name,
                    line_id=line,
                    left_party=left_party.upper() if left_party else None,
                    right_party=right_party.upper() if right_party else None,
                    reverse=reverse,
                    cut_points_km=_cut_points(cut_km),
                )
        except SarhadError as exc:
            raise fail(f"{exc.message}\nnothing was imported") from exc
        finally:
            node.dispose()
        console.print(
            f"[green]border line {report.line_id} {'created' if report.created else 'replaced'}[/] from {file.name}: "
            f"{report.length_km:.3f} km (geodesic){', reversed' if report.reversed else ''}"
        )
        table = Table("section", "from km", "to km")
        for section_id, start, end in report.sections:
            table.add_row(section_id, f"{start:.3f}", f"{end:.3f}")
        console.print(table)
        for warning in report.warnings:
            err_console.print(f"[yellow]warning:[/] {warning}")

    @border.command("seed")
    def seed(
        data_dir: DataDir,
        reference: Annotated[
            Path | None,
            typer.Option(help="Reference scenario JSON (default: the built-in Pakistan–Iran one)."),
        ] = None,
    ) -> None:
        """Load the reference scenario (idempotent: a second run changes nothing)."""
        try:
            data = (
                json.loads(reference.read_text(encoding="utf-8")) if reference else seeding.reference_data()
            )
        except (OSError, ValueError) as exc:
            raise fail(f"cannot read {reference}: {exc}") from exc
        except RecursionError as exc:
            raise fail(f"cannot read {reference}: the JSON is nested too deeply") from exc
        node = open_node(data_dir)
        try:
            with node.transaction() as session:
                report = seeding.seed_reference_scenario(session, node, CLI, data)
        except SarhadError as exc:
            raise fail(exc.message) from exc
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:  # a wrong shape
            raise fail(
                f"{reference}: not a usable reference scenario ({type(exc).__name__}: {exc}); nothing was imported"
            ) from exc
        finally:
            node.dispose()
        table = Table("kind", "created", "updated", "unchanged")
        for kind, counts in report.as_dict().items():
            table.add_row(kind, str(counts["created"]), str(counts["updated"]), str(counts["unchanged"]))
        console.print(table)

    @border.command("locate")
    def locate(
        lat: Annotated[float, typer.Argument(help="Latitude (WGS84).")],
        lon: Annotated[float, typer.Argument(help="Longitude (WGS84).")],
        data_dir: DataDir,
    ) -> None:
        """Which side of the border a point is on, its nearest section and distance to the line."""
        node = open_node(data_dir)
        try:
            with node.sessions() as session:
                where = queries.locate(session, CLI, lon, lat)
        except SarhadError as exc:
            raise fail(exc.message) from exc
        finally:
            node.dispose()
        console.print_json(data=where.as_dict())

    @border.command("progress")
    def progress(data_dir: DataDir) -> None:
        """Fence progress per section and side (geodesic km)."""
        node = open_node(data_dir)
        try:
            with node.sessions() as session:
                report = queries.fence_progress(session, CLI)
        finally:
            node.dispose()
        table = Table("section", "party", "section km", "complete", "under constr.", "planned", "complete %")
        for row in [*report.rows, *report.totals]:
            d = row.as_dict()
            table.add_row(
                d["section"] or "TOTAL",
                d["party"],
                f"{d['section_km']:.1f}",
                f"{d['complete_km']:.1f}",
                f"{d['under_construction_km']:.1f}",
                f"{d['planned_km']:.1f}",
                f"{d['complete_pct']:.1f}",
            )
        console.print(table)
