"""Bounded integers for the edge: every integer a client sends (path, query, form or JSON) is one of these.

A Python ``int`` has no upper bound; a database column has: SQLite's ``INTEGER`` holds 64 bits, PostgreSQL's
``INTEGER`` 32 and ``BIGINT`` 64, and the query binds the value with the column's type. A value beyond the
column's range (or a negative id) reached the driver and answered 500. These types refuse such values where
the request is parsed, with the ordinary ``422 invalid`` answer naming the field. Use them in routes
(``Query``/``Path``/``Form``) and in request models alike, matching the column the value is compared with:

- ``RowId``: the id or version of an ``Integer`` column (most tables' ids, versions), 1 to 2**31 - 1;
- ``BigRowId``: the id of a ``BigInteger`` column (audit entries), 1 to 2**63 - 1;
- ``Cursor``: a resume point "after this id" of an ``Integer`` column (live events), 0 to 2**31 - 1;
- ``Count``: a non-negative count or quantity, 0 to 2**31 - 1 (people, items, repeats, seconds);
- ``Int32``: a 32-bit integer whose finer range a domain rule judges (with its own message): -2**31 to
  2**31 - 1.
"""

from __future__ import annotations

from typing import Annotated, Final

from annotated_types import Ge, Le

INT64_MAX: Final = 2**63 - 1
INT32_MAX: Final = 2**31 - 1

RowId = Annotated[int, Ge(1), Le(INT32_MAX)]
BigRowId = Annotated[int, Ge(1), Le(INT64_MAX)]
Cursor = Annotated[int, Ge(0), Le(INT32_MAX)]
Count = Annotated[int, Ge(0), Le(INT32_MAX)]
Int32 = Annotated[int, Ge(-INT32_MAX - 1), Le(INT32_MAX)]


def parse_row_id(text: str, maximum: int = INT32_MAX) -> int | None:
    """A row id written by hand (a form field, a header): None unless it is 1 to ``maximum`` in decimal."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if 1 <= value <= maximum else None


def parse_count(text: str) -> int | None:
    """A count written in a form field: None unless it is 0 to 2**31 - 1 in decimal digits."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if value <= INT32_MAX else None
