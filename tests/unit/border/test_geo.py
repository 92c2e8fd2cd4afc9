"""Unit tests of sarhad.border.geo against independently known answers.

Independent references used here (none of them calls pyproj):
- WGS84 defining constants a = 6 378 137 m, f = 1/298.257223563 (NIMA TR8350.2).
- One degree of longitude along the equator is the equatorial arc 2·π·a/360 = 111 319.4908 m.
- Meridian arc length from the equator: the classical series in e² (e.g. Snyder, "Map Projections — A Working
  Manual", USGS PP 1395, eq. 3-21), accurate to well under a millimetre at these latitudes.
- Point-to-point distances: Vincenty's inverse formula (Survey Review 23(176), 1975), implemented below.
- Natural Earth 1:110m PK–IR line length 747.5 km: stated in shared/reference/pk-ir.md.
"""

from __future__ import annotations

import itertools
import json
import math
from importlib.resources import files
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, Point, shape

from sarhad.border import geo
from sarhad.border.geo import ON_LINE, BorderGeometryError

A = 6_378_137.0
F = 1 / 298.257223563
B = A * (1 - F)
E2 = F * (2 - F)


def vincenty_inverse_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Vincenty (1975) inverse solution on the WGS84 ellipsoid, in metres."""
    u1 = math.atan((1 - F) * math.tan(math.radians(lat1)))
    u2 = math.atan((1 - F) * math.tan(math.radians(lat2)))
    big_l = math.radians(lon2 - lon1)
    lam = big_l
    for _ in range(200):
        sin_lam, cos_lam = math.sin(lam), math.cos(lam)
        sin_sigma = math.hypot(
            math.cos(u2) * sin_lam, math.cos(u1) * math.sin(u2) - math.sin(u1) * math.cos(u2) * cos_lam
        )
        cos_sigma = math.sin(u1) * math.sin(u2) + math.cos(u1) * math.cos(u2) * cos_lam
        sigma = math.atan2(sin_sigma, cos_sigma)
        sin_alpha = math.cos(u1) * math.cos(u2) * sin_lam / sin_sigma
        cos2_alpha = 1 - sin_alpha**2
        cos_2sm = cos_sigma - 2 * math.sin(u1) * math.sin(u2) / cos2_alpha
        c = F / 16 * cos2_alpha * (4 + F * (4 - 3 * cos2_alpha))
        lam_prev = lam
        lam = big_l + (1 - c) * F * sin_alpha * (
            sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1 + 2 * cos_2sm**2))
        )
        if abs(lam - lam_prev) < 1e-12:
            break
    u_sq = cos2_alpha * (A**2 - B**2) / B**2
    k_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    k_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    delta_sigma = (
        k_b
        * sin_sigma
        * (
            cos_2sm
            + k_b
            / 4
            * (
                cos_sigma * (-1 + 2 * cos_2sm**2)
                - k_b / 6 * cos_2sm * (-3 + 4 * sin_sigma**2) * (-3 + 4 * cos_2sm**2)
            )
        )
    )
    return B * k_a * (sigma - delta_sigma)


def meridian_arc_m(lat_deg: float) -> float:
    """Distance along the meridian from the equator to ``lat_deg`` (Snyder eq. 3-21)."""
    phi = math.radians(lat_deg)
    e4, e6 = E2**2, E2**3
    return A * (
        (1 - E2 / 4 - 3 * e4 / 64 - 5 * e6 / 256) * phi
        - (3 * E2 / 8 + 3 * e4 / 32 + 45 * e6 / 1024) * math.sin(2 * phi)
        + (15 * e4 / 256 + 45 * e6 / 1024) * math.sin(4 * phi)
        - (35 * e6 / 3072) * math.sin(6 * phi)
    )


def reference() -> dict[str, Any]:
    text = (files("sarhad.border") / "reference" / "pk_ir.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def demo_line() -> LineString:
    return LineString(reference()["border"]["geometry"]["coordinates"])


def natural_earth_line() -> LineString:
    border = reference()["border"]
    adjusted = {v["index"] for v in border["adjusted_vertices"]}
    coords = border["geometry"]["coordinates"]
    return LineString([c for i, c in enumerate(coords) if i not in adjusted])


def outlines() -> dict[str, Any]:
    return {o["iso2"]: shape(o["geometry"]) for o in reference()["country_outlines"]}


TAFTAN = Point(61.5844, 28.948)  # pk-ir.md
MIRJAVEH = Point(61.4503, 29.0147)  # pk-ir.md
KARACHI = (24.8607, 67.0011)  # (lat, lon)
TEHRAN = (35.6892, 51.3890)


# ---------------------------------------------------------------------------------------------------- lengths


def test_one_degree_of_longitude_at_the_equator() -> None:
    expected = 2 * math.pi * A / 360  # 111 319.4908 m
    assert geo.geodesic_length_m(LineString([(0, 0), (1, 0)])) == pytest.approx(expected, abs=0.001)
    assert expected == pytest.approx(111_319.49, abs=0.01)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float, radius: float = 6_371_008.8) -> float:
    """Great-circle distance on the IUGG mean sphere (a second, cruder independent check)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * radius * math.asin(math.sqrt(h))


