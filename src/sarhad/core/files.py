"""The node's files are its owner's alone: the data directory 0700, every file in it 0600.

The data directory holds the configuration (with ``secret_key``), the signing keys, the SQLite database
with its write-ahead log and shared-memory files, logs and exports: records of a government's border
security that no other local account may read.

- ``sarhad`` sets the process umask to ``PRIVATE_UMASK`` (0077) when it starts (``use_private_umask``), so
  every file it creates later is owner-only too (logs, exports, rotated keys). SQLite creates the ``-wal`` and
  ``-shm`` files with the permissions of the database file, which ``create_private_file`` makes 0600 first.
- ``sarhad init`` makes the directory with ``make_private_dir`` and the database file with
  ``create_private_file``, whatever the umask of the caller.
- ``sarhad serve`` refuses to start while anything in the data directory (or the SQLite database and its
  companions, wherever they are) is readable, writable or searchable by the group or others
  (``check_private``), naming the paths and the command that fixes them. A warning would be lost in a log;
  a node that does not start is noticed at once.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


class NotPrivate(Exception):
    """Files of the node that other local accounts may read; the message names them and the fix."""

    def __init__(self, paths: list[Path], folder: Path) -> None:
        self.paths = paths
        shown = "\n".join(f"  {oct(stat.S_IMODE(p.lstat().st_mode))} {p}" for p in paths[:20])
        more = f"\n  … and {len(paths) - 20} more" if len(paths) > 20 else ""
        super().__init__(
            f"{len(paths)} of the node's files can be read by other local accounts (group or others have "
            f"access):\n{shown}{more}\nrefusing to start; make them owner-only, e.g.: chmod -R go= {folder}"
        )


def use_private_umask() -> int:
    """Make every file this process creates from now on owner-only; returns the previous umask."""
    return os.umask(PRIVATE_UMASK)


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with mode 0700; an existing ``path`` is made 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def create_private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 unless it exists; either way it ends 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def open_private_log(path: Path) -> int:
    """A file descriptor appending to ``path``, created 0600 (for a child process's output)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    os.chmod(path, FILE_MODE)
    return fd


def sqlite_file(database_url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, or None (PostgreSQL, in-memory)."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or database_url == prefix or ":memory:" in database_url:
        return None
    return Path(database_url[len(prefix) :].split("?", 1)[0])


def loose_paths(folder: Path, extra: Iterable[Path] = ()) -> list[Path]:
    """Everything in ``folder`` (itself included, symbolic links not followed) and ``extra`` that the group
    or others may access, sorted."""
    found: set[Path] = set()

    def check(path: Path) -> None:
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
            found.add(path)

    if folder.exists():
        check(folder)
        for root, dirs, files in os.walk(folder):
            for name in dirs + files:
                check(Path(root) / name)
    for path in extra:
        check(path)
    return sorted(found)


def check_private(folder: Path, database_url: str = "") -> None:
    """Raise ``NotPrivate`` if anything of the node in ``folder`` or its SQLite files is not owner-only."""
    database = sqlite_file(database_url)
    extra = [Path(f"{database}{suffix}") for suffix in SQLITE_COMPANIONS] if database else []
    loose = loose_paths(folder, extra)
    if loose:
        raise NotPrivate(loose, folder)
