"""The short soak (a minute of ``python -m bench.soak``): PK as two processes on one PostgreSQL behind HAProxy,
IR on SQLite, a mixed load with acknowledgements both ways and escalations, a ``kill -9`` of a PK process and
an IR outage; nothing may be lost, duplicated or missed. ``make soak`` runs the same for 10 minutes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900)]


def run_soak(server_url: str, *args: str) -> tuple[int, str, dict[str, Any]]:
    env = {**os.environ, "SARHAD_TEST_POSTGRES_URL": server_url, "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", *args, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("SOAK-RESULT ")]
    assert lines, (
        f"the soak printed no result (exit {done.returncode})\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return done.returncode, done.stdout, json.loads(lines[-1].removeprefix("SOAK-RESULT "))


def test_a_minute_of_mixed_load_with_a_kill_and_an_outage_loses_repeats_and_misses_nothing(
    postgres_server_url: str,
) -> None:
    code, output, result = run_soak(
        postgres_server_url,
        "--seconds=60",
        "--kill-every=20",
        "--ir-outage=10",
        "--drop-every=10",
        "--drain=120",
    )
    assert result["kills"] >= 1, output
    assert result["proxy"] == "haproxy" or shutil.which("haproxy") is None, output  # through the proxy
    for kind, counts in result["records"].items():
        assert counts["sent"] > 0, f"no {kind} were sent\n{output}"
        assert counts["lost"] == 0 and counts["duplicated"] == 0, f"{kind}: {counts}\n{output}"
    for link, counts in result["envelopes"].items():
        assert counts["missing"] == 0 and counts["duplicated"] == 0, f"{link}: {counts}\n{output}"
    for what, counts in result["acknowledgements"].items():
        assert counts["made"] > 0 and counts["lost"] == 0, f"{what}: {counts}\n{output}"
    escalations = result["escalations"]
    assert escalations["steps"] > 0, output
    assert escalations["taken_twice"] == 0 and escalations["messages_never_escalated"] == 0, output
    for stream, counts in result["live"].items():
        assert counts["events"] > 0, f"{stream} saw no events\n{output}"
        assert counts["missed"] == 0 and counts["repeated"] == 0, f"{stream}: {counts}\n{output}"
        assert counts["not_as_stored"] == 0, f"{stream} was given events the database does not hold\n{output}"
    assert result["quarantined"] == {"PK": [], "IR": []}, output  # received but not applied
    assert result["faults"] == 0 and code == 0, output
