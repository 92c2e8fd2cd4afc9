"""Bulletin pages: the list (own and received), compose and edit forms, and the detail with its delivery timeline.

Forms are checked with the API's pydantic models and the domain rules, so a page refuses exactly what the API
refuses; a refused form is shown again with the reasons and what was typed.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from sarhad.bulletins import domain, services
from sarhad.bulletins.models import Bulletin
from sarhad.bulletins.schemas import BulletinCreateIn, BulletinUpdateIn
from sarhad.core.errors import InvalidInput
from sarhad.core.i18n import gettext
from sarhad.exchange.domain import Handling, Tlp
from sarhad.exchange.peers import configured_peers
from sarhad.exchange.record_rules import TLP_ORDER
from sarhad.exchange.release import Delivery
from sarhad.web.deps import NodeDep, client_ip, requires
from sarhad.web.forms import FormErrors, form_errors
from sarhad.web.templating import add_nav_item, render

router = APIRouter(include_in_schema=False)
add_nav_item("/bulletins", "Bulletins", Permission.BULLETINS_READ.value)

# Hard caps on raw form fields (the rules themselves are checked below, with messages on the form).
TEXT_CAP = domain.BODY_MAX * 2
SHORT_CAP = 2000
TLPS = [t.value for t in Tlp]
HANDLINGS = [h.value for h in Handling]


def _values_from(bulletin: Bulletin | None = None) -> dict[str, Any]:
    """What the compose/edit form shows: empty for a new bulletin, the current version when editing."""
    if bulletin is None:
        return {
            "title": "",
            "body": "",
            "place_name": "",
            "lat": "",
            "lon": "",
            "valid_from": "",
            "valid_until": "",
            "tlp": Tlp.AMBER.value,
            "handling": Handling.NO_ONWARD.value,
            "release_to": [],
            "version": "",
        }
    return {
        "title": bulletin.title,
        "body": bulletin.body,
        "place_name": bulletin.place_name or "",
        "lat": "" if bulletin.lat is None else str(bulletin.lat),
        "lon": "" if bulletin.lon is None else str(bulletin.lon),
        "valid_from": bulletin.valid_from,
        "valid_until": bulletin.valid_until,
        "tlp": bulletin.tlp,
        "handling": bulletin.handling,
        "release_to": [],
        "version": str(bulletin.version),
    }


def _local_input(value: Any, zone: str) -> str:
    """An instant as the value of a ``datetime-local`` input in the viewer's zone."""
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")
    return str(value or "")


def _field_labels() -> dict[str, str]:
    return {
        "title": gettext("Title"),
        "body": gettext("Text"),
        "place_name": gettext("Name"),
        "lat": gettext("Latitude"),
        "lon": gettext("Longitude"),
        "valid_from": gettext("From"),
        "valid_until": gettext("Until"),
        "tlp": gettext("TLP"),
        "handling": gettext("Handling"),
        "release_to": gettext("Release to"),
    }


PATHS = {"place.name": "place_name", "place.lat": "lat", "place.lon": "lon", "place": "lat"}


def _parse_form(values: dict[str, Any], principal: Principal) -> tuple[dict[str, Any], FormErrors]:
    """Raw form strings to the API's JSON shape; times typed in the viewer's zone. Returns (data, problems)."""
    zone = principal.time_zone
    problems = form_errors(principal, _field_labels(), PATHS)
    data: dict[str, Any] = {"title": values["title"], "body": values["body"]}
    for name in ("title", "body"):
        if not str(values[name]).strip():
            problems.add(name, gettext("Fill this in."))
    coordinates: dict[str, float | None] = {}
    for name in ("lat", "lon"):
        raw = str(values[name]).strip().replace(",", ".")
        try:
            coordinates[name] = float(raw) if raw else None
        except ValueError:
            problems.add(name, gettext("Write a number in degrees, such as 28.95."))
            coordinates[name] = None
    if values["place_name"].strip() or coordinates["lat"] is not None or coordinates["lon"] is not None:
        data["place"] = {"name": values["place_name"], **coordinates}
    for name in ("valid_from", "valid_until"):
        raw = str(values[name]).strip()
        if not raw:
            continue
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            problems.add(name, gettext("Write a date and time."))
            continue
        data[name] = moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))
    return data, problems


