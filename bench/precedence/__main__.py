"""Precedence benchmark: does a FLASH overtake a bulk backlog? Two real node processes (SQLite), a live-event
client of IR's commander, and optionally the emulated poor link of tests/support/link_emulator.py.

    python -m bench.precedence [--backlog 100000] [--flashes 20] [--interval 0.5]
                               [--slow-backlog 300] [--slow-flashes 5] [--slow-interval 5]
                               [--throughput-backlog 20000] [--rounds 1] [--skip ...]

Phases (one pair of seeded nodes; before each phase both are restarted with lanes on or off):
  * ``loopback``: IR stopped, ``--backlog`` bulletins released on PK through the bulk path, IR started, and at
    once a FLASH is posted on PK's API every ``--interval`` s while the backlog drains (up to ``--flashes``).
    Each FLASH's latency runs from the POST to the ``hotline.message`` event on IR's live client: p50/p99/max.
    The same with lanes off is the baseline (the FLASH then waits for the whole backlog).
  * ``slow``: the same over an emulated 64 kbit/s link with 600 ms round trip, both directions (PK batches
    capped at 16 KiB, as a poor link is configured), ``--slow-backlog`` bulletins; lanes on, then off.
  * ``throughput``: a ``--throughput-backlog`` drain on loopback without FLASHes, lanes off then on
    (``--rounds`` times, alternately): envelopes per second, and lanes-on as a share of lanes-off.
An idle-link FLASH (no backlog) is measured first as the floor.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from bench.hotline.__main__ import LiveClient, make_node, seed, token
from sarhad.accounts.actors import SystemActor
from sarhad.bulletins import bulk as bulletins
from sarhad.bulletins.schemas import BulletinContentIn
from sarhad.core.node import build_node
from sarhad.core.settings import load_settings
from support.link_emulator import EmulatedLink
from support.processes import NodeProcess, free_port

console = Console()
BODY = ("Patrol report: movement observed near the crossing; coordinates and times follow. " * 13)[:1024]
SLOW_BITS = 64_000
SLOW_RTT = 0.6
SLOW_BATCH_BYTES = 16 * 1024


@dataclass
class Pair:
    root: Path
    dirs: dict[str, Path]
    ports: dict[str, int]
    procs: dict[str, NodeProcess] = field(default_factory=dict)

    def db(self, party: str) -> Path:
        return Path(load_settings(self.dirs[party]).resolved_database_url.removeprefix("sqlite:///"))

    def query(self, party: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db(party), timeout=30) as connection:
            connection.execute("PRAGMA busy_timeout=30000")
            return connection.execute(sql, params).fetchall()

    def backlog(self) -> int:
        rows = self.query(
            "PK", "SELECT coalesce(sum(seq - receipted_seq), 0) FROM exchange_links WHERE direction='out'"
        )
        return int(rows[0][0])

    def lanes_agreed(self) -> bool:
        rows = self.query("PK", "SELECT lanes FROM exchange_peers WHERE party = 'IR'")
        return bool(rows and rows[0][0])

    def set_urls(self, pk_to_ir: str, ir_to_pk: str) -> None:
        for party, other, url in (("PK", "IR", pk_to_ir), ("IR", "PK", ir_to_pk)):
            with sqlite3.connect(self.db(party), timeout=30) as connection:
                connection.execute("UPDATE exchange_peers SET url = ? WHERE party = ?", (url, other))

    def start(self, party: str, env: dict[str, str]) -> NodeProcess:
        proc = NodeProcess(self.dirs[party], port=self.ports[party], name=party.lower(), env=env)
        self.procs[party] = proc.start()
        return proc

    def stop(self, party: str) -> None:
        proc = self.procs.pop(party, None)
        if proc is not None:
            proc.stop()

    def stop_all(self) -> None:
        for party in list(self.procs):
            self.stop(party)


def release_backlog(pair: Pair, count: int, lanes: bool) -> float:
    """``count`` bulletins released to IR through the bulk path, in the bench process; returns seconds."""
    os.environ["SARHAD_EXCHANGE_LANES"] = "true" if lanes else "false"
    node = build_node(load_settings(pair.dirs["PK"]))
    start = time.perf_counter()
    try:
        content = BulletinContentIn(title="backlog", body=BODY)
        done = 0
        while done < count:
            n = min(500, count - done)
            with node.transaction() as session:
                bulletins.create_bulletins(
                    session, node, SystemActor("bench"), [content] * n, tlp="amber", release_to=["IR"]
                )
            done += n
    finally:
        node.dispose()
    return time.perf_counter() - start


class Flasher:
    """Posts FLASH messages on PK's API and times each to its event on IR's live client."""

    def __init__(self, pair: Pair, live: LiveClient) -> None:
        self.pair, self.live = pair, live
        self.client = httpx.Client(timeout=60)
        self.headers = {"Authorization": f"Bearer {token(pair.procs['PK'].url, 'commander')}"}
        self.sent: list[tuple[str, float, int]] = []  # message id, perf_counter at POST, backlog then

    def post(self, precedence: str = "FLASH", subject: str = "flash") -> str:
        backlog = self.pair.backlog()
        started = time.perf_counter()
        answer = self.client.post(
            f"{self.pair.procs['PK'].url}/api/v1/hotline/messages",
            json={"to_position": "IR-S1-CDR", "precedence": precedence, "subject": subject, "body": "bench"},
            headers=self.headers,
        )
        answer.raise_for_status()
        mid = str(answer.json()["id"])
        self.sent.append((mid, started, backlog))
        return mid

    def latencies(self, timeout: float) -> list[tuple[float, int]]:
        """(seconds from POST to the live event, backlog at the POST) for each message sent."""
        out = []
        for mid, started, backlog in self.sent:
            arrived = self.live.wait(f"hotline.message:{mid}", timeout=timeout)
            out.append((arrived - started, backlog))
        return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def env_for(lanes: bool, slow: bool) -> dict[str, str]:
    env = {"SARHAD_EXCHANGE_LANES": "true" if lanes else "false"}
    if slow:
        env["SARHAD_EXCHANGE_BATCH_MAX_BYTES"] = str(SLOW_BATCH_BYTES)
    return env


def bring_up(pair: Pair, lanes: bool, slow: bool) -> None:
    """Both nodes running with lanes on or off, and (lanes on) the lanes agreed in their hellos."""
    env = env_for(lanes, slow)
    pair.start("PK", env)
    pair.start("IR", env)
    if lanes:
        end = time.perf_counter() + 30
        while not pair.lanes_agreed():
            if time.perf_counter() > end:
                raise RuntimeError("PK and IR did not agree on lanes in their hellos")
            time.sleep(0.1)


def flash_during_backlog(
    pair: Pair,
    *,
    lanes: bool,
    backlog: int,
    flashes: int,
    interval: float,
    slow: bool,
    label: str,
) -> dict[str, Any]:
    """Release a backlog while IR is down, start IR, and post FLASHes while it drains."""
    env = env_for(lanes, slow)
    links: list[EmulatedLink] = []
    try:
        if slow:
            links = [
                EmulatedLink(
                    "127.0.0.1", pair.ports[p], bits_per_second=SLOW_BITS, rtt_seconds=SLOW_RTT
                ).start()
                for p in ("IR", "PK")
            ]
            pair.set_urls(links[0].url, links[1].url)
        else:
            pair.set_urls(f"http://127.0.0.1:{pair.ports['IR']}", f"http://127.0.0.1:{pair.ports['PK']}")
        bring_up(pair, lanes, slow)
        pair.stop("IR")
        console.print(f"[{label}] releasing {backlog:,} bulletins while IR is down …")
        release_s = release_backlog(pair, backlog, lanes)
        started = time.perf_counter()
        pair.start("IR", env)
        live = LiveClient(f"{pair.procs['IR'].url}/api/v1/events", token(pair.procs["IR"].url, "commander"))
        flasher = Flasher(pair, live)
        console.print(f"[{label}] IR is up; a FLASH every {interval} s while the backlog drains …")
        for i in range(flashes):
            if pair.backlog() == 0:
                break
            flasher.post(subject=f"{label} {i}")
            time.sleep(interval)
        drained_at = None
        while drained_at is None:
            if pair.backlog() == 0:
                drained_at = time.perf_counter()
            else:
                time.sleep(0.2)
        results = flasher.latencies(timeout=3600)
        in_drain = [lat for lat, left in results if left > 0]
        figures: dict[str, Any] = {
            "backlog": backlog,
            "release s": release_s,
            "drain s (from IR start)": drained_at - started,
            "drain envelopes/s": backlog / (drained_at - started),
            "FLASHes sent while backlog > 0": len(in_drain),
            "backlog left at first FLASH": results[0][1] if results else 0,
        }
        if in_drain:
            figures["FLASH p50 s"] = statistics.median(in_drain)
            figures["FLASH p99 s"] = pct(in_drain, 99)
            figures["FLASH max s"] = max(in_drain)
        return figures
    finally:
        pair.stop_all()
        for link in links:
            link.stop()
        pair.set_urls(f"http://127.0.0.1:{pair.ports['IR']}", f"http://127.0.0.1:{pair.ports['PK']}")


def idle_flash(pair: Pair, count: int = 20) -> dict[str, Any]:
    """FLASH latency on an idle loopback link (lanes on): the floor."""
    bring_up(pair, True, False)
    try:
        live = LiveClient(f"{pair.procs['IR'].url}/api/v1/events", token(pair.procs["IR"].url, "commander"))
        flasher = Flasher(pair, live)
        for i in range(count):
            mid = flasher.post(subject=f"idle {i}")
            live.wait(f"hotline.message:{mid}", timeout=60)
        lat = [lat for lat, _ in flasher.latencies(timeout=60)]
        return {"idle FLASH p50 s": statistics.median(lat), "idle FLASH p99 s": pct(lat, 99)}
    finally:
        pair.stop_all()


def drain(pair: Pair, *, lanes: bool, backlog: int) -> float:
    """Envelopes per second draining ``backlog`` bulletins on loopback, from IR's start."""
    bring_up(pair, lanes, False)
    try:
        pair.stop("IR")
        release_backlog(pair, backlog, lanes)
        started = time.perf_counter()
        pair.start("IR", env_for(lanes, False))
        while pair.backlog() > 0:
            time.sleep(0.2)
        return backlog / (time.perf_counter() - started)
    finally:
        pair.stop_all()


