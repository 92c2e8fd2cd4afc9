"""Incident pages: the situational picture (map, filters, time slider, list), the incident form, the detail
with its history and workflow, the daily situation report and the statistics.

Forms are checked with the API's pydantic models and the same services, so a page refuses exactly what the
API refuses; a refused form is shown again with the reasons and what was typed.
"""

from __future__ import annotations

from datetime import date, timedelta
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.audit.services import record_export, record_list_read
from sarhad.border.pages import add_map_overlay, map_texts
from sarhad.core.errors import ErrorCode, InvalidInput, NotFound, SarhadError
from sarhad.core.i18n import gettext as _
from sarhad.core.node import Node
from sarhad.exchange.domain import Handling, Tlp
from sarhad.exchange.peers import configured_peers
from sarhad.incidents import (
    attachments,
    bulk,
    domain,
    imports,
    maps,
    reading,
    report_charts,
    reports,
    sharing,
    versions,
    writing,
)
from sarhad.incidents.api import parse_filter, read_upload
from sarhad.incidents.form_values import PATHS, form_values, values_from
from sarhad.incidents.models import Incident
from sarhad.incidents.schemas import IncidentCreateIn, IncidentUpdateIn
from sarhad.incidents.taxonomy import taxonomy, type_name
from sarhad.web.chartdata import Chart, Series
from sarhad.web.deps import NodeDep, client_ip, public, requires
from sarhad.web.forms import FormErrors, form_errors, row_message
from sarhad.web.templating import add_nav_item, render

router = APIRouter(include_in_schema=False)
add_nav_item("/incidents", "Incidents", Permission.INCIDENTS_READ.value)
add_nav_item("/incidents/reports/daily", "Situation report", Permission.INCIDENTS_READ.value, more=True)

STATIC_FILES = {
    "incidents-map.js": "text/javascript; charset=utf-8",
    "incidents-layer.js": "text/javascript; charset=utf-8",
    "incident-place.js": "text/javascript; charset=utf-8",
    "incidents.css": "text/css; charset=utf-8",
    "incidents-import.js": "text/javascript; charset=utf-8",
}
WINDOWS = (1, 7, 30, 90, 365)


@router.get("/incidents/static/{name}")
def static_asset(
    name: str, _access: None = public("static asset (picture script and style), no data")
) -> Response:
    """The package's own static files; a fixed list, so no path from the request reaches the file system."""
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        raise NotFound(f"no static file {name!r}")
    body = files("sarhad.incidents").joinpath("static", name).read_bytes()
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=300"})


def codes() -> dict[str, str]:
    """Every code the pages show (statuses, impact levels, actions, changes, casualty categories, handling,
    delivery states, request directions), translated for the viewer. Literal ``_()`` calls so the strings are
    extracted for translation."""
    return {
        "draft": _("draft"),
        "reported": _("reported"),
        "validated": _("validated"),
        "closed": _("closed"),
        "dismissed": _("dismissed"),
        "low": _("low"),
        "medium": _("medium"),
        "high": _("high"),
        "very_high": _("very high"),
        "critical": _("critical"),
        "report": _("Report"),
        "validate": _("Validate"),
        "close": _("Close"),
        "dismiss": _("Dismiss"),
        "create": _("created"),
        "update": _("edited"),
        "attach": _("attachment added"),
        "import": _("imported"),
        "received": _("received"),
        "security_killed": _("security forces killed"),
        "security_injured": _("security forces injured"),
        "civilian_killed": _("civilians killed"),
        "civilian_injured": _("civilians injured"),
        "assailant_killed": _("assailants killed"),
        "assailant_injured": _("assailants injured"),
        "kidnapped": _("kidnapped"),
        "missing": _("missing"),
        "no_onward": _("no onward release"),
        "onward_allowed": _("onward release allowed"),
        "queued": _("queued"),
        "sent": _("sent"),
        "receipted": _("receipted"),
        "incoming": _("incoming"),
        "outgoing": _("outgoing"),
    }


def _page(
    request: Request, template: str, context: dict[str, Any], principal: Principal, **kw: Any
) -> HTMLResponse:
    return render(request, template, {**context, "L": codes()}, principal=principal, **kw)


