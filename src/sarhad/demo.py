"""``sarhad demo``: two real nodes (PK and IR) on loopback, each with its own embedded database.

The first run creates ``<root>/pk`` and ``<root>/ir`` as ordinary data directories (each can also be run
alone with ``sarhad serve --data-dir``), seeds the Pakistan–Iran reference scenario, creates a demo user
for every role on each side with a random password, and pairs the two nodes' keys. Later runs reuse them.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.accounts.domain import Role
from sarhad.accounts.models import Position
from sarhad.core.database import upgrade_database
from sarhad.core.files import create_private_file, make_private_dir, open_private_log, sqlite_file
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings, write_config
from sarhad.exchange.identity import identity
from sarhad.exchange.keys import create_node_key
from sarhad.exchange.models import Peer
from sarhad.exchange.peers import add_peer


@dataclass(frozen=True)
class DemoParty:
    code: str
    name: str
    port: int
    time_zone: str
    calendar: str
    language: str


PARTIES = (
    DemoParty("PK", "Pakistan", 8701, "Asia/Karachi", "gregorian", "en"),
    DemoParty("IR", "Iran", 8702, "Asia/Tehran", "solar_hijri", "fa"),
)
ROLE_USERNAMES = {
    Role.ADMIN: "admin",
    Role.COMMANDER: "commander",
    Role.LIAISON_OFFICER: "liaison",
    Role.OPERATOR: "operator",
    Role.ANALYST: "analyst",
    Role.TRADE_OFFICER: "trade",
    Role.CUSTODY_OFFICER: "custody",
    Role.SECRETARIAT: "secretariat",
    Role.AUDITOR: "auditor",
}


def _create_node(folder: Path, party: DemoParty) -> Node:
    make_private_dir(folder)
    write_config(
        folder,
        {
            "party": party.code,
            "name": party.name,
            "host": "127.0.0.1",
            "port": party.port,
            "secret_key": secrets.token_urlsafe(48),
            "demo_mode": True,
            "default_time_zone": party.time_zone,
            "default_calendar": party.calendar,
            "default_language": party.language,
        },
    )
    settings = load_settings(folder)
    create_node_key(settings)
    database = sqlite_file(settings.resolved_database_url)
    if database is not None:
        create_private_file(database)
    upgrade_database(settings.resolved_database_url)
    return build_node(settings)


def _seed(node: Node, party: DemoParty) -> dict[str, str]:
    """Reference scenario, positions and one user per role; returns username -> password."""
    from sarhad.border import seeding

    credentials: dict[str, str] = {}
    with node.transaction() as session:
        seeding.seed_reference_scenario(session, node, SystemActor("seed"), seeding.reference_data())
    with node.transaction() as session:
        for role, short in ROLE_USERNAMES.items():
            username = f"{party.code.lower()}.{short}"
            password = secrets.token_urlsafe(12)
            accounts.create_user(
                session,
                node.clock,
                SystemActor("demo"),
                username=username,
                password=password,
                roles=[role.value],
                display_name=f"{party.name} {role.value.replace('_', ' ')} (demo)",
                language=party.language,
                time_zone=party.time_zone,
                calendar=party.calendar,
            )
            credentials[username] = password
        session.flush()
        for position in session.query(Position).filter(Position.party == party.code).all():
            holder = "commander" if position.kind in ("commander", "post") else "secretariat"
            accounts.assign_position(
                session,
                node.clock,
                SystemActor("demo"),
                position_id=position.id,
                username=f"{party.code.lower()}.{holder}",
            )
    return credentials


def _pair(nodes: dict[str, Node]) -> None:
    for code, node in nodes.items():
        with node.transaction() as session:
            for other_code, other in nodes.items():
                if other_code == code or session.get(Peer, other_code) is not None:
                    continue
                them = identity(other)
                add_peer(
                    session,
                    node,
                    party=other_code,
                    url=other.settings.base_url,
                    public_key_b64=them.public_key_b64,
                    fingerprint=them.fingerprint,
                    name=other.settings.name,
                    actor=SystemActor("demo"),
                )


def _seed_features(node: Node, party: str, console: Console) -> None:
    """Each feature's exercise data (``<feature>.demo.seed``), after pairing so it can be released."""
    from sarhad.features import FEATURES, feature_module

    for feature in FEATURES:
        module = feature_module(feature, "demo")
        if module is not None:
            console.print(f"seeding {feature} exercise data on {party}")
            module.seed(node, party)


def prepare(root: Path, console: Console) -> dict[str, dict[str, str]]:
    """Create and seed the demo nodes if needed; return the demo credentials."""
    credentials_path = root / "credentials.json"
    nodes: dict[str, Node] = {}
    created: list[str] = []
    credentials: dict[str, dict[str, str]] = {}
    if credentials_path.exists():
        credentials = json.loads(credentials_path.read_text(encoding="utf-8"))
    for party in PARTIES:
        folder = root / party.code.lower()
        if (folder / "sarhad.toml").exists():
            settings = load_settings(folder)
            upgrade_database(settings.resolved_database_url)  # a newer sarhad may bring migrations
            nodes[party.code] = build_node(settings)
            continue
        console.print(f"creating demo node {party.code} in {folder}")
        nodes[party.code] = _create_node(folder, party)
        credentials[party.code] = _seed(nodes[party.code], party)
        created.append(party.code)
    _pair(nodes)
    for code in created:
        _seed_features(nodes[code], code, console)
    make_private_dir(root)
    credentials_path.write_text(
        json.dumps(credentials, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    os.chmod(credentials_path, 0o600)
    for node in nodes.values():
        node.dispose()
    return credentials


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"node at {url} exited with code {process.returncode}; see its log")
        try:
            answer = httpx.get(f"{url}/healthz", timeout=2.0)
            if answer.status_code == 200 and answer.json().get("status") == "ok":
                body: dict[str, Any] = answer.json()
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"node at {url} did not become ready within {timeout:.0f} s")


def run_demo(root: Path, console: Console) -> None:
    credentials = prepare(root, console)
    processes: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for party in PARTIES:
            folder = root / party.code.lower()
            log = os.fdopen(open_private_log(folder / "node.log"), "ab")
            logs.append(log)
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
                    [sys.executable, "-m", "sarhad", "serve", "--data-dir", str(folder)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for party, process in zip(PARTIES, processes, strict=True):
            wait_ready(f"http://127.0.0.1:{party.port}", process)
        table = Table("party", "address", "username", "password", title="sarhad demo: two nodes are up")
        for party in PARTIES:
            for username, password in credentials.get(party.code, {}).items():
                table.add_row(party.code, f"http://127.0.0.1:{party.port}", username, password)
        console.print(table)
        console.print(f"logins are also in {root / 'credentials.json'}; node logs in {root}/*/node.log")
        console.print(
            "press Ctrl-C to stop both nodes (nothing is lost; run 'sarhad demo' again to continue)"
        )
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        console.print("[red]a node stopped unexpectedly; see its node.log[/]")
    except KeyboardInterrupt:
        console.print("stopping the demo nodes …")
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()