def _form_page(
    request: Request,
    principal: Principal,
    peers: Sequence[Any],
    values: dict[str, Any],
    *,
    bulletin: Bulletin | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    shown = dict(values)
    for name in ("valid_from", "valid_until"):
        shown[name] = _local_input(values.get(name), principal.time_zone)
    return render(
        request,
        "bulletin_form.html",
        {
            "values": shown,
            "bulletin": bulletin,
            "peers": peers,
            "tlps": TLPS,
            "handlings": HANDLINGS,
            "errors": errors or form_errors(principal, _field_labels(), PATHS),
            "can_release": principal.can(Permission.RECORDS_RELEASE),
        },
        principal=principal,
        status_code=422 if errors else 200,
    )


# --- list -----------------------------------------------------------------------------------------------------


@router.get("/bulletins", response_class=HTMLResponse)
def bulletins_page(
    request: Request,
    node: NodeDep,
    origin: Annotated[str | None, Query(pattern=r"^([A-Z]{2})?$")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    tlp: Annotated[str | None, Query(pattern=r"^(|clear|green|amber|amber\+strict|red)$")] = None,
    include_withdrawn: Annotated[str | None, Query(max_length=5)] = None,
    principal: Principal = requires(Permission.BULLETINS_READ),
) -> HTMLResponse:
    flt = services.BulletinFilter(
        origin=origin or None, text=q or None, tlp=tlp or None, include_withdrawn=bool(include_withdrawn)
    )
    with node.sessions() as session:
        rows = services.list_bulletins(session, node, flt)
        summary = services.delivery_summary(session, rows)
        origins = sorted(
            {node.party}
            | {p.party for p in configured_peers(session)}
            | set(session.scalars(select(Bulletin.origin).distinct()).all())
        )
    record_list_read(node, principal.username, "bulletin", "bulletin", rows, client_ip=client_ip(request))
    filters = {k: v for k, v in request.query_params.items() if v and k != "format"}
    now = node.clock.now()
    return render(
        request,
        "bulletins.html",
        {
            "rows": rows,
            "summary": summary,
            "filters": filters,
            "origins": origins,
            "tlps": TLPS,
            "current": {b.id: domain.is_current(b.valid_from, b.valid_until, now) for b in rows},
        },
        principal=principal,
    )


# --- compose ----------------------------------------------------------------------------------------------------


@router.get("/bulletins/new", response_class=HTMLResponse)
def compose_page(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.BULLETINS_WRITE)
) -> HTMLResponse:
    with node.sessions() as session:
        peers = configured_peers(session)
    return _form_page(request, principal, peers, _values_from(None))


@router.post("/bulletins/new", response_model=None)
def compose(
    request: Request,
    node: NodeDep,
    title: Annotated[str, Form(max_length=SHORT_CAP)] = "",
    body: Annotated[str, Form(max_length=TEXT_CAP)] = "",
    place_name: Annotated[str, Form(max_length=SHORT_CAP)] = "",
    lat: Annotated[str, Form(max_length=40)] = "",
    lon: Annotated[str, Form(max_length=40)] = "",
    valid_from: Annotated[str, Form(max_length=40)] = "",
    valid_until: Annotated[str, Form(max_length=40)] = "",
    tlp: Annotated[str, Form(max_length=16)] = Tlp.AMBER.value,
    handling: Annotated[str, Form(max_length=16)] = Handling.NO_ONWARD.value,
    release_to: Annotated[list[str] | None, Form(max_length=32)] = None,
    principal: Principal = requires(Permission.BULLETINS_WRITE),
) -> Response:
    values: dict[str, Any] = {
        "title": title,
        "body": body,
        "place_name": place_name,
        "lat": lat,
        "lon": lon,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "tlp": tlp,
        "handling": handling,
        "release_to": release_to or [],
        "version": "",
    }
    data, problems = _parse_form(values, principal)
    data.update(tlp=tlp, handling=handling, release_to=release_to or [])
    created: Bulletin | None = None
    if not problems:
        try:
            checked = BulletinCreateIn.model_validate(data)
            with node.transaction() as session:
                created = services.create_bulletin(
                    session,
                    node,
                    principal,
                    checked,
                    tlp=checked.tlp.value,
                    handling=checked.handling.value,
                    release_to=checked.release_to,
                    client_ip=client_ip(request),
                )
        except (ValidationError, InvalidInput) as exc:
            problems.add_exception(exc)
    if created is not None:
        return RedirectResponse(f"/bulletins/{created.origin}/{created.id}", status_code=303)
    with node.sessions() as session:
        peers = configured_peers(session)
    return _form_page(request, principal, peers, values, errors=problems)


# --- detail -------------------------------------------------------------------------------------------------------


@router.get("/bulletins/{origin}/{bulletin_id}", response_class=HTMLResponse)
def bulletin_page(
    origin: str,
    bulletin_id: str,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.BULLETINS_READ),
) -> HTMLResponse:
    with node.transaction() as session:
        bulletin = services.get_bulletin(
            session, node, principal, origin, bulletin_id, client_ip=client_ip(request)
        )
        versions = services.versions_of(session, bulletin)
        releases = services.releases_of(session, bulletin)
        events = services.timeline(session, bulletin)
        peers = [p.party for p in configured_peers(session)]
    by_party: dict[str, list[Delivery]] = {}
    for event in events:
        by_party.setdefault(event.party, []).append(event)
    own = bulletin.origin == node.party
    released_to = {r.to_party for r in releases if r.withdrawn_at is None}
    release_candidates = [p for p in peers if p not in released_to and p != bulletin.origin]
    return render(
        request,
        "bulletin.html",
        {
            "b": bulletin,
            "own": own,
            "versions": versions,
            "releases": releases,
            "by_party": by_party,
            "latest": services.latest_per_party(events),
            "release_candidates": release_candidates,
            "tlps": TLP_ORDER[TLP_ORDER.index(Tlp(bulletin.tlp)) :],
            # A relayed copy keeps its originator's handling (see record_rules.check_onward_handling).
            "handlings": HANDLINGS if own else [bulletin.handling],
            "current": domain.is_current(bulletin.valid_from, bulletin.valid_until, node.clock.now()),
            "can_write": principal.can(Permission.BULLETINS_WRITE),
            "can_release": principal.can(Permission.RECORDS_RELEASE),
        },
        principal=principal,
    )


