"""Issue 15: ``make test`` works where a newcomer clones. ``scripts/test-postgres.sh`` starts the throw-away
PostgreSQL server from a checkout inside a mode-700 folder; run as root, the server runs as the ``postgres`` OS
user, which cannot enter that folder, so the server's directory must live where that user can reach it."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "test-postgres.sh"


def _has_postgres_user() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return True


def _has_server_binaries() -> bool:
    return shutil.which("pg_config") is not None or any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


@pytest.mark.skipif(not _has_server_binaries(), reason="PostgreSQL server binaries are not installed")
@pytest.mark.skipif(
    os.geteuid() == 0 and not _has_postgres_user(), reason="root without a postgres OS user to run the server"
)
def test_the_throw_away_server_starts_from_a_checkout_in_a_mode_700_folder(tmp_path: Path) -> None:
    private = tmp_path / "x700"
    checkout = private / "repo"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy2(SCRIPT, checkout / "scripts" / "test-postgres.sh")
    private.chmod(0o700)
    probe = (
        "import os, sqlalchemy as sa; "
        "engine = sa.create_engine(os.environ['SARHAD_TEST_POSTGRES_URL']); "
        "print('answer', engine.connect().execute(sa.text('select 41 + 1')).scalar())"
    )
    done = subprocess.run(
        [str(checkout / "scripts" / "test-postgres.sh"), "run", sys.executable, "-c", probe],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "answer 42" in done.stdout
    # stopped and cleaned up: no server directory or link is left behind
    leftovers = list((checkout / "var" / "test-pg").glob("run.*"))
    assert leftovers == [], leftovers
