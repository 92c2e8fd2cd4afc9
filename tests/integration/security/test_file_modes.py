"""A node's files are its owner's alone: `sarhad init` leaves nothing group- or world-accessible whatever the
caller's umask, a served node keeps it so (write-ahead log and shared memory included), and `sarhad serve`
refuses to start on a data directory that others can read."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sarhad.accounts import services
from sarhad.accounts.actors import SystemActor
from sarhad.cli import app as cli_app
from sarhad.core.files import loose_paths
from sarhad.core.node import build_node
from sarhad.core.settings import load_settings
from support.processes import NodeProcess, get_token

PASSWORD = "correct horse battery"


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The umask of a careless shell: files 644 and folders 755 unless the node says otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def modes(folder: Path) -> dict[str, str]:
    found = {str(folder): oct(stat.S_IMODE(folder.stat().st_mode))}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            found[str(path.relative_to(folder))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def test_a_fresh_init_leaves_no_group_or_world_accessible_file(
    lax_umask: None, make_node_dir: Callable[..., Path]
) -> None:
    data_dir = make_node_dir("PK", "Pakistan")
    assert (data_dir / "sarhad.db").exists() and (data_dir / "sarhad.toml").exists()
    assert loose_paths(data_dir) == [], modes(data_dir)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert os.umask(0o022) == 0o022  # and the caller's umask is left as it was


def test_a_served_node_keeps_its_files_private_wal_and_logs_included(
    lax_umask: None, make_node_dir: Callable[..., Path]
) -> None:
    data_dir = make_node_dir("PK", "Pakistan")
    node = build_node(load_settings(data_dir))
    with node.transaction() as session:
        services.create_user(
            session, node.clock, SystemActor(), username="lo", password=PASSWORD, roles=["admin"]
        )
    node.dispose()
    with NodeProcess(data_dir) as process:  # its stdout and stderr logs are in the data directory
        token = get_token(process.url, "lo", PASSWORD)
        answer = httpx.post(
            f"{process.url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert answer.status_code == 204
        assert (data_dir / "sarhad.db-wal").exists()  # the write-ahead log of a running node
        assert loose_paths(data_dir) == [], modes(data_dir)
    assert loose_paths(data_dir) == [], modes(data_dir)


def test_serve_refuses_a_data_directory_that_others_can_read(make_node_dir: Callable[..., Path]) -> None:
    data_dir = make_node_dir("PK", "Pakistan")
    os.chmod(data_dir / "sarhad.db", 0o644)
    result = CliRunner().invoke(cli_app, ["serve", "--data-dir", str(data_dir)])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "can be read by other local accounts" in text and "sarhad.db" in text
    assert f"chmod -R go= {data_dir}" in text
