"""Signing in through the sign-in page as a browser does: fetch the form (its pre-session CSRF token and
cookie), then post it."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient


def login_form_token(client: TestClient) -> str:
    """Load ``/login`` (which sets the pre-session cookie on the client) and return the form's token."""
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


def post_login(client: TestClient, username: str, password: str, next: str = "/") -> Any:
    """Sign in through the page; returns the answer (303 to ``next`` when it worked)."""
    data = {"username": username, "password": password, "next": next, "csrf_token": login_form_token(client)}
    return client.post("/login", data=data, follow_redirects=False)
