"""API shapes for accounts."""

from __future__ import annotations

from pydantic import BaseModel


class TokenAnswer(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_in: int


class UserOut(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    scope_sections: list[str]
    language: str
    time_zone: str
    calendar: str
    disabled: bool


class MeOut(UserOut):
    permissions: list[str]
    positions: list[str]
    party: str


class PositionOut(BaseModel):
    id: str
    party: str
    names: dict[str, str]
    kind: str
    section_id: str | None
    parent_id: str | None
    holders: list[str]
