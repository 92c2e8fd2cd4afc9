"""Delivery lease failover (issue 17 item 3) and a graceful stop under load (item 4).

    python -m bench.failover [--kills 5] [--db postgresql|sqlite]

PK is served by two ``sarhad serve`` processes (A and B) on one database (PostgreSQL from
SARHAD_TEST_POSTGRES_URL, a database made for the run and dropped afterwards; or one SQLite file), IR by a third
process. Arrival at IR is seen on IR's commander event stream (``hotline.message``). Prints:

- the baseline of the same run: a FLASH sent through a PK process, both up, to its arrival at IR;
- ``--kills`` times: the process holding the lease of the link to IR is killed (``kill -9``) and a FLASH is sent
  through the other at once; the time from the kill to its arrival at IR (the lease must lapse first, at most
  ``delivery.TAKEOVER_SECONDS``), p50 and max; the killed process is started again for the next round;
- a graceful stop: the holder gets SIGTERM while FLASH messages go through both processes every 50 ms and a
  commander's event stream is open on it: the time to the stream's end, to the process's exit (and its exit
  code), and from the signal to the arrival at IR of a FLASH sent through the other process (the stopping
  process releases its lease: no waiting for it to lapse).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench.hotline.__main__ import LiveClient, make_node, seed, token
from sarhad.core.database import upgrade_database
from sarhad.core.node import build_node
from sarhad.core.settings import load_settings, write_config
from sarhad.exchange import delivery
from sarhad.exchange.models import Peer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from support.processes import NodeProcess, free_port

console = Console()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    args, _ = parser.parse_known_args()
    if args.db == "sqlite":
        run(None, args.kills)
        return
    server = os.environ.get("SARHAD_TEST_POSTGRES_URL", "").strip()
    if not server:
        console.print("[yellow]failover skipped: SARHAD_TEST_POSTGRES_URL is not set (make bench sets it)")
        return
    name = f"bench_failover_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        run(make_url(server).set(database=name).render_as_string(hide_password=False), args.kills)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def holder_pid(pk_dir: Path) -> int | None:
    node = build_node(load_settings(pk_dir))
    try:
        with node.sessions() as session:
            peer = session.get(Peer, "IR")
            owner = peer.lease_owner if peer is not None else ""
    finally:
        node.dispose()
    return int(owner.split(":")[1]) if owner else None


class Pk:
    """PK's two processes, a commander's token and FLASH sending."""

    def __init__(self, a: NodeProcess, b: NodeProcess, bearer: str) -> None:
        self.processes = (a, b)
        self.headers = {"Authorization": f"Bearer {bearer}"}
        self.client = httpx.Client(timeout=30)
        self.sent = 0

    def flash(self, process: NodeProcess) -> str:
        self.sent += 1
        answer = self.client.post(
            f"{process.url}/api/v1/hotline/messages",
            json={"to_position": "IR-S1-CDR", "precedence": "FLASH", "subject": f"f{self.sent}", "body": "."},
            headers=self.headers,
        )
        answer.raise_for_status()
        return f"hotline.message:{answer.json()['id']}"

    def split(self, pk_dir: Path) -> tuple[NodeProcess, NodeProcess]:
        """(the lease holder, the other), once one holds the lease."""
        for _ in range(200):
            pid = holder_pid(pk_dir)
            for process in self.processes:
                if process.pid == pid and process.is_running():
                    other = next(p for p in self.processes if p is not process)
                    return process, other
            time.sleep(0.05)
        raise RuntimeError("no running PK process holds the lease")


def run(database_url: str | None, kills: int) -> None:
    with tempfile.TemporaryDirectory(prefix="sarhad-failover-") as tmp:
        root = Path(tmp)
        ports = {"PK": free_port(), "IR": free_port()}
        dirs = {"PK": make_node(root / "pk", "PK", "Pakistan", ports["PK"]), "IR": root / "ir"}
        if database_url:  # PK on PostgreSQL
            write_config(dirs["PK"], {**settings_values(dirs["PK"]), "database_url": database_url})
            upgrade_database(load_settings(dirs["PK"]).resolved_database_url)
        make_node(dirs["IR"], "IR", "Iran", ports["IR"])
        seed(dirs, ports)
        for path in [root, *root.rglob("*")]:  # owner-only, as ``sarhad serve`` insists
            path.chmod(0o700 if path.is_dir() else 0o600)
        with (
            NodeProcess(dirs["IR"], port=ports["IR"], name="ir") as ir,
            NodeProcess(dirs["PK"], port=free_port(), name="a") as a,
            NodeProcess(dirs["PK"], port=free_port(), name="b") as b,
        ):
            pk = Pk(a, b, token(a.url, "commander"))
            at_ir = LiveClient(f"{ir.url}/api/v1/events", token(ir.url, "commander"))
            baseline = []
            for n in range(12):  # the first two warm up
                started = time.perf_counter()
                key = pk.flash(pk.processes[n % 2])
                arrived = at_ir.wait(key)
                if n >= 2:
                    baseline.append(arrived - started)
            takeover = []
            for _ in range(kills):
                holder, survivor = pk.split(dirs["PK"])
                holder.kill()
                killed = time.perf_counter()
                takeover.append(at_ir.wait(pk.flash(survivor), timeout=60) - killed)
                holder.start()
            stop = graceful_stop(pk, dirs["PK"], at_ir)
            report(database_url, baseline, takeover, stop)


def settings_values(folder: Path) -> dict[str, object]:
    import tomllib

    with (folder / "sarhad.toml").open("rb") as handle:
        return dict(tomllib.load(handle))


def graceful_stop(pk: Pk, pk_dir: Path, at_ir: LiveClient) -> dict[str, float]:
    holder, survivor = pk.split(pk_dir)
    ended = threading.Event()
    ended_at: list[float] = []

    def read_stream() -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(5.0, read=60)) as client,
            client.stream("GET", f"{holder.url}/api/v1/events", headers=pk.headers) as response,
        ):
            for _ in response.iter_lines():
                pass
        ended_at.append(time.perf_counter())
        ended.set()

    threading.Thread(target=read_stream, daemon=True).start()
    loading = threading.Event()

    def load() -> None:
        n = 0
        while not loading.is_set():
            with contextlib.suppress(httpx.HTTPError):  # the stopping process refuses connections
                pk.flash(pk.processes[n % 2])
            n += 1
            time.sleep(0.05)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    time.sleep(2.0)
    assert holder.process is not None
    holder.process.send_signal(signal.SIGTERM)
    signalled = time.perf_counter()
    arrived = at_ir.wait(pk.flash(survivor), timeout=60)
    code = holder.process.wait(60)
    exited = time.perf_counter()
    ended.wait(60)
    loading.set()
    loader.join()
    return {
        "stream": (ended_at[0] if ended_at else float("nan")) - signalled,
        "exit": exited - signalled,
        "code": float(code),
        "delivery": arrived - signalled,
    }


def report(
    database_url: str | None, baseline: list[float], takeover: list[float], stop: dict[str, float]
) -> None:
    database = "PostgreSQL" if database_url else "SQLite"
    table = Table("measure", "n", "p50 ms", "max ms", title=f"PK on {database}, two processes; IR on SQLite")
    for label, values in (
        ("baseline: FLASH sent -> at IR, both processes up", baseline),
        ("kill -9 of the lease holder -> FLASH through the other at IR", takeover),
    ):
        table.add_row(
            label, str(len(values)), f"{statistics.median(values) * 1000:.0f}", f"{max(values) * 1000:.0f}"
        )
    console.print(table)
    console.print(
        f"lease {delivery.LEASE_SECONDS:g} s, renewed every {delivery.RENEW_SECONDS:g} s, "
        f"retried every {delivery.LEASE_RETRY_SECONDS:g} s: takeover at most {delivery.TAKEOVER_SECONDS:g} s"
    )
    console.print(
        "SIGTERM of the lease holder under load (FLASH every 50 ms, an event stream open on it): "
        f"stream ended after {stop['stream'] * 1000:.0f} ms, process exited after {stop['exit'] * 1000:.0f} ms "
        f"with code {stop['code']:.0f}, FLASH through the other at IR {stop['delivery'] * 1000:.0f} ms after "
        "the signal"
    )


if __name__ == "__main__":
    main()
