"""Soak: one node (PK) as two ``sarhad serve`` processes on one PostgreSQL behind HAProxy, its peer IR on SQLite,
a mixed load for a while, ``kill -9`` of a PK process every so often (then a restart) and an IR outage.

    python -m bench.soak [--seconds 600] [--bulletins 5] [--incidents 2] [--flash 2] [--escalations 0.5]
                         [--kill-every 75] [--ir-outage 30] [--drop-every 20] [--drain 120] [--json]

(``--kill-every`` defaults to a quarter of the run and ``--ir-outage`` to a sixth, at most 75 s and 30 s.)

The load, per second: bulletins and incidents released by PK's liaison officer to IR; FLASH messages both ways
(PK's commander to IR-S1-CDR, IR's to PK-S1-CDR), each acknowledged by the receiving commander as soon as its
live event arrives (acknowledgements both ways); IMMEDIATE messages from IR to PK that nobody acknowledges, with
a 2 s deadline on PK, so PK's escalation task (run by both processes) takes their steps. All of PK's traffic,
users' and IR's pushes alike, goes through the proxy (``scripts/cluster.py``'s HAProxy configuration), so a
killed process's requests go to the other one; without haproxy (``--no-proxy``) requests alternate between
the two processes and IR pushes to process A.

A commander's live client on each node reads ``GET /api/v1/events`` and resumes with ``Last-Event-ID`` after
every break (a killed process, the outage, and on purpose every ``--drop-every`` seconds).

At the end (after the load stops, everything is given ``--drain`` seconds to arrive) it prints, per kind:
records committed by the sender, received, lost, duplicated; envelopes per link, missing at the receiver;
acknowledgements made and not known to the sender; escalation steps, taken twice, messages never escalated;
received records a node quarantined (could not apply);
live events missed and repeated per stream; p50/p99 latencies (request sent -> live event on the other node's
stream, per direction; and the requests themselves); requests that failed (in flight on a killed process);
peak memory (VmHWM) of each node process. Exit status 1 when anything was lost, duplicated or missed.

PostgreSQL comes from SARHAD_TEST_POSTGRES_URL (``make soak`` starts a throw-away server); a database is made
for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench.hotline.__main__ import PASSWORD, make_node, pct, seed
from bench.soak.counts import count, faults
from sarhad.core.database import upgrade_database
from sarhad.core.settings import load_settings, write_config

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from cluster import haproxy_config  # scripts/cluster.py: the same proxy as `make cluster`

from support.processes import NodeProcess, free_port

console = Console()
SETTLE_SECONDS = 5.0  # after a restart, what was queued meanwhile is still going out
INCIDENT_POINT = (28.98, 61.62)  # near the Taftan crossing, within 50 km of the border


# ---------------------------------------------------------------------------------------------------------
# clients


class Tokens:
    """Bearer tokens per (base URL, user), fetched again when a node answers 401 (a restart keeps them)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.known: dict[tuple[str, str], str] = {}

    def get(self, base: str, user: str, fresh: bool = False) -> str:
        with self.lock:
            if fresh or (base, user) not in self.known:
                answer = httpx.post(
                    f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD}, timeout=30
                )
                answer.raise_for_status()
                self.known[base, user] = str(answer.json()["access_token"])
            return self.known[base, user]


