"""``sarhad incidents import FILE.csv`` and ``sarhad incidents list``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sarhad.accounts.actors import SystemActor
from sarhad.cli import DataDir, console, fail, open_node
from sarhad.incidents import bulk
from sarhad.incidents.reading import MAX_LIST, IncidentFilter, list_incidents


def register(app: typer.Typer) -> None:
    incidents = typer.Typer(help="Incident reports.", no_args_is_help=True)
    app.add_typer(incidents, name="incidents")

    @incidents.command("import")
    def import_(
        file: Annotated[Path, typer.Argument(help="A CSV file (see docs/incidents.md for the columns).")],
        data_dir: DataDir,
        good_rows_only: Annotated[
            bool, typer.Option("--good-rows-only", help="Write the valid rows even if some rows are refused.")
        ] = False,
        confirm_far: Annotated[
            bool, typer.Option("--confirm-far", help="Accept points more than 50 km from the border.")
        ] = False,
        actor: Annotated[str, typer.Option(help="The name recorded as the author.")] = "cli",
    ) -> None:
        """Import incidents from CSV: all or nothing unless --good-rows-only; errors by line number."""
        if not file.is_file():
            raise fail(f"{file} is not a file")
        node = open_node(data_dir)
        with file.open("rb") as raw:
            total = max(sum(1 for _ in raw) - 1, 0)
        started = time.perf_counter()
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        try:
            with Progress(*columns, console=console, transient=False) as progress:
                task = progress.add_task("importing", total=total)
                with file.open(encoding="utf-8-sig", newline="") as lines, node.transaction() as session:
                    report = bulk.import_csv(
                        session,
                        node,
                        SystemActor(actor),
                        lines,
                        source=file.name,
                        partial=good_rows_only,
                        confirm_far=confirm_far,
                        progress=lambda n: progress.advance(task, n),
                    )
        except bulk.ImportFileError as exc:
            raise fail(f"{file}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise fail(f"{file} is not UTF-8 text: {exc}") from exc
        finally:
            node.dispose()
        elapsed = time.perf_counter() - started
        for error in report.errors:
            console.print(f"[red]{error}[/]")
        if report.error_count > len(report.errors):
            console.print(f"[red]… and {report.error_count - len(report.errors)} more errors[/]")
        rate = report.rows / elapsed if elapsed > 0 else 0.0
        if report.error_count and not good_rows_only:
            raise fail(
                f"{report.error_count} of {report.rows} rows refused; nothing was imported "
                "(fix them, or use --good-rows-only to import the valid rows)"
            )
        console.print(
            f"[green]imported {report.imported} of {report.rows} rows[/] in {elapsed:.1f} s ({rate:,.0f} rows/s)"
            + (f"; {report.error_count} refused" if report.error_count else "")
        )

    @incidents.command("list")
    def list_(
        data_dir: DataDir,
        days: Annotated[int, typer.Option(min=1, help="Occurred in the last N days.")] = 30,
        origin: Annotated[str | None, typer.Option(help="Only from this party.")] = None,
        limit: Annotated[int, typer.Option(min=1, max=MAX_LIST)] = 50,
    ) -> None:
        """List incidents, most recent occurrence first."""
        from datetime import timedelta

        node = open_node(data_dir)
        flt = IncidentFilter(
            since=node.clock.now() - timedelta(days=days),
            origin=origin.upper() if origin else None,
            limit=limit,
        )
        with node.sessions() as session:
            rows = list_incidents(session, node, SystemActor("cli"), flt)
        table = Table("origin", "id", "type", "status", "occurred (UTC)", "section", "side", "impact")
        for i in rows:
            table.add_row(
                i.origin,
                i.id,
                i.type + (" [exercise]" if i.exercise else ""),
                i.status,
                i.occurred_at.strftime("%Y-%m-%d %H:%M"),
                i.section_id or "",
                i.side or "",
                i.impact_level,
            )
        console.print(table)
        node.dispose()