# --- edit -------------------------------------------------------------------------------------------------------


@router.get("/bulletins/{origin}/{bulletin_id}/edit", response_class=HTMLResponse)
def edit_page(
    origin: str,
    bulletin_id: str,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.BULLETINS_WRITE),
) -> HTMLResponse:
    with node.sessions() as session:
        # The same refusals as an edit: received bulletins are never editable, withdrawn ones are final.
        bulletin = services.access_own_bulletin(session, node, principal, bulletin_id, origin)
    return _form_page(request, principal, [], _values_from(bulletin), bulletin=bulletin)


@router.post("/bulletins/{origin}/{bulletin_id}/edit", response_model=None)
def edit(
    origin: str,
    bulletin_id: str,
    request: Request,
    node: NodeDep,
    title: Annotated[str, Form(max_length=SHORT_CAP)] = "",
    body: Annotated[str, Form(max_length=TEXT_CAP)] = "",
    place_name: Annotated[str, Form(max_length=SHORT_CAP)] = "",
    lat: Annotated[str, Form(max_length=40)] = "",
    lon: Annotated[str, Form(max_length=40)] = "",
    valid_from: Annotated[str, Form(max_length=40)] = "",
    valid_until: Annotated[str, Form(max_length=40)] = "",
    tlp: Annotated[str, Form(max_length=16)] = "",
    version: Annotated[str, Form(max_length=12)] = "",
    principal: Principal = requires(Permission.BULLETINS_WRITE),
) -> Response:
    values: dict[str, Any] = {
        "title": title,
        "body": body,
        "place_name": place_name,
        "lat": lat,
        "lon": lon,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "tlp": tlp,
        "handling": "",
        "release_to": [],
        "version": version,
    }
    data, problems = _parse_form(values, principal)
    data.update(tlp=tlp or None, version=version or None)
    if not problems:
        try:
            checked = BulletinUpdateIn.model_validate(data)
            with node.transaction() as session:
                services.update_bulletin(
                    session,
                    node,
                    principal,
                    bulletin_id,
                    checked,
                    origin=origin,
                    tlp=checked.tlp.value if checked.tlp else None,
                    expected_version=checked.version,
                    client_ip=client_ip(request),
                )
            return RedirectResponse(f"/bulletins/{origin}/{bulletin_id}", status_code=303)
        except (ValidationError, InvalidInput) as exc:
            problems.add_exception(exc)
    with node.sessions() as session:
        bulletin = services.access_own_bulletin(session, node, principal, bulletin_id, origin)
    return _form_page(request, principal, [], values, bulletin=bulletin, errors=problems)


# --- release and withdraw ---------------------------------------------------------------------------------------


@router.post("/bulletins/{origin}/{bulletin_id}/release")
def release(
    origin: str,
    bulletin_id: str,
    request: Request,
    node: NodeDep,
    to: Annotated[list[str] | None, Form(max_length=32)] = None,
    tlp: Annotated[str, Form(max_length=16)] = "",
    handling: Annotated[str, Form(max_length=16)] = "",
    principal: Principal = requires(Permission.RECORDS_RELEASE),
) -> RedirectResponse:
    if not to:
        raise InvalidInput(gettext("Choose at least one party to release the bulletin to."))
    with node.transaction() as session:
        services.release_bulletin(
            session,
            node,
            principal,
            bulletin_id,
            to,
            origin=origin,
            tlp=tlp or None,
            handling=handling or None,
            client_ip=client_ip(request),
        )
    return RedirectResponse(f"/bulletins/{origin}/{bulletin_id}", status_code=303)


@router.post("/bulletins/{origin}/{bulletin_id}/withdraw")
def withdraw(
    origin: str,
    bulletin_id: str,
    request: Request,
    node: NodeDep,
    reason: Annotated[str, Form(max_length=SHORT_CAP)] = "",
    principal: Principal = requires(Permission.RECORDS_RELEASE),
) -> RedirectResponse:
    with node.transaction() as session:
        services.withdraw_bulletin(
            session, node, principal, bulletin_id, reason, origin=origin, client_ip=client_ip(request)
        )
    return RedirectResponse(f"/bulletins/{origin}/{bulletin_id}", status_code=303)
