"""Pydantic shapes of the exchange's admin and joint-record API.

Times are ISO 8601 text exactly as the API has always written them (``datetime.isoformat()``, so ``+00:00``),
not re-encoded: clients parse them as they are.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class LinkStatusOut(BaseModel):
    """One peer's two links: what was written, sent and receipted on ours, what we received on theirs."""

    peer: str
    url: str
    link_out: str
    last_seq: int
    sent_seq: int
    receipted_seq: int
    receipted_at: str | None
    backlog: int
    oldest_unreceipted_at: str | None
    link_in: str
    received_seq: int
    last_contact_at: str | None
    last_error: str
    last_error_at: str | None
    next_attempt_at: str | None
    backlog_age_seconds: int | float


class IdentityOut(BaseModel):
    """This node's party and public key, to give to peers out of band."""

    party: str
    public_key: str
    fingerprint: str
    short_fingerprint: str


class AlertOut(BaseModel):
    id: int
    kind: str
    severity: str
    message: str
    link: str
    seq: int | None
    at: str
    acknowledged_at: str | None
    acknowledged_by: str


class AcknowledgedOut(BaseModel):
    id: int
    acknowledged_by: str


class QuarantinedOut(BaseModel):
    """An envelope whose record could not be applied, with the reason and the envelope itself."""

    link: str
    seq: int
    kind: str
    record_id: str
    reason: str
    received_at: str
    envelope: dict[str, Any]


class ProposalIn(BaseModel):
    subject: str = Field(min_length=1, max_length=64)
    title: str = Field(default="", max_length=300)
    signatories: list[str] = Field(default_factory=list, max_length=16)
    content: dict[str, Any]


class DecisionIn(BaseModel):
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    decision: str = Field(pattern=r"^(accept|reject)$")
    reason: str = Field(default="", max_length=2000)


class AgreedOut(BaseModel):
    content: dict[str, Any] | None
    content_hash: str | None
    at: str | None


class JointProposalOut(BaseModel):
    proposer: str
    content: dict[str, Any]
    content_hash: str
    based_on_hash: str | None
    at: str


class JointDecisionOut(BaseModel):
    party: str
    content_hash: str
    decision: str
    reason: str
    at: str


class JointRecordOut(BaseModel):
    """A joint record: the content agreed so far, each pending content hash with every signatory's position,
    and every proposal and decision."""

    id: str
    subject: str
    title: str
    signatories: list[str]
    agreed: AgreedOut
    pending: dict[str, dict[str, str]]
    proposals: list[JointProposalOut]
    decisions: list[JointDecisionOut]
