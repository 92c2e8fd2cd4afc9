"""The rule every text the node takes in obeys: no NUL character (U+0000).

PostgreSQL cannot store one in a text or JSONB column, and SQLite would keep a value the other database refuses,
so a NUL is refused wherever text comes in — API and page input (``sarhad.web.text_guard``, one check on the
decoded query, path, JSON and form values of every request) and files the command line imports — before it
reaches a service. Pure: no HTTP, no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sarhad.core.errors import ErrorCode, RuleError

NUL = "\x00"
NUL_MESSAGE = "text may not contain NUL characters (U+0000)"


def nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (or key) holding a NUL in ``value`` (parsed JSON, a form), else None.
    The empty path is ``value`` itself."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and NUL in key:
                return where
            found = nul_path(item, where)
            if found is not None:
                return found
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


def check_no_nul(value: Any, field: str) -> None:
    """Refuse ``value`` (a string or parsed structure) if any text in it holds a NUL; names the field."""
    found = nul_path(value)
    if found is not None:
        where = f"{field}.{found}" if field and found else field or found
        raise RuleError(where or "text", NUL_MESSAGE, code=ErrorCode.INVALID)
