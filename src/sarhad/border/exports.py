"""GeoJSON FeatureCollections (RFC 7946) and CSV exports of the border model.

Every list the API serves is built here once, as a FeatureCollection; CSV is the same features
flattened (one row per feature: properties, names per language, lon/lat for points, WKT otherwise), so
the two formats can never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import shapely

from sarhad.border import domain
from sarhad.border.models import (
    BorderLine,
    BorderPost,
    BorderSection,
    CountryOutline,
    Crossing,
    CrossingSide,
    FenceSegment,
    Market,
)
from sarhad.border.queries import ProgressReport
from sarhad.core.formats import csv_text, iso_utc
from sarhad.core.i18n import pick_name

FeatureCollection = dict[str, Any]


def feature(feature_id: str, geometry: dict[str, Any] | None, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "id": feature_id, "geometry": geometry, "properties": properties}


def collection(features: Iterable[dict[str, Any]], **members: Any) -> FeatureCollection:
    return {"type": "FeatureCollection", "features": list(features), **members}


def _estimate(extra: dict[str, Any] | None) -> bool:
    return bool((extra or {}).get("estimate"))


def _km(metres: float | None) -> float | None:
    return None if metres is None else round(metres / 1000, 3)


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


# ----------------------------------------------------------------------------------------------------


def countries(rows: Iterable[CountryOutline]) -> FeatureCollection:
    return collection(
        feature(
            row.iso2,
            row.geometry,
            {
                "kind": "country",
                "iso2": row.iso2,
                "name": pick_name(row.names, row.iso2),
                "names": row.names,
                "note": (row.extra or {}).get("note", ""),
            },
        )
        for row in rows
    )


def lines(rows: Iterable[BorderLine]) -> FeatureCollection:
    return collection(
        feature(
            row.id,
            row.geometry,
            {
                "kind": "border",
                "id": row.id,
                "name": pick_name(row.names, row.id),
                "names": row.names,
                "left_party": row.left_party,
                "right_party": row.right_party,
                "length_km": _km(row.length_m),
                "source": row.source,
                "nominal_length_km": (row.extra or {}).get("nominal_length_km"),
                "published_lengths_km": (row.extra or {}).get("published_lengths_km", []),
                "updated_at": iso_utc(row.updated_at),
            },
        )
        for row in rows
    )


def sections(
    rows: Iterable[BorderSection], posts: Iterable[BorderPost], progress: ProgressReport
) -> FeatureCollection:
    by_section: dict[str, dict[str, list[str]]] = {}
    for post in posts:
        if post.section_id:
            by_section.setdefault(post.section_id, {}).setdefault(post.party, []).append(post.id)
    features = []
    for row in rows:
        extra = row.extra or {}
        features.append(
            feature(
                row.id,
                row.geometry,
                {
                    "kind": "section",
                    "id": row.id,
                    "line": row.line_id,
                    "seq": row.seq,
                    "name": pick_name(row.names, row.id),
                    "names": row.names,
                    "start_km": _km(row.start_m),
                    "end_km": _km(row.end_m),
                    "length_km": _km(row.length_m),
                    "district": pick_name(extra.get("pk_district") or extra.get("district")),
                    "estimate": _estimate(extra),
                    "posts": by_section.get(row.id, {}),
                    "fence_progress": progress.for_section(row.id),
                },
            )
        )
    return collection(features)


def posts(rows: Iterable[BorderPost]) -> FeatureCollection:
    return collection(
        feature(
            row.id,
            row.geometry,
            {
                "kind": row.kind,
                "id": row.id,
                "party": row.party,
                "section": row.section_id,
                "name": pick_name(row.names, row.id),
                "names": row.names,
                "formation": pick_name((row.extra or {}).get("formation")),
                "estimate": _estimate(row.extra),
                "position": domain.position_id_for_post(row.party, row.id),
            },
        )
        for row in rows
    )


def crossings(
    rows: Iterable[tuple[Crossing, list[CrossingSide]]],
    now: datetime,
    default_zone: str,
    chainage: dict[str, float | None] | None = None,
) -> FeatureCollection:
    """One feature per side of each crossing (the pair shares ``crossing``); no sides: one null-geometry feature."""
    features = []
    for crossing, sides in rows:
        common = {
            "crossing": crossing.id,
            "crossing_name": pick_name(crossing.names, crossing.id),
            "crossing_names": crossing.names,
            "crossing_kind": crossing.kind,
            "section": crossing.section_id,
            "status": crossing.status,
            "lifecycle": (crossing.extra or {}).get("lifecycle"),
            "modes": list(crossing.modes or []),
            "hours": crossing.hours,
            "hours_text": domain.describe_weekly(crossing.hours),
            "open_now": domain.open_at(crossing.hours, now, default_zone)
            if crossing.status != "closed"
            else False,
            "opened": _day(crossing.opened),
            "chainage_km": (chainage or {}).get(crossing.id),
            "updated_at": iso_utc(crossing.updated_at),
            "updated_by": crossing.updated_by,
        }
        if not sides:
            features.append(
                feature(
                    crossing.id,
                    None,
                    {
                        "kind": "crossing",
                        "id": crossing.id,
                        "side": None,
                        "name": common["crossing_name"],
                        "names": crossing.names,
                        "estimate": True,
                        **common,
                    },
                )
            )
            continue
        for side in sides:
            other = next((s for s in sides if s.party != side.party), None)
            features.append(
                feature(
                    f"{crossing.id}:{side.party}",
                    side.geometry,
                    {
                        "kind": "crossing",
                        "id": f"{crossing.id}:{side.party}",
                        "side": side.party,
                        "name": pick_name(side.names, side.party),
                        "names": side.names,
                        "counterpart": pick_name(other.names) if other else None,
                        "counterpart_side": other.party if other else None,
                        "estimate": _estimate(side.extra),
                        **common,
                    },
                )
            )
    return collection(features)


def markets(rows: Iterable[Market], now: datetime, default_zone: str) -> FeatureCollection:
    return collection(
        feature(
            row.id,
            row.geometry,
            {
                "kind": "market",
                "id": row.id,
                "name": pick_name(row.names, row.id),
                "names": row.names,
                "status": row.status,
                "host_party": row.host_party,
                "crossing": row.crossing_id,
                "section": row.section_id,
                "inaugurated": _day(row.inaugurated),
                "schedule": row.schedule,
                "market_days": domain.describe_weekly(row.schedule),
                "open_now": domain.open_at(row.schedule, now, default_zone)
                if row.status == "operating"
                else False,
                "estimate": _estimate(row.extra),
                "updated_at": iso_utc(row.updated_at),
                "updated_by": row.updated_by,
            },
        )
        for row in rows
    )


def fence(rows: Iterable[FenceSegment]) -> FeatureCollection:
    return collection(
        feature(
            row.id,
            row.geometry,
            {
                "kind": "fence",
                "id": row.id,
                "party": row.party,
                "section": row.section_id,
                "status": row.status,
                "start_fraction": row.start_fraction,
                "end_fraction": row.end_fraction,
                "length_km": _km(row.length_m),
                "reported_length_km": row.reported_length_km,
                "estimate": _estimate(row.extra),
                "updated_at": iso_utc(row.updated_at),
                "updated_by": row.updated_by,
            },
        )
        for row in rows
    )


# ----------------------------------------------------------------------------------------------------
# CSV


def _cell(value: Any) -> Any:
    """One CSV cell before neutralising: booleans as true/false, lists and objects as compact JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def to_csv(fc: FeatureCollection, languages: tuple[str, ...] = ("en", "ur", "fa")) -> str:
    """Flatten a FeatureCollection: properties (``names`` as ``name_<lang>``), then lon/lat or WKT."""
    rows: list[dict[str, Any]] = []
    columns: dict[str, None] = {}
    for item in fc["features"]:
        row: dict[str, Any] = {}
        for key, value in item["properties"].items():
            if key.endswith("names") and isinstance(value, dict):
                prefix = key.removesuffix("names") + "name"
                for lang in languages:
                    row[f"{prefix}_{lang}"] = value.get(lang, "")
            else:
                row[key] = value
        geometry = item.get("geometry")
        if geometry and geometry.get("type") == "Point":
            row["lon"], row["lat"] = geometry["coordinates"][0], geometry["coordinates"][1]
        else:
            row["lon"] = row["lat"] = None
            row["wkt"] = (
                shapely.to_wkt(domain.from_geojson(geometry), rounding_precision=7) if geometry else None
            )
        for key in row:
            columns.setdefault(key, None)
        rows.append(row)
    return csv_text(list(columns), ({key: _cell(row.get(key)) for key in columns} for row in rows))
