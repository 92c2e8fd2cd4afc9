"""Request pages: the list (overdue highlighted), the create form (from an incident reference), and the detail
with its timeline, the answer form (received requests) and the withdraw form (own requests).

Forms are checked with the API's pydantic models and the same services, so a page refuses exactly what the API
refuses; a refused form is shown again with the reasons and what was typed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.audit.services import record_list_read
from sarhad.core.errors import InvalidInput, NotFound, SarhadError
from sarhad.core.i18n import gettext as _
from sarhad.exchange.peers import configured_peers
from sarhad.requests import domain, services
from sarhad.requests.models import PartyRequest
from sarhad.requests.schemas import AnswerIn, RequestCreateIn, RequestUpdateIn
from sarhad.web.deps import NodeDep, client_ip, requires
from sarhad.web.forms import FormErrors, form_errors
from sarhad.web.templating import add_nav_item, render

router = APIRouter(include_in_schema=False)
add_nav_item("/requests", "Requests", Permission.REQUESTS_READ.value)

TEXT_CAP = domain.TEXT_MAX * 2
SHORT_CAP = 2000
ACTIONS = [a.value for a in domain.Action]
DEADLINES = [d.value for d in domain.DeadlineChoice]


def _labels() -> dict[str, str]:
    return {
        "information": _("Request for information"),
        "action": _("Request for action"),
        "search": _("search"),
        "interdict": _("interdict"),
        "detain": _("detain"),
        "investigate": _("investigate"),
        "urgent": _("urgent (8 hours)"),
        "7d": _("7 days"),
        "14d": _("14 days"),
        "set": _("set a time"),
        "open": _("open"),
        "answered": _("answered"),
        "withdrawn": _("withdrawn"),
        "outgoing": _("outgoing"),
        "incoming": _("incoming"),
    }


def _detail_labels() -> dict[str, str]:
    """The inputs of the answer and edit forms on the detail page."""
    return {
        "answer": _("What was done"),
        "late_reason": _("Reason for answering late"),
        "text": _("Text"),
        "deadline": _("New deadline"),
        "deadline_at": _("Set deadline"),
    }


def _detail_errors(principal: Principal, exc: ValidationError | SarhadError | None = None) -> FormErrors:
    errors = form_errors(principal, _detail_labels())
    return errors.add_exception(exc) if exc is not None else errors


# --- list -----------------------------------------------------------------------------------------------------


@router.get("/requests", response_class=HTMLResponse)
def requests_page(
    request: Request,
    node: NodeDep,
    direction: Annotated[str | None, Query(pattern=r"^(|outgoing|incoming)$")] = None,
    status: Annotated[str | None, Query(pattern=r"^(|open|answered|withdrawn)$")] = None,
    overdue: Annotated[str | None, Query(pattern=r"^(|yes|no)$")] = None,
    incident: Annotated[str | None, Query(max_length=70)] = None,
    principal: Principal = requires(Permission.REQUESTS_READ),
) -> HTMLResponse:
    from sarhad.requests.api import parse_incident

    incident_origin, incident_id = parse_incident(incident)
    flt = services.RequestFilter(
        direction=direction or None,
        status=status or None,
        overdue={"yes": True, "no": False}.get(overdue or ""),
        incident_origin=incident_origin,
        incident_id=incident_id,
    )
    with node.sessions() as session:
        rows = services.list_requests(session, node, flt)
        incidents = _incidents_of(
            session, node, principal, [(r.incident_origin, r.incident_id) for r in rows]
        )
    record_list_read(node, principal.username, "request", "request", rows, client_ip=client_ip(request))
    _audit_incidents(request, node, principal, list(incidents.values()))
    now = node.clock.now()
    filters = {k: v for k, v in request.query_params.items() if v}
    api_filters = dict(filters)
    if "overdue" in api_filters:
        api_filters["overdue"] = "true" if api_filters["overdue"] == "yes" else "false"
    return render(
        request,
        "requests.html",
        {
            "rows": rows,
            "filters": filters,
            "api_filters": api_filters,
            "labels": _labels(),
            "overdue": {r.id: domain.is_overdue(r.status, r.deadline, now) for r in rows},
            "late": {
                r.id: r.answered_at is not None and domain.is_late(r.deadline, r.answered_at) for r in rows
            },
            "can_write": principal.can(Permission.REQUESTS_WRITE),
            "incidents": incidents,
            "countdown": {r.id: countdown_text(r.deadline, now) for r in rows if r.status == "open"},
            "countdown_words": countdown_words(),
        },
        principal=principal,
    )


def _incidents_of(
    session: Any, node: Any, principal: Principal, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], Any]:
    """The incidents the requests refer to, by type, place and time (for a viewer who may read incidents)."""
    if not principal.can(Permission.INCIDENTS_READ):
        return {}
    from sarhad.incidents import choices  # lazy: the incidents package is optional here

    return choices.views_of(session, node, principal, principal.language, keys)


def _audit_incidents(request: Request, node: Any, principal: Principal, shown: list[Any]) -> None:
    """Received incidents named on a page (by type, place and time) are a list read, audited as such."""
    record_list_read(node, principal.username, "incident", "incident", shown, client_ip=client_ip(request))


def countdown_words() -> dict[str, str]:
    """The countdown's phrases; the page's script fills in the numbers as the minutes pass."""
    return {
        "left": _("%(time)s left"),
        "over": _("overdue by %(time)s"),
        "d": _("%(n)s d"),
        "h": _("%(n)s h"),
        "m": _("%(n)s min"),
    }


def countdown_text(deadline: datetime, now: datetime) -> str:
    """The time left to a deadline (or past it), to the minute, as the script writes it."""
    past, days, hours, minutes = domain.time_left(deadline, now)
    words = countdown_words()
    parts = []
    if days:
        parts.append(words["d"] % {"n": days})
    if days or hours:
        parts.append(words["h"] % {"n": hours})
    parts.append(words["m"] % {"n": minutes})
    return words["over" if past else "left"] % {"time": " ".join(parts)}


# --- create ---------------------------------------------------------------------------------------------------


def _field_labels(labels: dict[str, str]) -> dict[str, str]:
    return {
        "to": _("To"),
        "incident": _("Incident"),
        "kind": _("Kind"),
        "action": _("Action (for a request for action)"),
        "deadline": _("Deadline"),
        "deadline_at": _("Set deadline"),
        "text": _("Text"),
    }


PATHS = {"incident.origin": "incident", "incident.id": "incident"}


def _form(
    request: Request,
    node: NodeDep,
    principal: Principal,
    values: dict[str, Any],
    errors: FormErrors | None = None,
) -> HTMLResponse:
    labels = _labels()
    with node.sessions() as session:
        peers = configured_peers(session)
        incidents: list[Any] = []
        if principal.can(Permission.INCIDENTS_READ):
            from sarhad.incidents import choices  # lazy: the incidents package is optional here

            chosen = (values["incident_origin"], values["incident_id"])
            incidents = choices.recent_choices(session, node, principal, principal.language, keep=chosen)
    _audit_incidents(request, node, principal, incidents)
    return render(
        request,
        "request_form.html",
        {
            "values": values,
            "peers": peers,
            "actions": ACTIONS,
            "deadlines": DEADLINES,
            "labels": labels,
            "incidents": incidents,
            "errors": errors or form_errors(principal, _field_labels(labels), PATHS),
        },
        principal=principal,
        status_code=422 if errors else 200,
    )


@router.get("/requests/new", response_class=HTMLResponse)
def new_request_page(
    request: Request,
    node: NodeDep,
    incident: Annotated[str | None, Query(max_length=70)] = None,
    principal: Principal = requires(Permission.REQUESTS_WRITE),
) -> HTMLResponse:
    origin, _sep, incident_id = (incident or "").partition("/")
    values = {
        "to": "",
        "incident_origin": origin,
        "incident_id": incident_id,
        "kind": "action",
        "action": "",
        "deadline": "urgent",
        "deadline_at": "",
        "text": "",
    }
    if origin and origin != node.party:
        values["to"] = origin  # a received incident: the request most likely goes to its originator
    return _form(request, node, principal, values)


@router.post("/requests/new", response_model=None)
def create_request(
    request: Request,
    node: NodeDep,
    to: Annotated[str, Form(max_length=8)] = "",
    incident: Annotated[str, Form(max_length=80)] = "",
    incident_origin: Annotated[str, Form(max_length=8)] = "",
    incident_id: Annotated[str, Form(max_length=80)] = "",
    kind: Annotated[str, Form(max_length=16)] = "",
    action: Annotated[str, Form(max_length=16)] = "",
    deadline: Annotated[str, Form(max_length=8)] = "",
    deadline_at: Annotated[str, Form(max_length=40)] = "",
    text: Annotated[str, Form(max_length=TEXT_CAP)] = "",
    principal: Principal = requires(Permission.REQUESTS_WRITE),
) -> Response:
    if incident:  # the form's choice, ORIGIN/ID; the two separate fields stay accepted for scripts
        incident_origin, _sep, incident_id = incident.partition("/")
    values = {
        "to": to,
        "incident_origin": incident_origin.strip().upper(),
        "incident_id": incident_id.strip(),
        "kind": kind,
        "action": action,
        "deadline": deadline,
        "deadline_at": deadline_at,
        "text": text,
    }
    problems = form_errors(principal, _field_labels(_labels()), PATHS)
    if not values["incident_id"]:
        problems.add("incident", _("Choose the incident the request is about."))
    at: datetime | None = None
    if deadline_at.strip():
        try:
            at = datetime.fromisoformat(deadline_at.strip())
            if at.tzinfo is None:  # typed in the viewer's zone
                at = at.replace(tzinfo=ZoneInfo(principal.time_zone))
        except ValueError:
            problems.add("deadline_at", _("Write a date and time."))
    elif deadline == "set":
        problems.add("deadline_at", _("Write a date and time."))
    if not text.strip():
        problems.add("text", _("Fill this in."))
    created: PartyRequest | None = None
    if not problems:
        try:
            data = RequestCreateIn.model_validate(
                {
                    "to": to,
                    "incident": {"origin": values["incident_origin"], "id": values["incident_id"]},
                    "kind": kind,
                    "action": action or None,
                    "deadline": deadline,
                    "deadline_at": at if deadline == "set" else None,
                    "text": text,
                }
            )
            with node.transaction() as session:
                created = services.create_request(
                    session, node, principal, data, client_ip=client_ip(request)
                )
        except (ValidationError, InvalidInput, NotFound) as exc:
            problems.add_exception(exc)
    if created is not None:
        return RedirectResponse(f"/requests/{created.origin}/{created.id}", status_code=303)
    return _form(request, node, principal, values, problems)


# --- detail, answer, withdraw ---------------------------------------------------------------------------------


def _detail(
    request: Request,
    node: NodeDep,
    principal: Principal,
    origin: str,
    request_id: str,
    *,
    errors: FormErrors | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    with node.transaction() as session:
        found = services.get_request(
            session, node, principal, origin, request_id, client_ip=client_ip(request)
        )
        events = services.timeline(session, found)
        deliveries = services.deliveries_of(session, found)
        incident = _incidents_of(session, node, principal, [(found.incident_origin, found.incident_id)])
    _audit_incidents(request, node, principal, list(incident.values()))
    now = node.clock.now()
    incoming = found.origin != node.party
    return render(
        request,
        "request.html",
        {
            "r": found,
            "incident": next(iter(incident.values()), None),
            "incoming": incoming,
            "events": events,
            "deliveries": deliveries,
            "labels": _labels(),
            "overdue": domain.is_overdue(found.status, found.deadline, now),
            "late": found.answered_at is not None and domain.is_late(found.deadline, found.answered_at),
            "past_deadline": now > found.deadline,
            "can_answer": incoming and found.status == "open" and principal.can(Permission.REQUESTS_WRITE),
            "can_withdraw": not incoming
            and found.status == "open"
            and principal.can(Permission.REQUESTS_WRITE),
            "errors": errors or _detail_errors(principal),
            "typed": typed or {"answer": "", "late_reason": ""},
            "deadlines": DEADLINES,
        },
        principal=principal,
        status_code=422 if errors else 200,
    )


@router.get("/requests/{origin}/{request_id}", response_class=HTMLResponse)
def request_page(
    origin: str,
    request_id: str,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.REQUESTS_READ),
) -> HTMLResponse:
    return _detail(request, node, principal, origin, request_id)


@router.post("/requests/{origin}/{request_id}/answer", response_model=None)
def answer(
    origin: str,
    request_id: str,
    request: Request,
    node: NodeDep,
    answer: Annotated[str, Form(max_length=TEXT_CAP)] = "",
    late_reason: Annotated[str, Form(max_length=SHORT_CAP * 2)] = "",
    principal: Principal = requires(Permission.REQUESTS_WRITE),
) -> Response:
    typed = {"answer": answer, "late_reason": late_reason}
    try:
        data = AnswerIn.model_validate({"answer": answer, "late_reason": late_reason or None})
        with node.transaction() as session:
            services.answer_request(
                session, node, principal, origin, request_id, data, client_ip=client_ip(request)
            )
    except (ValidationError, SarhadError) as exc:
        if isinstance(exc, NotFound):
            raise
        errors = _detail_errors(principal, exc)
        return _detail(request, node, principal, origin, request_id, errors=errors, typed=typed)
    return RedirectResponse(f"/requests/{origin}/{request_id}", status_code=303)


@router.post("/requests/{origin}/{request_id}/edit", response_model=None)
def edit(
    origin: str,
    request_id: str,
    request: Request,
    node: NodeDep,
    text: Annotated[str, Form(max_length=TEXT_CAP)] = "",
    deadline: Annotated[str, Form(max_length=8)] = "",
    deadline_at: Annotated[str, Form(max_length=40)] = "",
    version: Annotated[str, Form(max_length=12)] = "",
    principal: Principal = requires(Permission.REQUESTS_WRITE),
) -> Response:
    """A new version of an own open request: the text, and a new deadline if one is chosen."""
    try:
        at: datetime | None = None
        if deadline == "set" and deadline_at.strip():
            try:
                at = datetime.fromisoformat(deadline_at.strip())
            except ValueError:
                raise InvalidInput(_("Write a date and time."), details={"field": "deadline_at"}) from None
            if at.tzinfo is None:
                at = at.replace(tzinfo=ZoneInfo(principal.time_zone))
        data = RequestUpdateIn.model_validate(
            {
                "text": text or None,
                "deadline": deadline or None,
                "deadline_at": at,
                "version": int(version) if version.isdigit() else None,
            }
        )
        with node.transaction() as session:
            services.update_request(
                session, node, principal, origin, request_id, data, client_ip=client_ip(request)
            )
    except (ValidationError, SarhadError) as exc:
        if isinstance(exc, NotFound):
            raise
        return _detail(request, node, principal, origin, request_id, errors=_detail_errors(principal, exc))
    return RedirectResponse(f"/requests/{origin}/{request_id}", status_code=303)


@router.post("/requests/{origin}/{request_id}/withdraw")
def withdraw(
    origin: str,
    request_id: str,
    request: Request,
    node: NodeDep,
    reason: Annotated[str, Form(max_length=SHORT_CAP)] = "",
    principal: Principal = requires(Permission.REQUESTS_WRITE),
) -> RedirectResponse:
    with node.transaction() as session:
        services.withdraw_request(
            session, node, principal, origin, request_id, reason, client_ip=client_ip(request)
        )
    return RedirectResponse(f"/requests/{origin}/{request_id}", status_code=303)
