"""API shapes of requests to the other side, and the content of the two record kinds on the link.

Input models check shapes and lengths at the edge; the rules themselves (deadline in the future, the action of
a request for action, the reason of a late answer) are in ``domain`` and applied by the services, so the pages
and received records are held to them too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from sarhad.core.params import RowId
from sarhad.requests.domain import ANSWER_MAX, REASON_MAX, TEXT_MAX

PartyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
RecordId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


class IncidentRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    origin: PartyCode
    id: RecordId


class RequestCreateIn(BaseModel):
    """A new request to another party about an incident (own or received)."""

    model_config = ConfigDict(extra="forbid")

    to: PartyCode = Field(description="The party asked (a configured peer).")
    incident: IncidentRef
    kind: str = Field(max_length=16, description="information | action")
    action: str | None = Field(
        default=None, max_length=16, description="For kind=action: search, interdict, detain or investigate."
    )
    deadline: str = Field(max_length=8, description="urgent (8 h), 7d, 14d or set")
    deadline_at: AwareDatetime | None = Field(default=None, description="For deadline=set: the instant.")
    text: str = Field(min_length=1, max_length=TEXT_MAX)


class RequestUpdateIn(BaseModel):
    """A new version of one of this node's open requests: the text and/or a new deadline."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, min_length=1, max_length=TEXT_MAX)
    deadline: str | None = Field(default=None, max_length=8)
    deadline_at: AwareDatetime | None = None
    version: RowId | None = Field(default=None, description="Refused with 409 if no longer current.")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=ANSWER_MAX, description="What was done, or the information.")
    late_reason: str | None = Field(
        default=None, max_length=REASON_MAX, description="Required when answering after the deadline."
    )


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=REASON_MAX)


class TimelineItem(BaseModel):
    at: datetime
    event: str
    by: str
    details: dict[str, Any]


class DeliveryOut(BaseModel):
    """One envelope of this request (or its answer) on a link: queued, then sent, then receipted."""

    record: str  # "request" or "answer"
    party: str
    version: int
    op: str
    state: str
    link: str
    seq: int
    queued_at: datetime
    sent_at: datetime | None
    receipted_at: datetime | None


class RequestOut(BaseModel):
    id: str
    origin: str
    addressee: str
    direction: str
    version: int
    incident: IncidentRef
    kind: str
    action: str | None
    deadline_choice: str
    deadline: datetime
    text: str
    status: str
    overdue: bool
    late: bool
    answer: str
    late_reason: str
    answered_at: datetime | None
    answered_by: str
    withdrawn_at: datetime | None
    withdraw_reason: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    received_at: datetime | None
    content_hash: str


class RequestDetailOut(RequestOut):
    timeline: list[TimelineItem] = Field(description="Every step of the request on this node, oldest first.")
    deliveries: list[DeliveryOut] = Field(
        description="Every envelope written for the request and its answer."
    )


class OpenRequestOut(BaseModel):
    id: str
    direction: str
    kind: str
    action: str | None
    incident_origin: str
    incident_id: str
    deadline: datetime
    overdue: bool
    summary: str


class ResponseStatsOut(BaseModel):
    month: str
    answered_on_time: int
    answered_late: int
    open: int
    overdue: int


# --- the content on the link -------------------------------------------------------------------------------


class IncidentContent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    origin: PartyCode
    id: RecordId


class RequestContent(BaseModel):
    """A ``request`` record version (``domain.request_content``). Unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    addressee: PartyCode
    incident: IncidentContent
    kind: str = Field(max_length=16)
    action: str | None = Field(default=None, max_length=16)
    deadline_choice: str = Field(max_length=8)
    deadline: AwareDatetime
    text: str = Field(min_length=1, max_length=TEXT_MAX)
    created_by: str = Field(max_length=100)
    created_at: AwareDatetime
    updated_at: AwareDatetime


class RequestKey(BaseModel):
    model_config = ConfigDict(extra="ignore")

    origin: PartyCode
    id: RecordId


class AnswerContent(BaseModel):
    """A ``request.answer`` record: the addressed party's answer to one request."""

    model_config = ConfigDict(extra="ignore")

    request: RequestKey
    answer: str = Field(min_length=1, max_length=ANSWER_MAX)
    late_reason: str = Field(default="", max_length=REASON_MAX)
    answered_at: AwareDatetime
    answered_by: str = Field(max_length=100)
