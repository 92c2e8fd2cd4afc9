"""The node-wide NUL rule at the edge (``sarhad.core.text``): a dependency of every route of the app.

It looks at what the route's own parsing already read — the decoded query and path parameters, the JSON body,
the form's text fields (file contents are bytes and not text) — and refuses a NUL with 422 ``invalid`` naming
the field, before any service runs. The peer-facing ``/exchange/`` endpoints are left to the protocol, which
checks signed records on its own terms.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from sarhad.core.errors import InvalidInput, RuleError
from sarhad.core.text import check_no_nul

PEER_PREFIX = "/exchange/"
_JSON_NUL = b"\\u0000"  # how JSON spells the character; a raw NUL byte is not JSON at all


async def refuse_nul(request: Request) -> None:
    if request.url.path.startswith(PEER_PREFIX):
        return
    try:
        check_no_nul(dict(request.path_params), "")
        if b"%00" in request.scope.get("query_string", b""):
            check_no_nul(dict(request.query_params.multi_items()), "")
        if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            check_no_nul({key: value for key, value in form.multi_items() if isinstance(value, str)}, "")
        elif "json" in content_type:
            body = await request.body()
            if _JSON_NUL in body.lower():
                check_no_nul(_parsed(body), "")
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc


def _parsed(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None  # not JSON: the route's own parsing answers that
