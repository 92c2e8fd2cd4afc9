"""A STIX 2.1 bundle into a DRAFT report (``POST /api/v1/intel/import/stix``), with the ``stix2`` library.

The bundle is checked whole before anything is written: at most ``BUNDLE_MAX_BYTES`` and ``OBJECTS_MAX``
objects (413 ``too_large``), JSON that ``stix2.parse`` accepts as a STIX 2.1 bundle (422 ``bad_stix``;
custom properties are allowed, since STIX 2.1 permits them and the node's own export carries
``x_sarhad_*`` ones, but every spec property is checked), and exactly one ``report`` (422 ``no_stix_report``).

What the draft gets (docs/intel.md, "STIX import"):

- title ← the report's ``name``; releasable ← its ``description`` (the name when there is none);
- body ← the description, then the other objects summarised in words (identities, threat actors, intrusion
  sets, indicators, locations, relationships, named by the objects' names); other object types are counted;
- grading ← ``x_sarhad_source_reliability`` / ``x_sarhad_information_credibility`` when valid; otherwise
  reliability F ("cannot be judged": left for the analyst) and credibility from ``confidence`` by the STIX 2.1
  Appendix A Admiralty scale (80–100 → 1, 60–79 → 2, 40–59 → 3, 20–39 → 4, 0–19 → 5, absent → 6);
- TLP ← the report's ``object_marking_refs``: a TLP 2.0 marking (the OASIS extension's ids or a marking
  definition in the bundle with ``tlp_2_0``) or a TLP 1.0 one (``white`` → ``clear``); the strictest wins;
  none: ``amber``;
- report type, period and sections ← the ``x_sarhad_*`` properties when valid (sections only those held
  here); otherwise ``information_report``, none, none;
- source note (never leaves the node) ← where it came from: the bundle's and report's ids and the creator.

Nothing is released: the draft names no parties; an analyst reads, edits and a second person approves it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import stix2
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.border.models import BorderSection
from sarhad.core.errors import ErrorCode, InvalidInput, PayloadTooLarge
from sarhad.core.node import Node
from sarhad.intel import services
from sarhad.intel.domain import (
    BODY_MAX,
    KIND,
    RELEASABLE_MAX,
    SECTIONS_MAX,
    SOURCE_NOTE_MAX,
    TITLE_MAX,
    ReportType,
)
from sarhad.intel.models import IntelReport
from sarhad.intel.schemas import ReportIn
from sarhad.intel.stix import TLP2_MARKING_IDS

BUNDLE_MAX_BYTES = 1024 * 1024
OBJECTS_MAX = 1000
TLP1_MARKING_IDS: dict[str, str] = {
    stix2.TLP_WHITE.id: "clear",
    stix2.TLP_GREEN.id: "green",
    stix2.TLP_AMBER.id: "amber",
    stix2.TLP_RED.id: "red",
}
TLP_ORDER = ["clear", "green", "amber", "amber+strict", "red"]
DEFAULT_TLP = "amber"
RELIABILITIES = "ABCDEF"
CREDIBILITIES = "123456"
SUMMARISED = ("identity", "threat-actor", "intrusion-set", "indicator", "location", "relationship")
HEADINGS = {
    "identity": "Identities",
    "threat-actor": "Threat actors",
    "intrusion-set": "Intrusion sets",
    "indicator": "Indicators",
    "location": "Locations",
    "relationship": "Relationships",
}


def credibility_of(confidence: Any) -> str:
    """Admiralty credibility from a STIX ``confidence`` (STIX 2.1 Appendix A); ``6`` when there is none."""
    if not isinstance(confidence, int) or isinstance(confidence, bool) or not 0 <= confidence <= 100:
        return "6"
    for floor, grade in ((80, "1"), (60, "2"), (40, "3"), (20, "4")):
        if confidence >= floor:
            return grade
    return "5"


def parse_bundle(raw: bytes) -> list[dict[str, Any]]:
    """The bundle's objects as plain dicts, after the size limits and ``stix2`` validation."""
    if len(raw) > BUNDLE_MAX_BYTES:
        raise PayloadTooLarge(f"the STIX bundle is {len(raw)} bytes; at most {BUNDLE_MAX_BYTES} are imported")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the STIX bundle is not JSON: {exc}", code=ErrorCode.BAD_STIX) from exc
    if not isinstance(data, dict) or data.get("type") != "bundle":
        raise InvalidInput("a STIX 2.1 bundle is an object of type 'bundle'", code=ErrorCode.BAD_STIX)
    objects = data.get("objects", [])
    if isinstance(objects, list) and len(objects) > OBJECTS_MAX:
        raise PayloadTooLarge(
            f"the STIX bundle holds {len(objects)} objects; at most {OBJECTS_MAX} are imported"
        )
    try:
        bundle = stix2.parse(data, allow_custom=True, version="2.1")
    except Exception as exc:  # stix2 raises many kinds (STIXError, ValueError, ...): all are a bad bundle
        raise InvalidInput(f"the STIX 2.1 bundle fails validation: {exc}", code=ErrorCode.BAD_STIX) from exc
    parsed: dict[str, Any] = json.loads(bundle.serialize()) if hasattr(bundle, "serialize") else dict(bundle)
    result: list[dict[str, Any]] = [o for o in parsed.get("objects", []) if isinstance(o, dict)]
    return result


