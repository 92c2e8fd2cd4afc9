"""A real PK node (``sarhad init``, SQLite or PostgreSQL) served in-process, with a peer IR whose key the fuzz
tests hold, for Hypothesis to throw inputs at. The app runs without background workers; any exception on the
server side fails the test (``TestClient`` re-raises it), and so does any 5xx answer.

``FUZZ_EXAMPLES`` sets how many inputs each property tries: a few dozen in the normal test run, thousands with
``make fuzz``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from sarhad.accounts.actors import SystemActor
from sarhad.app import create_app
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.exchange import protocol
from sarhad.exchange.peers import add_peer

IR_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(0x21, 0x41)))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))


def _init(data_dir: Path, database_url: str | None) -> None:
    from sarhad.cli import app

    args = [
        "init",
        "--party",
        "PK",
        "--name",
        "Pakistan",
        "--data-dir",
        str(data_dir),
        "--port",
        "8799",
        "--demo",
    ]
    if database_url:
        args += ["--database-url", database_url]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fuzz_node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    database_url = None
    server = os.environ.get("SARHAD_TEST_POSTGRES_URL")
    if request.param == "postgresql":
        if not server:
            pytest.skip("SARHAD_TEST_POSTGRES_URL is not set")
        name = f"fuzz_{uuid.uuid4().hex[:12]}"
        admin = create_engine(make_url(server), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        database_url = make_url(server).set(database=name).render_as_string(hide_password=False)
    data_dir = tmp_path_factory.mktemp("fuzz") / "node-pk"
    _init(data_dir, database_url)
    node = build_node(load_settings(data_dir))
    with node.transaction() as session:
        add_peer(
            session,
            node,
            party="IR",
            url="http://127.0.0.1:9",
            public_key_b64=protocol.public_key_b64(IR_KEY.public_key()),
            push=False,
            actor=SystemActor("fuzz"),
        )
    try:
        yield node
    finally:
        node.dispose()
        if database_url is not None and server:
            admin = create_engine(make_url(server), poolclass=NullPool, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(
                    text(f'DROP DATABASE IF EXISTS "{make_url(database_url).database}" WITH (FORCE)')
                )
            admin.dispose()


@pytest.fixture(scope="module")
def fuzz_client(fuzz_node: Node) -> Iterator[TestClient]:
    with TestClient(create_app(fuzz_node, run_workers=False)) as client:
        yield client
