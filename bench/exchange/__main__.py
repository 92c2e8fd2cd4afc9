"""Exchange benchmark: two real node processes on loopback, 1 KB bulletins from release on PK to receipt.

    python -m bench.exchange [--seconds 20] [--backlog 100000] [--max-backlog 5000] [--db sqlite,postgresql]
                             [--receiver-processes 1]

Measures, per database:
  * sustained envelopes per second from release (a committed bulletin + envelope on PK) to PK holding IR's
    signed receipt for it, with p50/p99/max release-to-receipt latency, while the producer keeps at most
    ``--max-backlog`` envelopes unreceipted; and the same with no bound (overload: the producer then takes
    CPU from the nodes it feeds); with the CPU each process used per envelope;
  * the time to drain a backlog of N envelopes released while IR was stopped, from IR's restart;
  * peak resident memory (VmHWM) of each node process;
  * on PostgreSQL, the CPU the database server used per envelope (when it runs on this machine and its
    processes are readable: every database of that server, so run it on a server of its own, as
    ``make bench`` does).
With ``--receiver-processes N`` the receiving node (IR) runs as N ``sarhad serve`` processes on one database
(PostgreSQL), behind a round-robin TCP proxy (``bench.exchange.proxy``) that PK pushes to.
In the same run it measures the limits that bound those figures on this machine — raw Ed25519 signatures and
verifications per second, envelopes made and verified per second, raw batched inserts of 1 KB rows per second —
and prints the ratios. PostgreSQL is used when SARHAD_TEST_POSTGRES_URL names a server (``make bench`` starts one).
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from nacl.signing import SigningKey, VerifyKey
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Column, Integer, MetaData, Text, create_engine, func, insert, select, text
from sqlalchemy import Table as SqlTable
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from sarhad.accounts.actors import SystemActor
from sarhad.bulletins import bulk as bulletins
from sarhad.bulletins.schemas import BulletinContentIn
from sarhad.core.database import upgrade_database
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings, write_config
from sarhad.exchange import protocol
from sarhad.exchange.identity import identity
from sarhad.exchange.keys import create_node_key
from sarhad.exchange.models import LinkHead, OutboundEnvelope
from sarhad.exchange.peers import add_peer
from support.processes import NodeProcess, free_port

console = Console()
BODY = ("Patrol report: movement observed near the crossing; coordinates and times follow. " * 13)[:1024]


# --- limits of this machine -----------------------------------------------------------------------------


def rate(fn: Callable[[], object], seconds: float = 1.5) -> float:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            fn()
        count += 100
    return count / elapsed


def crypto_limits() -> dict[str, float]:
    key = protocol.generate_private_key()
    public = key.public_key()
    message = b"x" * 64
    signature = key.sign(message)
    record = {
        "kind": "bulletin",
        "origin": "PK",
        "id": str(uuid.uuid4()),
        "version": 1,
        "op": "upsert",
        "handling": "no_onward",
        "tlp": "amber",
        "content": {"title": "t", "body": BODY},
        "content_hash": "0" * 64,
    }
    now = datetime.now(UTC)
    envelope = protocol.make_envelope(key, "PK>IR", 1, protocol.GENESIS_HASH, now, record)
    keys = {envelope["key"]: public}
    sodium = VerifyKey(base64.b64decode(protocol.public_key_b64(public)))
    signer = SigningKey(key.private_bytes_raw())
    return {
        "ed25519 sign/s (OpenSSL)": rate(lambda: key.sign(message)),
        "ed25519 sign/s (libsodium, used)": rate(lambda: signer.sign(message)),
        "ed25519 verify/s (OpenSSL)": rate(lambda: public.verify(signature, message)),
        "ed25519 verify/s (libsodium, used)": rate(lambda: sodium.verify(message, signature)),
        "make envelope/s": rate(
            lambda: protocol.make_envelope(key, "PK>IR", 1, protocol.GENESIS_HASH, now, record)
        ),
        "verify envelope/s": rate(lambda: protocol.verify_envelope(envelope, keys)),
    }


def insert_limit(url: str, rows: int = 20_000, batch: int = 500) -> float:
    """Raw batched inserts of 1 KB rows per second (executemany in transactions of ``batch``)."""
    engine = create_engine(url, poolclass=NullPool)
    metadata = MetaData()
    table = SqlTable(
        f"bench_rows_{uuid.uuid4().hex[:8]}",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("body", Text),
    )
    metadata.create_all(engine)
    try:
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
                connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
        start = time.perf_counter()
        for first in range(0, rows, batch):
            with engine.begin() as connection:
                connection.execute(
                    insert(table), [{"id": i + 1, "body": BODY} for i in range(first, first + batch)]
                )
        return rows / (time.perf_counter() - start)
    finally:
        metadata.drop_all(engine)
        engine.dispose()


# --- two nodes ------------------------------------------------------------------------------------------


def make_node(folder: Path, party: str, name: str, port: int, database_url: str | None) -> Node:
    folder.mkdir(parents=True)
    values: dict[str, object] = {
        "party": party,
        "name": name,
        "port": port,
        "demo_mode": True,
        "secret_key": uuid.uuid4().hex * 2,
    }
    if database_url:
        values["database_url"] = database_url
    write_config(folder, values)
    settings = load_settings(folder)
    create_node_key(settings)
    upgrade_database(settings.resolved_database_url)
    return build_node(settings)


def pair(a: Node, b: Node) -> None:
    for mine, theirs in ((a, b), (b, a)):
        them = identity(theirs)
        with mine.transaction() as session:
            add_peer(
                session,
                mine,
                party=theirs.party,
                url=theirs.settings.base_url,
                public_key_b64=them.public_key_b64,
                fingerprint=them.fingerprint,
                actor=SystemActor(),
            )


def release_bulletins(
    node: Node, count: int, per_transaction: int = 200, after_commit: Callable[[int], None] | None = None
) -> None:
    """Write and release ``count`` bulletins through the bulletins service, ``per_transaction`` per commit."""
    actor = SystemActor("bench")
    content = BulletinContentIn(title="bench", body=BODY)
    done = 0
    while done < count:
        n = min(per_transaction, count - done)
        with node.transaction() as session:
            bulletins.create_bulletins(session, node, actor, [content] * n, tlp="amber", release_to=["IR"])
        done += n
        if after_commit is not None:
            after_commit(n)


def link_state(node: Node) -> tuple[int, int]:
    """Envelopes written and receipted on PK's link to IR, over all its chains (precedence lanes included)."""
    with node.sessions() as session:
        seq, receipted = session.execute(
            select(func.sum(LinkHead.seq), func.sum(LinkHead.receipted_seq)).where(
                LinkHead.peer == "IR", LinkHead.direction == "out"
            )
        ).one()
        return int(seq or 0), int(receipted or 0)


