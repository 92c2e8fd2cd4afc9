"""Intelligence pages: the list (filters, CSV), the report page (grading in words, the tearline marked, the
source note only on the originator's node, the approve button), and the form for a new draft.

Forms are checked with the API's model and the domain rules, so a page refuses exactly what the API refuses;
a refused form is shown again with every problem at once and what was typed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.audit.services import record_list_read
from sarhad.core.errors import InvalidInput, PermissionDenied
from sarhad.core.i18n import gettext
from sarhad.exchange.domain import Handling, Tlp
from sarhad.exchange.peers import configured_peers
from sarhad.intel import domain, services
from sarhad.intel.domain import CREDIBILITY, RELIABILITY, ReportType, Status
from sarhad.intel.models import IntelReport
from sarhad.intel.schemas import ReportIn
from sarhad.web.deps import NodeDep, client_ip, requires
from sarhad.web.forms import FormErrors, form_errors
from sarhad.web.templating import add_nav_item, render

router = APIRouter(include_in_schema=False)
add_nav_item("/intel", "Intelligence", Permission.INTEL_READ.value)

TEXT_CAP = domain.BODY_MAX * 2
SHORT_CAP = 4000
TLPS = [t.value for t in Tlp]
TYPES = [t.value for t in ReportType]


def _labels() -> dict[str, str]:
    return {
        "title": gettext("Title"),
        "summary": gettext("Summary"),
        "body": gettext("Full text"),
        "releasable": gettext("Releasable part"),
        "report_type": gettext("Report type"),
        "reliability": gettext("Source reliability (A–F)"),
        "credibility": gettext("Information credibility (1–6)"),
        "period_start": gettext("From"),
        "period_end": gettext("Until"),
        "source_note": gettext("Note on the source"),
        "tlp": gettext("TLP"),
        "release_to": gettext("Release to"),
    }


def _blank() -> dict[str, Any]:
    return {
        "title": "",
        "summary": "",
        "body": "",
        "releasable": "",
        "report_type": ReportType.INFORMATION_REPORT.value,
        "reliability": "F",
        "credibility": "6",
        "period_start": "",
        "period_end": "",
        "source_note": "",
        "tlp": Tlp.AMBER.value,
        "release_to": [],
    }


def _parse(values: dict[str, Any], principal: Principal) -> tuple[dict[str, Any], FormErrors]:
    """Raw form strings to the API's JSON shape (times typed in the viewer's zone); every problem at once."""
    problems = form_errors(principal, _labels())
    data: dict[str, Any] = {
        name: values[name]
        for name in ("title", "summary", "body", "releasable", "report_type", "reliability", "credibility")
    }
    data.update(source_note=values["source_note"], tlp=values["tlp"], release_to=values["release_to"])
    data["handling"] = Handling.NO_ONWARD.value
    for name in ("title", "body", "releasable"):
        if not str(values[name]).strip():
            problems.add(name, gettext("Fill this in."))
    if values["reliability"] not in RELIABILITY:
        problems.add("reliability", gettext("Choose one of the options."))
    if values["credibility"] not in CREDIBILITY:
        problems.add("credibility", gettext("Choose one of the options."))
    if values["report_type"] not in TYPES:
        problems.add("report_type", gettext("Choose one of the options."))
    if values["tlp"] not in TLPS:
        problems.add("tlp", gettext("Choose one of the options."))
    for name in ("period_start", "period_end"):
        raw = str(values[name]).strip()
        if not raw:
            continue
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            problems.add(name, gettext("Write a date and time."))
            continue
        data[name] = moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(principal.time_zone))
    return data, problems


def _form(
    request: Request,
    node: Any,
    principal: Principal,
    values: dict[str, Any],
    errors: FormErrors | None = None,
) -> HTMLResponse:
    with node.sessions() as session:
        peers = configured_peers(session)
    return render(
        request,
        "intel_form.html",
        {
            "values": values,
            "peers": peers,
            "tlps": TLPS,
            "types": TYPES,
            "reliabilities": list(RELIABILITY),
            "credibilities": list(CREDIBILITY),
            "errors": errors or form_errors(principal, _labels()),
        },
        principal=principal,
        status_code=422 if errors else 200,
    )


@router.get("/intel", response_class=HTMLResponse)
def reports_page(
    request: Request,
    node: NodeDep,
    origin: Annotated[str | None, Query(pattern=r"^([A-Z]{2})?$")] = None,
    report_type: Annotated[str | None, Query(pattern=r"^[a-z_]{0,32}$")] = None,
    reliability: Annotated[str | None, Query(pattern=r"^[A-F]?$")] = None,
    credibility: Annotated[str | None, Query(pattern=r"^[1-6]?$")] = None,
    status: Annotated[str | None, Query(pattern=r"^[a-z]{0,16}$")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    principal: Principal = requires(Permission.INTEL_READ),
) -> HTMLResponse:
    flt = services.ReportFilter(
        origin=origin or None,
        report_type=report_type or None,
        reliability=reliability or None,
        credibility=credibility or None,
        status=status or None,
        text=q or None,
    )
    with node.sessions() as session:
        rows = services.list_reports(session, node, principal, flt)
        origins = sorted(
            {node.party}
            | {p.party for p in configured_peers(session)}
            | set(session.scalars(select(IntelReport.origin).distinct()).all())
        )
    record_list_read(
        node, principal.username, "intel_report", domain.KIND, rows, client_ip=client_ip(request)
    )
    filters = {k: v for k, v in request.query_params.items() if v and k != "format"}
    return render(
        request,
        "intel_reports.html",
        {
            "rows": rows,
            "filters": filters,
            "origins": origins,
            "types": TYPES,
            "statuses": [s.value for s in Status],
            "reliabilities": list(RELIABILITY),
            "credibilities": list(CREDIBILITY),
        },
        principal=principal,
    )


@router.get("/intel/new", response_class=HTMLResponse)
def new_page(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.INTEL_WRITE)
) -> HTMLResponse:
    return _form(request, node, principal, _blank())


@router.post("/intel/new", response_model=None)
def create(
    request: Request,
    node: NodeDep,
    title: Annotated[str, Form(max_length=SHORT_CAP)] = "",
    summary: Annotated[str, Form(max_length=SHORT_CAP)] = "",
    body: Annotated[str, Form(max_length=TEXT_CAP)] = "",
    releasable: Annotated[str, Form(max_length=TEXT_CAP)] = "",
    report_type: Annotated[str, Form(max_length=40)] = "",
    reliability: Annotated[str, Form(max_length=8)] = "",
    credibility: Annotated[str, Form(max_length=8)] = "",
    period_start: Annotated[str, Form(max_length=40)] = "",
    period_end: Annotated[str, Form(max_length=40)] = "",
    source_note: Annotated[str, Form(max_length=SHORT_CAP * 2)] = "",
    tlp: Annotated[str, Form(max_length=16)] = Tlp.AMBER.value,
    release_to: Annotated[list[str] | None, Form(max_length=32)] = None,
    principal: Principal = requires(Permission.INTEL_WRITE),
) -> Response:
    values: dict[str, Any] = {
        "title": title,
        "summary": summary,
        "body": body,
        "releasable": releasable,
        "report_type": report_type,
        "reliability": reliability,
        "credibility": credibility,
        "period_start": period_start,
        "period_end": period_end,
        "source_note": source_note,
        "tlp": tlp,
        "release_to": release_to or [],
    }
    data, problems = _parse(values, principal)
    created: IntelReport | None = None
    if not problems:
        try:
            checked = ReportIn.model_validate(data)
            with node.transaction() as session:
                created = services.create_report(
                    session, node, principal, checked, client_ip=client_ip(request)
                )
        except (ValidationError, InvalidInput) as exc:
            problems.add_exception(exc)
    if created is not None:
        return RedirectResponse(f"/intel/{created.origin}/{created.id}", status_code=303)
    return _form(request, node, principal, values, problems)


@router.get("/intel/{origin}/{report_id}", response_class=HTMLResponse)
def report_page(
    origin: str,
    report_id: str,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INTEL_READ),
) -> HTMLResponse:
    with node.transaction() as session:
        report = services.get_report(
            session, node, principal, report_id, origin=origin, client_ip=client_ip(request)
        )
        releases = services.releases_of(session, report)
    own = report.origin == node.party
    return render(
        request,
        "intel_report.html",
        {
            "r": report,
            "own": own,
            "releases": releases,
            "can_approve": own
            and report.status == Status.DRAFT.value
            and principal.can(Permission.INTEL_APPROVE)
            and principal.username != report.created_by,
            "is_author": principal.username == report.created_by,
        },
        principal=principal,
    )


@router.post("/intel/{origin}/{report_id}/approve")
def approve(
    origin: str,
    report_id: str,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INTEL_APPROVE),
) -> RedirectResponse:
    if origin != node.party:
        raise PermissionDenied(gettext("Received reports are approved by their originator."))
    with node.transaction() as session:
        services.approve_report(session, node, principal, report_id, client_ip=client_ip(request))
    return RedirectResponse(f"/intel/{origin}/{report_id}", status_code=303)