class Stream:
    """A commander's live client: reads the event stream in a thread and resumes with ``Last-Event-ID``."""

    def __init__(
        self,
        name: str,
        bases: Callable[[], str],
        tokens: Tokens,
        drop_every: float,
        on_event: Callable[[dict[str, Any]], None],
        resume: bool = True,
    ) -> None:
        self.resume = resume
        self.name, self.bases, self.tokens, self.drop_every, self.on_event = (
            name,
            bases,
            tokens,
            drop_every,
            on_event,
        )
        self.ids: list[int] = []
        self.contents: dict[int, tuple[str, Any]] = {}  # id -> (topic, data) as first received
        self.arrivals: dict[str, float] = {}  # message id -> perf_counter of its hotline.message event
        self.last_id: int | None = None
        self.start_id: int | None = None  # where the first connection started (the node says so)
        self.reconnects = 0
        self.stopping = threading.Event()
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"stream-{name}", daemon=True)
        self.thread.start()

    def run(self) -> None:
        fresh = False
        while not self.stopping.is_set():
            base = self.bases()
            try:
                headers = {"Authorization": f"Bearer {self.tokens.get(base, 'commander', fresh)}"}
                if self.last_id is not None and self.resume:
                    headers["Last-Event-ID"] = str(self.last_id)
                fresh = False
                until = time.monotonic() + self.drop_every
                with (
                    httpx.Client(timeout=httpx.Timeout(5.0, read=30.0)) as client,
                    client.stream("GET", f"{base}/api/v1/events", headers=headers) as response,
                ):
                    if response.status_code == 401:
                        fresh = True
                        continue
                    response.raise_for_status()
                    block: dict[str, str] = {}  # the lines of a block take effect at its end, as in a browser
                    for line in response.iter_lines():
                        if line == "":
                            if "data" in block:
                                self.frame(json.loads(block["data"]))
                            elif "id" in block and self.resume:
                                self.position(int(block["id"]))
                            block = {}
                        elif line == ": connected":
                            # subscribed only now (the headers come first): the load starts after this
                            self.opened.set()
                        elif not line.startswith(":"):
                            key, _, value = line.partition(":")
                            block[key] = value.removeprefix(" ")
                        if self.stopping.is_set() or time.monotonic() > until:
                            break  # on purpose: resume after the last id, as after any break
            except (httpx.HTTPError, OSError, ValueError):
                pass  # the process died or restarts (a frame cut off mid-line included): resume
            self.reconnects += 1
            time.sleep(0.3)

    def frame(self, frame: dict[str, Any]) -> None:
        event_id = int(frame["id"])
        self.ids.append(event_id)
        self.contents.setdefault(event_id, (str(frame["topic"]), frame["data"]))
        self.last_id = event_id if self.last_id is None else max(self.last_id, event_id)
        if frame["topic"] == "hotline.message":
            self.arrivals.setdefault(str(frame["data"]["message"]), time.perf_counter())
        self.on_event(frame)

    def position(self, event_id: int) -> None:
        """An ``id`` line (every frame has one; a first connection's starting point is one with no data): the
        client resumes after it, as a browser's EventSource does."""
        if self.start_id is None:
            self.start_id = event_id  # the stream starts here: events at or below it were before the client
        self.last_id = event_id if self.last_id is None else max(self.last_id, event_id)

    def stop(self) -> None:
        self.stopping.set()


@dataclass
class Load:
    """What the generators did: request latencies, failures, and when each FLASH message was sent."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[float] = field(default_factory=list)
    failed: Counter[str] = field(default_factory=Counter)
    # direction (PK>IR, IR>PK) -> message id -> perf_counter before its request was sent
    flash_sent: dict[str, dict[str, float]] = field(default_factory=lambda: {"PK>IR": {}, "IR>PK": {}})
    acks: int = 0
    # (from, to) perf_counter: a PK process killed until restarted, IR down until back, + SETTLE_SECONDS
    disturbed: list[tuple[float, float]] = field(default_factory=list)

    def steady(self, at: float) -> bool:
        return not any(start <= at <= end for start, end in self.disturbed)


def failure(exc: Exception) -> str:
    """A failed request in short: the status and the node's error code, or the transport error."""
    response = exc.response if isinstance(exc, httpx.HTTPStatusError) else None
    if response is None:
        return type(exc).__name__
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = response.text[:80]
    return f"{response.status_code} {code}"


