"""Formats every package writes the same way: ISO UTC time text, CSV cells and answers, LIKE patterns.

One copy of each, so an export of incidents and an export of the audit log neutralise the same formulas,
and a hotline record and an incident record write their times with the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from starlette.responses import Response

__all__ = [
    "CSV_FORMULA_PREFIXES",
    "CSV_MEDIA_TYPE",
    "csv_response",
    "csv_safe",
    "csv_text",
    "iso_utc",
    "like_pattern",
]

CSV_MEDIA_TYPE: Final = "text/csv; charset=utf-8"
# A cell starting with one of these is read as a formula by common spreadsheets (OWASP "CSV injection");
# tab and carriage return are there because some programs strip them and then see the formula behind.
CSV_FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
LIKE_ESCAPE: Final = "\\"


def iso_utc(value: datetime | None) -> str | None:
    """An aware time as ISO 8601 text in UTC with a ``Z`` (``2026-12-07T11:46:54.123456Z``); None stays None.

    The time is converted to UTC first, so a time held in another zone never gets a ``Z`` it does not
    deserve. Naive times are refused: the code base keeps every time aware.

    Times inside shared record content are written by ``exchange.record_rules.content_time`` instead.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("iso_utc needs an aware datetime")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def csv_safe(value: Any) -> Any:
    """Neutralise a spreadsheet formula in one exported cell (text from another state's node, or typed by
    anyone); numbers, and text that is a plain number such as ``-12.5``, pass unchanged."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_PREFIXES):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV with a header row; every cell through :func:`csv_safe`; missing keys are empty cells.

    Values that are neither text nor numbers (lists, dicts) must be turned into text by the caller
    (JSON is the convention), never left to ``str()``.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_safe("" if row.get(column) is None else row.get(column)) for column in columns])
    return buffer.getvalue()


GEOJSON_MEDIA_TYPE = "application/geo+json"


def csv_response(text: str, filename: str) -> Response:
    """A CSV download: the text as UTF-8 with the filename the browser saves it under."""
    return Response(
        text,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def geojson_response(collection: dict[str, Any], filename: str) -> Response:
    """A GeoJSON export (RFC 7946, ``application/geo+json``) that a browser saves as ``filename``; a script
    that fetches the same address reads it as usual (``Content-Disposition`` only tells a browser to save)."""
    return Response(
        json.dumps(collection, ensure_ascii=False, allow_nan=False, separators=(",", ":")),
        media_type=GEOJSON_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def like_pattern(text: str) -> str:
    """``%text%`` for ``LIKE``/``ILIKE … ESCAPE '\\'``, with ``%``, ``_`` and the escape itself escaped, so a
    search for ``50%`` finds the text "50%" and not everything starting with 50."""
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"
