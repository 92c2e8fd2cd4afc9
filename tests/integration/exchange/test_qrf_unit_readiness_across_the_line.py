"""A shared QRF unit's readiness crosses the line between two real nodes, and its strength never does (issue 19).

PK and IR are real ``sarhad serve`` processes. PK's commander adds a unit shared with IR, then sets it to
responding; IR's API shows the unit as PK's, with the new status and no strength, and no envelope PK wrote
carries the strength.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from exchange_nodes import PASSWORD, Party, cli, make_pair, running, wait_for

pytestmark = pytest.mark.slow  # two real node processes; still part of every run

STRENGTH = 517


def as_commander(party: Party, method: str, path: str, **kwargs: Any) -> Any:
    """Call ``party``'s API as its commander (the test user of exchange_nodes is a liaison officer)."""
    with party.http() as client:
        token = client.post("/api/v1/auth/token", data={"username": "commander", "password": PASSWORD})
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        answer = client.request(method, path, headers=headers, **kwargs)
    assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
    return answer.json()


def test_pk_sets_a_shared_unit_responding_and_ir_sees_it_without_its_strength(tmp_path: Path) -> None:
    pk, ir = make_pair(tmp_path)
    cli("border", "seed", "-d", str(pk.data_dir))
    cli("user", "add", "commander", "-d", str(pk.data_dir), "--role", "commander",
        env={"SARHAD_NEW_PASSWORD": PASSWORD})  # fmt: skip
    with running(pk, ir):
        pk.start()
        ir.start()
        unit = as_commander(
            pk,
            "POST",
            "/api/v1/qrf/units",
            json={
                "call_sign": "Falcon-3",
                "unit_type": "air",
                "station": "pk-nokkundi-wing-hq",
                "strength": STRENGTH,
                "share_with": ["IR"],
            },
        )
        as_commander(pk, "POST", f"/api/v1/qrf/units/{unit['id']}/status", json={"status": "responding"})

        def ir_board() -> list[dict[str, Any]]:
            board: list[dict[str, Any]] = ir.api("GET", "/api/v1/qrf/units")
            return board

        wait_for(
            lambda: [u["status"] for u in ir_board()] == ["responding"],
            30,
            "PK's unit, responding, on IR's board",
            on_timeout=lambda: pk.diagnosis() + ir.diagnosis(),
        )
        (seen,) = ir_board()
        assert (seen["origin"], seen["id"], seen["call_sign"], seen["version"]) == (
            "PK",
            unit["id"],
            "Falcon-3",
            2,
        )
        assert seen["own"] is False and seen["strength"] is None
        assert seen["station"]["post"] == "pk-nokkundi-wing-hq" and seen["station"]["section"] == "S5"
        detail = ir.api("GET", f"/api/v1/qrf/units/PK/{unit['id']}")
        assert STRENGTH not in [v for v in detail.values() if isinstance(v, int)]

        envelopes = pk.query("SELECT body FROM exchange_outbox WHERE record_id = ?", unit["id"])
        assert len(envelopes) == 2
        for (body,) in envelopes:
            content = json.loads(body)["record"]["content"]
            assert "strength" not in content and STRENGTH not in content.values()
        received = ir.query("SELECT content FROM exchange_received_records WHERE record_id = ?", unit["id"])
        assert "strength" not in json.loads(received[0][0])