def test_karachi_to_tehran_matches_vincenty() -> None:
    expected = vincenty_inverse_m(*KARACHI, *TEHRAN)
    # ~1 918 km (not "1 88x km"): the sphere agrees to within its known ~0.5 % error.
    assert expected == pytest.approx(1_918_400, abs=500)
    assert haversine_m(*KARACHI, *TEHRAN) == pytest.approx(expected, rel=0.005)
    line = LineString([(KARACHI[1], KARACHI[0]), (TEHRAN[1], TEHRAN[0])])
    assert geo.geodesic_length_m(line) == pytest.approx(expected, abs=0.01)


def test_multilinestring_length_is_the_sum_of_its_parts() -> None:
    one = 2 * math.pi * A / 360
    multi = MultiLineString([[(0, 0), (1, 0)], [(10, 0), (12, 0)]])
    assert geo.geodesic_length_m(multi) == pytest.approx(3 * one, abs=0.01)


def test_natural_earth_pk_ir_line_is_747_5_km() -> None:
    line = natural_earth_line()
    assert len(line.coords) == 9
    assert round(geo.geodesic_length_m(line) / 1000, 1) == 747.5


# ---------------------------------------------------------------------------------------------------- distances


def test_distance_from_a_point_north_of_the_equator_is_the_meridian_arc() -> None:
    line = LineString([(10, 0), (11, 0)])
    assert geo.distance_to_line_m(Point(10.5, 1.0), line) == pytest.approx(meridian_arc_m(1.0), abs=0.01)
    assert meridian_arc_m(1.0) == pytest.approx(110_574.4, abs=0.1)


def test_distance_to_a_parallel_is_along_the_meridian() -> None:
    # An edge is straight in lon/lat (RFC 7946), so this edge follows the parallel of 26°N
    # (the geodesic between its ends would bulge ~100 m north).
    line = LineString([(61, 26), (62, 26)])
    expected = meridian_arc_m(26.5) - meridian_arc_m(26.0)
    assert geo.distance_to_line_m(Point(61.5, 26.5), line) == pytest.approx(expected, abs=0.01)


def test_distance_beyond_the_end_is_to_the_end_point() -> None:
    line = LineString([(61, 26), (62, 26)])
    expected = vincenty_inverse_m(26.3, 60.5, 26.0, 61.0)
    assert geo.distance_to_line_m(Point(60.5, 26.3), line) == pytest.approx(expected, abs=0.01)


def test_distance_on_the_line_is_zero() -> None:
    assert geo.distance_to_line_m(Point(61.5, 26.0), LineString([(61, 26), (62, 26)])) < 0.01


@pytest.mark.parametrize(("lon", "lat"), [(61.5844, 28.948), (61.4503, 29.0147), (62.0, 27.0), (63.5, 25.5)])
def test_distance_matches_brute_force_on_the_demo_line(lon: float, lat: float) -> None:
    line = demo_line()
    coords = np.asarray(line.coords)
    pieces = []
    for (x1, y1), (x2, y2) in itertools.pairwise(coords):
        t = np.linspace(0.0, 1.0, 20_000)  # <10 m steps along each edge
        pieces.append(np.column_stack([x1 + t * (x2 - x1), y1 + t * (y2 - y1)]))
    dense = np.vstack(pieces)
    _, _, dist = geo.GEOD.inv(np.full(len(dense), lon), np.full(len(dense), lat), dense[:, 0], dense[:, 1])
    assert geo.distance_to_line_m(Point(lon, lat), line) == pytest.approx(float(np.min(dist)), abs=0.1)


