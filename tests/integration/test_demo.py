"""The demo as a person meets it: two nodes created, seeded, paired, with a login for every role."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from rich.console import Console

from sarhad.accounts.domain import Role
from sarhad.demo import PARTIES, prepare
from support.processes import NodeProcess, get_token


def test_demo_nodes_answer_with_their_party_share_the_border_and_deliver_a_bulletin(tmp_path: Path) -> None:
    credentials = prepare(tmp_path, Console(quiet=True))
    assert set(credentials) == {"PK", "IR"}
    for party in ("PK", "IR"):
        assert len(credentials[party]) == len(Role)
    assert json.loads((tmp_path / "credentials.json").read_text()) == credentials
    assert (tmp_path / "credentials.json").stat().st_mode & 0o777 == 0o600
    assert prepare(tmp_path, Console(quiet=True)) == credentials  # a second run continues, it does not reseed

    pk_party, ir_party = PARTIES
    with NodeProcess(tmp_path / "pk", pk_party.port) as pk, NodeProcess(tmp_path / "ir", ir_party.port) as ir:
        tokens = {}
        for process, party in ((pk, "PK"), (ir, "IR")):
            assert httpx.get(f"{process.url}/healthz").json()["party"] == party
            username = f"{party.lower()}.liaison"
            tokens[party] = {
                "Authorization": f"Bearer {get_token(process.url, username, credentials[party][username])}"
            }
            sections = httpx.get(f"{process.url}/api/v1/border/sections", headers=tokens[party]).json()
            assert sections["type"] == "FeatureCollection" and len(sections["features"]) >= 6
            crossings = httpx.get(f"{process.url}/api/v1/border/crossings", headers=tokens[party]).json()
            assert any("taftan" in f["properties"]["crossing"] for f in crossings["features"])

        created = httpx.post(
            f"{pk.url}/api/v1/bulletins",
            headers=tokens["PK"],
            json={
                "title": "Convoy at Taftan",
                "body": "Fuel convoy expected at 14:00.",
                "release_to": ["IR"],
                "tlp": "amber",
            },
        ).json()
        deadline = time.monotonic() + 10
        received: list[dict[str, object]] = []
        while time.monotonic() < deadline and not received:
            listed = httpx.get(f"{ir.url}/api/v1/bulletins", headers=tokens["IR"]).json()
            received = [b for b in listed if b["id"] == created["id"]]
            time.sleep(0.1)
        assert received and received[0]["origin"] == "PK"
        states: list[str] = []
        while time.monotonic() < deadline and states != ["receipted"]:  # PK stores IR's receipt just after
            mine = httpx.get(f"{pk.url}/api/v1/bulletins/PK/{created['id']}", headers=tokens["PK"]).json()
            states = [d["state"] for d in mine["deliveries"]]
            time.sleep(0.1)
        assert states == ["receipted"]