def _labels(node: Any, language: str) -> dict[str, Any]:
    """Every text the picture script shows, translated for the viewer."""
    return {
        "types": {code: t.name(language) for code, t in taxonomy(node).items()},
        "status": {s.value: codes()[s.value] for s in domain.Status},
        "impact": {
            **{level: codes()[level] for level in ("low", "medium", "high", "very_high", "critical")},
            "none": _("no level agreed"),
        },
        "own": _("own"),
        "received": _("received from"),
        "exercise": _("EXERCISE"),
        "section": _("Section"),
        "side": _("Side"),
        "occurred": _("Occurred"),
        "details": _("Details"),
        "impactLegend": _("Section impact level"),
        "shownUntil": _("Shown up to"),
        "impactUnavailable": _("Impact levels are not available; sections are shown neutral."),
        "loadFailed": _("The map could not be loaded."),
        "statusLabel": _("Status"),
        "layer": _("Incidents"),
    }


def _map_overlay(node: Node, principal: Principal) -> dict[str, Any] | None:
    """The incidents of the last 30 days as a layer of the one map (/map), for those who may read them."""
    if not principal.can(Permission.INCIDENTS_READ):
        return None
    return maps.incidents_overlay(_labels(node, principal.language))


add_map_overlay(_map_overlay)


def _type_choices(node: Any, language: str) -> list[tuple[str, str]]:
    return [(code, t.name(language)) for code, t in taxonomy(node).items()]


# --- the situational picture --------------------------------------------------------------------------------


@router.get("/incidents", response_class=HTMLResponse)
def picture_page(
    request: Request,
    node: NodeDep,
    days: Annotated[int, Query(ge=1, le=3660)] = 30,
    type: Annotated[str, Query(max_length=40)] = "",
    side: Annotated[str, Query(pattern=r"^(|[A-Z]{2})$")] = "",
    origin: Annotated[str, Query(pattern=r"^(|[A-Z]{2})$")] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    principal: Principal = requires(Permission.INCIDENTS_READ),
) -> HTMLResponse:
    filters = {"days": days, "type": type, "side": side, "origin": origin, "status": status}
    flt = parse_filter(
        node,
        bbox=None,
        since=None,
        until=None,
        days=days,
        types=[type] if type else None,
        statuses=[status] if status else None,
        side=side or None,
        origin=origin or None,
        section=None,
        exercise=None,
        include_withdrawn=False,
        limit=2000,
    )
    with node.sessions() as session:
        rows = reading.list_incidents(session, node, principal, flt)
        overdue = reading.drafts_overdue(session, node, principal)
        peers = [p.party for p in configured_peers(session)]
    record_list_read(node, principal.username, "incident", "incident", rows, client_ip=client_ip(request))
    now = node.clock.now()
    query = {k: v for k, v in filters.items() if v}
    api_query = "&".join(f"{k}={v}" for k, v in query.items())
    labels = _labels(node, principal.language)
    border_texts = map_texts()
    config = {
        **maps.map_config(node, principal),
        "impactUrl": "/api/v1/impact/levels",
        "party": node.party,
        "now": now.isoformat(),
        "since": (now - timedelta(days=days)).isoformat(),
        "labels": {**border_texts, **labels, "status": {**border_texts["status"], **labels["status"]}},
        "incidents": {
            "url": f"/api/v1/incidents?format=geojson&limit=2000&{api_query}",
            "labels": labels,
            "live": True,
        },
    }
    return _page(
        request,
        "incidents/picture.html",
        {
            "rows": rows,
            "filters": filters,
            "windows": WINDOWS,
            "types": _type_choices(node, principal.language),
            "type_names": dict(_type_choices(node, principal.language)),
            "statuses": [s.value for s in domain.Status],
            "origins": sorted({node.party, *peers}),
            "overdue": overdue,
            "map_config": config,
            "api_query": api_query,
            "can_write": principal.can(Permission.INCIDENTS_WRITE),
        },
        principal,
    )


# --- the form -----------------------------------------------------------------------------------------------


def _field_labels() -> dict[str, str]:
    """The form's inputs, in its order, with their labels (the error summary names fields by these)."""
    labels = {
        "type": _("Type"),
        "occurred_at": _("Occurred at"),
        "lat": _("Latitude"),
        "lon": _("Longitude"),
        "description": _("Description"),
        "impact_level": _("Impact level"),
        "source_reliability": _("Source reliability (A–F)"),
        "info_credibility": _("Information credibility (1–6)"),
    }
    names = codes()
    labels.update({f"casualty_{c}": names[c] for c in domain.CASUALTY_CATEGORIES})
    labels.update(
        {
            "seizures": _("Seizures"),
            "persons_apprehended": _("Persons apprehended"),
            "tlp": _("TLP"),
            "handling": _("Handling"),
            "release_to": _("Release to"),
        }
    )
    return labels


