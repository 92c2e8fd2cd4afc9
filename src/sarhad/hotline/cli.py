"""``sarhad hotline …``: the report, channels and configuration from the command line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from sarhad.accounts.actors import SystemActor
from sarhad.cli import DataDir, console, fail, open_node
from sarhad.core.errors import SarhadError
from sarhad.hotline import configuration, reports


def _when(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise fail(f"--{name}: not a date or time: {value!r} (use YYYY-MM-DD or ISO 8601)") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def register(app: typer.Typer) -> None:
    """Add ``sarhad hotline …`` to the command line."""
    hotline = typer.Typer(help="The hotline between counterpart positions.", no_args_is_help=True)
    app.add_typer(hotline, name="hotline")

    @hotline.command("report")
    def report(
        data_dir: DataDir,
        start: Annotated[str, typer.Option("--from", help="From (YYYY-MM-DD or ISO 8601; UTC if no zone).")],
        end: Annotated[str, typer.Option("--to", help="To, exclusive (YYYY-MM-DD or ISO 8601).")],
        csv: Annotated[bool, typer.Option("--csv", help="Write CSV to standard output.")] = False,
    ) -> None:
        """Per channel and precedence: count, median and p90 time to delivery and to acknowledgement
        (seconds), escalations, unacknowledged."""
        since, until = _when(start, "from"), _when(end, "to")
        if until <= since:
            raise fail("--to must be after --from")
        node = open_node(data_dir)
        try:
            with node.sessions() as session:
                rows = reports.report(session, node, since, until)
        finally:
            node.dispose()
        if csv:
            typer.echo(reports.report_csv(rows), nl=False)
            return
        table = Table(
            "direction",
            "channel",
            "precedence",
            "count",
            "deliv p50 s",
            "deliv p90 s",
            "ack p50 s",
            "ack p90 s",
            "escalations",
            "unacked",
            title=f"hotline {node.party} {since:%Y-%m-%d %H:%M} – {until:%Y-%m-%d %H:%M} UTC",
        )
        for r in rows:
            table.add_row(
                r.direction,
                r.channel,
                r.precedence,
                str(r.count),
                _seconds(r.delivery_p50),
                _seconds(r.delivery_p90),
                _seconds(r.ack_p50),
                _seconds(r.ack_p90),
                str(r.escalations),
                str(r.unacknowledged),
            )
        console.print(table)

    @hotline.command("channels")
    def channels(data_dir: DataDir) -> None:
        """List the channels between our positions and their counterparts."""
        node = open_node(data_dir)
        try:
            with node.sessions() as session:
                rows = configuration.list_channels(session)
                table = Table("id", "our position", "counterpart", "names (en)")
                for c in rows:
                    table.add_row(
                        c.id,
                        c.own_position_id,
                        f"{c.counterpart_party}:{c.counterpart_position_id}",
                        c.counterpart_names.get("en", ""),
                    )
        finally:
            node.dispose()
        console.print(table)

    @hotline.command("seed-channels")
    def seed_channels(
        data_dir: DataDir,
        counterpart: Annotated[str, typer.Option(help="The counterpart party, e.g. IR.")],
    ) -> None:
        """Create the reference scenario's counterpart channels (each section's commanders, the ministries)."""
        node = open_node(data_dir)
        try:
            with node.transaction() as session:
                rows = configuration.seed_reference_channels(
                    session, node, SystemActor("cli"), counterpart.upper()
                )
        except SarhadError as exc:
            raise fail(exc.message) from exc
        finally:
            node.dispose()
        console.print(f"{len(rows)} channels to {counterpart.upper()}")

    @hotline.command("deadlines")
    def deadlines(
        data_dir: DataDir,
        set_: Annotated[
            list[str] | None, typer.Option("--set", help="PRECEDENCE=SECONDS, e.g. FLASH=120 (repeatable).")
        ] = None,
    ) -> None:
        """Show (or set) the acknowledgement deadline per precedence."""
        node = open_node(data_dir)
        try:
            with node.transaction() as session:
                table = configuration.deadlines(session)
                if set_:
                    values: dict[str, int] = {}
                    for item in set_:
                        key, _, raw = item.partition("=")
                        if not raw.strip().isdigit():
                            raise fail(f"--set {item!r}: use PRECEDENCE=SECONDS")
                        values[key.strip().upper()] = int(raw)
                    table = configuration.set_deadlines(
                        session, node, SystemActor("cli"), {**table, **values}
                    )
        except SarhadError as exc:
            raise fail(exc.message) from exc
        finally:
            node.dispose()
        for key, value in table.items():
            console.print(f"{key:10} {value} s")
