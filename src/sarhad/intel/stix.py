"""A report as a STIX 2.1 bundle (the ``stix2`` library), marked with the TLP 2.0 marking definition of the
record's label.

The bundle is what a partner running a STIX tool would load, so it carries only what may leave the node:
the releasable portion (below the tearline) as the report's description, the grading, the report type and
the period. Never the full text, the summary or the note on the source.

- the originating party is an ``identity`` (class ``organization``), the report's ``created_by_ref``;
- TLP 2.0 markings are the OASIS extension's fixed marking definitions (property extension
  ``extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d``, ``tlp_2_0``), on the report and the identity;
- the Admiralty grading is ``x_sarhad_source_reliability`` / ``x_sarhad_information_credibility``, and the
  credibility also as STIX ``confidence`` by the STIX 2.1 Appendix A Admiralty Credibility scale
  (1 → 90, 2 → 70, 3 → 50, 4 → 30, 5 → 10; 6, "cannot be judged", sets none).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import stix2

from sarhad.intel.domain import KIND
from sarhad.intel.models import IntelReport

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_MARKING_IDS: dict[str, str] = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
CONFIDENCE: dict[str, int] = {"1": 90, "2": 70, "3": 50, "4": 30, "5": 10}
REPORT_TYPES: dict[str, str] = {
    "threat_warning": "threat-report",
    "assessment": "threat-report",
    "information_report": "threat-report",
    "pattern_of_activity": "observed-data",
}


def stable_id(stix_type: str, name: str) -> str:
    """A STIX id in UUIDv4 form (as STIX 2.1 asks of domain objects) derived from ``name``: the same report
    or party has the same STIX id on every export, so a partner's tool updates rather than duplicates it."""
    digest = hashlib.sha256(f"sarhad:{stix_type}:{name}".encode()).digest()
    return f"{stix_type}--{uuid.UUID(bytes=digest[:16], version=4)}"


def tlp_marking(tlp: str) -> Any:
    """The OASIS TLP 2.0 marking definition of a label (``amber+strict`` → TLP:AMBER+STRICT)."""
    return stix2.v21.MarkingDefinition(
        id=TLP2_MARKING_IDS[tlp],
        created="2022-10-01T00:00:00.000Z",
        name=f"TLP:{tlp.upper()}",
        extensions={TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": tlp}},
    )


def _stamp(value: datetime) -> datetime:
    return value.astimezone(UTC)


def report_bundle(report: IntelReport, party_names: dict[str, str]) -> Any:
    """The report as a STIX 2.1 bundle (a ``stix2.v21.Bundle``)."""
    marking = tlp_marking(report.tlp)
    identity = stix2.v21.Identity(
        id=stable_id("identity", report.origin),
        created=datetime(2026, 1, 1, tzinfo=UTC),
        modified=datetime(2026, 1, 1, tzinfo=UTC),
        name=party_names.get(report.origin, report.origin),
        identity_class="organization",
        object_marking_refs=[marking.id],
    )
    extra: dict[str, Any] = {}
    if report.credibility in CONFIDENCE:
        extra["confidence"] = CONFIDENCE[report.credibility]
    if report.sections:
        extra["x_sarhad_sections"] = list(report.sections)
    if report.period_start is not None:
        extra["x_sarhad_period_start"] = _stamp(report.period_start).isoformat().replace("+00:00", "Z")
    if report.period_end is not None:
        extra["x_sarhad_period_end"] = _stamp(report.period_end).isoformat().replace("+00:00", "Z")
    published = report.approved_at or report.received_at or report.created_at
    stix_report = stix2.v21.Report(
        id=stable_id("report", f"{KIND}:{report.origin}/{report.id}"),
        created=_stamp(report.created_at),
        modified=max(_stamp(report.updated_at), _stamp(report.created_at)),
        created_by_ref=identity.id,
        name=report.title,
        description=report.releasable,
        report_types=[REPORT_TYPES.get(report.report_type, "threat-report")],
        published=_stamp(published),
        object_refs=[identity.id],
        object_marking_refs=[marking.id],
        external_references=[
            {"source_name": "sarhad", "external_id": f"{report.origin}/{report.id}/v{report.version}"}
        ],
        x_sarhad_report_type=report.report_type,
        x_sarhad_source_reliability=report.reliability,
        x_sarhad_information_credibility=report.credibility,
        allow_custom=True,
        **extra,
    )
    return stix2.v21.Bundle(objects=[marking, identity, stix_report], allow_custom=True)


def report_bundle_json(report: IntelReport, party_names: dict[str, str]) -> dict[str, Any]:
    """The bundle as parsed JSON (the API answer)."""
    parsed: dict[str, Any] = json.loads(report_bundle(report, party_names).serialize())
    return parsed
