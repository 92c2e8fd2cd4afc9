"""``sarhad audit``: read and filter the audit log; ``verify`` it, ``export`` it, ``sign`` its head now."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from sarhad.accounts.actors import SystemActor
from sarhad.audit.services import AuditFilter, entries_as_csv, entry_as_dict, list_entries
from sarhad.cli import DataDir, console, err_console, fail, open_node


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _held_heads(paths: list[Path]) -> dict[str, list[dict[str, Any]]]:
    """The heads in files written by ``sarhad audit heads`` on peers, by the party that holds them."""
    held: dict[str, list[dict[str, Any]]] = {}
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            heads, holder = data["heads"], str(data.get("held_by") or path.name)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise fail(f"{path}: not a list of heads from `sarhad audit heads` ({exc})") from exc
        held.setdefault(holder, []).extend(h for h in heads if isinstance(h, dict))
    return held


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(
        help="Show the audit log (newest first), verify it, export it, sign its head.",
        invoke_without_command=True,
        no_args_is_help=False,
    )
    app.add_typer(audit_app, name="audit")

    @audit_app.callback()
    def audit(
        ctx: typer.Context,
        data_dir: Annotated[
            Path | None,
            typer.Option("--data-dir", "-d", envvar="SARHAD_DATA_DIR", help="The node's data directory."),
        ] = None,
        actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
        action: Annotated[str | None, typer.Option(help="Actions starting with this, e.g. auth.")] = None,
        outcome: Annotated[str | None, typer.Option(help="ok, denied or failed.")] = None,
        record: Annotated[str | None, typer.Option(help="Only entries about this record id.")] = None,
        since: Annotated[datetime | None, typer.Option(help="From this UTC time.")] = None,
        until: Annotated[datetime | None, typer.Option(help="Before this UTC time.")] = None,
        limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
        output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    ) -> None:
        """Show audit entries, newest first (or run one of the commands below)."""
        if ctx.invoked_subcommand is not None:
            return
        if data_dir is None:
            raise fail("give the node's data directory (--data-dir or SARHAD_DATA_DIR)")
        node = open_node(data_dir)
        flt = AuditFilter(
            actor=actor,
            action=action,
            outcome=outcome,
            record_id=record,
            since=_aware(since),
            until=_aware(until),
            limit=limit,
        )
        try:
            with node.sessions() as session:
                entries = list_entries(session, SystemActor("cli"), flt)
        finally:
            node.dispose()
        if output == "csv":
            typer.echo(entries_as_csv(entries), nl=False)
        elif output == "json":
            typer.echo(json.dumps([entry_as_dict(e) for e in entries], ensure_ascii=False, indent=1))
        else:
            table = Table("#", "at (UTC)", "actor", "action", "outcome", "record", "from")
            for e in entries:
                table.add_row(
                    str(e.seq if e.seq is not None else f"id {e.id}"),
                    e.at.strftime("%Y-%m-%d %H:%M:%S"),
                    e.actor,
                    e.action,
                    e.outcome,
                    f"{e.record_kind or ''} {e.record_id or ''}".strip(),
                    e.client_ip,
                )
            console.print(table)

    @audit_app.command("verify")
    def verify_command(
        data_dir: Annotated[
            Path | None,
            typer.Option("--data-dir", "-d", envvar="SARHAD_DATA_DIR", help="The node's data directory."),
        ] = None,
        file: Annotated[
            Path | None, typer.Option("--file", help="Verify an audit export file instead of a database.")
        ] = None,
        heads: Annotated[
            list[Path] | None,
            typer.Option(
                "--heads",
                help="A peer's heads of this log (JSON from `sarhad audit heads --party <us>` on the peer).",
            ),
        ] = None,
        tolerance: Annotated[
            float, typer.Option(help="Seconds an entry's time may run behind the one before it.")
        ] = 5.0,
    ) -> None:
        """Check the chain, the signed heads and their witnesses; name the first bad entry (exit 1 if any)."""
        from sarhad.audit.verify import load_evidence, read_export, verify

        window = timedelta(seconds=tolerance)
        held = _held_heads(heads or [])
        if file is not None:
            try:
                evidence = read_export(file)
                evidence.held_by = held
                report = verify(evidence, window)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise fail(f"{file}: {exc}") from exc
            where = str(file)
        elif data_dir is not None:
            node = open_node(data_dir)
            try:
                with node.sessions() as session:
                    evidence = load_evidence(session, node.party)
                    evidence.held_by = held
                    report = verify(evidence, window)
            finally:
                node.dispose()
            where = f"{node.party}'s audit log"
        else:
            raise fail("give the node's data directory (--data-dir) or an export (--file)")
        witnessed = ", ".join(f"{party}: {n}" for party, n in sorted(report.witnessed.items())) or "none"
        console.print(
            f"{where}: {report.entries} entries, head {report.head_seq} {report.head_hash[:16]}…; "
            f"{report.heads} signed heads, witnessed by {witnessed}; {report.unwitnessed} not yet witnessed; "
            f"{report.after_last_head} entries after the last signed head"
        )
        for party, count in sorted(report.held.items()):
            console.print(f"{count} heads held by {party} match the log")
        if report.ok:
            console.print("[green]verified[/]: the chain is unbroken and matches every signed head")
            return
        for problem in report.problems:
            err_console.print(f"[bold red]bad:[/] {problem}")
        raise typer.Exit(1)

    @audit_app.command("heads")
    def heads_command(
        data_dir: DataDir,
        party: Annotated[str | None, typer.Option(help="Only this party's log (e.g. the peer's).")] = None,
        limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 10_000,
    ) -> None:
        """The signed heads held here (own, and the peers' this node witnesses) as JSON, for ``verify --heads``."""
        from sarhad.audit.heads import head_content, list_heads

        node = open_node(data_dir)
        try:
            with node.sessions() as session:
                heads = [head_content(h) for h in list_heads(session, SystemActor("cli"), party, limit)]
        finally:
            node.dispose()
        typer.echo(json.dumps({"held_by": node.party, "heads": heads}, ensure_ascii=False, indent=1))

    @audit_app.command("export")
    def export_command(
        data_dir: DataDir,
        out: Annotated[Path, typer.Option("--out", "-o", help="The file to write (JSON lines).")],
    ) -> None:
        """Write the audit log with its signed heads and witnesses to a file that ``verify --file`` checks."""
        from sarhad.audit.verify import load_evidence, write_export

        node = open_node(data_dir)
        try:
            with node.sessions() as session, out.open("w", encoding="utf-8") as handle:
                count = write_export(load_evidence(session, node.party), handle)
        finally:
            node.dispose()
        console.print(f"wrote {count} entries to {out}")

    @audit_app.command("sign")
    def sign_command(data_dir: DataDir) -> None:
        """Sign the log's head now and release it to every peer (the node also does it every minute)."""
        from sarhad.audit.heads import sign_head

        node = open_node(data_dir)
        try:
            head = sign_head(node, force=True)
        finally:
            node.dispose()
        if head is None:
            console.print("the head is signed already")
        else:
            console.print(f"signed the head at entry {head.log_seq} ({head.log_hash[:16]}…)")
