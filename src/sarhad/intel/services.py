"""The one write path of intelligence reports, and the reads that check ``intel.read`` and audit every read.

Each change writes the report, its history, the audit entry and — when it is released — the envelopes in the
caller's transaction. The steps every shared record has are the exchange's shared-record lifecycle
(``exchange.records``); this module adds a report's own: its grading, the four-eyes approval, and the
tearline (only ``domain.snapshot`` is ever handed to the exchange).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.border.models import BorderSection
from sarhad.core.errors import (
    Conflict,
    ErrorCode,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RecordRefused,
    RuleError,
)
from sarhad.core.formats import csv_text, iso_utc, like_pattern
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.exchange import peers, records
from sarhad.exchange import record_rules as rules
from sarhad.exchange.models import Release
from sarhad.exchange.registry import IncomingRecord
from sarhad.incidents.reading import incident_exists
from sarhad.intel import domain
from sarhad.intel.domain import KIND, ReportFields, Status
from sarhad.intel.models import IntelReport, IntelReportVersion
from sarhad.intel.schemas import ReportContent, ReportIn

REPORTS = records.SharedKind(
    KIND,
    IntelReport,
    "intel_report",
    versions=IntelReportVersion,
    version_id="report_id",
    # what a withdrawal by the originator purges from a received report (the hash stays)
    purge=(("title", ""), ("releasable", ""), ("sections", [])),
)


# --- writing ---------------------------------------------------------------------------------------------


def check_input(session: Session, node: Node, data: ReportIn) -> tuple[ReportFields, list[str], list[str]]:
    """Every rule of a new report, before anything is written: content, grading, sections, linked
    incidents and release targets (422 naming the field)."""
    try:
        fields = domain.check_report(
            title=data.title,
            summary=data.summary,
            body=data.body,
            releasable=data.releasable,
            report_type=data.report_type,
            reliability=data.reliability,
            credibility=data.credibility,
            period_start=data.period_start,
            period_end=data.period_end,
            sections=data.sections,
            source_note=data.source_note,
        )
        rules.check_tlp(data.tlp)
        rules.check_handling(data.handling)
        targets = (
            rules.check_release_targets(node.party, data.release_to, peers.peer_parties(session))
            if data.release_to
            else []
        )
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    if fields.sections:
        known = set(session.scalars(select(BorderSection.id).where(BorderSection.id.in_(fields.sections))))
        unknown = [s for s in fields.sections if s not in known]
        if unknown:
            raise InvalidInput(
                f"sections: no border section {', '.join(unknown)} here",
                code=ErrorCode.UNKNOWN_SECTION,
                details={"field": "sections"},
            )
    links: list[str] = []
    for ref in data.incidents:
        origin, _, incident_id = ref.partition("/")
        if not incident_exists(session, origin, incident_id):
            raise InvalidInput(
                f"incidents: no incident {ref} is held here",
                code=ErrorCode.UNKNOWN_INCIDENT,
                details={"field": "incidents"},
            )
        if ref not in links:
            links.append(ref)
    return fields, targets, links


def create_report(
    session: Session, node: Node, actor: Actor, data: ReportIn, *, client_ip: str = ""
) -> IntelReport:
    """Write a draft report (version 1). ``release_to`` names the parties it goes to once approved."""
    require(actor, Permission.INTEL_WRITE, "writing intelligence reports")
    fields, targets, links = check_input(session, node, data)
    now = node.clock.now()
    report = IntelReport(
        origin=node.party,
        id=new_id(),
        version=1,
        status=Status.DRAFT.value,
        title=fields.title,
        summary=fields.summary,
        body=fields.body,
        releasable=fields.releasable,
        report_type=fields.report_type.value,
        period_start=fields.period_start,
        period_end=fields.period_end,
        sections=list(fields.sections),
        incidents=links,
        reliability=fields.grading.reliability,
        credibility=fields.grading.credibility,
        source_note=fields.source_note,
        release_to=targets,
        approved_by=None,
        approved_at=None,
        tlp=data.tlp,
        handling=data.handling,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
        withdrawn_at=None,
        withdraw_reason="",
        received_at=None,
    )
    session.add(report)
    records.add_version(session, node, REPORTS, report, domain.snapshot(report), actor.username)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="intel_report.create",
        record_kind=KIND,
        record_id=report.id,
        client_ip=client_ip,
        details={
            "version": 1,
            "tlp": report.tlp,
            "grading": fields.grading.code,
            "release_to": targets,
            "content_hash": report.content_hash,
        },
    )
    return report


def approve_report(
    session: Session, node: Node, actor: Actor, report_id: str, *, client_ip: str = ""
) -> IntelReport:
    """A second person approves a draft (four eyes: never its author); it is then released to the parties its
    author named, which needs ``records.release`` too (checked before anything is written)."""
    report = records.access_own(
        session,
        node,
        actor,
        REPORTS,
        report_id,
        permission=Permission.INTEL_APPROVE,
        doing="approving intelligence reports",
        verb="approved",
    )
    try:
        domain.check_approval(report.status, report.created_by, actor.username)
    except RuleError as exc:
        if exc.code == ErrorCode.OWN_APPROVAL:
            raise PermissionDenied(exc.message, code=exc.code, details={"field": exc.field}) from exc
        raise Conflict(exc.message, code=exc.code, details={"field": exc.field}) from exc
    if report.release_to:
        require(actor, Permission.RECORDS_RELEASE, "releasing records to other parties")
    report.status, report.approved_by, report.approved_at = (
        Status.APPROVED.value,
        actor.username,
        node.clock.now(),
    )
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="intel_report.approve",
        record_kind=KIND,
        record_id=report.id,
        client_ip=client_ip,
        details={"version": report.version, "author": report.created_by, "release_to": report.release_to},
    )
    if report.release_to:
        _release(session, node, actor, report, report.release_to, client_ip=client_ip)
    return report


def _release(
    session: Session,
    node: Node,
    actor: Actor,
    report: IntelReport,
    to: Sequence[str],
    *,
    tlp: str | None = None,
    handling: str | None = None,
    client_ip: str = "",
) -> list[Release]:
    releases = records.release(
        session,
        node,
        actor,
        REPORTS,
        report,
        to,
        content=current_content(session, report),
        tlp=tlp,
        handling=handling,
        client_ip=client_ip,
    )
    if report.origin == node.party:
        report.status = Status.RELEASED.value
    return releases


def release_report(
    session: Session,
    node: Node,
    actor: Actor,
    report_id: str,
    to: Sequence[str],
    *,
    origin: str | None = None,
    tlp: str | None = None,
    handling: str | None = None,
    client_ip: str = "",
) -> list[Release]:
    """Release an approved report (its current and later versions) to more parties; a draft is refused
    (409 ``not_approved``). A received report goes onward only if its originator allowed that."""
    report = records.access_held(session, node, actor, REPORTS, report_id, origin=origin)
    try:
        domain.check_releasable(report.status)
    except RuleError as exc:
        raise Conflict(exc.message, code=exc.code, details={"field": exc.field}) from exc
    return _release(session, node, actor, report, to, tlp=tlp, handling=handling, client_ip=client_ip)


def withdraw_report(
    session: Session, node: Node, actor: Actor, report_id: str, reason: str, *, client_ip: str = ""
) -> IntelReport:
    """Withdraw one of our reports: every party it went to gets a signed tombstone and stops showing it."""
    require(actor, Permission.INTEL_WRITE, "withdrawing intelligence reports")
    return records.withdraw_own(session, node, actor, REPORTS, report_id, reason, client_ip=client_ip)


def current_content(session: Session, report: IntelReport) -> dict[str, Any]:
    """The content of the current version exactly as stored: the released snapshot (never the full text)."""
    stored = records.current_content(session, REPORTS, report)
    return stored if stored is not None else domain.snapshot(report)


# --- receiving (called by the exchange through handlers.py) ---------------------------------------------------


def apply_received(session: Session, node: Node, record: IncomingRecord) -> None:
    """Store a received report version: what crossed the tearline, by the same rules as our own."""
    checked = record.validated
    content = checked if isinstance(checked, ReportContent) else ReportContent.model_validate(record.content)
    try:
        fields = domain.check_received(
            title=content.title,
            releasable=content.releasable,
            report_type=content.report_type,
            reliability=content.reliability,
            credibility=content.credibility,
            period_start=content.period_start,
            period_end=content.period_end,
            sections=content.sections,
        )
    except RuleError as exc:
        raise RecordRefused.from_rule(exc) from exc

    def fill(report: IntelReport) -> None:
        report.title, report.releasable = fields.title, fields.releasable
        report.report_type = fields.report_type.value
        report.period_start, report.period_end = fields.period_start, fields.period_end
        report.sections = list(fields.sections)
        report.reliability, report.credibility = fields.grading.reliability, fields.grading.credibility
        report.updated_at = content.updated_at

    first = {
        "status": Status.RELEASED.value,
        "summary": "",
        "body": "",
        "incidents": [],
        "source_note": "",
        "release_to": [],
        "created_by": records.peer_actor(record),
        "created_at": content.created_at,
        "withdraw_reason": "",
    }
    records.store_received(session, node, REPORTS, record, fill, new_row=first)


def withdraw_received(session: Session, node: Node, record: IncomingRecord) -> None:
    records.apply_received_withdrawal(session, node, REPORTS, record)


# --- reading ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilter:
    origin: str | None = None
    report_type: str | None = None
    reliability: str | None = None
    credibility: str | None = None
    status: str | None = None
    text: str | None = None
    limit: int = 200


MAX_LIST = 1000


def list_reports(session: Session, node: Node, actor: Actor, flt: ReportFilter) -> Sequence[IntelReport]:
    """Own reports (also withdrawn ones) and received ones (not withdrawn), newest change first."""
    require(actor, Permission.INTEL_READ, "reading intelligence reports")
    query = select(IntelReport).where(
        or_(IntelReport.withdrawn_at.is_(None), IntelReport.origin == node.party)
    )
    if flt.origin:
        query = query.where(IntelReport.origin == flt.origin)
    if flt.report_type:
        query = query.where(IntelReport.report_type == flt.report_type)
    if flt.reliability:
        query = query.where(IntelReport.reliability == flt.reliability)
    if flt.credibility:
        query = query.where(IntelReport.credibility == flt.credibility)
    if flt.status:
        query = query.where(IntelReport.status == flt.status)
    if flt.text and flt.text.strip():
        pattern = like_pattern(flt.text.strip())
        query = query.where(
            or_(
                IntelReport.title.ilike(pattern, escape="\\"),
                IntelReport.releasable.ilike(pattern, escape="\\"),
            )
        )
    query = query.order_by(IntelReport.updated_at.desc(), IntelReport.id.desc()).limit(
        max(1, min(flt.limit, MAX_LIST))
    )
    return session.scalars(query).all()


def find_origin(session: Session, node: Node, report_id: str) -> str:
    """The origin of the report with this id held here (own first); 404 if none."""
    origins = list(session.scalars(select(IntelReport.origin).where(IntelReport.id == report_id)))
    if not origins:
        raise NotFound(f"no intelligence report {report_id} is held here")
    return node.party if node.party in origins else sorted(origins)[0]


def get_report(
    session: Session,
    node: Node,
    actor: Actor,
    report_id: str,
    *,
    origin: str | None = None,
    client_ip: str = "",
) -> IntelReport:
    """One report. Every read of a report, own or received, is audited (``intel_report.read``) in the
    caller's transaction."""
    require(actor, Permission.INTEL_READ, "reading intelligence reports")
    report = records.access_readable(
        session,
        node,
        actor,
        REPORTS,
        report_id,
        origin or find_origin(session, node, report_id),
        permission=Permission.INTEL_READ,
        doing="reading intelligence reports",
        audit=False,
    )
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="intel_report.read",
        record_kind=KIND,
        record_id=report.id,
        client_ip=client_ip,
        details={"origin": report.origin, "version": report.version},
    )
    return report


