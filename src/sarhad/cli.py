"""The ``sarhad`` command. Thin: parse arguments, open the node, call services, print with Rich."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from sarhad.core.database import DatabaseNotMigrated, upgrade_database
from sarhad.core.files import (
    NotPrivate,
    check_private,
    create_private_file,
    make_private_dir,
    sqlite_file,
    use_private_umask,
)
from sarhad.core.node import Node, build_node
from sarhad.core.settings import SettingsError, load_settings, write_config
from sarhad.features import FEATURES, feature_module

app = typer.Typer(
    help="sarhad: federated border-cooperation node.", no_args_is_help=True, pretty_exceptions_enable=False
)
console = Console()
err_console = Console(stderr=True)

DataDir = Annotated[
    Path, typer.Option("--data-dir", "-d", envvar="SARHAD_DATA_DIR", help="The node's data directory.")
]


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def open_node(data_dir: Path) -> Node:
    """Load settings and connect to the node's database, or exit with a clear message."""
    try:
        settings = load_settings(data_dir)
    except SettingsError as exc:
        raise fail(str(exc)) from exc
    return build_node(settings)


@app.command()
def init(
    party: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 code of this node's party, e.g. PK.")],
    name: Annotated[str, typer.Option(help="Display name of the party, e.g. Pakistan.")],
    data_dir: DataDir,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8700,
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    time_zone: Annotated[str, typer.Option(help="Default time zone for pages.")] = "UTC",
    calendar: Annotated[str, typer.Option(help="Default calendar: gregorian or solar_hijri.")] = "gregorian",
    language: Annotated[str, typer.Option(help="Default language: en, ur or fa.")] = "en",
    database_url: Annotated[str, typer.Option(help="Database URL; default: SQLite in the data dir.")] = "",
    demo: Annotated[bool, typer.Option(help="Mark the node as a demo node.")] = False,
) -> None:
    """Create a node: data directory, configuration, signing key and migrated database (all owner-only)."""
    data_dir = data_dir.resolve()
    if (data_dir / "sarhad.toml").exists():
        raise fail(f"{data_dir} already holds a node; refusing to overwrite it")
    previous = use_private_umask()  # whatever the caller's umask: nothing of the node for other accounts
    try:
        _init(data_dir, party, name, port, host, time_zone, calendar, language, database_url, demo)
    finally:
        os.umask(previous)


def _init(
    data_dir: Path,
    party: str,
    name: str,
    port: int,
    host: str,
    time_zone: str,
    calendar: str,
    language: str,
    database_url: str,
    demo: bool,
) -> None:
    from sarhad.exchange.keys import create_node_key

    make_private_dir(data_dir)
    values: dict[str, object] = {
        "party": party.upper(),
        "name": name,
        "host": host,
        "port": port,
        "secret_key": secrets.token_urlsafe(48),
        "default_time_zone": time_zone,
        "default_calendar": calendar,
        "default_language": language,
        "demo_mode": demo,
    }
    if database_url:
        values["database_url"] = database_url
    write_config(data_dir, values)
    try:
        settings = load_settings(data_dir)
    except SettingsError as exc:
        (data_dir / "sarhad.toml").unlink()
        raise fail(str(exc)) from exc
    fingerprint = create_node_key(settings)
    database = sqlite_file(settings.resolved_database_url)
    if database is not None:  # SQLite makes its -wal and -shm files with the database file's mode
        create_private_file(database)
    upgrade_database(settings.resolved_database_url)
    console.print(f"[green]node {settings.party} created[/] in {data_dir}")
    console.print(f"signing key fingerprint: [bold]{fingerprint}[/]")


@app.command()
def migrate(data_dir: DataDir) -> None:
    """Upgrade the node's database to the newest schema."""
    try:
        settings = load_settings(data_dir)
    except SettingsError as exc:
        raise fail(str(exc)) from exc
    before, after = upgrade_database(settings.resolved_database_url)
    if before == after:
        console.print(f"database already at {after}")
    else:
        console.print(f"database upgraded from {before or 'empty'} to {after}")


@app.command()
def serve(
    data_dir: DataDir,
    host: Annotated[str | None, typer.Option(help="Override the configured address.")] = None,
    port: Annotated[int | None, typer.Option(help="Override the configured port.")] = None,
) -> None:
    """Run the node: API, pages and background workers."""
    import uvicorn

    from sarhad.app import create_app
    from sarhad.core.logging import configure_logging
    from sarhad.core.server import StoppingServer

    node = open_node(data_dir)
    settings = node.settings
    configure_logging(settings.party, settings.log_level, settings.log_json)
    try:
        try:
            application = create_app(node, freeze_gc=True, checkpoint_in_background=True)
        except DatabaseNotMigrated as exc:
            raise fail(str(exc)) from exc
        try:  # nothing of the node for other local accounts (sarhad.core.files)
            check_private(settings.data_dir, settings.resolved_database_url)
        except NotPrivate as exc:
            raise fail(str(exc)) from exc
        use_private_umask()
        tls = settings.tls
        ssl: dict[str, Any] = {}
        if tls.enabled:
            import ssl as ssl_module

            # Mutual TLS: the peer must present a certificate signed by the configured CA.
            from sarhad.exchange.tls import http_protocol

            ssl = {
                "ssl_certfile": tls.cert_file,
                "ssl_keyfile": tls.key_file,
                "ssl_ca_certs": tls.ca_file,
                "ssl_cert_reqs": ssl_module.CERT_REQUIRED,
                "http": http_protocol(),  # hands each connection's client certificate to the app
            }
        config = uvicorn.Config(
            application,
            host=host or settings.host,
            port=port or settings.port,
            log_config=None,
            timeout_graceful_shutdown=5,  # a peer's idle keep-alive (TLS) connection must not delay a stop
            access_log=False,
            **ssl,
        )
        server = StoppingServer(config)
        server.run()
        if not server.started:
            raise fail("the server did not start (see the log above)", code=3)
    finally:  # a refused start must not leave the database connection to the garbage collector
        from sarhad.exchange import verifiers

        verifiers.shutdown()  # the envelope verifier processes end with the node, not at the interpreter's exit
        node.dispose()


@app.command()
def demo(
    root: Annotated[Path, typer.Option(help="Where the demo nodes live.")] = Path("var/demo"),
    reference: Annotated[
        Path | None, typer.Option(help="Reference scenario JSON (default: built in).")
    ] = None,
) -> None:
    """Start the two-node Pakistan–Iran demo on 127.0.0.1:8701 (PK) and :8702 (IR)."""
    from sarhad.demo import run_demo

    run_demo(root.resolve(), console)


def main() -> None:
    use_private_umask()  # every file a sarhad command creates is its owner's only (sarhad.core.files)
    for feature in FEATURES:
        module = feature_module(feature, "cli")
        if module is not None and hasattr(module, "register"):
            module.register(app)
    app()
