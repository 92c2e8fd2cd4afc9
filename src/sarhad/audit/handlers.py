"""The audit log's record kind on the exchange: signed heads, witnessed by the peer (``audit.heads``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from sarhad.audit.heads import KIND, apply_head, withdraw_head
from sarhad.exchange.registry import RecordKind, register_kind


class HeadContent(BaseModel):
    """The members of a signed head (their exact checks are ``audit.chain.check_head_shape``)."""

    model_config = ConfigDict(extra="forbid")
    v: int
    party: str
    seq: int
    hash: str
    at: str
    key: str
    sig: str


register_kind(RecordKind(KIND, schema=HeadContent, apply=apply_head, withdraw=withdraw_head))