def releases_of(session: Session, report: IntelReport) -> Sequence[Release]:
    return session.scalars(
        select(Release)
        .where(Release.record_kind == KIND, Release.record_id == report.id, Release.origin == report.origin)
        .order_by(Release.to_party)
    ).all()


CSV_COLUMNS = (
    "origin",
    "id",
    "version",
    "status",
    "title",
    "report_type",
    "reliability",
    "credibility",
    "period_start",
    "period_end",
    "sections",
    "tlp",
    "handling",
    "releasable",
    "created_at",
    "updated_at",
    "received_at",
    "withdrawn_at",
)


def reports_as_csv(reports: Sequence[IntelReport]) -> str:
    """The list as CSV: the releasable portion only (an export leaves the node too), times in UTC."""
    return csv_text(
        CSV_COLUMNS,
        (
            {
                "origin": r.origin,
                "id": r.id,
                "version": r.version,
                "status": r.status,
                "title": r.title,
                "report_type": r.report_type,
                "reliability": r.reliability,
                "credibility": r.credibility,
                "period_start": iso_utc(r.period_start),
                "period_end": iso_utc(r.period_end),
                "sections": " ".join(r.sections),
                "tlp": r.tlp,
                "handling": r.handling,
                "releasable": r.releasable,
                "created_at": iso_utc(r.created_at),
                "updated_at": iso_utc(r.updated_at),
                "received_at": iso_utc(r.received_at),
                "withdrawn_at": iso_utc(r.withdrawn_at),
            }
            for r in reports
        ),
    )