def test_distance_along_line_and_point_at_distance_agree() -> None:
    line = demo_line()
    for km in (0.0, 12.5, 333.3, 640.0):
        p = geo.point_at_distance_m(line, km * 1000)
        assert geo.distance_along_line_m(p, line) == pytest.approx(km * 1000, abs=1.0)
    with pytest.raises(BorderGeometryError, match="outside the line"):
        geo.point_at_distance_m(line, 2_000_000)


# ---------------------------------------------------------------------------------------------------- sides


def test_side_of_a_north_going_line() -> None:
    line = LineString([(0, 0), (0, 1)])
    assert geo.side_of_line(Point(0.1, 0.5), line, "L", "R") == "R"  # east of a north-going line
    assert geo.side_of_line(Point(-0.1, 0.5), line, "L", "R") == "L"
    assert geo.side_of_line(Point(0, 0.5), line, "L", "R") == ON_LINE
    assert geo.side_of_line(Point(0, 1), line, "L", "R") == ON_LINE
    assert geo.side_of_line(Point(0.2, 1.5), line, "L", "R") == "R"  # beyond the end: end segment extended


def test_reversing_the_line_swaps_the_sides() -> None:
    line = LineString([(0, 1), (0, 0)])
    assert geo.side_of_line(Point(0.1, 0.5), line, "L", "R") == "L"


def test_side_near_a_corner_uses_the_wedge() -> None:
    left_turn = LineString([(0, 0), (1, 0), (1, 1)])  # east, then north
    assert geo.side_of_line(Point(1.1, -0.1), left_turn, "L", "R") == "R"  # outside of the corner
    assert geo.side_of_line(Point(0.9, 0.1), left_turn, "L", "R") == "L"  # inside of the corner
    right_turn = LineString([(0, 0), (1, 0), (1, -1)])  # east, then south
    assert geo.side_of_line(Point(1.1, 0.1), right_turn, "L", "R") == "L"
    assert geo.side_of_line(Point(0.9, -0.1), right_turn, "L", "R") == "R"


def test_side_tolerance_in_metres() -> None:
    line = LineString([(0, 0), (0, 1)])
    near = Point(0.00001, 0.5)  # ~1.1 m east
    assert geo.side_of_line(near, line, "L", "R") == "R"
    assert geo.side_of_line(near, line, "L", "R", tolerance_m=2.0) == ON_LINE


def test_taftan_and_mirjaveh_on_the_seeded_line() -> None:
    border = reference()["border"]
    line = demo_line()
    left, right = border["left_party"], border["right_party"]
    assert (left, right) == ("IR", "PK")
    assert geo.side_of_line(TAFTAN, line, left, right) == "PK"
    assert geo.side_of_line(MIRJAVEH, line, left, right) == "IR"


def test_natural_earth_110m_alone_puts_taftan_in_iran() -> None:
    # The data problem the adjusted vertices solve: at 1:110m the line runs east of Taftan.
    assert geo.side_of_line(TAFTAN, natural_earth_line(), "IR", "PK") == "IR"
    assert geo.side_by_territory(TAFTAN, outlines()) == "IR"


def test_side_by_territory() -> None:
    territories = outlines()
    assert geo.side_by_territory(Point(66.99, 30.18), territories) == "PK"  # Quetta
    assert geo.side_by_territory(Point(60.8629, 29.4963), territories) == "IR"  # Zahedan
    assert geo.side_by_territory(Point(69.17, 34.53), territories) == "AF"  # Kabul
    assert geo.side_by_territory(Point(55.0, 10.0), territories) is None  # Arabian Sea
    shared_vertex = Point(*natural_earth_line().coords[4])
    assert geo.side_by_territory(shared_vertex, territories) == ON_LINE


# ---------------------------------------------------------------------------------------------------- sections


def test_substring_by_fraction() -> None:
    line = demo_line()
    total = geo.geodesic_length_m(line)
    whole = geo.substring_by_fraction(line, 0.0, 1.0)
    assert list(whole.coords) == list(line.coords)
    quarter = geo.substring_by_fraction(line, 0.25, 0.5)
    assert geo.geodesic_length_m(quarter) == pytest.approx(0.25 * total, abs=0.01)
    with pytest.raises(BorderGeometryError, match="0 <= start < end <= 1"):
        geo.substring_by_fraction(line, 0.5, 0.5)


