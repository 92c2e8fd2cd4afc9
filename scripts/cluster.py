"""``make cluster``: one node (PK) served by two ``sarhad serve`` processes on one PostgreSQL behind HAProxy,
and its peer IR (one process, SQLite), on loopback, to try the deployment of docs/operations.md
("Several processes on one PostgreSQL").

    python scripts/cluster.py [--root var/cluster] [--proxy-port 8711] [--ir-port 8712]

Every run starts afresh in ``--root`` (deleted first): a throw-away PostgreSQL server (``scripts/test-postgres.sh``,
or the server of ``SARHAD_TEST_POSTGRES_URL`` if set, on which a new database is made), PK's data directory
pointing at it, IR's with its SQLite file, both seeded like ``sarhad demo`` (reference scenario, a user per role
with a random password, the two keys paired, each feature's exercise data). PK's public address, which IR
pushes to, is the proxy's. Then: HAProxy (Debian's ``haproxy``, ``scripts/install-system-deps.sh``) on
``--proxy-port``, round robin over PK's processes A and B with health checks on ``/healthz``, the node's event
streams unbuffered; the three node processes; and it prints the addresses and logins. Ctrl-C stops everything
(the throw-away database server too). Logs: ``<root>/logs``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from sarhad.core.database import upgrade_database
from sarhad.core.files import make_private_dir
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings, write_config
from sarhad.demo import DemoParty, _create_node, _pair, _seed, _seed_features, wait_ready
from sarhad.exchange.keys import create_node_key

ROOT = Path(__file__).resolve().parents[1]
PK = DemoParty("PK", "Pakistan", 8711, "Asia/Karachi", "gregorian", "en")
IR = DemoParty("IR", "Iran", 8712, "Asia/Tehran", "solar_hijri", "fa")

HAPROXY_CONFIG = """\
# HAProxy in front of the processes of one sarhad node (docs/operations.md, "Several processes on one
# PostgreSQL"). Written by scripts/cluster.py.
global
    maxconn 2048

defaults
    mode http
    timeout connect 2s
    # An event stream (GET /api/v1/events) is idle between the node's pings (every 15 s): both timeouts
    # must be longer. HAProxy does not buffer responses, so events pass at once.
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 10s
    # the client's address for the sign-in throttle (uvicorn trusts X-Forwarded-For from 127.0.0.1)
    option forwardfor
    # a process that refuses the connection (killed, restarting): try the other one. Only connection
    # failures are retried: a request a process received is never sent twice.
    retries 3
    option redispatch 1
    retry-on conn-failure

frontend sarhad_{party}
    bind 127.0.0.1:{port}
    default_backend sarhad_{party}_processes

