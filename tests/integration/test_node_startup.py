"""A node comes to life only in a sane state: created by `sarhad init`, on a migrated database, with a secret.

These tests also prove the test infrastructure itself: both databases, the in-process app and a real process.
"""

from __future__ import annotations

import signal
import stat
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sarhad.app import create_app
from sarhad.cli import app as cli_app
from sarhad.core.database import (
    DatabaseNotMigrated,
    alembic_config,
    current_revision,
    head_revision,
    upgrade_database,
)
from sarhad.core.node import build_node
from sarhad.core.settings import (
    CONFIG_FILE_NAME,
    DEFAULT_SECRET,
    KEY_FILE_NAME,
    SettingsError,
    load_settings,
    write_config,
)
from support.processes import NodeProcess

GOOD_SECRET = "x" * 48


def flat(text: str) -> str:
    """Rich wraps long lines; compare messages with all whitespace runs made single spaces."""
    return " ".join(text.split())


def write_node_config(data_dir: Path, **values: object) -> Path:
    """A config file written by hand (not by `sarhad init`), for the refusals below."""
    data_dir.mkdir(parents=True, exist_ok=True)
    write_config(data_dir, {"party": "PK", "name": "Pakistan", **values})
    return data_dir


# -- (a) sarhad init ------------------------------------------------------------------------------------


def test_init_creates_config_key_and_migrated_database(make_node_dir, database_url: str) -> None:
    data_dir = make_node_dir("PK", "Pakistan", database_url=database_url)

    settings = load_settings(data_dir)
    assert (data_dir / CONFIG_FILE_NAME).is_file()
    assert settings.party == "PK"
    assert settings.name == "Pakistan"
    assert settings.resolved_database_url == database_url
    assert settings.secret_key != DEFAULT_SECRET
    assert len(settings.secret_key) >= 32

    key = data_dir / KEY_FILE_NAME
    assert key.is_file()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600, oct(key.stat().st_mode)
    assert b"PRIVATE KEY" in key.read_bytes()

    assert current_revision(database_url) == head_revision()


def test_init_defaults_to_sqlite_in_the_data_dir(make_node_dir) -> None:
    data_dir = make_node_dir("IR", "Iran", time_zone="Asia/Tehran", calendar="solar_hijri", language="fa")

    settings = load_settings(data_dir)
    assert settings.resolved_database_url == f"sqlite:///{data_dir / 'sarhad.db'}"
    assert (data_dir / "sarhad.db").is_file()
    assert current_revision(settings.resolved_database_url) == head_revision()
    assert (settings.default_time_zone, settings.default_calendar, settings.default_language) == (
        "Asia/Tehran",
        "solar_hijri",
        "fa",
    )


def test_init_refuses_to_overwrite_an_existing_node(make_node_dir) -> None:
    data_dir = make_node_dir("PK", "Pakistan")
    config_before = (data_dir / CONFIG_FILE_NAME).read_bytes()
    key_before = (data_dir / KEY_FILE_NAME).read_bytes()

    result = CliRunner().invoke(
        cli_app, ["init", "--party", "PK", "--name", "Other", "--data-dir", str(data_dir)]
    )

    assert result.exit_code != 0
    assert "refusing to overwrite" in flat(result.output)
    assert (data_dir / CONFIG_FILE_NAME).read_bytes() == config_before
    assert (data_dir / KEY_FILE_NAME).read_bytes() == key_before


# -- (b) refusal on an unmigrated database -----------------------------------------------------------------


