"""``sarhad bulletin list``: the node's own and received bulletins, with their delivery state."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from sarhad.bulletins import services
from sarhad.cli import DataDir, console, open_node


def register(app: typer.Typer) -> None:
    bulletins = typer.Typer(help="Liaison bulletins.", no_args_is_help=True)
    app.add_typer(bulletins, name="bulletin")

    @bulletins.command("list")
    def list_(
        data_dir: DataDir,
        origin: Annotated[str | None, typer.Option(help="Only from this party, e.g. IR.")] = None,
        text: Annotated[str | None, typer.Option("--text", "-q", help="Text in title or body.")] = None,
        withdrawn: Annotated[bool, typer.Option(help="Include our own withdrawn bulletins.")] = False,
        limit: Annotated[int, typer.Option(min=1, max=services.MAX_LIST)] = 50,
    ) -> None:
        """List bulletins, newest change first."""
        node = open_node(data_dir)
        flt = services.BulletinFilter(
            origin=origin.upper() if origin else None, text=text, include_withdrawn=withdrawn, limit=limit
        )
        with node.sessions() as session:
            rows = services.list_bulletins(session, node, flt)
            summary = services.delivery_summary(session, rows)
        table = Table("origin", "id", "v", "tlp", "title", "updated", "delivery")
        for b in rows:
            table.add_row(
                b.origin,
                b.id,
                str(b.version),
                b.tlp,
                b.title + (" (withdrawn)" if b.withdrawn_at else ""),
                b.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
                " ".join(f"{d.party}:{d.state}" for d in summary.get(b.id, [])),
            )
        console.print(table)