def wake(sender: NodeProcess, waker: Node) -> None:
    """Tell PK 'IR is up' with IR's key (what IR itself does on start-up), so PK pushes at once."""
    from sarhad.exchange.transport import signed_headers

    headers = signed_headers(waker, "POST", "/exchange/v1/hello", b"{}")
    httpx.post(f"{sender.url}/exchange/v1/hello", content=b"{}", headers=headers, timeout=5)


def latencies(node: Node, since: datetime) -> list[float]:
    """Release → receipt of every envelope to IR written since ``since`` (any of the link's chains)."""
    with node.sessions() as session:
        rows = session.execute(
            select(OutboundEnvelope.created_at, OutboundEnvelope.receipted_at).where(
                OutboundEnvelope.link.startswith("PK>IR"), OutboundEnvelope.created_at >= since
            )
        ).all()
    return [(r - c).total_seconds() for c, r in rows if r is not None]


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a node process and its live children (the verifier processes)."""
    if pid is None:
        return float("nan")
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    pids, seen = [pid], set()
    while pids:
        current = pids.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pids.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended meanwhile
    return total


def server_cpu_seconds(url: str | None) -> float:
    """User + system CPU seconds of the PostgreSQL server behind ``url`` since it started: the postmaster, its
    children now running and those that ended (their time is in the postmaster's ``cutime``). NaN if the
    server is not on this machine or its processes are not readable."""
    if url is None:
        return float("nan")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:  # its server process is read while it still runs
            backend = int(connection.scalar(text("SELECT pg_backend_pid()")) or 0)
            fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        postmaster = int(fields[1])
        tick = os.sysconf("SC_CLK_TCK")
        fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
        total = sum(int(f) for f in fields[11:15]) / tick  # utime, stime, cutime, cstime
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        for child in children:
            if int(child) == backend:
                continue  # this connection, which ends now
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except FileNotFoundError:
                continue
        return total
    except (OSError, ValueError):
        return float("nan")
    finally:
        engine.dispose()


class Receivers:
    """IR's ``sarhad serve`` processes on one data directory (and database), behind a round-robin proxy on
    the node's configured port when there is more than one."""

    def __init__(self, data_dir: Path, port: int, count: int) -> None:
        self.port = port
        ports = [port] if count == 1 else [free_port() for _ in range(count)]
        self.processes = [
            NodeProcess(data_dir, p, name="ir" if i == 0 else f"ir{i + 1}") for i, p in enumerate(ports)
        ]
        self.proxy: subprocess.Popen[str] | None = None

    @property
    def pids(self) -> list[int | None]:
        return [p.pid for p in self.processes]

    def start(self) -> None:
        for process in self.processes:
            process.start()
        if len(self.processes) > 1 and self.proxy is None:
            self.proxy = subprocess.Popen(
                [sys.executable, "-m", "bench.exchange.proxy", str(self.port)]
                + [str(p.port) for p in self.processes],
                stdout=subprocess.PIPE,
                text=True,
                cwd=Path(__file__).resolve().parents[2],
            )
            assert self.proxy.stdout is not None
            assert self.proxy.stdout.readline().strip() == "ready"

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def close(self) -> None:
        self.stop()
        if self.proxy is not None:
            self.proxy.terminate()
            self.proxy.wait(10)
            self.proxy = None

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def peak_rss_mib(self) -> float:
        return sum(peak_rss_mib(pid) for pid in self.pids)


def peak_rss_mib(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sustain(
    label: str,
    pk: Node,
    pk_proc: NodeProcess,
    ir_proc: Receivers,
    seconds: float,
    max_backlog: int | None,
    name: str,
    server: str | None = None,
) -> dict[str, Any]:
    """Release for ``seconds`` (pausing while more than ``max_backlog`` are unreceipted, if given), wait for the
    last receipt; envelopes per second over the whole time, release → receipt latency, CPU per envelope."""
    first, _ = link_state(pk)
    since = datetime.now(UTC)
    released = 0
    start = time.perf_counter()
    with _progress() as progress:
        bound = "unbounded backlog" if max_backlog is None else f"backlog ≤ {max_backlog:,}"
        task = progress.add_task(f"{label}: {name} release → receipt ({bound})", total=None)

        def committed(n: int) -> None:
            nonlocal released
            released += n
            progress.advance(task, n)

        cpu_before = (
            time.process_time(),
            cpu_seconds(pk_proc.pid),
            ir_proc.cpu_seconds(),
            server_cpu_seconds(server),
        )
        while time.perf_counter() - start < seconds:
            if max_backlog is not None:
                head, receipted = link_state(pk)
                if head - receipted > max_backlog:
                    time.sleep(0.01)
                    continue
            release_bulletins(pk, 200, after_commit=committed)
        produced_in = time.perf_counter() - start
        head, receipted = link_state(pk)
        while receipted < head:
            time.sleep(0.25)  # polling costs the bench process CPU the nodes need
            head, receipted = link_state(pk)
    elapsed = time.perf_counter() - start
    cpu_after = (
        time.process_time(),
        cpu_seconds(pk_proc.pid),
        ir_proc.cpu_seconds(),
        server_cpu_seconds(server),
    )
    lat = latencies(pk, since)
    count = head - first
    result: dict[str, Any] = {
        f"{name} envelopes/s": count / elapsed,
        f"{name}: release rate/s (producer)": released / produced_in,
        f"{name}: latency p50 ms": statistics.median(lat) * 1000,
        f"{name}: latency p99 ms": (
            statistics.quantiles(lat, n=100)[98] * 1000 if len(lat) > 100 else float("nan")
        ),
        f"{name}: latency max ms": max(lat) * 1000,
    }
    # Where the CPU went: per envelope, in the producer (this process), PK and IR (with its verifiers), and
    # the PostgreSQL server. 2 CPUs give 2,000,000 µs a second; 5,000 envelopes/s leaves 400 µs for all.
    who = ("producer", "PK node", "IR node", "PostgreSQL server")
    for label, before, after in zip(who, cpu_before, cpu_after, strict=True):
        if server is not None or label != who[-1]:
            result[f"{name}: CPU µs/envelope, {label}"] = (after - before) / count * 1e6
    used = sum(a - b for a, b in zip(cpu_after, cpu_before, strict=True) if a == a and b == b)  # not NaN
    result[f"{name}: CPU used / CPUs available"] = used / (elapsed * (os.cpu_count() or 1))
    return result


def run_database(
    label: str,
    urls: tuple[str | None, str | None],
    seconds: float,
    backlog: int,
    root: Path,
    max_backlog: int,
    receivers: int = 1,
    server: str | None = None,
) -> dict[str, Any]:
    pk_port, ir_port = free_port(), free_port()
    pk = make_node(root / f"{label}-pk", "PK", "Pakistan", pk_port, urls[0])
    ir = make_node(root / f"{label}-ir", "IR", "Iran", ir_port, urls[1])
    pair(pk, ir)
    result: dict[str, Any] = {"IR processes": receivers}
    ir_proc = Receivers(ir.settings.data_dir, ir_port, receivers)
    with NodeProcess(pk.settings.data_dir, pk_port, name="pk") as pk_proc:
        try:
            ir_proc.start()
            # 1. sustained: the producer keeps at most `max_backlog` envelopes unreceipted (a user who sees the
            #    link fall behind, or any admission control, does the same), for `seconds`; then the last receipt.
            wake(pk_proc, ir)
            result.update(sustain(label, pk, pk_proc, ir_proc, seconds, max_backlog, "sustained", server))
            head, _ = link_state(pk)

            # 2. backlog: IR away while `backlog` bulletins are released, then IR returns.
            ir_proc.stop()
            first = head
            with _progress() as progress:
                task = progress.add_task(f"{label}: releasing {backlog} while IR is down", total=backlog)
                release_bulletins(
                    pk, backlog, per_transaction=500, after_commit=lambda n: progress.advance(task, n)
                )
            head, receipted = link_state(pk)
            # The backlog, and any envelope PK wrote by itself meanwhile (under heavy load, one more was seen).
            assert head - receipted >= backlog, (head, receipted)
            backlog = head - receipted
            restart = time.perf_counter()
            ir_proc.start()
            with _progress() as progress:
                task = progress.add_task(f"{label}: draining the backlog", total=backlog)
                while receipted < head:
                    time.sleep(0.25)
                    _, receipted = link_state(pk)
                    progress.update(task, completed=receipted - first)
            result["backlog"] = backlog
            result["backlog drain s"] = time.perf_counter() - restart
            result["drain envelopes/s"] = backlog / result["backlog drain s"]
            # 3. overload: the producer releases as fast as it can, whatever the backlog. It then competes for the
            #    two CPUs with the nodes it feeds, so fewer envelopes get through than under 1. (After the drain, so
            #    that IR's tables hold as much at the drain as in earlier sessions' runs.)
            result.update(sustain(label, pk, pk_proc, ir_proc, seconds, None, "overload", server))
            result["PK peak MiB"] = peak_rss_mib(pk_proc.pid)
            result["IR peak MiB"] = ir_proc.peak_rss_mib()
            with ir.sessions() as session:
                result["IR inbox rows"] = session.scalar(text("SELECT count(*) FROM exchange_inbox"))
        finally:
            ir_proc.close()
    pk.dispose()
    ir.dispose()
    return result


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def postgres_databases(server: str) -> tuple[str, str, Callable[[], None]]:
    admin = create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    names = [f"bench_{p}_{uuid.uuid4().hex[:6]}" for p in ("pk", "ir")]
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    base = make_url(server)
    urls = [base.set(database=n).render_as_string(hide_password=False) for n in names]
    return urls[0], urls[1], drop


def print_limits(limits: dict[str, float]) -> None:
    table = Table("limit of this machine (one core)", "per second", title="baseline")
    for name, value in limits.items():
        table.add_row(name, f"{value:,.0f}")
    console.print(table)


def print_results(label: str, figures: dict[str, Any], limits: dict[str, float]) -> None:
    """Print one database's figures as soon as they are measured (a long run must not lose them)."""
    table = Table("figure", "value", title=f"exchange on {label}")
    for name, value in figures.items():
        table.add_row(name, f"{value:,.1f}" if isinstance(value, float) else str(value))
    sustained = figures["sustained envelopes/s"]
    raw = limits["ed25519 verify/s (libsodium, used)"]
    table.add_row("ratio: sustained / raw ed25519 verify (libsodium)", f"{sustained / raw:.3f}")
    table.add_row("ratio: sustained / verify envelope", f"{sustained / limits['verify envelope/s']:.3f}")
    inserts = limits.get(f"{label} batched inserts/s")
    if inserts:
        table.add_row(f"{label} batched inserts/s (same run)", f"{inserts:,.0f}")
        table.add_row("ratio: sustained / raw batched inserts", f"{sustained / inserts:.3f}")
    table.add_row("target: >= 5,000/s sustained (SQLite)", "met" if sustained >= 5000 else "not met")
    table.add_row("target: backlog drained < 30 s", "met" if figures["backlog drain s"] < 30 else "not met")
    console.print(table)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    # A timeout or CI kill sends SIGTERM: leave through the context managers so the node processes stop too.
    raise SystemExit(128 + signum)


def main() -> None:
    # The nodes' files owner-only, as `sarhad` makes them: `sarhad serve` refuses a data directory that other
    # local accounts can read (docs/security.md).
    os.umask(0o077)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the sustained phase")
    parser.add_argument(
        "--backlog", type=int, default=100_000, help="envelopes released while the peer is away"
    )
    parser.add_argument("--db", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument(
        "--max-backlog",
        type=int,
        default=5000,
        help="in the sustained phase, the producer waits while more envelopes than this are unreceipted",
    )
    parser.add_argument(
        "--receiver-processes",
        type=int,
        default=1,
        help="sarhad serve processes of the receiving node (IR), behind a round-robin proxy; more than one "
        "needs PostgreSQL",
    )
    args = parser.parse_args()
    console.print(
        f"[bold]sarhad exchange benchmark[/] · {os.cpu_count()} CPUs · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    limits = crypto_limits()
    print_limits(limits)
    with tempfile.TemporaryDirectory(prefix="sarhad-bench-") as tmp:
        root = Path(tmp)
        for label in [d.strip() for d in args.db.split(",") if d.strip()]:
            if label == "sqlite":
                if args.receiver_processes > 1:
                    console.print("[yellow]sqlite skipped: several processes of one node need PostgreSQL")
                    continue
                limits["sqlite batched inserts/s"] = insert_limit(f"sqlite:///{root / 'inserts.db'}")
                print_results(
                    label,
                    run_database(label, (None, None), args.seconds, args.backlog, root, args.max_backlog),
                    limits,
                )
            elif label == "postgresql":
                server = os.environ.get("SARHAD_TEST_POSTGRES_URL")
                if not server:
                    console.print(
                        "[yellow]postgresql skipped: SARHAD_TEST_POSTGRES_URL is not set (make bench sets it)"
                    )
                    continue
                pk_url, ir_url, drop = postgres_databases(server)
                try:
                    limits["postgresql batched inserts/s"] = insert_limit(pk_url)
                    print_results(
                        label,
                        run_database(
                            label,
                            (pk_url, ir_url),
                            args.seconds,
                            args.backlog,
                            root,
                            args.max_backlog,
                            args.receiver_processes,
                            server=pk_url,
                        ),
                        limits,
                    )
                finally:
                    drop()


if __name__ == "__main__":
    main()
