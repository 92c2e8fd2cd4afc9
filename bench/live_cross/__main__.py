"""Cross-process live events: one node served by two ``sarhad serve`` processes (A and B) on one PostgreSQL.

    python -m bench.live_cross [--messages 200] [--pause 0.02]

A FLASH message is sent through process A (``POST /api/v1/hotline/messages``), one after the other; the
commander's event streams on A (same process: the after-commit hand-over) and on B (another process: the
PostgreSQL notification wakes B's hub, which reads the event) both receive its ``hotline.message`` event.
Prints, from the moment the request was sent: the latency to A's stream (the baseline of the same run), to B's
stream, and B minus A per message (what crossing processes costs), each as p50 / p99 / max; and how many events
each stream missed or got twice or out of order (must be 0). The target (issue 17): cross-process p99 < 50 ms.

PostgreSQL comes from SARHAD_TEST_POSTGRES_URL (``make bench BENCH=live_cross`` starts a throw-away server);
a database is created for the run and dropped afterwards. IR, PK's peer, is not running: messages stay queued.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench.hotline.__main__ import LiveClient, make_node, seed, summary, token
from sarhad.core.database import upgrade_database
from sarhad.core.settings import load_settings, write_config

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from support.processes import NodeProcess, free_port

console = Console()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between messages")
    args, _ = parser.parse_known_args()
    server = os.environ.get("SARHAD_TEST_POSTGRES_URL", "").strip()
    if not server:
        console.print("[yellow]live_cross skipped: SARHAD_TEST_POSTGRES_URL is not set (make bench sets it)")
        return
    name = f"bench_live_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        database_url = make_url(server).set(database=name).render_as_string(hide_password=False)
        run(database_url, args.messages, args.pause)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(database_url: str, messages: int, pause: float) -> None:
    with tempfile.TemporaryDirectory(prefix="sarhad-live-cross-") as tmp:
        root = Path(tmp)
        ports = {"PK": free_port(), "IR": free_port()}
        dirs = {"PK": make_node(root / "pk", "PK", "Pakistan", ports["PK"]), "IR": root / "ir"}
        write_config(
            dirs["PK"],
            {
                "party": "PK",
                "name": "Pakistan",
                "host": "127.0.0.1",
                "port": ports["PK"],
                "secret_key": "b" * 48,
                "demo_mode": True,
                "database_url": database_url,
            },
        )
        upgrade_database(load_settings(dirs["PK"]).resolved_database_url)
        make_node(dirs["IR"], "IR", "Iran", ports["IR"])
        seed(dirs, ports)
        for path in [root, *root.rglob("*")]:  # owner-only, as ``sarhad serve`` insists
            path.chmod(0o700 if path.is_dir() else 0o600)
        with (
            NodeProcess(dirs["PK"], port=free_port(), name="a") as a,
            NodeProcess(dirs["PK"], port=free_port(), name="b") as b,
        ):
            bearer = token(a.url, "commander")
            same = LiveClient(f"{a.url}/api/v1/events", bearer)
            cross = LiveClient(f"{b.url}/api/v1/events", bearer)
            sent: dict[str, float] = {}
            with httpx.Client(timeout=30) as client:
                headers = {"Authorization": f"Bearer {bearer}"}
                for n in range(messages + 10):  # the first 10 warm up and are not counted
                    started = time.perf_counter()
                    answer = client.post(
                        f"{a.url}/api/v1/hotline/messages",
                        json={
                            "to_position": "IR-S1-CDR",
                            "precedence": "FLASH",
                            "subject": f"m{n}",
                            "body": ".",
                        },
                        headers=headers,
                    )
                    answer.raise_for_status()
                    mid = str(answer.json()["id"])
                    key = f"hotline.message:{mid}"
                    same.wait(key)
                    cross.wait(key)
                    if n >= 10:
                        sent[key] = started
                    time.sleep(pause)
            report(messages, sent, same, cross)


def order_faults(client: LiveClient) -> tuple[int, int]:
    """(repeated, out of order) event ids on a stream."""
    ids = [int(frame["id"]) for _, frame in client.frames]
    return len(ids) - len(set(ids)), sum(1 for x, y in itertools.pairwise(ids) if y <= x)


def published_at(client: LiveClient) -> dict[str, float]:
    """Each message event's ``at`` (set in the publishing transaction, just before its commit), epoch seconds."""
    return {
        f"{frame['topic']}:{frame['data'].get('message')}": datetime.fromisoformat(frame["at"]).timestamp()
        for _, frame in client.frames
    }


def report(messages: int, sent: dict[str, float], same: LiveClient, cross: LiveClient) -> None:
    a = [(same.arrivals[k] - t) * 1000 for k, t in sent.items()]
    b = [(cross.arrivals[k] - t) * 1000 for k, t in sent.items()]
    extra = [(cross.arrivals[k] - same.arrivals[k]) * 1000 for k in sent]
    at = published_at(same)
    a_commit = [(same.wall[k] - at[k]) * 1000 for k in sent]
    b_commit = [(cross.wall[k] - at[k]) * 1000 for k in sent]
    table = Table("latency", "p50 ms", "p99 ms", "max ms", title=f"{messages} FLASH messages through A")
    for label, values in (
        ("request sent on A -> stream on A (same process)", a),
        ("request sent on A -> stream on B (other process)", b),
        ("B minus A, per message (crossing processes)", extra),
        ("published on A, before commit -> stream on A", a_commit),
        ("published on A, before commit -> stream on B", b_commit),
    ):
        p50, p99, top = summary(values)
        table.add_row(label, f"{p50:.1f}", f"{p99:.1f}", f"{top:.1f}")
    console.print(table)
    for label, client in (("A", same), ("B", cross)):
        repeated, disordered = order_faults(client)
        console.print(
            f"stream on {label}: {len(client.frames)} events, {repeated} repeated, {disordered} out of order"
        )


if __name__ == "__main__":
    main()
