"""``sarhad user …`` and ``sarhad position …``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sarhad.accounts import services
from sarhad.accounts.actors import SystemActor
from sarhad.cli import DataDir, console, fail, open_node
from sarhad.core.errors import SarhadError

CLI = SystemActor("cli")  # the command line acts as the operator of the node: every permission
# Asked for twice without echo; SARHAD_NEW_PASSWORD gives it to scripts without a prompt.
NewPassword = Annotated[
    str,
    typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, envvar="SARHAD_NEW_PASSWORD"),
]


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="Manage local users.", no_args_is_help=True)
    positions = typer.Typer(help="Positions (duty posts) and the duty roster.", no_args_is_help=True)
    app.add_typer(users, name="user")
    app.add_typer(positions, name="position")

    @users.command("add")
    def add(
        username: str,
        data_dir: DataDir,
        role: Annotated[list[str], typer.Option("--role", "-r", help="Role (repeatable).")],
        name: Annotated[str, typer.Option(help="Display name.")] = "",
        section: Annotated[
            list[str] | None, typer.Option("--section", help="Scope: border section id.")
        ] = None,
        language: Annotated[str, typer.Option(help="en, ur or fa")] = "en",
        time_zone: Annotated[str, typer.Option(help="IANA time zone")] = "UTC",
        calendar: Annotated[str, typer.Option(help="gregorian or solar_hijri")] = "gregorian",
        password: NewPassword = "",
    ) -> None:
        """Add a user with one or more roles."""
        node = open_node(data_dir)
        try:
            with node.transaction() as session:
                services.create_user(
                    session,
                    node.clock,
                    CLI,
                    username=username,
                    password=password,
                    roles=role,
                    display_name=name,
                    scope_sections=section or [],
                    language=language,
                    time_zone=time_zone,
                    calendar=calendar,
                )
        except SarhadError as exc:
            raise fail(exc.message) from exc
        console.print(f"[green]user {username} added[/]")

    @users.command("list")
    def list_(data_dir: DataDir) -> None:
        """List users."""
        node = open_node(data_dir)
        with node.sessions() as session:
            rows = services.list_users(session, CLI)
        table = Table("username", "name", "roles", "scope", "language", "zone", "calendar", "status")
        for u in rows:
            table.add_row(
                u.username,
                u.display_name,
                ", ".join(u.roles),
                ", ".join(u.scope_sections or []),
                u.language,
                u.time_zone,
                u.calendar,
                "disabled" if u.disabled else "active",
            )
        console.print(table)

    @users.command("disable")
    def disable(username: str, data_dir: DataDir) -> None:
        """Disable a user and end all their sessions."""
        _set_disabled(data_dir, username, True)

    @users.command("enable")
    def enable(username: str, data_dir: DataDir) -> None:
        """Enable a disabled user again."""
        _set_disabled(data_dir, username, False)

    def _set_disabled(data_dir: Path, username: str, disabled: bool) -> None:
        node = open_node(data_dir)
        try:
            with node.transaction() as session:
                services.set_disabled(session, node.clock, CLI, username, disabled)
        except SarhadError as exc:
            raise fail(exc.message) from exc
        console.print(f"user {username} {'disabled' if disabled else 'enabled'}")

    @users.command("passwd")
    def passwd(
        username: str,
        data_dir: DataDir,
        password: NewPassword = "",
    ) -> None:
        """Set a user's password (ends their sessions)."""
        node = open_node(data_dir)
        try:
            with node.transaction() as session:
                services.set_password(session, node.clock, CLI, username, password)
        except SarhadError as exc:
            raise fail(exc.message) from exc
        console.print(f"password of {username} changed")

    @positions.command("list")
    def list_positions(data_dir: DataDir) -> None:
        """List positions and who holds each now."""
        node = open_node(data_dir)
        table = Table("position", "name", "section", "on duty")
        with node.sessions() as session:
            for p in services.list_positions(session):
                holders = services.current_holders(session, p.id, node.clock.now())
                table.add_row(
                    p.id, p.names.get("en", ""), p.section_id or "", ", ".join(u.username for u in holders)
                )
        console.print(table)

    @positions.command("assign")
    def assign(position: str, username: str, data_dir: DataDir) -> None:
        """Put a user on duty in a position from now on."""
        node = open_node(data_dir)
        try:
            with node.transaction() as session:
                services.assign_position(session, node.clock, CLI, position_id=position, username=username)
        except SarhadError as exc:
            raise fail(exc.message) from exc
        console.print(f"{username} now holds {position}")
