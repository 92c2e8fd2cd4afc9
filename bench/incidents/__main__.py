"""Incidents benchmark: N incidents (default 1,000,000) on each database, loaded through the CSV import.

    python -m bench.incidents [--count 1000000] [--queries 300] [--db sqlite,postgresql]

Measures, per database:
  * CSV import rows per second (``incidents.bulk.import_csv``: parsing, every rule, side and section of the
    border, hashing, bulk inserts of the incident and its version 1) — the file is generated first;
  * p50 / p99 / max of the map query (``exports.map_features``, what the picture page and ``format=geojson``
    run: a 1°×1° bounding box around a random point of the border, a 30-day window ending at a random day of
    the year, one random type, at most 1000 rows, newest first), of the same query without a type, and of the
    typed query returning full incident objects (``reading.list_incidents``, the API's JSON list);
  * p50 / p99 / max of the daily situation report (``reports.daily_report`` for a random day);
  * peak resident memory of this process.
In the same run it measures baselines and prints the ratios: raw inserts of the same rows (what the database
costs without the import's checks), and a full-table ``count(*)`` (what scanning everything costs).
PostgreSQL is used when SARHAD_TEST_POSTGRES_URL names a server (``make bench`` starts one).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import random
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from sarhad.accounts.actors import SystemActor
from sarhad.border import seeding as border
from sarhad.core.clock import FixedClock
from sarhad.core.database import insert_rows, table_of, upgrade_database
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings, write_config
from sarhad.incidents import bulk, domain, exports, reading, reports
from sarhad.incidents.locate import BorderLocator
from sarhad.incidents.models import Incident

console = Console()
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
YEAR_DAYS = 365
TYPES = list(domain.BUILTIN_TYPES)
BENCH = SystemActor("bench")
UNITS = {"opium": "kg", "hashish": "kg", "diesel": "l", "cigarettes": "packets"}
HEADER = [
    "type",
    "occurred_at",
    "lat",
    "lon",
    "description",
    "impact_level",
    "seizures",
    "casualties",
    "persons_apprehended",
    "source_reliability",
    "info_credibility",
    "exercise",
]


def border_points() -> list[tuple[float, float]]:
    coords = border.reference_data()["border"]["geometry"]["coordinates"]
    points = []
    for (x1, y1), (x2, y2) in itertools.pairwise(coords):
        for k in range(10):
            points.append((x1 + (x2 - x1) * k / 10, y1 + (y2 - y1) * k / 10))
    return points


def generate_csv(path: Path, count: int, seed: int = 7, *, shuffled: bool = False) -> None:
    """``count`` plausible incidents over the year before NOW, within ~25 km of the border, both sides, in
    occurrence order (or in random time order with ``shuffled``)."""
    rng = random.Random(seed)
    points = border_points()
    impacts = ["low", "low", "medium", "medium", "high", "very_high"]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        # In occurrence order, as a node receives incidents (reported within hours of happening); see
        # docs/incidents.md for a load in random time order.
        offsets = [rng.randint(3600, YEAR_DAYS * 86400) for _ in range(count)]
        if not shuffled:
            offsets.sort(reverse=True)
        for n, offset in enumerate(offsets):
            lon, lat = rng.choice(points)
            occurred = NOW - timedelta(seconds=offset)
            kind = rng.choice(TYPES)
            item = rng.choice(list(UNITS)) if n % 3 == 0 else ""
            writer.writerow(
                [
                    kind,
                    occurred.isoformat(timespec="seconds"),
                    round(lat + rng.uniform(-0.2, 0.2), 5),
                    round(lon + rng.uniform(-0.2, 0.2), 5),
                    f"Bench incident {n}: patrol report near the line",
                    rng.choice(impacts),
                    f"{item}:{rng.randint(1, 500)}:{UNITS[item]}" if item else "",
                    "security_injured=1" if n % 50 == 0 else "",
                    rng.randint(0, 4),
                    rng.choice("ABCDEF"),
                    rng.choice("123456"),
                    "yes",
                ]
            )


def make_node(folder: Path, database_url: str | None) -> Node:
    folder.mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {
        "party": "PK",
        "name": "Pakistan (bench)",
        "host": "127.0.0.1",
        "port": 18700,
        "secret_key": uuid.uuid4().hex * 2,
        "default_time_zone": "Asia/Karachi",
    }
    if database_url:
        values["database_url"] = database_url
    write_config(folder, values)
    settings = load_settings(folder)
    upgrade_database(settings.resolved_database_url)
    node = build_node(settings, clock=FixedClock(NOW))
    with node.transaction() as session:
        border.seed_reference_scenario(session, node, SystemActor("seed"), border.reference_data())
    return node


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50": statistics.median(ordered) * 1000, "p99": p99 * 1000, "max": ordered[-1] * 1000}


def timed(fn: Callable[[], Any], runs: int) -> tuple[dict[str, float], list[Any]]:
    samples, results = [], []
    for _ in range(runs):
        start = time.perf_counter()
        results.append(fn())
        samples.append(time.perf_counter() - start)
    return percentiles(samples), results


def import_file(node: Node, path: Path, count: int) -> float:
    done = 0
    last = time.perf_counter()
    start = last

    def progress(n: int) -> None:
        nonlocal done, last
        done += n
        if time.perf_counter() - last > 10:
            last = time.perf_counter()
            console.print(f"  … {done:,} of {count:,} rows ({done / (last - start):,.0f} rows/s)")

    with node.transaction() as session, path.open(encoding="utf-8", newline="") as lines:
        report = bulk.import_csv(session, node, BENCH, lines, source=path.name, progress=progress)
    elapsed = time.perf_counter() - start
    if report.error_count:
        raise SystemExit(f"import refused rows: {[str(e) for e in report.errors[:5]]}")
    return report.imported / elapsed


def raw_insert_rate(node: Node, path: Path, rows: int) -> float:
    """Baseline: the same rows, already parsed and placed, written with the same bulk insert (then rolled back)."""
    report = bulk.ImportReport()
    with node.sessions() as session:
        locator = BorderLocator.load(session)
    with path.open(encoding="utf-8", newline="") as f:
        head = [next(f) for _ in range(rows + 1)]
    prepared = list(bulk.parse_rows(node, locator, head, actor="bench", confirm_far=False, report=report))
    with node.engine.connect() as connection:
        transaction = connection.begin()
        start = time.perf_counter()
        for at in range(0, len(prepared), bulk.CHUNK):
            insert_rows(
                connection, table_of(Incident), prepared[at : at + bulk.CHUNK], encoded=bulk.INCIDENT_JSON
            )
        elapsed = time.perf_counter() - start
        transaction.rollback()
    return len(prepared) / elapsed


def bench_database(label: str, node: Node, path: Path, count: int, queries: int) -> dict[str, Any]:
    console.print(f"[bold]{label}[/]: importing {count:,} incidents from {path.name}")
    import_rate = import_file(node, path, count)
    console.print(f"  import: {import_rate:,.0f} rows/s")
    raw_rate = raw_insert_rate(node, path, min(count, 20_000))
    if node.engine.dialect.name == "postgresql":
        # VACUUM sets the hint bits and the visibility map of the freshly loaded pages, as autovacuum on a
        # running node would have done by now; without it the first read of each page also writes it.
        with node.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE) incidents"))
    else:
        with node.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
            driver = connection.connection.driver_connection
            assert driver is not None
            # outside any transaction, as a running node's checkpoints would have done by now
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rng = random.Random(11)
    points = border_points()

    def map_filter(with_type: bool) -> reading.IncidentFilter:
        lon, lat = rng.choice(points)
        until = NOW - timedelta(days=rng.randint(0, YEAR_DAYS - 30))
        return reading.IncidentFilter(
            bbox=(lon - 0.5, lat - 0.5, lon + 0.5, lat + 0.5),
            since=until - timedelta(days=30),
            until=until,
            types=(rng.choice(TYPES),) if with_type else (),
            limit=1000,
        )

    def map_query(with_type: bool) -> int:
        with node.sessions() as session:
            return len(exports.map_features(session, node, BENCH, map_filter(with_type))["features"])

    def list_query() -> int:
        with node.sessions() as session:
            return len(reading.list_incidents(session, node, BENCH, map_filter(True)))

    def daily() -> int:
        day = (NOW - timedelta(days=rng.randint(1, YEAR_DAYS))).date()
        with node.sessions() as session:
            return reports.daily_report(session, node, BENCH, day).total

    def count_all() -> int:
        with node.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(Incident)) or 0)

    for _ in range(10):  # warm the caches as a running node's would be
        map_query(True)
    typed, typed_rows = timed(lambda: map_query(True), queries)
    untyped, untyped_rows = timed(lambda: map_query(False), max(queries // 3, 10))
    full_rows, full_rows_rows = timed(list_query, max(queries // 3, 10))
    report, report_totals = timed(daily, max(queries // 5, 10))
    full_count, counted = timed(count_all, 5)
    return {
        "import_rows_per_s": import_rate,
        "raw_insert_rows_per_s": raw_rate,
        "map_typed": typed,
        "map_typed_rows": statistics.mean(typed_rows),
        "map_untyped": untyped,
        "map_untyped_rows": statistics.mean(untyped_rows),
        "list_full": full_rows,
        "list_full_rows": statistics.mean(full_rows_rows),
        "daily": report,
        "daily_incidents": statistics.mean(report_totals),
        "count": full_count,
        "held": counted[0],
    }


def print_results(label: str, r: dict[str, Any]) -> None:
    table = Table("measure", "p50 ms", "p99 ms", "max ms", "notes", title=f"{label}: {r['held']:,} incidents")
    for name, key, note in (
        (
            "map query (bbox + 30 days + type)",
            "map_typed",
            f"{r['map_typed_rows']:.0f} rows on average; target p99 < 100 ms",
        ),
        (
            "map query (bbox + 30 days, any type)",
            "map_untyped",
            f"{r['map_untyped_rows']:.0f} rows on average (limit 1000)",
        ),
        (
            "same, as full incident objects (API JSON list)",
            "list_full",
            f"{r['list_full_rows']:.0f} rows on average",
        ),
        ("daily situation report", "daily", f"{r['daily_incidents']:.0f} incidents a day on average"),
        ("baseline: full-table count(*)", "count", ""),
    ):
        v = r[key]
        table.add_row(name, f"{v['p50']:.1f}", f"{v['p99']:.1f}", f"{v['max']:.1f}", note)
    console.print(table)
    console.print(
        f"  CSV import: [bold]{r['import_rows_per_s']:,.0f} rows/s[/] (target ≥ 10,000); baseline raw bulk insert of "
        f"the same rows {r['raw_insert_rows_per_s']:,.0f} rows/s → import runs at "
        f"{r['import_rows_per_s'] / r['raw_insert_rows_per_s']:.0%} of the raw insert rate"
    )
    console.print(
        f"  map query p99 = {r['map_typed']['p99'] / r['count']['p50']:.3f} × a full count; "
        f"daily report p99 = {r['daily']['p99'] / r['count']['p50']:.3f} × a full count"
    )


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    # The nodes' files owner-only, as `sarhad` makes them: `sarhad serve` refuses a data directory that other
    # local accounts can read (docs/security.md).
    os.umask(0o077)
    parser = argparse.ArgumentParser(prog="python -m bench.incidents", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--count", type=int, default=1_000_000, help="incidents per database (default 1,000,000)"
    )
    parser.add_argument("--queries", type=int, default=300, help="map queries per database")
    parser.add_argument("--db", default="sqlite,postgresql", help="databases to run: sqlite, postgresql")
    parser.add_argument(
        "--shuffled",
        action="store_true",
        help="load the incidents in random time order (default: as they occur)",
    )
    args = parser.parse_args()
    databases = [d.strip() for d in args.db.split(",") if d.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-incidents-") as tmp:
        folder = Path(tmp)
        path = folder / "incidents.csv"
        start = time.perf_counter()
        generate_csv(path, args.count, shuffled=args.shuffled)
        console.print(
            f"generated {args.count:,} rows in {time.perf_counter() - start:.1f} s ({path.stat().st_size / 1e6:.0f} MB)"
        )
        for db in databases:
            if db == "sqlite":
                node = make_node(folder / "sqlite", None)
                try:
                    print_results("SQLite", bench_database("SQLite", node, path, args.count, args.queries))
                finally:
                    node.dispose()
            elif db == "postgresql":
                server = os.environ.get("SARHAD_TEST_POSTGRES_URL")
                if not server:
                    console.print(
                        "[yellow]postgresql skipped: SARHAD_TEST_POSTGRES_URL is not set (make bench sets it)"
                    )
                    continue
                admin = create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
                name = f"bench_incidents_{uuid.uuid4().hex[:6]}"
                with admin.connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
                url = make_url(server).set(database=name).render_as_string(hide_password=False)
                node = make_node(folder / "postgresql", url)
                try:
                    print_results(
                        "PostgreSQL", bench_database("PostgreSQL", node, path, args.count, args.queries)
                    )
                finally:
                    node.dispose()
                    with admin.connect() as connection:
                        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    admin.dispose()
            else:
                raise SystemExit(f"unknown database {db!r}")
    console.print(f"peak resident memory of the benchmark process: {peak_memory_mb():.0f} MB")


if __name__ == "__main__":
    main()
