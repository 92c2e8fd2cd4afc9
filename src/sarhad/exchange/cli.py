"""``sarhad keys``, ``sarhad peer`` and ``sarhad ledger``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sarhad.accounts.actors import SystemActor
from sarhad.cli import DataDir, console, err_console, fail, open_node
from sarhad.core.errors import SarhadError
from sarhad.exchange import ledger, peers, protocol
from sarhad.exchange.identity import identity
from sarhad.exchange.ledger_export import count_entries, export_link
from sarhad.exchange.rotation import rotate_key

CLI = SystemActor("cli")  # who the audit names for what is done at the command line


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    )


def register(app: typer.Typer) -> None:
    keys = typer.Typer(help="This node's signing key.", no_args_is_help=True)
    peer = typer.Typer(help="Peers (other parties' nodes) and the state of each link.", no_args_is_help=True)
    ledger_app = typer.Typer(help="Export and verify the signed ledger of a link.", no_args_is_help=True)
    app.add_typer(keys, name="keys")
    app.add_typer(peer, name="peer")
    app.add_typer(ledger_app, name="ledger")

    @keys.command("show")
    def keys_show(data_dir: DataDir) -> None:
        """Print the public key and its fingerprint (give these to peers out of band)."""
        node = open_node(data_dir)
        me = identity(node)
        console.print(f"party:       {node.party}")
        console.print(f"public key:  {me.public_key_b64}")
        console.print(f"fingerprint: {me.fingerprint}")
        console.print(f"short:       {protocol.short_fingerprint(me.fingerprint)}")

    @keys.command("rotate")
    def keys_rotate(data_dir: DataDir) -> None:
        """Make a new key, announce it to every peer in an envelope signed by the old one, then switch."""
        node = open_node(data_dir)
        with node.transaction() as session:
            old, new = rotate_key(session, node, actor=CLI)
        console.print(f"key rotated: {old[:16]}… → [bold]{new}[/]")
        console.print("the announcement goes to every peer with the next delivery")

    @peer.command("add")
    def peer_add(
        data_dir: DataDir,
        party: Annotated[str, typer.Option(help="The peer's party code, e.g. IR.")],
        url: Annotated[str, typer.Option(help="Base URL of the peer node.")],
        key: Annotated[str, typer.Option(help="The peer's public key (base64).")],
        fingerprint: Annotated[str | None, typer.Option(help="Fingerprint confirmed out of band.")] = None,
        name: Annotated[str, typer.Option(help="Display name.")] = "",
        pull: Annotated[bool, typer.Option(help="Also pull from the peer (one-way connectivity).")] = False,
        push: Annotated[bool, typer.Option(help="Push to the peer.")] = True,
    ) -> None:
        """Pin a peer's key and open the links both ways."""
        node = open_node(data_dir)
        try:
            with node.transaction() as session:
                peers.add_peer(
                    session,
                    node,
                    party=party.upper(),
                    url=url,
                    public_key_b64=key,
                    fingerprint=fingerprint,
                    name=name,
                    push=push,
                    pull=pull,
                    actor=CLI,
                )
        except SarhadError as exc:
            raise fail(exc.message) from exc
        console.print(f"[green]peer {party.upper()} added[/] at {url}")

    @peer.command("remove")
    def peer_remove(data_dir: DataDir, party: Annotated[str, typer.Argument(help="Party code.")]) -> None:
        """Stop exchanging with a peer (its ledger is kept)."""
        node = open_node(data_dir)
        try:
            with node.transaction() as session:
                peers.remove_peer(session, node, party.upper(), actor=CLI)
        except SarhadError as exc:
            raise fail(exc.message) from exc
        console.print(f"peer {party.upper()} removed")

    @peer.command("list")
    def peer_list(data_dir: DataDir) -> None:
        """Per link: last seq sent and receipted, backlog and age of the oldest, last contact and error."""
        node = open_node(data_dir)
        now = node.clock.now()
        with node.sessions() as session:
            rows = peers.peer_status(session, node, CLI)
        table = Table(
            "peer",
            "link",
            "last seq",
            "sent",
            "receipted",
            "backlog",
            "oldest unreceipted",
            "received",
            "last contact",
            "last error",
        )
        for r in rows:
            age = (
                f"{(now - r.oldest_unreceipted_at).total_seconds():.0f} s" if r.oldest_unreceipted_at else "-"
            )
            contact = (
                f"{(now - r.last_contact_at).total_seconds():.0f} s ago" if r.last_contact_at else "never"
            )
            table.add_row(
                r.peer,
                r.link_out,
                str(r.last_seq),
                str(r.sent_seq),
                str(r.receipted_seq),
                str(r.backlog),
                age,
                f"{r.link_in} #{r.received_seq}",
                contact,
                r.last_error[:60],
            )
        console.print(table)

    @ledger_app.command("export")
    def ledger_export(
        data_dir: DataDir,
        out: Annotated[Path, typer.Argument(help="File to write.")],
        peer_party: Annotated[str, typer.Option("--peer", help="The peer whose link to export.")],
    ) -> None:
        """Write both directions of the link with the peer, with receipts and keys, for offline checking."""
        node = open_node(data_dir)
        with node.sessions() as session:
            total = count_entries(session, node, peer_party.upper())
            with _progress() as progress:
                task = progress.add_task(f"exporting {node.party}<->{peer_party.upper()}", total=total)
                doc = export_link(session, node, peer_party.upper(), lambda n: progress.advance(task, n))
        out.write_bytes(ledger.dump_ledger(doc))
        console.print(f"wrote {out} ({total} envelopes, digest {doc['digest'][:16]}…)")

    @ledger_app.command("verify")
    def ledger_verify(
        file: Annotated[Path, typer.Argument(help="Ledger file from 'sarhad ledger export'.")],
        trust: Annotated[
            list[str] | None,
            typer.Option(
                help="PARTY=FINGERPRINT obtained out of band (repeatable); without it the file's keys are trusted."
            ),
        ] = None,
    ) -> None:
        """Check a ledger file offline: chains, hashes, signatures, key rotations and receipts."""
        try:
            doc = ledger.load_ledger(file)
        except ledger.LedgerError as exc:
            raise fail(str(exc)) from exc
        trusted: dict[str, set[str]] | None = None
        if trust:
            trusted = {}
            for item in trust:
                party, _, fp = item.partition("=")
                trusted.setdefault(party.upper(), set()).add(fp.strip().lower())
        report = ledger.verify_ledger(doc, trusted)
        table = Table("link", "envelopes", "last seq", "last receipted")
        for s in report.links.values():
            table.add_row(s.link, str(s.count), str(s.last_seq), str(s.last_receipted_seq))
        console.print(table)
        if report.ok:
            console.print("[green]ledger verified[/]: every chain, signature and receipt checks out")
            return
        # Name the first bad envelope or receipt; the file digest fails too whenever anything changed.
        first = next((p for p in report.problems if p.what != "header"), report.first_problem)
        for problem in report.problems[:20]:
            err_console.print(f"[red]✗[/] {problem}")
        raise fail(f"ledger does NOT verify; first bad entry: {first}", code=2)
