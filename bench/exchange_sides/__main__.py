"""Each side of the exchange on its own, in one process: the CPU a release and a receipt cost per envelope.

    python -m bench.exchange_sides [--envelopes 20000] [--batch 1000] [--db sqlite,postgresql]

``bench.exchange`` measures the whole link with two node processes. This one splits it, so a change to either
side can be measured without the noise of three processes sharing two CPUs:

  * **release**: ``bulletins.create_bulletins`` with ``release_to=["IR"]`` on PK's node, 200 per transaction,
    1 KB bodies (the bulletin, its version, the release, the signed envelope and two audit entries);
  * **receive**: ``exchange.receive_batch`` on IR's node with PK's envelopes, ``--batch`` per call, parsed from
    their stored JSON first, verified in the calling thread ("serial") and in the verifier processes
    ("parallel", where the figure is this process's CPU only: the verifiers run on the other CPUs);

each as wall and CPU µs per envelope. In the same run it measures the limits under them — one Ed25519
signature and verification, one envelope made and verified, one row of raw batched 1 KB inserts — and prints
each side's cost as a multiple of them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bench.exchange.__main__ import (
    crypto_limits,
    insert_limit,
    make_node,
    pair,
    postgres_databases,
    release_bulletins,
)
from sarhad.exchange import verifiers
from sarhad.exchange.models import OutboundEnvelope
from sarhad.exchange.receive import receive_batch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from support.processes import free_port

console = Console()


def timed(fn: Callable[[], object], count: int) -> tuple[float, float]:
    """Wall and CPU (this process) µs per item of ``fn`` doing ``count`` items."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) / count * 1e6, (time.process_time() - cpu) / count * 1e6


def measure(root: Path, urls: tuple[str | None, str | None], envelopes: int, batch: int) -> dict[str, float]:
    pk = make_node(root / "pk", "PK", "Pakistan", free_port(), urls[0])
    ir = make_node(root / "ir", "IR", "Iran", free_port(), urls[1])
    pair(pk, ir)
    try:
        release_bulletins(pk, 1000)  # warm-up: imports, caches, the first pages of each table
        figures: dict[str, float] = {}
        figures["release wall µs"], figures["release CPU µs"] = timed(
            lambda: release_bulletins(pk, 2 * envelopes), 2 * envelopes
        )
        with pk.sessions() as session:
            bodies: Sequence[str] = session.scalars(
                select(OutboundEnvelope.body).order_by(OutboundEnvelope.seq)
            ).all()

        def receive(part: Sequence[str]) -> None:
            for start in range(0, len(part), batch):
                receive_batch(ir, "PK>IR", [json.loads(b) for b in part[start : start + batch]])

        receive(bodies[:1000])
        parallel_from = verifiers.PARALLEL_FROM
        try:
            verifiers.PARALLEL_FROM = len(bodies) + 1  # every batch verified in this thread
            serial = bodies[1000 : 1000 + envelopes]
            figures["receive wall µs (serial)"], figures["receive CPU µs (serial)"] = timed(
                lambda: receive(serial), len(serial)
            )
        finally:
            verifiers.PARALLEL_FROM = parallel_from
        parallel = bodies[1000 + envelopes :]
        figures["receive wall µs (parallel)"], figures["receive CPU µs (parallel, this process)"] = timed(
            lambda: receive(parallel), len(parallel)
        )
        return figures
    finally:
        pk.dispose()
        ir.dispose()


def report(label: str, figures: dict[str, float], limits: dict[str, float], inserts: float) -> None:
    table = Table("figure", "µs per envelope", "× one raw insert", title=f"exchange sides on {label}")
    row_us = 1e6 / inserts
    for name, value in figures.items():
        table.add_row(name, f"{value:,.0f}", f"{value / row_us:,.1f}")
    sign_us = 1e6 / limits["ed25519 sign/s (libsodium, used)"]
    verify_us = 1e6 / limits["ed25519 verify/s (libsodium, used)"]
    table.add_row("baseline: one raw batched 1 KB insert", f"{row_us:,.1f}", "1.0")
    table.add_row("baseline: Ed25519 sign / verify (libsodium)", f"{sign_us:,.0f} / {verify_us:,.0f}", "")
    release, receive = figures["release CPU µs"], figures["receive CPU µs (serial)"]
    table.add_row("ratio: release CPU / Ed25519 sign", f"{release / sign_us:,.1f}", "")
    table.add_row("ratio: receive CPU (serial) / Ed25519 verify", f"{receive / verify_us:,.1f}", "")
    table.add_row(
        "both sides on 2 CPUs, if nothing else ran: envelopes/s", f"{2e6 / (release + receive):,.0f}", ""
    )
    console.print(table)


def main() -> None:
    # The nodes' files owner-only, as `sarhad` makes them: `sarhad serve` refuses a data directory that other
    # local accounts can read (docs/security.md).
    os.umask(0o077)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envelopes", type=int, default=20_000, help="envelopes per measured phase")
    parser.add_argument("--batch", type=int, default=1000, help="envelopes per receive_batch call")
    parser.add_argument("--db", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    args = parser.parse_args()
    console.print(
        f"[bold]sarhad exchange sides[/] · {os.cpu_count()} CPUs · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    limits = crypto_limits()
    with tempfile.TemporaryDirectory(prefix="sarhad-bench-") as tmp:
        root = Path(tmp)
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
                inserts = insert_limit(urls[0] or f"sqlite:///{root / 'inserts.db'}")
                figures: dict[str, Any] = measure(root / label, urls, args.envelopes, args.batch)
                report(label, figures, limits, inserts)
            finally:
                drop()


if __name__ == "__main__":  # the verifier processes are spawned and import this module again
    main()
