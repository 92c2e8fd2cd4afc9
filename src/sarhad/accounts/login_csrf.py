"""The sign-in form's CSRF token, before there is a session (login CSRF).

The other forms carry their session's token. The sign-in form has no session yet, so it carries a
pre-session token: a random nonce with an HMAC of it under the node's ``secret_key``, set both in a
``SameSite=Strict``, ``HttpOnly`` cookie scoped to ``/login`` and in the form's ``csrf_token`` field
(double submit, signed). A sign-in is accepted only if both are present, equal, and the HMAC checks and is
younger than ``MAX_AGE_SECONDS``: another site can neither read the field nor make the browser send the
cookie with its post, and cannot mint a token without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

COOKIE = "sarhad_login_csrf"
MAX_AGE_SECONDS = 3600
_CONTEXT = b"sarhad login csrf v1:"


def _mac(key: str, body: str) -> str:
    return hmac.new(key.encode(), _CONTEXT + body.encode(), hashlib.sha256).hexdigest()


def new_token(key: str, now: float | None = None) -> str:
    """A fresh token: ``<issued, unix seconds>.<nonce>.<hmac>``."""
    issued = int(time.time() if now is None else now)
    body = f"{issued}.{secrets.token_urlsafe(18)}"
    return f"{body}.{_mac(key, body)}"


def valid(key: str, cookie: str, field: str, now: float | None = None) -> bool:
    """Do the cookie and the form field carry the same token, minted by this node and not too old?"""
    if not cookie or not field or not hmac.compare_digest(cookie.encode(), field.encode()):
        return False
    body, _, mac = cookie.rpartition(".")
    issued, _, nonce = body.partition(".")
    if not issued.isdigit() or not nonce or not hmac.compare_digest(mac.encode(), _mac(key, body).encode()):
        return False
    age = (time.time() if now is None else now) - int(issued)
    return 0 <= age <= MAX_AGE_SECONDS