backend sarhad_{party}_processes
    balance roundrobin
    option httpchk GET /healthz
    http-check expect string '"status":"ok"'
    default-server check inter 1s fall 2 rise 1
{servers}
"""


def haproxy_config(party: str, port: int, processes: dict[str, int]) -> str:
    servers = "\n".join(f"    server {name} 127.0.0.1:{p}" for name, p in processes.items())
    return HAPROXY_CONFIG.format(party=party.lower(), port=port, servers=servers)


def start_postgres(console: Console) -> tuple[str, str | None]:
    """(URL of an empty database, the throw-away server's directory to stop afterwards, or None)."""
    given = os.environ.get("SARHAD_TEST_POSTGRES_URL", "").strip()
    if given:
        server, folder = given, None
    else:
        console.print("starting a throw-away PostgreSQL server (scripts/test-postgres.sh) …")
        answer = subprocess.run(  # noqa: S603 - our own script
            [str(ROOT / "scripts" / "test-postgres.sh"), "start"],
            check=True,
            capture_output=True,
            text=True,
        )
        server = answer.stdout.strip().splitlines()[-1]
        folder = str((ROOT / "var" / "test-pg" / "current").resolve())
    name = f"cluster_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False), folder


def create_postgres_node(folder: Path, party: DemoParty, database_url: str, public_url: str) -> Node:
    """Like the demo's node, but on PostgreSQL and known to peers by the proxy's address."""
    make_private_dir(folder)
    write_config(
        folder,
        {
            "party": party.code,
            "name": party.name,
            "host": "127.0.0.1",
            "port": party.port,
            "public_url": public_url,
            "database_url": database_url,
            "secret_key": secrets.token_urlsafe(48),
            "demo_mode": True,
            "default_time_zone": party.time_zone,
            "default_calendar": party.calendar,
            "default_language": party.language,
        },
    )
    settings = load_settings(folder)
    create_node_key(settings)
    upgrade_database(settings.resolved_database_url)
    return build_node(settings)


def prepare(
    root: Path, database_url: str, pk: DemoParty, ir: DemoParty, console: Console
) -> dict[str, dict[str, str]]:
    """Create, seed and pair the two nodes; return their logins."""
    nodes = {
        "PK": create_postgres_node(root / "pk", pk, database_url, f"http://127.0.0.1:{pk.port}"),
        "IR": _create_node(root / "ir", ir),
    }
    try:
        console.print("seeding PK and IR (reference scenario, a user per role) …")
        credentials = {code: _seed(node, pk if code == "PK" else ir) for code, node in nodes.items()}
        _pair(nodes)
        for code, node in nodes.items():
            _seed_features(node, code, console)
    finally:
        for node in nodes.values():
            node.dispose()
    return credentials


class Processes:
    """The processes of the cluster, stopped together (SIGTERM, then SIGKILL after 15 s)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.commands: dict[str, list[str]] = {}
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.files: list[IO[bytes]] = []

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = os.fdopen(
            os.open(self.logs / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab"
        )
        self.files.append(log)
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, haproxy, fixed arguments
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.commands[name], self.running[name] = command, process
        return process

    def dead(self) -> dict[str, int]:
        """Name -> exit code of the processes that ended."""
        return {name: code for name, p in self.running.items() if (code := p.poll()) is not None}

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.files:
            log.close()


def supervise(processes: Processes, console: Console, restartable: set[str]) -> None:
    """Until Ctrl-C: restart a PK process that ended (as systemd's ``Restart=always`` would); anything else
    ending stops the cluster."""
    while True:
        time.sleep(0.5)
        for name, code in processes.dead().items():
            if name not in restartable:
                console.print(f"[red]{name} stopped unexpectedly (exit code {code}); see {processes.logs}[/]")
                return
            time.sleep(1.0)
            process = processes.start(name, processes.commands[name])
            console.print(f"{name} ended (exit code {code}); restarted it as pid {process.pid}")


def serve(data_dir: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "sarhad", "serve", "--data-dir", str(data_dir), "--port", str(port)]


def main() -> None:
    os.umask(0o077)  # the nodes' files owner-only, as `sarhad serve` insists
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=ROOT / "var" / "cluster")
    parser.add_argument("--proxy-port", type=int, default=PK.port, help="PK's address: the proxy")
    parser.add_argument("--ir-port", type=int, default=IR.port)
    parser.add_argument("--process-ports", type=int, nargs=2, default=(8713, 8714), metavar="PORT")
    args = parser.parse_args()
    console = Console()
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        sys.exit("haproxy is not installed: run scripts/install-system-deps.sh (Debian package haproxy)")
    pk = DemoParty(PK.code, PK.name, args.proxy_port, PK.time_zone, PK.calendar, PK.language)
    ir = DemoParty(IR.code, IR.name, args.ir_port, IR.time_zone, IR.calendar, IR.language)

    root: Path = args.root.resolve()
    if root.exists():
        shutil.rmtree(root)
    make_private_dir(root)
    logs = root / "logs"
    make_private_dir(logs)
    database_url, pg_folder = start_postgres(console)
    processes = Processes(logs)
    try:
        credentials = prepare(root, database_url, pk, ir, console)
        ports = dict(zip(("a", "b"), args.process_ports, strict=True))
        config = root / "haproxy.cfg"
        config.write_text(haproxy_config("PK", pk.port, ports), encoding="utf-8")
        subprocess.run([haproxy, "-c", "-q", "-f", str(config)], check=True)  # noqa: S603
        started = {
            f"pk-{name}": processes.start(f"pk-{name}", serve(root / "pk", p)) for name, p in ports.items()
        }
        started["ir"] = processes.start("ir", serve(root / "ir", ir.port))
        started["proxy"] = processes.start("haproxy", [haproxy, "-db", "-f", str(config)])
        urls = {f"pk-{name}": f"http://127.0.0.1:{p}" for name, p in ports.items()}
        urls |= {"ir": f"http://127.0.0.1:{ir.port}", "proxy": f"http://127.0.0.1:{pk.port}"}
        for name, process in started.items():
            wait_ready(urls[name], process)
        show(
            console, root, credentials, pk, ir, {n: (ports[n[3:]], started[n].pid) for n in ("pk-a", "pk-b")}
        )
        supervise(processes, console, {"pk-a", "pk-b"})
    except KeyboardInterrupt:
        console.print("stopping the cluster …")
    finally:
        processes.stop()
        if pg_folder is not None:
            subprocess.run(  # noqa: S603 - our own script
                [str(ROOT / "scripts" / "test-postgres.sh"), "stop", pg_folder], check=False
            )


def show(
    console: Console,
    root: Path,
    credentials: dict[str, dict[str, str]],
    pk: DemoParty,
    ir: DemoParty,
    processes: dict[str, tuple[int, int]],
) -> None:
    table = Table("party", "address", "username", "password", title="sarhad cluster: PK (2 processes) and IR")
    for code, address in (("PK", f"http://127.0.0.1:{pk.port}"), ("IR", f"http://127.0.0.1:{ir.port}")):
        for username, password in credentials[code].items():
            table.add_row(code, address, username, password)
    console.print(table)
    console.print(
        f"PK: HAProxy on http://127.0.0.1:{pk.port} → processes "
        + ", ".join(f"{name} http://127.0.0.1:{port} (pid {pid})" for name, (port, pid) in processes.items())
        + " on one PostgreSQL database; IR: one process on SQLite"
    )
    console.print(
        f"try: kill -9 one of PK's processes and keep using http://127.0.0.1:{pk.port} "
        "(this script restarts it, as a process manager would)"
    )
    console.print(f"logs in {root}/logs; press Ctrl-C to stop everything")


if __name__ == "__main__":
    main()