def test_split_into_sections_is_consecutive() -> None:
    line = demo_line()
    sections = geo.split_into_sections(line, [60, 255, 385, 495, 660])
    assert len(sections) == 6
    assert sections[0].coords[0] == line.coords[0]
    assert sections[-1].coords[-1] == line.coords[-1]
    for before, after in itertools.pairwise(sections):
        assert before.coords[-1] == after.coords[0]
    assert geo.geodesic_length_m(sections[0]) == pytest.approx(60_000, abs=0.01)
    total = sum(geo.geodesic_length_m(s) for s in sections)
    assert total == pytest.approx(geo.geodesic_length_m(line), abs=0.01)


@pytest.mark.parametrize(
    ("cuts", "message"),
    [
        ([100, 50], "strictly increasing: 50 km follows 100 km"),
        ([0], "cut point 0 km is not inside the line"),
        ([900], "cut point 900 km is not inside the line"),
    ],
)
def test_split_into_sections_refuses_bad_cut_points(cuts: list[float], message: str) -> None:
    with pytest.raises(BorderGeometryError, match=message):
        geo.split_into_sections(demo_line(), cuts)


def test_nearest_section() -> None:
    line = demo_line()
    sections = dict(zip(["S1", "S2", "S3"], geo.split_into_sections(line, [100, 400]), strict=True))
    assert geo.nearest_section(TAFTAN, sections)[0] == "S3"
    section, dist = geo.nearest_section(Point(61.6, 25.3), sections)  # Gabd
    assert section == "S1"
    assert dist == geo.distance_to_line_m(Point(61.6, 25.3), sections["S1"])
    # cut points lie on the geodesic between vertices, so a section may differ from the drawn edge by a little
    assert dist == pytest.approx(geo.distance_to_line_m(Point(61.6, 25.3), line), abs=1.0)
    with pytest.raises(BorderGeometryError):
        geo.nearest_section(TAFTAN, {})


# ---------------------------------------------------------------------------------------------------- GeoJSON


def line_geometry(coords: Any) -> str:
    return json.dumps({"type": "LineString", "coordinates": coords})


def test_parse_geometry_feature_and_collection() -> None:
    coords = [[61.0, 25.0], [61.5, 26.0, 120.0], [62.0, 27.0]]
    expected = LineString([(61.0, 25.0), (61.5, 26.0), (62.0, 27.0)])
    assert geo.parse_border_geojson(line_geometry(coords)).equals_exact(expected, 0)
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": coords}}
    assert geo.parse_border_geojson(json.dumps(feature)).equals_exact(expected, 0)


def test_parse_collection_prefers_kind_border() -> None:
    road = {
        "type": "Feature",
        "properties": {"kind": "road"},
        "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
    }
    border = {
        "type": "Feature",
        "properties": {"kind": "border"},
        "geometry": {"type": "LineString", "coordinates": [[5, 5], [6, 6]]},
    }
    doc = {"type": "FeatureCollection", "features": [road, border]}
    assert list(geo.parse_border_geojson(json.dumps(doc)).coords) == [(5, 5), (6, 6)]


def test_parse_collection_merges_line_features_end_to_end() -> None:
    first = {
        "type": "Feature",
        "properties": None,
        "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 0]]},
    }
    second = {
        "type": "Feature",
        "properties": None,
        "geometry": {"type": "LineString", "coordinates": [[1, 0], [1, 1]]},
    }
    poly = {
        "type": "Feature",
        "properties": None,
        "geometry": {"type": "Polygon", "coordinates": [[[5, 5], [6, 5], [6, 6], [5, 5]]]},
    }
    doc = {"type": "FeatureCollection", "features": [first, poly, second]}
    merged = geo.parse_border_geojson(json.dumps(doc))
    assert isinstance(merged, LineString)
    assert list(merged.coords) == [(0, 0), (1, 0), (1, 1)]
    apart = {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 0]], [[3, 0], [4, 0]]]}
    assert isinstance(geo.parse_border_geojson(json.dumps(apart)), MultiLineString)


