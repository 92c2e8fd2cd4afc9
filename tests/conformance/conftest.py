"""One real PK node (``sarhad serve``), with a peer IR whose signing key the conformance tests hold.

The node is made as an operator makes one (``sarhad init``, ``sarhad user add``, ``sarhad peer add`` with
IR's public key and fingerprint), on SQLite and, when ``SARHAD_TEST_POSTGRES_URL`` is set, on PostgreSQL. It
is shared by the tests of a module: the tests that push keep their place on the link by asking the node where
it stands (``GET …/receipt``), as a second implementation would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from support.processes import NodeProcess, free_port

from .wire import Key, request_headers

IR_KEY = Key.from_seed(bytes(range(0x21, 0x41)))  # the doc's §14 IR key
AF_KEY = Key.from_seed(bytes(range(0x41, 0x61)))  # a stranger's key: no node knows it
PASSWORD = "Conformance-Passw0rd"


def sarhad(*args: str, env: dict[str, str] | None = None) -> str:
    """``sarhad ARGS`` as a separate process, as an operator runs it; fails the test on a non-zero exit."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("SARHAD_") or k.startswith("SARHAD_TEST_")
    }
    result = subprocess.run(
        [sys.executable, "-m", "sarhad", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**clean, "COLUMNS": "200", **(env or {})},
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"sarhad {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class Node:
    """The node under test (party PK) and what a peer knows of it."""

    data_dir: Path
    process: NodeProcess
    public_b64: str
    fingerprint: str

    @property
    def url(self) -> str:
        return self.process.url

    def call(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        *,
        key: Key = IR_KEY,
        party: str = "IR",
        headers: dict[str, str] | None = None,
        signed: bool = True,
    ) -> httpx.Response:
        """One HTTP request to the node, signed (§8) as ``party`` with ``key`` unless told otherwise."""
        sent = (
            request_headers(key, party, method, target, body)
            if signed
            else {"content-type": "application/json"}
        )
        sent.update(headers or {})
        with httpx.Client(base_url=self.url, timeout=60.0) as client:
            return client.request(method, target, content=body, headers=sent)

    def push(self, body: bytes, link: str = "IR/PK") -> httpx.Response:
        return self.call("POST", f"/exchange/v1/links/{link}/envelopes", body)

    def head(self) -> tuple[int, str]:
        """Where PK stands on IR>PK, from its signed receipt (§9 ``GET …/receipt``)."""
        answer = self.call("GET", "/exchange/v1/links/IR/PK/receipt")
        assert answer.status_code == 200, answer.text
        receipt: dict[str, Any] = answer.json()["receipt"]
        return int(receipt["seq"]), str(receipt["hash"])

    def export_and_verify(self, out: Path) -> str:
        """``sarhad ledger export`` of the link with IR, then ``sarhad ledger verify`` of the file."""
        sarhad("ledger", "export", "-d", str(self.data_dir), "--peer", "IR", str(out))
        return sarhad("ledger", "verify", str(out))


def _database_url(kind: str) -> str | None:
    if kind == "sqlite":
        return None
    server = os.environ.get("SARHAD_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("SARHAD_TEST_POSTGRES_URL is not set")
    name = f"conf_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(server), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _drop(url: str | None) -> None:
    if url is None:
        return
    server = make_url(os.environ["SARHAD_TEST_POSTGRES_URL"])
    admin = create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    database_url = _database_url(request.param)
    data_dir = tmp_path_factory.mktemp("conformance") / "node-pk"
    port = free_port()
    init = ["init", "--party", "PK", "--name", "Pakistan", "--data-dir", str(data_dir), "--port", str(port)]
    if database_url:
        init += ["--database-url", database_url]
    sarhad(*init, "--demo")
    sarhad(
        "user", "add", "liaison", "-d", str(data_dir), "--role", "liaison_officer", "--role", "admin",
        env={"SARHAD_NEW_PASSWORD": PASSWORD},
    )  # fmt: skip
    sarhad(
        "peer", "add", "-d", str(data_dir), "--party", "IR", "--url", f"http://127.0.0.1:{free_port()}",
        "--key", IR_KEY.public_b64, "--fingerprint", IR_KEY.fingerprint, "--no-push",
    )  # fmt: skip
    shown = sarhad("keys", "show", "-d", str(data_dir))
    public = re.search(r"public key:\s+(\S+)", shown)
    fp = re.search(r"fingerprint:\s+([0-9a-f]{64})", shown)
    assert public is not None and fp is not None, shown
    process = NodeProcess(data_dir, port=port, name="PK")
    process.start()
    try:
        yield Node(data_dir, process, public.group(1), fp.group(1))
    finally:
        process.stop()
        _drop(database_url)


def bearer(node: Node) -> dict[str, str]:
    with httpx.Client(base_url=node.url, timeout=30.0) as client:
        answer = client.post("/api/v1/auth/token", data={"username": "liaison", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
