"""``sarhad audit``: read and filter the audit log from the command line."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from sarhad.accounts.actors import SystemActor
from sarhad.audit.services import AuditFilter, entries_as_csv, entry_as_dict, list_entries
from sarhad.cli import DataDir, console, open_node


def register(app: typer.Typer) -> None:
    @app.command("audit")
    def audit(
        data_dir: DataDir,
        actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
        action: Annotated[str | None, typer.Option(help="Actions starting with this, e.g. auth.")] = None,
        outcome: Annotated[str | None, typer.Option(help="ok, denied or failed.")] = None,
        record: Annotated[str | None, typer.Option(help="Only entries about this record id.")] = None,
        since: Annotated[datetime | None, typer.Option(help="From this UTC time.")] = None,
        until: Annotated[datetime | None, typer.Option(help="Before this UTC time.")] = None,
        limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
        output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    ) -> None:
        """Show audit entries, newest first."""
        from datetime import UTC

        node = open_node(data_dir)
        flt = AuditFilter(
            actor=actor,
            action=action,
            outcome=outcome,
            record_id=record,
            since=since.replace(tzinfo=UTC) if since and since.tzinfo is None else since,
            until=until.replace(tzinfo=UTC) if until and until.tzinfo is None else until,
            limit=limit,
        )
        with node.sessions() as session:
            entries = list_entries(session, SystemActor("cli"), flt)
        if output == "csv":
            typer.echo(entries_as_csv(entries), nl=False)
        elif output == "json":
            typer.echo(json.dumps([entry_as_dict(e) for e in entries], ensure_ascii=False, indent=1))
        else:
            table = Table("#", "at (UTC)", "actor", "action", "outcome", "record", "from")
            for e in entries:
                table.add_row(
                    str(e.id),
                    e.at.strftime("%Y-%m-%d %H:%M:%S"),
                    e.actor,
                    e.action,
                    e.outcome,
                    f"{e.record_kind or ''} {e.record_id or ''}".strip(),
                    e.client_ip,
                )
            console.print(table)