def _tlp_of(report: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> str:
    labels: list[str] = []
    tlp2 = {v: k for k, v in TLP2_MARKING_IDS.items()}
    for ref in report.get("object_marking_refs", []):
        if ref in tlp2:
            labels.append(tlp2[ref])
        elif ref in TLP1_MARKING_IDS:
            labels.append(TLP1_MARKING_IDS[ref])
        elif ref in by_id:
            marking = by_id[ref]
            for ext in (marking.get("extensions") or {}).values():
                if isinstance(ext, dict) and ext.get("tlp_2_0") in TLP_ORDER:
                    labels.append(ext["tlp_2_0"])
            definition = marking.get("definition") or {}
            if marking.get("definition_type") == "tlp" and isinstance(definition, dict):
                label = {"white": "clear"}.get(definition.get("tlp", ""), definition.get("tlp", ""))
                if label in TLP_ORDER:
                    labels.append(label)
    return max(labels, key=TLP_ORDER.index) if labels else DEFAULT_TLP


def _name(obj: dict[str, Any] | None, ref: str) -> str:
    if obj is None:
        return ref
    return str(obj.get("name") or obj.get("value") or ref)


def _describe(obj: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> str:
    kind = obj["type"]
    if kind == "relationship":
        source = _name(by_id.get(obj.get("source_ref", "")), obj.get("source_ref", ""))
        target = _name(by_id.get(obj.get("target_ref", "")), obj.get("target_ref", ""))
        return f"{source} {str(obj.get('relationship_type', '')).replace('-', ' ')} {target}"
    parts = [_name(obj, obj["id"])]
    if kind == "identity" and obj.get("identity_class"):
        parts.append(f"({obj['identity_class']})")
    if kind == "threat-actor" and obj.get("threat_actor_types"):
        parts.append(f"({', '.join(obj['threat_actor_types'])})")
    if kind == "indicator":
        parts.append(f"— pattern {obj.get('pattern', '')}")
        if obj.get("valid_from"):
            parts.append(f"valid from {obj['valid_from']}")
    if kind == "location":
        where = [str(obj[k]) for k in ("street_address", "city", "region", "country") if obj.get(k)]
        if "latitude" in obj and "longitude" in obj:
            where.append(f"{obj['latitude']}, {obj['longitude']}")
        if where and obj.get("name"):
            parts.append(f"({'; '.join(where)})")
        elif where:
            parts = ["; ".join(where)]
    if obj.get("aliases"):
        parts.append(f"— also known as {', '.join(obj['aliases'])}")
    if obj.get("description") and kind != "identity":
        parts.append(f"— {obj['description']}")
    return " ".join(parts)


def summary_of(objects: list[dict[str, Any]], report: dict[str, Any]) -> str:
    """The bundle's other objects in words, one heading per type, in a stable order."""
    by_id = {o["id"]: o for o in objects if "id" in o}
    lines: list[str] = []
    for kind in SUMMARISED:
        found = [o for o in objects if o.get("type") == kind]
        if found:
            lines.append(f"{HEADINGS[kind]}:")
            lines.extend(f"- {_describe(o, by_id)}" for o in found)
    others: dict[str, int] = {}
    for o in objects:
        kind = str(o.get("type"))
        if kind not in SUMMARISED and kind not in ("report", "marking-definition", "extension-definition"):
            others[kind] = others.get(kind, 0) + 1
    if others:
        counted = ", ".join(f"{n} {kind}" for kind, n in sorted(others.items()))
        lines.append(f"Other objects not summarised: {counted}.")
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def draft_from_bundle(session: Session, raw: bytes) -> tuple[ReportIn, dict[str, Any]]:
    """The draft a bundle makes, and what the audit entry records of it. Raises before anything is written."""
    objects = parse_bundle(raw)
    reports = [o for o in objects if o.get("type") == "report"]
    if len(reports) != 1:
        raise InvalidInput(
            f"the STIX bundle holds {len(reports)} report objects; exactly one is imported as a draft",
            code=ErrorCode.NO_STIX_REPORT,
        )
    report = reports[0]
    by_id = {o["id"]: o for o in objects if "id" in o}
    title = _clip(str(report.get("name", "")).strip() or "Imported STIX report", TITLE_MAX)
    description = str(report.get("description") or "").strip()
    releasable = _clip(description or title, RELEASABLE_MAX)
    summary = summary_of(objects, report)
    body = _clip("\n\n".join(p for p in (description or title, summary) if p), BODY_MAX)
    reliability = str(report.get("x_sarhad_source_reliability", ""))
    credibility = str(report.get("x_sarhad_information_credibility", ""))
    if reliability not in RELIABILITIES or len(reliability) != 1:
        reliability = "F"
    if credibility not in CREDIBILITIES or len(credibility) != 1:
        credibility = credibility_of(report.get("confidence"))
    report_type = str(report.get("x_sarhad_report_type", ""))
    if report_type not in {t.value for t in ReportType}:
        report_type = ReportType.INFORMATION_REPORT.value
    sections_in = report.get("x_sarhad_sections", [])
    sections: list[str] = []
    if isinstance(sections_in, list) and sections_in:
        wanted = [s for s in sections_in if isinstance(s, str)][:SECTIONS_MAX]
        known = set(session.scalars(select(BorderSection.id).where(BorderSection.id.in_(wanted))))
        sections = [s for s in wanted if s in known]
    start, end = _when(report.get("x_sarhad_period_start")), _when(report.get("x_sarhad_period_end"))
    if start is not None and end is not None and end < start:
        start = end = None
    creator = _name(by_id.get(report.get("created_by_ref", "")), report.get("created_by_ref", "unknown"))
    note = _clip(f"Imported from STIX 2.1 {report['id']}, created by {creator}.", SOURCE_NOTE_MAX)
    draft = ReportIn(
        title=title,
        summary="",
        body=body,
        releasable=releasable,
        report_type=ReportType(report_type),
        reliability=reliability,
        credibility=credibility,
        period_start=start,
        period_end=end,
        sections=sections,
        source_note=note,
        tlp=_tlp_of(report, by_id),  # a Tlp value; pydantic converts it
    )
    details = {
        "stix_report": report["id"],
        "objects": len(objects),
        "bundle_sha256": hashlib.sha256(raw).hexdigest(),
    }
    return draft, details


def import_bundle(
    session: Session, node: Node, actor: Actor, raw: bytes, *, client_ip: str = ""
) -> IntelReport:
    """Write the draft a STIX 2.1 bundle makes (``intel.write``), audited as ``intel_report.import``."""
    require(actor, Permission.INTEL_WRITE, "importing intelligence reports")
    draft, details = draft_from_bundle(session, raw)
    report = services.create_report(session, node, actor, draft, client_ip=client_ip)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="intel_report.import",
        record_kind=KIND,
        record_id=report.id,
        client_ip=client_ip,
        details={**details, "format": "stix-2.1"},
    )
    return report