def print_table(title: str, figures: dict[str, Any]) -> None:
    table = Table("figure", "value", title=title)
    for name, value in figures.items():
        if isinstance(value, float):
            table.add_row(name, f"{value:,.3f}")
        else:
            table.add_row(name, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    # The nodes' files owner-only, as `sarhad` makes them: `sarhad serve` refuses a data directory that other
    # local accounts can read (docs/security.md).
    os.umask(0o077)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--flashes", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--baseline-flashes", type=int, default=3, help="FLASHes in the lanes-off baseline")
    parser.add_argument("--slow-backlog", type=int, default=300)
    parser.add_argument("--slow-flashes", type=int, default=5)
    parser.add_argument("--slow-interval", type=float, default=5.0)
    parser.add_argument("--throughput-backlog", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated phases to skip: loopback,baseline,slow,slow-baseline,throughput",
    )
    args, _ = parser.parse_known_args()
    skip = set(filter(None, args.skip.split(",")))

    with tempfile.TemporaryDirectory(prefix="bench-precedence-") as tmp:
        root = Path(tmp)
        ports = {"PK": free_port(), "IR": free_port()}
        dirs = {
            p: make_node(root / p.lower(), p, n, ports[p]) for p, n in (("PK", "Pakistan"), ("IR", "Iran"))
        }
        console.print("seeding two nodes (reference scenario, users, channels) …")
        seed(dirs, ports)
        pair = Pair(root, dirs, ports)
        console.print(load_average())
        print_table("idle link (floor)", idle_flash(pair))
        if "loopback" not in skip:
            figures = flash_during_backlog(
                pair,
                lanes=True,
                backlog=args.backlog,
                flashes=args.flashes,
                interval=args.interval,
                slow=False,
                label="loopback, lanes on",
            )
            print_table(f"FLASH during a {args.backlog:,} backlog, loopback, lanes on", figures)
        if "baseline" not in skip:
            figures = flash_during_backlog(
                pair,
                lanes=False,
                backlog=args.backlog,
                flashes=args.baseline_flashes,
                interval=args.interval,
                slow=False,
                label="loopback, lanes off",
            )
            print_table(f"baseline: FLASH during a {args.backlog:,} backlog, loopback, lanes off", figures)
        if "slow" not in skip:
            figures = flash_during_backlog(
                pair,
                lanes=True,
                backlog=args.slow_backlog,
                flashes=args.slow_flashes,
                interval=args.slow_interval,
                slow=True,
                label="64 kbit/s 600 ms, lanes on",
            )
            print_table(
                f"FLASH during a {args.slow_backlog:,} backlog, 64 kbit/s 600 ms RTT, lanes on", figures
            )
        if "slow-baseline" not in skip:
            figures = flash_during_backlog(
                pair,
                lanes=False,
                backlog=args.slow_backlog,
                flashes=min(2, args.slow_flashes),
                interval=args.slow_interval,
                slow=True,
                label="64 kbit/s 600 ms, lanes off",
            )
            print_table(
                f"baseline: FLASH during a {args.slow_backlog:,} backlog, 64 kbit/s 600 ms RTT, lanes off",
                figures,
            )
        if "throughput" not in skip:
            rates: dict[str, list[float]] = {"off": [], "on": []}
            for _ in range(args.rounds):
                for mode in ("off", "on"):
                    console.print(f"[throughput] draining {args.throughput_backlog:,} with lanes {mode} …")
                    rates[mode].append(drain(pair, lanes=mode == "on", backlog=args.throughput_backlog))
            figures = {
                f"lanes {m} envelopes/s (each round)": ", ".join(f"{r:,.0f}" for r in v)
                for m, v in rates.items()
            }
            off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
            figures["lanes off, median envelopes/s"] = off
            figures["lanes on, median envelopes/s"] = on
            figures["lanes on / lanes off"] = on / off
            print_table(f"bulk drain of {args.throughput_backlog:,} on loopback", figures)
        console.print(load_average())


if __name__ == "__main__":
    main()
