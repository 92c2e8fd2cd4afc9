"""Fixtures shared by all tests. Feature tests add their own conftest.py in their folders.

- ``database_url``: parametrised over ``sqlite`` and ``postgresql``; each test gets a fresh, empty database.
  PostgreSQL comes from ``SARHAD_TEST_POSTGRES_URL`` (``make test`` starts a throw-away server and sets it).
  Without that variable the PostgreSQL variant is skipped on a developer machine but fails under ``CI``.
- ``make_node_dir(party, name, port=0, database_url=None)``: a node data directory made by the real
  ``sarhad init`` code path (``port=0``: a free port; ``database_url=None``: SQLite inside the directory).
- ``node`` / ``app_client``: a PK demo node on ``database_url`` (so tests using them run on both databases),
  and a ``TestClient`` on its app with the lifespan (workers) running.
- Real processes, ports and sign-in: ``from support.processes import NodeProcess, free_port, get_token``.
- Two nodes paired in one process: the fixtures of ``support.pairs`` (``make_node``, ``client``, ``pk_client``,
  ``ir_client``, ``liaison``, ``ir_liaison``) on a feature's own ``pk`` and ``ir``; ``support.inprocess`` pairs
  them and delivers between them.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from sarhad.app import create_app
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from support.processes import free_port

# make_node, client, pk_client, ir_client, liaison, ir_liaison: the fixtures of tests that pair PK with IR
pytest_plugins = ["support.pairs"]

POSTGRES_ENV = "SARHAD_TEST_POSTGRES_URL"
TESTS_DIR = Path(__file__).resolve().parent
MakeNodeDir = Callable[..., Path]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# ---------------------------------------------------------------------------------------------------------
# collection


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/e2e are marked ``e2e`` so that ``-m 'not e2e'`` skips the browser."""
    e2e_dir = TESTS_DIR / "e2e"
    for item in items:
        if e2e_dir in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """SARHAD_* variables of the developer's shell would override every test node's settings; drop them."""
    for key in list(os.environ):
        if key.startswith("SARHAD_") and not key.startswith("SARHAD_TEST_"):
            monkeypatch.delenv(key)


# ---------------------------------------------------------------------------------------------------------
# databases


def _postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if url:
        return url
    if in_ci():
        pytest.fail(
            f"{POSTGRES_ENV} is not set but CI is: the PostgreSQL tests must run in CI "
            "(run them through `make test`, which starts a throw-away server)",
            pytrace=False,
        )
    pytest.skip(f"{POSTGRES_ENV} is not set (`make test` starts a throw-away PostgreSQL and sets it)")


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of the PostgreSQL test server (its maintenance database); skips or fails as described above."""
    url = _postgres_server_url()
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.fail(f"{POSTGRES_ENV}={url} does not answer: {exc}", pytrace=False)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def postgres_database_url(postgres_server_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new empty PostgreSQL database for one test, dropped (connections and all) afterwards."""
    slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:30].strip("_")
    name = f"t_{slug}_{uuid.uuid4().hex[:8]}"
    server = make_url(postgres_server_url)
    admin = create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh, empty database: a SQLite file, or a new database on the PostgreSQL test server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'sarhad.db'}"
    url = request.getfixturevalue("postgres_database_url")
    assert isinstance(url, str)
    return url


# ---------------------------------------------------------------------------------------------------------
# nodes


def run_cli(*args: str) -> str:
    """Run a ``sarhad`` command in-process (the real CLI code path); return its output or fail the test."""
    from sarhad.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=True)
    if result.exit_code != 0:
        detail = result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback

            detail += "".join(traceback.format_exception(result.exception))
        pytest.fail(f"`sarhad {' '.join(args)}` exited with {result.exit_code}:\n{detail}", pytrace=False)
    return result.output


@pytest.fixture
def make_node_dir(tmp_path: Path) -> MakeNodeDir:
    """Factory: ``make_node_dir("PK", "Pakistan", port=0, database_url=None, demo=True, **options)``.

    Runs ``sarhad init`` into a new directory under tmp_path and returns it. Extra keyword options are passed
    as ``--option value`` (e.g. ``time_zone="Asia/Karachi"``).
    """
    used: set[str] = set()

    def make(
        party: str,
        name: str,
        port: int = 0,
        database_url: str | None = None,
        *,
        demo: bool = True,
        **options: str,
    ) -> Path:
        base = f"node-{party.lower()}"
        dir_name, n = base, 1
        while dir_name in used:
            n += 1
            dir_name = f"{base}-{n}"
        used.add(dir_name)
        data_dir = tmp_path / dir_name
        args = [
            "init",
            "--party",
            party,
            "--name",
            name,
            "--data-dir",
            str(data_dir),
            "--port",
            str(port or free_port()),
        ]
        if database_url:
            args += ["--database-url", database_url]
        if demo:
            args.append("--demo")
        for option, value in options.items():
            args += [f"--{option.replace('_', '-')}", value]
        run_cli(*args)
        return data_dir

    return make


@pytest.fixture
def node_dir(make_node_dir: MakeNodeDir, database_url: str) -> Path:
    """A PK demo node's data directory on the parametrised database."""
    return make_node_dir("PK", "Pakistan", database_url=database_url)


@pytest.fixture
def node(node_dir: Path) -> Iterator[Node]:
    """The PK node built from its data directory, as ``sarhad serve`` builds it."""
    built = build_node(load_settings(node_dir))
    try:
        yield built
    finally:
        built.dispose()


@pytest.fixture
def app_client(node: Node) -> Iterator[TestClient]:
    """A TestClient on the node's app; used as a context manager, so the lifespan and workers run."""
    with TestClient(create_app(node)) as client:
        yield client