def test_parse_the_natural_earth_extract_takes_the_border_feature() -> None:
    ref = reference()
    features: list[dict[str, Any]] = [
        {"type": "Feature", "properties": {"kind": "country"}, "geometry": o["geometry"]}
        for o in ref["country_outlines"]
    ]
    features.append(
        {
            "type": "Feature",
            "properties": {"kind": "border"},
            "geometry": {"type": "LineString", "coordinates": [list(c) for c in natural_earth_line().coords]},
        }
    )
    parsed = geo.parse_border_geojson(json.dumps({"type": "FeatureCollection", "features": features}))
    assert parsed.equals_exact(natural_earth_line(), 0)


MALFORMED = [
    ("{", "invalid JSON at line 1 column 2"),
    ("", "invalid JSON at line 1 column 1: Expecting value"),
    ("[1, 2]", "GeoJSON must be a JSON object, got array"),
    ('{"coordinates": []}', "GeoJSON object has no string 'type' member"),
    ('{"type": "Banana"}', 'unsupported GeoJSON type "Banana"'),
    ('{"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}', "no line geometry: got Polygon"),
    ('{"type": "Feature", "properties": {}, "geometry": null}', "the Feature's geometry is missing or null"),
    (
        '{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [1, 2]}}',
        "geometry is Point",
    ),
    ('{"type": "FeatureCollection", "features": []}', "FeatureCollection has no features"),
    (
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        '"geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}}]}',
        "no line geometry: the FeatureCollection has no LineString or MultiLineString (found Polygon)",
    ),
    (
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"kind": "border"}, '
        '"geometry": {"type": "Point", "coordinates": [1, 2]}}]}',
        "features[0] has kind 'border' but its geometry is Point",
    ),
    (line_geometry("x"), "geometry.coordinates must be an array of positions, got string"),
    (line_geometry([[61, 25]]), "geometry.coordinates has 1 distinct position(s); a line needs at least 2"),
    (line_geometry([[61, 25], [61, 25]]), "has 1 distinct position(s)"),
    (
        line_geometry([[61, 25], 7]),
        "geometry.coordinates[1] must be a position [longitude, latitude], got number",
    ),
    (
        line_geometry([[61], [62, 26]]),
        "geometry.coordinates[0] has 1 number(s); a position needs longitude and latitude",
    ),
    (
        line_geometry([[61, 25], [190.5, 26]]),
        "geometry.coordinates[1]: longitude 190.5 is outside [-180, 180]",
    ),
    (line_geometry([[61, 25], [62, -91]]), "geometry.coordinates[1]: latitude -91 is outside [-90, 90]"),
    (line_geometry([[61, 25], [62, "26"]]), 'geometry.coordinates[1][1] (latitude) is not a number: "26"'),
    (line_geometry([[True, 25], [62, 26]]), "geometry.coordinates[0][0] (longitude) is not a number: true"),
    (line_geometry([[61, 25], [62, None]]), "geometry.coordinates[1][1] (latitude) is not a number: null"),
    (
        '{"type": "LineString", "coordinates": [[61, 25], [NaN, 26]]}',
        "invalid JSON: NaN is not a JSON number",
    ),
    (
        line_geometry([[0, 0], [2, 2], [2, 0], [0, 2]]),
        "the line crosses itself at longitude 1.000000, latitude 1.000000: "
        "segment geometry.coordinates[0]–[1] crosses segment geometry.coordinates[2]–[3]",
    ),
    (
        line_geometry([[0, 0], [2, 0], [1, 0]]),
        "the line overlaps itself at longitude 1.000000, latitude 0.000000: "
        "segment geometry.coordinates[0]–[1] overlaps segment geometry.coordinates[1]–[2]",
    ),
    (
        json.dumps({"type": "MultiLineString", "coordinates": [[[0, 0], [2, 2]], [[0, 2], [2, 0]]]}),
        "crosses segment geometry.coordinates[1][0]–[1]",
    ),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_parse_refuses_malformed_geojson(text: str, message: str) -> None:
    with pytest.raises(BorderGeometryError) as caught:
        geo.parse_border_geojson(text)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_repeated_positions_and_closed_lines_are_not_crossings() -> None:
    repeated = geo.parse_border_geojson(line_geometry([[0, 0], [1, 0], [1, 0], [1, 1]]))
    assert isinstance(repeated, LineString)
    ring = geo.parse_border_geojson(line_geometry([[0, 0], [1, 0], [1, 1], [0, 0]]))
    assert ring.is_closed