def _form_page(
    request: Request,
    node: Any,
    principal: Principal,
    values: dict[str, Any],
    *,
    incident: Incident | None = None,
    errors: FormErrors | None = None,
    far: bool = False,
) -> HTMLResponse:
    with node.sessions() as session:
        peers = configured_peers(session)
    return _page(
        request,
        "incidents/form.html",
        {
            "values": values,
            "incident": incident,
            "peers": peers,
            "types": _type_choices(node, principal.language),
            "impacts": domain.IMPACT_ORDER,
            "reliabilities": domain.RELIABILITY,
            "credibilities": domain.CREDIBILITY,
            "categories": domain.CASUALTY_CATEGORIES,
            "units": domain.UNITS,
            "tlps": [t.value for t in Tlp],
            "handlings": [h.value for h in Handling],
            "errors": errors or form_errors(principal, _field_labels(), PATHS),
            "far": far,
            "can_release": principal.can(Permission.RECORDS_RELEASE),
            "place_config": maps.place_config(node, principal, picker=True),
        },
        principal,
        status_code=422 if errors else 200,
    )


@router.get("/incidents/new", response_class=HTMLResponse)
def new_page(
    request: Request,
    node: NodeDep,
    follow_up_origin: Annotated[str, Query(pattern=r"^(|[A-Z]{2})$")] = "",
    follow_up_id: Annotated[str, Query(max_length=64)] = "",
    principal: Principal = requires(Permission.INCIDENTS_WRITE),
) -> HTMLResponse:
    values = values_from(None, principal.time_zone, node.clock.now())
    values.update(follow_up_origin=follow_up_origin, follow_up_id=follow_up_id)
    return _form_page(request, node, principal, values)


@router.post("/incidents/new", response_model=None)
async def create(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.INCIDENTS_WRITE)
) -> Response:
    values, data, problems = await form_values(request, node, principal, _field_labels())
    data.update(
        tlp=values["tlp"], handling=values["handling"], release_to=values["release_to"], draft=values["draft"]
    )
    if values["follow_up_origin"] and values["follow_up_id"]:
        data["follow_up_of"] = {"origin": values["follow_up_origin"], "id": values["follow_up_id"]}
    far = False
    if not problems:
        try:
            checked = IncidentCreateIn.model_validate(data)
            with node.transaction() as session:
                written = writing.create_incident(
                    session,
                    node,
                    principal,
                    checked,
                    draft=checked.draft,
                    follow_up_of=(checked.follow_up_of.origin, checked.follow_up_of.id)
                    if checked.follow_up_of
                    else None,
                    tlp=checked.tlp.value,
                    handling=checked.handling.value,
                    release_to=checked.release_to,
                    client_ip=client_ip(request),
                )
            return RedirectResponse(
                f"/incidents/{written.incident.origin}/{written.incident.id}", status_code=303
            )
        except (ValidationError, SarhadError) as exc:
            problems.add_exception(exc)
            far = isinstance(exc, SarhadError) and exc.code == ErrorCode.FAR_FROM_BORDER
    return _form_page(request, node, principal, values, errors=problems, far=far)


# --- CSV import (a background job the page follows) ---------------------------------------------------------

IMPORT_MAX_BYTES = 30 * 1024 * 1024


def _import_labels() -> dict[str, str]:
    """The import's columns, named as the form names them (for the refused rows)."""
    labels = {"file": _("CSV file"), "row": _("Row"), "lat/lon": _("Location")}
    labels.update(_field_labels())
    labels.update({"casualties": _("Casualties"), "exercise": _("Exercise data"), "status": _("Status")})
    return labels


def _row_problem(error: Any, labels: dict[str, str]) -> tuple[int, str, str]:
    return error.line, labels.get(error.field, error.field), row_message(error.message)


