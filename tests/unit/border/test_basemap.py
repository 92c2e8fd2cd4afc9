"""The offline basemap's derivation (``border.basemap``) on small made-up data: two neighbouring countries and
a third outside the region, towns inside and outside, a one-feature-per-line file as geo-maps writes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from sarhad.border import basemap


def _square(code: str, x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {
        "type": "Feature",
        "properties": {"A3": code},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


COUNTRIES = [
    _square("AAA", 0, 0, 2, 2),
    _square("BBB", 2, 0, 4, 2),  # shares the edge x = 2 with AAA
    _square("CCC", 10, 10, 11, 11),  # outside the region
]
CITIES = [
    {"name": "Alpha", "lat": "1.0", "lng": "1.0", "country": "AA"},
    {"name": "Alpha Two", "lat": "1.5", "lng": "0.5", "country": "AA"},
    {"name": "Beta", "lat": "1.0", "lng": "3.0", "country": "BB"},
    {"name": "Far", "lat": "10.5", "lng": "10.5", "country": "CC"},
    {"name": "Broken", "lat": "north", "lng": "1", "country": "AA"},
]
SOURCES = [{"package": "test@1", "attribution": "© test"}]


def test_derive_keeps_the_region_finds_shared_boundaries_and_names_countries_by_their_towns() -> None:
    document = basemap.derive(COUNTRIES, CITIES, (-1.0, -1.0, 3.0, 3.0), SOURCES)
    layers = document["layers"]
    assert [f["properties"] for f in layers["countries"]["features"]] == [
        {"iso3": "AAA", "iso2": "AA"},
        {"iso3": "BBB", "iso2": "BB"},
    ]
    bbb = shape(layers["countries"]["features"][1]["geometry"])
    assert bbb.bounds == (2.0, 0.0, 3.0, 2.0)  # clipped to the region
    (boundary,) = layers["boundaries"]["features"]
    assert boundary["properties"]["parties"] == ["AA", "BB"]
    line = shape(boundary["geometry"])
    assert line.length == 2.0 and line.bounds == (2.0, 0.0, 2.0, 2.0)
    assert sorted(f["properties"]["name"] for f in layers["towns"]["features"]) == [
        "Alpha",
        "Alpha Two",
        "Beta",
    ]
    assert document["sources"] == SOURCES and document["schema"] == basemap.SCHEMA


def test_clip_cuts_every_layer_to_the_box_and_drops_what_is_outside() -> None:
    document = basemap.derive(COUNTRIES, CITIES, (-1.0, -1.0, 5.0, 3.0), SOURCES)
    clipped = basemap.clip(document, (1.5, 0.0, 2.5, 2.0))
    assert [f["properties"]["name"] for f in clipped["layers"]["towns"]["features"]] == []
    assert [shape(f["geometry"]).bounds for f in clipped["layers"]["countries"]["features"]] == [
        (1.5, 0.0, 2.0, 2.0),
        (2.0, 0.0, 2.5, 2.0),
    ]
    assert clipped["bbox"] == [1.5, 0.0, 2.5, 2.0]


def test_features_are_read_one_per_line_or_from_a_whole_file(tmp_path: Path) -> None:
    per_line = tmp_path / "lines.geo.json"
    per_line.write_text(
        '{"type":"FeatureCollection", "features": [\n'
        + ",\n".join(json.dumps(f) for f in COUNTRIES)
        + "\n]}\n"
    )
    whole = tmp_path / "whole.geo.json"
    whole.write_text(json.dumps({"type": "FeatureCollection", "features": COUNTRIES}, indent=2))
    assert list(basemap.iter_features(per_line)) == COUNTRIES
    assert list(basemap.iter_features(whole)) == COUNTRIES


def test_served_is_none_until_built_and_then_the_clipped_document(tmp_path: Path) -> None:
    path = tmp_path / "region.json"
    assert basemap.served((0.0, 0.0, 1.0, 1.0), path) is None
    path.write_text(json.dumps(basemap.derive(COUNTRIES, CITIES, (-1.0, -1.0, 5.0, 3.0), SOURCES)))
    served = basemap.served((0.0, 0.0, 1.2, 1.2), path)
    assert served is not None
    assert [f["properties"]["name"] for f in json.loads(served)["layers"]["towns"]["features"]] == ["Alpha"]


def test_rivers_are_read_from_gshhg_files_cut_to_the_region_and_merged(tmp_path: Path) -> None:
    """matplotlib basemap's GSHHG files: a meta line per river (level, area, points, south, north, offset,
    bytes, id) and the points as little-endian float32 longitude/latitude pairs."""
    import struct

    lines = [
        [(0.5, 0.5), (1.5, 0.5)],  # inside the region
        [(1.5, 0.5), (2.5, 1.0), (4.0, 1.0)],  # joins the first, leaves the region at x = 3
        [(10.0, 10.0), (11.0, 11.0)],  # far away: skipped by its latitudes
    ]
    blob, meta = b"", []
    for number, points in enumerate(lines):
        data = struct.pack(f"<{len(points) * 2}f", *[v for p in points for v in p])
        lats = [p[1] for p in points]
        meta.append(f"-1 -1 {len(points)} {min(lats)} {max(lats)} {len(blob)} {len(data)} {number}")
        blob += data
    (tmp_path / "rivers_i.dat").write_bytes(blob)
    (tmp_path / "riversmeta_i.dat").write_text("\n".join(meta) + "\n")
    region = (-1.0, -1.0, 3.0, 3.0)
    read = list(basemap.read_gshhg_lines(tmp_path / "riversmeta_i.dat", tmp_path / "rivers_i.dat", region))
    assert len(read) == 2
    document = basemap.derive(COUNTRIES, CITIES, region, SOURCES, read)
    [river] = document["layers"]["rivers"]["features"]
    assert river["properties"] == {"kind": "river"}
    coordinates = [list(c) for c in river["geometry"]["coordinates"]]
    assert coordinates[0] == [0.5, 0.5] and coordinates[-1] == [
        3.0,
        1.0,
    ]  # merged, and cut at the region's edge