# ---------------------------------------------------------------------------------------------------- properties

lons = st.floats(min_value=-170, max_value=170)
lats = st.floats(min_value=-70, max_value=70)
azimuths = st.floats(min_value=-180, max_value=180)


def _offset_from_edge(
    lon: float, lat: float, azimuth: float, length_km: float, t: float, offset_m: float, to_left: bool
) -> tuple[LineString, Point]:
    """A one-edge line and a point offset perpendicular (geodesically) from the edge's point at ``t``."""
    lon2, lat2, _ = geo.GEOD.fwd(lon, lat, azimuth, length_km * 1000)
    foot = (lon + t * (lon2 - lon), lat + t * (lat2 - lat))
    ahead = (lon + (t + 1e-6) * (lon2 - lon), lat + (t + 1e-6) * (lat2 - lat))
    heading, _, _ = geo.GEOD.inv(*foot, *ahead)
    plon, plat, _ = geo.GEOD.fwd(*foot, heading + (-90 if to_left else 90), offset_m)
    return LineString([(lon, lat), (lon2, lat2)]), Point(plon, plat)


@settings(max_examples=200, deadline=None)
@given(
    lon=lons,
    lat=lats,
    azimuth=azimuths,
    length_km=st.floats(min_value=1, max_value=200),
    t=st.floats(min_value=0.05, max_value=0.95),
    offset_m=st.floats(min_value=0.5, max_value=50_000),
    to_left=st.booleans(),
)
def test_perpendicular_offset_lands_on_that_side(
    lon: float, lat: float, azimuth: float, length_km: float, t: float, offset_m: float, to_left: bool
) -> None:
    line, point = _offset_from_edge(lon, lat, azimuth, length_km, t, offset_m, to_left)
    assume(abs(line.coords[1][0]) < 179)
    assert geo.side_of_line(point, line, "LEFT", "RIGHT") == ("LEFT" if to_left else "RIGHT")


@settings(max_examples=100, deadline=None)
@given(
    lon=lons,
    lat=lats,
    azimuth=azimuths,
    length_km=st.floats(min_value=10, max_value=200),
    t=st.floats(min_value=0.2, max_value=0.8),
    fraction=st.floats(min_value=0.001, max_value=0.2),
)
def test_distance_of_a_perpendicular_offset_is_the_offset(
    lon: float, lat: float, azimuth: float, length_km: float, t: float, fraction: float
) -> None:
    offset_m = fraction * length_km * 1000
    line, point = _offset_from_edge(lon, lat, azimuth, length_km, t, offset_m, to_left=True)
    assume(abs(line.coords[1][0]) < 179)
    assert geo.distance_to_line_m(point, line) == pytest.approx(offset_m, rel=1e-4, abs=0.05)


@st.composite
def polylines_and_cuts(draw: st.DrawFn) -> tuple[LineString, list[float]]:
    lon, lat = draw(st.floats(-150, 150)), draw(st.floats(-60, 60))
    coords = [(lon, lat)]
    for _ in range(draw(st.integers(1, 8))):
        lon, lat, _ = geo.GEOD.fwd(lon, lat, draw(azimuths), draw(st.floats(1, 150)) * 1000)
        coords.append((lon, lat))
    line = LineString(coords)
    total_km = geo.geodesic_length_m(line) / 1000
    fractions = draw(st.lists(st.floats(0.001, 0.999), min_size=1, max_size=8, unique=True))
    cuts = sorted({round(f * total_km, 6) for f in fractions})
    cuts = [c for i, c in enumerate(cuts) if i == 0 or c - cuts[i - 1] > 1e-3]
    return line, cuts


@settings(max_examples=150, deadline=None)
@given(polylines_and_cuts())
def test_splitting_preserves_total_length(case: tuple[LineString, list[float]]) -> None:
    line, cuts = case
    sections = geo.split_into_sections(line, cuts)
    assert len(sections) == len(cuts) + 1
    total = geo.geodesic_length_m(line)
    assert sum(geo.geodesic_length_m(s) for s in sections) == pytest.approx(total, abs=1.0)
    for k, cut in enumerate(cuts):
        assert sum(geo.geodesic_length_m(s) for s in sections[: k + 1]) == pytest.approx(cut * 1000, abs=1.0)
        assert sections[k].coords[-1] == sections[k + 1].coords[0]