def _import_page(
    request: Request,
    node: Any,
    principal: Principal,
    *,
    job: imports.ImportJob | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    labels = _import_labels()
    return _page(
        request,
        "incidents/import.html",
        {
            "job": job,
            "row_errors": [_row_problem(e, labels) for e in job.errors] if job else [],
            "file_error": row_message(job.file_error) if job and job.file_error else "",
            "errors": errors or form_errors(principal, {"file": labels["file"]}),
            "max_mb": IMPORT_MAX_BYTES // (1024 * 1024),
            "count_template": _("%(done)s of %(total)s rows checked"),
            "required": bulk.REQUIRED,
            "optional": bulk.OPTIONAL,
        },
        principal,
        status_code=422 if errors else 200,
    )


@router.get("/incidents/import", response_class=HTMLResponse)
def import_page(
    request: Request,
    node: NodeDep,
    job: Annotated[str, Query(max_length=64)] = "",
    principal: Principal = requires(Permission.INCIDENTS_WRITE),
) -> HTMLResponse:
    found = imports.get_job(principal, job) if job else None
    return _import_page(request, node, principal, job=found)


@router.post("/incidents/import", response_model=None)
async def import_upload(
    request: Request,
    node: NodeDep,
    file: Annotated[UploadFile | None, File()] = None,
    confirm_far: Annotated[str, Form(max_length=4)] = "",
    principal: Principal = requires(Permission.INCIDENTS_WRITE),
) -> Response:
    errors = form_errors(principal, {"file": _("CSV file")})
    data = await file.read(IMPORT_MAX_BYTES + 1) if file is not None else b""
    if len(data) > IMPORT_MAX_BYTES:
        errors.add("file", _("The file is larger than %(mb)s MB: split it.") % {"mb": IMPORT_MAX_BYTES >> 20})
    elif not data.strip():
        errors.add("file", _("Choose a CSV file with at least one incident."))
    else:
        try:
            job = imports.start_import(
                node, principal, data, (file.filename if file else "") or "", confirm_far=bool(confirm_far)
            )
            return RedirectResponse(f"/incidents/import?job={job.id}", status_code=303)
        except InvalidInput:
            errors.add("file", _("The file is not UTF-8 text: save it as CSV UTF-8."))
    return _import_page(request, node, principal, errors=errors)


@router.get("/incidents/import/{job_id}/status")
def import_status(job_id: str, principal: Principal = requires(Permission.INCIDENTS_WRITE)) -> JSONResponse:
    """How far the caller's import got (the page's progress bar polls this)."""
    return JSONResponse(imports.get_job(principal, job_id).as_dict())


# --- reports (before the detail routes: their paths have the same shape) ----------------------------------


@router.get("/incidents/reports/daily", response_class=HTMLResponse)
def daily_report_page(
    request: Request,
    node: NodeDep,
    day: Annotated[date | None, Query()] = None,
    principal: Principal = requires(Permission.INCIDENTS_READ),
) -> HTMLResponse:
    with node.transaction() as session:
        report = reports.daily_report(session, node, principal, day)
        record_export(
            session,
            node.clock,
            principal.username,
            "incident",
            report.total,
            "daily-report-page",
            client_ip(request),
        )
    by_type_chart = Chart(
        id="by-type",
        title=_("Incidents by type"),
        labels=[type_name(node, k, principal.language) for k in report.by_type],
        series=[Series(_("Incidents"), [float(v) for v in report.by_type.values()])],
        unit=_("incidents"),
        horizontal=True,
        language=principal.language,
        category_title=_("Type"),
        empty_text=_("No incidents"),
    )
    return _page(
        request,
        "incidents/daily.html",
        {
            "report": report,
            "type_names": dict(_type_choices(node, principal.language)),
            "previous": (report.day - timedelta(days=1)).isoformat(),
            "next": (report.day + timedelta(days=1)).isoformat(),
            "by_type_chart": by_type_chart,
        },
        principal,
    )


@router.get("/incidents/reports/statistics", response_class=HTMLResponse)
def statistics_page(
    request: Request,
    node: NodeDep,
    weeks: Annotated[int, Query(ge=1, le=104)] = 12,
    principal: Principal = requires(Permission.INCIDENTS_READ),
) -> HTMLResponse:
    with node.sessions() as session:
        stats = reports.statistics(session, node, principal, weeks=weeks)
    return _page(
        request,
        "incidents/statistics.html",
        {"stats": stats, "weeks": weeks, "charts": report_charts.statistics_charts(stats, principal)},
        principal,
    )


# --- detail -------------------------------------------------------------------------------------------------


@router.get("/incidents/{origin}/{incident_id}", response_class=HTMLResponse)
def detail_page(
    origin: str,
    incident_id: str,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INCIDENTS_READ),
) -> HTMLResponse:
    with node.transaction() as session:
        incident = reading.access_incident(
            session, node, principal, origin, incident_id, client_ip=client_ip(request)
        )
        history = versions.history(session, incident)
        releases = sharing.releases_of(session, incident)
        follow_ups = reading.follow_ups_of(session, incident)
        deliveries = sharing.delivery_summary(session, [incident], node.party).get(incident.id, [])
        peers = [p.party for p in configured_peers(session)]
    own = incident.origin == node.party
    released_to = {r.to_party for r in releases if r.withdrawn_at is None}
    actions = []
    if own and incident.withdrawn_at is None:
        for action, (allowed, _target) in domain.TRANSITIONS.items():
            if domain.Status(incident.status) in allowed:
                permission = (
                    Permission.INCIDENTS_VALIDATE
                    if action in domain.VALIDATOR_ACTIONS
                    else Permission.INCIDENTS_WRITE
                )
                if principal.can(permission):
                    actions.append(action)
    return _page(
        request,
        "incidents/detail.html",
        {
            "i": incident,
            "own": own,
            "type_name": type_name(node, incident.type, principal.language),
            "history": history,
            "releases": releases,
            "follow_ups": follow_ups,
            "deliveries": deliveries,
            "actions": actions,
            "release_candidates": [p for p in peers if p not in released_to] if own else [],
            "draft_overdue": domain.draft_overdue(incident.status, incident.created_at, node.clock.now()),
            "can_write": own
            and principal.can(Permission.INCIDENTS_WRITE)
            and domain.editable_status(incident.status),
            "can_release": own and principal.can(Permission.RECORDS_RELEASE) and incident.status != "draft",
            "max_mb": domain.ATTACHMENT_MAX_BYTES // (1024 * 1024),
            "place_config": maps.place_config(
                node, principal, point=(incident.lat, incident.lon), impact=incident.impact_level
            ),
            "can_request": bool(peers) and principal.can(Permission.REQUESTS_WRITE),
            "can_read_requests": principal.can(Permission.REQUESTS_READ),
        },
        principal,
    )


