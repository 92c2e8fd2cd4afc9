"""The border services check the actor's permission themselves, so a caller other than the API cannot skip it."""

from __future__ import annotations

import pytest

from sarhad.accounts.domain import permissions_for
from sarhad.accounts.services import Principal
from sarhad.border import edits, queries, seeding
from sarhad.border.schemas import CrossingPatch
from sarhad.core.errors import ErrorCode, PermissionDenied
from sarhad.core.node import Node


def _principal(*roles: str, scope: tuple[str, ...] = ()) -> Principal:
    return Principal(
        user_id="u1",
        username="someone",
        display_name="Someone",
        roles=roles,
        permissions=permissions_for(roles),
        session_id="s1",
        via="bearer",
        csrf_token="",
        language="en",
        time_zone="UTC",
        calendar="gregorian",
        scope_sections=scope,
    )


def test_reading_needs_border_read(seeded: Node) -> None:
    with seeded.sessions() as session:
        assert queries.list_sections(session, _principal("operator"))
        with pytest.raises(PermissionDenied) as refused:
            queries.list_sections(session, _principal())
        assert refused.value.code == ErrorCode.FORBIDDEN
        with pytest.raises(PermissionDenied):
            queries.access_crossing(session, _principal(), "taftan-mirjaveh")


def test_editing_and_seeding_need_border_edit(seeded: Node) -> None:
    with seeded.transaction() as session, pytest.raises(PermissionDenied) as refused:
        edits.update_crossing(
            session, seeded, _principal("operator"), "taftan-mirjaveh", CrossingPatch(status="closed")
        )
    assert refused.value.code == ErrorCode.FORBIDDEN
    with seeded.transaction() as session, pytest.raises(PermissionDenied):
        seeding.seed_reference_scenario(session, seeded, _principal("operator"), seeding.reference_data())


def test_an_edit_outside_the_actors_sections_is_refused(seeded: Node) -> None:
    with seeded.transaction() as session, pytest.raises(PermissionDenied) as refused:
        edits.update_crossing(
            session,
            seeded,
            _principal("admin", scope=("S1",)),
            "taftan-mirjaveh",
            CrossingPatch(status="closed"),
        )
    assert refused.value.code == ErrorCode.OUT_OF_SCOPE
