"""SQL statements per transaction on each side of the exchange, and the database server's CPU per envelope.

    python -m bench.exchange_sides.statements [--envelopes 4000] [--batch 1000] [--db sqlite,postgresql]

Counts, with SQLAlchemy's cursor events (and the ``COPY``s of ``core.database.insert_rows``, which go to the
driver directly), the statements of a release (``bulletins.create_bulletins`` with ``release_to=["IR"]``, 200
per transaction) and of a receipt (``exchange.receive_batch``, ``--batch`` envelopes per call, verified in
this thread), each statement's count per transaction, and the CPU per envelope of this process and, on
PostgreSQL, of the server processes serving its connections (read from ``/proc``: the server must run on
this machine). Deterministic where wall-clock figures are not: the counts do not depend on the host's load.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Engine, event, select, text

import sarhad.core.database as database
from bench.exchange.__main__ import make_node, pair, postgres_databases, release_bulletins
from sarhad.core.node import Node
from sarhad.exchange import verifiers
from sarhad.exchange.models import OutboundEnvelope
from sarhad.exchange.receive import receive_batch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from support.processes import free_port

console = Console()


class Counter:
    def __init__(self) -> None:
        self.statements: collections.Counter[str] = collections.Counter()

    def add(self, statement: str) -> None:
        self.statements[" ".join(statement.split()[:3])[:70]] += 1


def instrument(engine: Engine, counter: Counter) -> None:
    event.listen(engine, "before_cursor_execute", lambda *a: counter.add(a[2]))
    event.listen(engine, "begin", lambda *a: counter.add("<BEGIN>"))
    event.listen(engine, "commit", lambda *a: counter.add("<COMMIT>"))


def count_copies(counters: dict[int, Counter]) -> None:
    """Count the ``COPY``s of ``insert_rows`` in every module that imported it."""
    original = database.insert_rows

    def counted(target: Any, table: Any, rows: Any, **kwargs: Any) -> None:
        connection = target.connection() if hasattr(target, "get_bind") else target
        counter = counters.get(id(connection.engine))
        if counter is not None and connection.dialect.name == "postgresql" and rows:
            counter.add(f"COPY {table.name}")
        original(target, table, rows, **kwargs)

    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name.startswith("sarhad") and getattr(module, "insert_rows", None) is original:
            module.insert_rows = counted  # type: ignore[union-attr]


def server_cpu(node: Node) -> float:
    """CPU seconds of the server processes now serving ``node``'s database (0 on SQLite)."""
    if node.engine.dialect.name != "postgresql":
        return 0.0
    with node.engine.connect() as connection:
        pids = connection.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, PermissionError):
            continue
    return total


def measure(label: str, node: Node, counter: Counter, work: Callable[[], None], count: int, per: int) -> None:
    counter.statements.clear()
    server, wall, cpu = server_cpu(node), time.perf_counter(), time.process_time()
    work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server = server_cpu(node) - server
    units = count / per
    total = sum(counter.statements.values()) / units
    console.print(f"[bold]{label}[/]: {total:.1f} statements per transaction of {per}")
    console.print(
        f"  µs per envelope: wall {wall / count * 1e6:.0f}, this process's CPU {cpu / count * 1e6:.0f}, "
        f"database server CPU {server / count * 1e6:.0f}"
    )
    for statement, n in counter.statements.most_common():
        console.print(f"  {n / units:6.2f}  {statement}")


def run(label: str, root: Path, urls: tuple[str | None, str | None], envelopes: int, batch: int) -> None:
    pk = make_node(root / "pk", "PK", "Pakistan", free_port(), urls[0])
    ir = make_node(root / "ir", "IR", "Iran", free_port(), urls[1])
    pair(pk, ir)
    try:
        on_pk, on_ir = Counter(), Counter()
        instrument(pk.engine, on_pk)
        instrument(ir.engine, on_ir)
        count_copies({id(pk.engine): on_pk, id(ir.engine): on_ir})
        release_bulletins(pk, 400)  # warm-up
        measure(f"{label}: release", pk, on_pk, lambda: release_bulletins(pk, envelopes), envelopes, 200)
        with pk.sessions() as session:
            bodies: Sequence[str] = session.scalars(
                select(OutboundEnvelope.body).order_by(OutboundEnvelope.seq)
            ).all()
        receive_batch(ir, "PK>IR", [json.loads(b) for b in bodies[:400]])
        rest = bodies[400:]

        def receive() -> None:
            for start in range(0, len(rest), batch):
                receive_batch(ir, "PK>IR", [json.loads(b) for b in rest[start : start + batch]])

        measure(f"{label}: receive", ir, on_ir, receive, len(rest), batch)
    finally:
        pk.dispose()
        ir.dispose()


def main() -> None:
    os.umask(0o077)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envelopes", type=int, default=4000, help="envelopes released and received")
    parser.add_argument("--batch", type=int, default=1000, help="envelopes per receive_batch call")
    parser.add_argument("--db", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    args = parser.parse_args()
    verifiers.PARALLEL_FROM = args.envelopes + 1  # verified in this thread: its CPU is counted
    with tempfile.TemporaryDirectory(prefix="sarhad-bench-") as tmp:
        for label in [d.strip() for d in args.db.split(",") if d.strip()]:
            urls: tuple[str | None, str | None] = (None, None)
            drop: Callable[[], None] = lambda: None  # noqa: E731
            if label == "postgresql":
                server = os.environ.get("SARHAD_TEST_POSTGRES_URL")
                if not server:
                    console.print("[yellow]postgresql skipped: SARHAD_TEST_POSTGRES_URL is not set")
                    continue
                pk_url, ir_url, drop = postgres_databases(server)
                urls = (pk_url, ir_url)
            try:
                run(label, Path(tmp) / label, urls, args.envelopes, args.batch)
            finally:
                drop()


if __name__ == "__main__":
    main()
