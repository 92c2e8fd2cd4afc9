"""Issue 15, hole 10, for requests: a request crosses the border as it is written, so writing one and every new
version of it need ``records.release`` as well as ``requests.write``, like every shared record kind. No role
today holds the one without the other, so the writer here is an actor made for the test."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from request_helpers import create_incident, snapshot

from sarhad.accounts.actors import SystemActor
from sarhad.accounts.domain import Permission
from sarhad.core.errors import ErrorCode, PermissionDenied
from sarhad.core.node import Node
from sarhad.requests import services
from sarhad.requests.models import PartyRequest
from sarhad.requests.schemas import RequestCreateIn, RequestUpdateIn
from support.inprocess import deliver


@dataclass(frozen=True)
class WriterWithoutRelease:
    """Writes requests, may not release records."""

    username: str = "writer"

    def can(self, permission: Permission) -> bool:
        return permission != Permission.RECORDS_RELEASE


def new_request(incident_id: str) -> RequestCreateIn:
    return RequestCreateIn(
        to="IR",
        incident={"origin": "PK", "id": incident_id},  # type: ignore[arg-type]
        kind="information",
        deadline="7d",
        text="Were the two persons known to your side before?",
    )


def test_a_writer_without_release_can_neither_send_nor_change_a_request(pk: Node, ir: Node) -> None:
    incident_id = create_incident(pk)
    before = snapshot(pk)
    with pytest.raises(PermissionDenied), pk.transaction() as session:
        services.create_request(session, pk, WriterWithoutRelease(), new_request(incident_id))
    assert snapshot(pk) == before

    with pk.transaction() as session:
        request_id = services.create_request(session, pk, SystemActor(), new_request(incident_id)).id
    deliver(pk, ir)
    before = snapshot(pk)
    with pytest.raises(PermissionDenied) as refused, pk.transaction() as session:
        services.update_request(
            session,
            pk,
            WriterWithoutRelease(),
            "PK",
            request_id,
            RequestUpdateIn(text="Changed without a releaser"),
        )
    assert refused.value.code == ErrorCode.RELEASE_REQUIRED
    assert snapshot(pk) == before
    with ir.sessions() as session:
        held = session.get(PartyRequest, ("PK", request_id))
        assert held is not None and held.version == 1