@router.get("/incidents/{origin}/{incident_id}/edit", response_class=HTMLResponse)
def edit_page(
    origin: str,
    incident_id: str,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INCIDENTS_WRITE),
) -> HTMLResponse:
    with node.sessions() as session:
        incident = writing.access_own_incident(session, node, principal, incident_id, origin)
    return _form_page(
        request,
        node,
        principal,
        values_from(incident, principal.time_zone, node.clock.now()),
        incident=incident,
    )


@router.post("/incidents/{origin}/{incident_id}/edit", response_model=None)
async def edit(
    origin: str,
    incident_id: str,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INCIDENTS_WRITE),
) -> Response:
    with node.sessions() as session:
        incident = writing.access_own_incident(session, node, principal, incident_id, origin)
    values, data, problems = await form_values(request, node, principal, _field_labels())
    if values["version"]:
        data["version"] = values["version"]
    far = False
    if not problems:
        try:
            checked = IncidentUpdateIn.model_validate(data)
            with node.transaction() as session:
                writing.update_incident(
                    session,
                    node,
                    principal,
                    incident_id,
                    checked,
                    origin=origin,
                    expected_version=checked.version,
                    client_ip=client_ip(request),
                )
            return RedirectResponse(f"/incidents/{origin}/{incident_id}", status_code=303)
        except (ValidationError, SarhadError) as exc:
            problems.add_exception(exc)
            far = isinstance(exc, SarhadError) and exc.code == ErrorCode.FAR_FROM_BORDER
    return _form_page(request, node, principal, values, incident=incident, errors=problems, far=far)


@router.post("/incidents/{origin}/{incident_id}/transition")
def transition(
    origin: str,
    incident_id: str,
    request: Request,
    node: NodeDep,
    action: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(max_length=domain.REASON_MAX)] = "",
    principal: Principal = requires(Permission.INCIDENTS_WRITE),
) -> RedirectResponse:
    with node.transaction() as session:
        writing.transition_incident(
            session, node, principal, incident_id, action, reason, origin=origin, client_ip=client_ip(request)
        )
    return RedirectResponse(f"/incidents/{origin}/{incident_id}", status_code=303)


@router.post("/incidents/{origin}/{incident_id}/release")
def release(
    origin: str,
    incident_id: str,
    request: Request,
    node: NodeDep,
    to: Annotated[list[str] | None, Form(max_length=32)] = None,
    principal: Principal = requires(Permission.RECORDS_RELEASE),
) -> RedirectResponse:
    with node.transaction() as session:
        sharing.release_incident(
            session, node, principal, incident_id, to or [], origin=origin, client_ip=client_ip(request)
        )
    return RedirectResponse(f"/incidents/{origin}/{incident_id}", status_code=303)


@router.post("/incidents/{origin}/{incident_id}/attachments")
async def attach(
    origin: str,
    incident_id: str,
    request: Request,
    node: NodeDep,
    file: Annotated[UploadFile, File()],
    principal: Principal = requires(Permission.INCIDENTS_WRITE),
) -> RedirectResponse:
    data = await read_upload(file)
    with node.transaction() as session:
        attachments.add_attachment(
            session,
            node,
            principal,
            incident_id,
            file.filename or "",
            data,
            origin=origin,
            client_ip=client_ip(request),
        )
    return RedirectResponse(f"/incidents/{origin}/{incident_id}", status_code=303)