class Generator(threading.Thread):
    """Sends one kind of request at a steady rate while ``running`` is set and ``paused`` is not."""

    def __init__(
        self,
        name: str,
        rate: float,
        send: Callable[[httpx.Client, int], str | None],
        load: Load,
        running: threading.Event,
        paused: threading.Event,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.rate, self.send, self.load, self.running, self.paused = rate, send, load, running, paused

    def run(self) -> None:
        if self.rate <= 0:
            return
        interval, n = 1.0 / self.rate, 0
        upcoming = time.monotonic()
        with httpx.Client(timeout=30) as client:
            while self.running.is_set():
                upcoming = max(upcoming + interval, time.monotonic() - interval)
                time.sleep(max(0.0, upcoming - time.monotonic()))
                if self.paused.is_set():
                    continue
                n += 1
                started = time.perf_counter()
                try:
                    self.send(client, n)
                except (httpx.HTTPError, OSError) as exc:
                    with self.load.lock:
                        self.load.failed[f"{self.name}: {failure(exc)}"] += 1
                    continue
                with self.load.lock:
                    self.load.requests.append((time.perf_counter() - started) * 1000)


# ---------------------------------------------------------------------------------------------------------
# the run


@dataclass
class Cluster:
    root: Path
    pk_dir: Path
    ir_dir: Path
    pk_url: str  # the proxy, or process A without one
    a: NodeProcess
    b: NodeProcess
    ir: NodeProcess
    proxy: Any = None  # subprocess.Popen of haproxy
    peaks: dict[str, float] = field(default_factory=dict)
    kills: int = 0

    def pk_bases(self) -> Callable[[], str]:
        if self.proxy is not None:
            return lambda: self.pk_url
        turn = iter(range(1 << 62))
        return lambda: self.a.url if next(turn) % 2 else self.b.url

    def sample_memory(self) -> None:
        for name, process in (("PK a", self.a), ("PK b", self.b), ("IR", self.ir)):
            pid = process.pid if process.is_running() else None
            if pid is None:
                continue
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peaks[name] = max(self.peaks.get(name, 0.0), int(line.split()[1]) / 1024)
            except OSError:
                pass


def prepare(root: Path, database_url: str, use_proxy: bool) -> Cluster:
    ports = {"proxy": free_port(), "a": free_port(), "b": free_port(), "IR": free_port()}
    pk_url = f"http://127.0.0.1:{ports['proxy'] if use_proxy else ports['a']}"
    dirs = {"PK": make_node(root / "pk", "PK", "Pakistan", ports["a"]), "IR": root / "ir"}
    write_config(
        dirs["PK"],
        {
            "party": "PK",
            "name": "Pakistan",
            "host": "127.0.0.1",
            "port": ports["a"],
            "public_url": pk_url,
            "secret_key": "b" * 48,
            "demo_mode": True,
            "database_url": database_url,
        },
    )
    upgrade_database(load_settings(dirs["PK"]).resolved_database_url)
    make_node(dirs["IR"], "IR", "Iran", ports["IR"])
    seed(dirs, {"PK": int(pk_url.rsplit(":", 1)[1]), "IR": ports["IR"]})
    for path in [root, *root.rglob("*")]:  # owner-only, as ``sarhad serve`` insists
        path.chmod(0o700 if path.is_dir() else 0o600)
    logs = root / "logs"
    logs.mkdir(mode=0o700, exist_ok=True)
    cluster = Cluster(
        root=root,
        pk_dir=dirs["PK"],
        ir_dir=dirs["IR"],
        pk_url=pk_url,
        a=NodeProcess(dirs["PK"], port=ports["a"], name="pk-a", log_dir=logs),
        b=NodeProcess(dirs["PK"], port=ports["b"], name="pk-b", log_dir=logs),
        ir=NodeProcess(dirs["IR"], port=ports["IR"], name="ir", log_dir=logs),
    )
    if use_proxy:
        import subprocess

        config = root / "haproxy.cfg"
        config.write_text(haproxy_config("PK", ports["proxy"], {"a": ports["a"], "b": ports["b"]}))
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        log = (logs / "haproxy.log").open("ab")
        cluster.proxy = subprocess.Popen(
            [haproxy, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return cluster


def run(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    use_proxy = not args.no_proxy and (shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists())
    tmp = tempfile.mkdtemp(prefix="sarhad-soak-")
    try:
        console.print("preparing PK (PostgreSQL) and IR (SQLite) …")
        if args.keep:
            console.print(f"keeping the nodes' directories in {tmp}")
        cluster = prepare(Path(tmp), database_url, bool(use_proxy))
        try:
            cluster.a.start()
            cluster.b.start()
            cluster.ir.start()
            wait_proxy(cluster)
            return soak(cluster, args)
        finally:
            for process in (cluster.a, cluster.b, cluster.ir):
                process.kill()
            if cluster.proxy is not None:
                cluster.proxy.terminate()
                cluster.proxy.wait(10)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def wait_proxy(cluster: Cluster) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{cluster.pk_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{cluster.pk_url} did not answer")


def soak(cluster: Cluster, args: argparse.Namespace) -> dict[str, Any]:
    tokens = Tokens()
    ir_url = cluster.ir.url
    pk_base = cluster.pk_bases()

    def headers(base: str, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens.get(base, user)}"}

    httpx.put(
        f"{pk_base()}/api/v1/hotline/config/deadlines",
        json={"deadlines": {"IMMEDIATE": 2}},
        headers=headers(pk_base(), "admin"),
        timeout=30,
    ).raise_for_status()

    load = Load()
    acks: queue.Queue[tuple[str, str]] = queue.Queue()

    def acknowledge_flash(side: str) -> Callable[[dict[str, Any]], None]:
        def on_event(frame: dict[str, Any]) -> None:
            data = frame["data"]
            if (
                frame["topic"] == "hotline.message"
                and data.get("direction") == "in"
                and data.get("precedence") == "FLASH"
            ):
                acks.put((side, str(data["message"])))

        return on_event

    streams = {
        "IR": Stream(
            "IR", lambda: ir_url, tokens, args.drop_every, acknowledge_flash("IR"), not args.no_resume
        ),
        "PK": Stream("PK", pk_base, tokens, args.drop_every, acknowledge_flash("PK"), not args.no_resume),
    }
    for stream in streams.values():
        if not stream.opened.wait(30):
            raise RuntimeError(f"the live stream on {stream.name} did not open")

    running, ir_down, never = threading.Event(), threading.Event(), threading.Event()
    running.set()

    def post(
        base: Callable[[], str], user: str, path: str, body: dict[str, Any], client: httpx.Client
    ) -> str:
        url = base()
        answer = client.post(f"{url}{path}", json=body, headers=headers(url, user))
        if answer.status_code == 401:
            answer = client.post(
                f"{url}{path}", json=body, headers={"Authorization": f"Bearer {tokens.get(url, user, True)}"}
            )
        answer.raise_for_status()
        return str(answer.json()["id"])

    def bulletin(client: httpx.Client, n: int) -> str:
        body = {"title": f"soak b {n}", "body": "soak", "tlp": "amber", "release_to": ["IR"]}
        return post(pk_base, "liaison", "/api/v1/bulletins", body, client)

    def incident(client: httpx.Client, n: int) -> str:
        lat, lon = INCIDENT_POINT
        body = {
            "type": "drug_smuggling",
            "occurred_at": datetime.now(UTC).isoformat(),
            "lat": lat,
            "lon": lon,
            "description": f"soak i {n}",
            "release_to": ["IR"],
        }
        return post(pk_base, "liaison", "/api/v1/incidents", body, client)

    def flash(base: Callable[[], str], to: str, direction: str) -> Callable[[httpx.Client, int], str]:
        def send(client: httpx.Client, n: int) -> str:
            started = time.perf_counter()
            body = {"to_position": to, "precedence": "FLASH", "subject": f"soak f {n}", "body": "soak"}
            mid = post(base, "commander", "/api/v1/hotline/messages", body, client)
            with load.lock:
                load.flash_sent[direction][mid] = started
            return mid

        return send

    def immediate(client: httpx.Client, n: int) -> str:
        body = {"to_position": "PK-S1-CDR", "precedence": "IMMEDIATE", "subject": f"soak e {n}", "body": "."}
        return post(lambda: ir_url, "commander", "/api/v1/hotline/messages", body, client)

    generators = [
        Generator("bulletins PK", args.bulletins, bulletin, load, running, never),
        Generator("incidents PK", args.incidents, incident, load, running, never),
        Generator("FLASH PK>IR", args.flash, flash(pk_base, "IR-S1-CDR", "PK>IR"), load, running, never),
        Generator(
            "FLASH IR>PK", args.flash, flash(lambda: ir_url, "PK-S1-CDR", "IR>PK"), load, running, ir_down
        ),
        Generator("IMMEDIATE IR>PK", args.escalations, immediate, load, running, ir_down),
    ]

    def acker() -> None:
        with httpx.Client(timeout=30) as client:
            while True:
                side, mid = acks.get()
                base = ir_url if side == "IR" else pk_base()
                for _ in range(100):  # the receiver may be down for a while (outage, kill): keep trying
                    try:
                        answer = client.post(
                            f"{base}/api/v1/hotline/messages/{mid}/ack",
                            json={},
                            headers=headers(base, "commander"),
                        )
                        if answer.status_code in (200, 409):  # 409: acknowledged already (a resent event)
                            with load.lock:
                                load.acks += answer.status_code == 200
                            break
                    except (httpx.HTTPError, OSError):
                        pass
                    time.sleep(0.5)
                    base = ir_url if side == "IR" else pk_base()

    threading.Thread(target=acker, name="acker", daemon=True).start()
    for generator in generators:
        generator.start()

    started = time.monotonic()
    end = started + args.seconds
    next_kill = started + args.kill_every
    outage_at = started + args.seconds / 2 if args.ir_outage > 0 else float("inf")
    victims = [cluster.a, cluster.b]
    console.print(
        f"soaking for {args.seconds:.0f} s: kill -9 of a PK process every {args.kill_every:.0f} s, "
        f"IR down for {args.ir_outage:.0f} s at the half (kill -9) …"
    )
    while time.monotonic() < end:
        time.sleep(0.5)
        cluster.sample_memory()
        now = time.monotonic()
        if now >= next_kill:
            victim = victims[cluster.kills % 2]
            console.print(f"  {now - started:5.0f} s: kill -9 {victim.name} (pid {victim.pid})")
            since = time.perf_counter()
            victim.kill()
            cluster.kills += 1
            time.sleep(args.down)
            victim.start()
            load.disturbed.append((since, time.perf_counter() + SETTLE_SECONDS))
            next_kill = time.monotonic() + args.kill_every
        if now >= outage_at:
            outage_at = float("inf")
            console.print(f"  {now - started:5.0f} s: kill -9 IR, restarted after {args.ir_outage:.0f} s")
            since = time.perf_counter()
            ir_down.set()
            cluster.ir.kill()
            time.sleep(args.ir_outage)
            cluster.ir.start()
            ir_down.clear()
            load.disturbed.append((since, time.perf_counter() + SETTLE_SECONDS))
    running.clear()
    for generator in generators:
        generator.join(60)
    console.print(f"load stopped; waiting up to {args.drain:.0f} s for everything to arrive …")
    result = drain(cluster, streams, load, args.drain)
    for stream in streams.values():
        stream.stop()
    cluster.sample_memory()
    result |= {
        "seconds": args.seconds,
        "kills": cluster.kills,
        "ir_outage_seconds": args.ir_outage,
        "proxy": "haproxy" if cluster.proxy is not None else "none (requests alternate)",
        "peak_rss_mib": {k: round(v, 1) for k, v in cluster.peaks.items()},
        "requests_failed": dict(load.failed),
        "reconnects": {name: s.reconnects for name, s in streams.items()},
    }
    result |= latencies(load, streams)
    return result


def drain(cluster: Cluster, streams: dict[str, Stream], load: Load, seconds: float) -> dict[str, Any]:
    engine = create_engine(load_settings(cluster.pk_dir).resolved_database_url, poolclass=NullPool)
    try:
        deadline = time.monotonic() + seconds
        while True:
            ir_db = Path(load_settings(cluster.ir_dir).resolved_database_url.removeprefix("sqlite:///"))
            seen = {
                side: (list(stream.ids), dict(stream.contents), stream.start_id or 0)
                for side, stream in streams.items()
            }
            result = count(engine, ir_db, seen)
            if faults(result) == 0 or time.monotonic() > deadline:
                result["faults"] = faults(result)
                return result
            time.sleep(1.0)
    finally:
        engine.dispose()


def latencies(load: Load, streams: dict[str, Stream]) -> dict[str, Any]:
    def p(values: list[float]) -> dict[str, float]:
        if not values:
            return {"n": 0, "p50": float("nan"), "p99": float("nan")}
        return {"n": len(values), "p50": round(pct(values, 50), 1), "p99": round(pct(values, 99), 1)}

    rows: dict[str, dict[str, float]] = {}
    for direction, receiver in (("PK>IR", "IR"), ("IR>PK", "PK")):
        arrivals = streams[receiver].arrivals
        sent = [
            (at, (arrivals[mid] - at) * 1000)
            for mid, at in load.flash_sent[direction].items()
            if mid in arrivals
        ]
        label = f"FLASH {direction}: request sent -> {receiver} stream"
        rows[label] = p([ms for _, ms in sent])
        rows[f"{label}, outside kills and outage"] = p([ms for at, ms in sent if load.steady(at)])
    return {
        "latency_ms": rows | {"requests (answer)": p(load.requests)},
        "acks_made": load.acks,
    }


# ---------------------------------------------------------------------------------------------------------
# output


def report(result: dict[str, Any]) -> None:
    table = Table(
        "records", "sent", "received", "lost", "duplicated", title=f"soak {result['seconds']:.0f} s"
    )
    for kind, r in result["records"].items():
        table.add_row(kind, *(str(r[k]) for k in ("sent", "received", "lost", "duplicated")))
    for link, e in result["envelopes"].items():
        table.add_row(
            f"envelopes {link}",
            str(e["written"]),
            str(e["received"]),
            str(e["missing"]),
            str(e["duplicated"]),
        )
    for what, a in result["acknowledgements"].items():
        table.add_row(what, str(a["made"]), str(a["made"] - a["lost"]), str(a["lost"]), "-")
    console.print(table)
    esc = result["escalations"]
    console.print(
        f"escalation steps on PK: {esc['steps']}, taken twice: {esc['taken_twice']}, "
        f"messages never escalated: {esc['messages_never_escalated']}"
    )
    for name, s in result["live"].items():
        console.print(
            f"live events, {name}: {s['events']} (hotline.message), missed {s['missed']}, "
            f"repeated {s['repeated']}, given but not as stored {s['not_as_stored']}"
        )
    for side, rows in result["quarantined"].items():
        console.print(f"records quarantined on {side}: {len(rows)}")
        for row in rows[:10]:
            console.print(f"  {row}")
    lat = Table("latency", "n", "p50 ms", "p99 ms")
    for label, v in result["latency_ms"].items():
        lat.add_row(label, str(v["n"]), str(v["p50"]), str(v["p99"]))
    console.print(lat)
    console.print(
        f"kill -9 of a PK process: {result['kills']}; IR outage: {result['ir_outage_seconds']:.0f} s; "
        f"proxy: {result['proxy']}; stream reconnects: {result['reconnects']}"
    )
    console.print(
        f"requests failed (in flight on a killed process or IR down): {result['requests_failed'] or 0}"
    )
    console.print(f"peak memory (VmHWM, MiB): {result['peak_rss_mib']}")
    verdict = "[green]nothing lost, duplicated or missed" if result["faults"] == 0 else "[red]FAULTS"
    console.print(f"{verdict} ({result['faults']})")


def main() -> None:
    os.umask(0o077)
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--bulletins", type=float, default=5.0, help="per second")
    parser.add_argument("--incidents", type=float, default=2.0, help="per second")
    parser.add_argument("--flash", type=float, default=2.0, help="FLASH messages per second, each way")
    parser.add_argument("--escalations", type=float, default=0.5, help="unacknowledged IMMEDIATE per second")
    parser.add_argument(
        "--kill-every",
        type=float,
        default=None,
        help="seconds between kill -9s of a PK process (default: a quarter of the run, 75 s at most)",
    )
    parser.add_argument("--down", type=float, default=2.0, help="seconds a killed process stays down")
    parser.add_argument(
        "--ir-outage",
        type=float,
        default=None,
        help="seconds IR is down (kill -9, then a restart) at the half (default: a sixth of the run, 30 s at most)",
    )
    parser.add_argument("--drop-every", type=float, default=20.0, help="live clients reconnect this often")
    parser.add_argument("--drain", type=float, default=120.0, help="seconds given to arrive after the load")
    parser.add_argument("--no-proxy", action="store_true", help="no HAProxy: requests alternate")
    parser.add_argument(
        "--no-resume",
        action="store_true",
        help="live clients reconnect without Last-Event-ID (a control: the soak must then report missed events)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the nodes' directories and PK's database")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line at the end")
    args, _ = parser.parse_known_args()
    if args.kill_every is None:
        args.kill_every = min(75.0, args.seconds / 4)
    if args.ir_outage is None:
        args.ir_outage = min(30.0, args.seconds / 6)
    server = os.environ.get("SARHAD_TEST_POSTGRES_URL", "").strip()
    if not server:
        sys.exit("soak: SARHAD_TEST_POSTGRES_URL is not set (make soak starts a throw-away server)")
    name = f"soak_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        result = run(args, make_url(server).set(database=name).render_as_string(hide_password=False))
    finally:
        if args.keep:
            console.print(f"keeping PK's database {name}")
        else:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    report(result)
    if args.json:
        print("SOAK-RESULT " + json.dumps(result))
    sys.exit(1 if result["faults"] else 0)


if __name__ == "__main__":
    main()
