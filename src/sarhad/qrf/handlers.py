"""The ``qrf.unit`` record kind: how the other side's shared unit is applied and withdrawn."""

from __future__ import annotations

from sarhad.exchange.registry import RecordKind, register_kind
from sarhad.qrf import services
from sarhad.qrf.domain import KIND
from sarhad.qrf.schemas import QrfUnitContent

QRF_UNIT = register_kind(
    RecordKind(
        KIND, schema=QrfUnitContent, apply=services.apply_received, withdraw=services.withdraw_received
    )
)