def test_node_refuses_an_empty_database_and_names_sarhad_migrate(tmp_path: Path, database_url: str) -> None:
    data_dir = write_node_config(tmp_path / "pk", database_url=database_url, secret_key=GOOD_SECRET)
    node = build_node(load_settings(data_dir))
    try:
        with pytest.raises(DatabaseNotMigrated, match="sarhad migrate"):
            create_app(node)
    finally:
        node.dispose()

    # the CLI says the same and exits non-zero before opening a port
    result = CliRunner().invoke(cli_app, ["serve", "--data-dir", str(data_dir)])
    assert result.exit_code == 1, result.output
    assert "sarhad migrate" in flat(result.output)

    # and after `sarhad migrate` the node starts
    result = CliRunner().invoke(cli_app, ["migrate", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert current_revision(database_url) == head_revision()
    node = build_node(load_settings(data_dir))
    try:
        with TestClient(create_app(node)) as client:
            assert client.get("/healthz").json()["status"] == "ok"
    finally:
        node.dispose()


def test_node_refuses_a_database_behind_the_newest_migration(tmp_path: Path, database_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(database_url))
    revisions = [r.revision for r in script.walk_revisions()]  # newest first
    assert len(revisions) >= 2  # the first migration is behind the newest
    command.upgrade(alembic_config(database_url), revisions[-1])
    data_dir = write_node_config(tmp_path / "pk", database_url=database_url, secret_key=GOOD_SECRET)
    node = build_node(load_settings(data_dir))
    try:
        with pytest.raises(DatabaseNotMigrated, match="sarhad migrate") as refused:
            create_app(node)
        assert revisions[-1] in str(refused.value)
    finally:
        node.dispose()
    assert upgrade_database(database_url) == (revisions[-1], head_revision())


# -- (c) no default secret outside demo mode --------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, DEFAULT_SECRET, "too-short-for-a-secret"])
def test_settings_refuse_a_default_or_short_secret_outside_demo_mode(
    tmp_path: Path, secret: str | None
) -> None:
    values = {} if secret is None else {"secret_key": secret}
    data_dir = write_node_config(tmp_path / "pk", **values)

    with pytest.raises(SettingsError, match="secret_key"):
        load_settings(data_dir, environ={})

    result = CliRunner().invoke(cli_app, ["serve", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "secret_key" in flat(result.output)


def test_demo_mode_accepts_the_default_secret(tmp_path: Path) -> None:
    data_dir = write_node_config(tmp_path / "pk", demo_mode=True)
    assert load_settings(data_dir, environ={}).secret_key == DEFAULT_SECRET


def test_environment_cannot_smuggle_in_a_default_secret(make_node_dir) -> None:
    data_dir = make_node_dir("PK", "Pakistan", demo=False)
    assert load_settings(data_dir, environ={}).demo_mode is False

    with pytest.raises(SettingsError, match="secret_key"):
        load_settings(data_dir, environ={"SARHAD_SECRET_KEY": DEFAULT_SECRET})


# -- (d) the app in process --------------------------------------------------------------------------------


def test_healthz_answers_with_the_party(app_client: TestClient) -> None:
    response = app_client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["party"] == "PK"
    assert body["name"] == "Pakistan"
    assert response.headers["x-content-type-options"] == "nosniff"


# -- (e) a real process ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_node_process_serves_healthz_and_survives_stop_kill_restart(make_node_dir, database_url: str) -> None:
    data_dir = make_node_dir("IR", "Iran", database_url=database_url)

    with NodeProcess(data_dir) as ir:
        first_pid = ir.pid
        response = httpx.get(f"{ir.url}/healthz", timeout=5)
        assert response.status_code == 200, ir.logs()
        assert response.json()["party"] == "IR"

        # SIGTERM: a graceful shutdown (uvicorn re-raises the signal once the lifespan has finished)
        assert ir.stop() in (0, -signal.SIGTERM), ir.logs()
        assert "Application shutdown complete" in ir.stderr_path.read_text(), ir.logs()
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{ir.url}/healthz", timeout=2)

        ir.start()
        assert ir.pid != first_pid
        assert httpx.get(f"{ir.url}/healthz", timeout=5).json()["status"] == "ok"

        ir.kill()  # a crash
        assert not ir.is_running()
        ir.restart()
        assert httpx.get(f"{ir.url}/healthz", timeout=5).json()["party"] == "IR"

    assert not ir.is_running()
    assert ir.stdout_path.exists() and ir.stderr_path.exists()
