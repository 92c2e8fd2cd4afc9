#!/usr/bin/env python3
"""Fetch the front-end assets that come from the npm registry into src/sarhad/web/static/vendor/.

Each line of vendor/assets.txt names one package at an exact version, the sha512 integrity the registry gave
for that version's tarball, and the files to keep from it (glob patterns relative to the package root):

    chart.js 4.5.1 sha512-GIjf...  dist/chart.umd.min.js LICENSE.md

The tarball is fetched with the ordinary npm client (`npm pack`, so the registry configured for npm is used),
its integrity is checked against the line, and the named files are unpacked into
``src/sarhad/web/static/vendor/<package>/``, where the node serves them under ``/static/vendor/<package>/``.
Nothing is ever loaded from a CDN at run time, and nothing fetched is committed (the folder is ignored).

Runs only what changed: a package whose folder already holds a ``.integrity`` stamp equal to its line is left
alone, so `make install` is fast and works offline once the assets are there.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "vendor" / "assets.txt"
TARGET = ROOT / "src" / "sarhad" / "web" / "static" / "vendor"


def parse(manifest: Path) -> list[tuple[str, str, str, list[str]]]:
    entries = []
    for number, raw in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) < 4 or not parts[2].startswith("sha512-"):
            sys.exit(f"{manifest}:{number}: want 'package version sha512-... file-pattern...', got {raw!r}")
        entries.append((parts[0], parts[1], parts[2], parts[3:]))
    return entries


def fetch(npm: str, name: str, version: str, integrity: str, patterns: list[str]) -> None:
    folder = TARGET / name
    stamp = folder / ".integrity"
    wanted = f"{name}@{version} {integrity} {' '.join(patterns)}"
    if stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return
    with tempfile.TemporaryDirectory() as scratch:
        answer = subprocess.run(  # noqa: S603 - the name and version come from the committed vendor/assets.txt
            [npm, "pack", "--json", "--silent", f"{name}@{version}", "--pack-destination", scratch],
            check=True,
            capture_output=True,
            text=True,
            cwd=scratch,
        )
        tarball = Path(scratch) / json.loads(answer.stdout)[0]["filename"]
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != integrity:
            sys.exit(f"vendor-assets: {name}@{version}: integrity {digest} differs from vendor/assets.txt")
        shutil.rmtree(folder, ignore_errors=True)
        kept = 0
        with tarfile.open(tarball) as archive:
            for member in archive.getmembers():
                if not member.isfile() or not member.name.startswith("package/"):
                    continue
                relative = member.name.removeprefix("package/")
                if not any(fnmatch.fnmatch(relative, pattern) for pattern in patterns):
                    continue
                destination = folder / relative
                if not destination.resolve().is_relative_to(folder.resolve()):
                    sys.exit(f"vendor-assets: {name}: refusing path {member.name!r}")
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                destination.write_bytes(source.read())
                kept += 1
        if kept == 0:
            sys.exit(f"vendor-assets: {name}@{version}: no file matches {patterns}")
    stamp.write_text(wanted, encoding="utf-8")
    print(f"vendor-assets: {name}@{version}: {kept} files")


def main() -> None:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(
            "vendor-assets: npm is missing (Debian package npm; scripts/install-system-deps.sh installs it)"
        )
    TARGET.mkdir(parents=True, exist_ok=True)
    entries = parse(MANIFEST)
    for name, version, integrity, patterns in entries:
        fetch(npm, name, version, integrity, patterns)
    known = {name.split("/")[0] for name, *_ in entries}
    for stale in TARGET.iterdir():
        if stale.is_dir() and stale.name not in known:
            shutil.rmtree(stale)


if __name__ == "__main__":
    main()
