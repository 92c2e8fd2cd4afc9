"""Hotline pages: the inbox per position, compose, the thread with its state timeline and the acknowledge
button, the report with a chart. Pages update themselves from the live-event stream (``hotline.js``); a FLASH or
IMMEDIATE message not yet acknowledged is the layout's alert banner on every page (``sarhad.dashboard.alerts``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal, list_positions
from sarhad.audit.services import record_list_read
from sarhad.core.errors import InvalidInput, NotFound, SarhadError
from sarhad.core.i18n import gettext as _
from sarhad.core.i18n import pick_name
from sarhad.core.node import Node
from sarhad.core.params import parse_count
from sarhad.exchange.peers import peer_parties
from sarhad.hotline import access, configuration, domain, reading, reports, sending
from sarhad.hotline.models import HotlineMessage
from sarhad.hotline.schemas import MessageIn
from sarhad.live import services as live
from sarhad.web.chartdata import Chart, Series
from sarhad.web.deps import NodeDep, client_ip, public, requires
from sarhad.web.forms import FormErrors, form_errors
from sarhad.web.templating import add_nav_item, render

router = APIRouter(include_in_schema=False)
add_nav_item("/hotline", "Hotline", Permission.HOTLINE_READ.value)
# The admin configures the hotline (deadlines, escalation, channels) but reads no messages: its settings page.
add_nav_item(
    "/hotline/admin", "Hotline", Permission.HOTLINE_ADMIN.value, unless=Permission.HOTLINE_READ.value
)

STATIC_FILES = {"hotline.js": "text/javascript; charset=utf-8", "hotline.css": "text/css; charset=utf-8"}
STATES = [s.value for s in domain.State]


@router.get("/hotline/static/{name}")
def static_asset(
    name: str, _access: None = public("static asset (hotline script and style), no data")
) -> Response:
    """The package's own static files; a fixed list, so no path from the request reaches the file system."""
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        raise NotFound(f"no static file {name!r}")
    body = files("sarhad.hotline").joinpath("static", name).read_bytes()
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=300"})


def _labels() -> dict[str, str]:
    """Texts the script shows, translated for the viewer."""
    return {
        "flash": _("FLASH message: acknowledge now"),
        "link_down": _("Not delivered after 30 s: the link is down. Use alternate means (telephone, radio)."),
        "reconnecting": _("Live updates interrupted; reconnecting…"),
        "live": _("Live"),
    }


def _live_mark(node: Node) -> int:
    """The newest live event id, read BEFORE the page's data: the page's stream resumes after it, so a
    change between rendering and the stream opening is replayed, never lost."""
    with node.sessions() as session:
        return live.last_event_id(session)


def _common(request: Request, principal: Principal, mark: int) -> dict[str, Any]:
    node = request.app.state.node
    with node.sessions() as session:
        held = access.held_positions(session, node, principal) or set()
    return {
        "held": sorted(held),
        "labels": _labels(),
        "can_send": principal.can(Permission.HOTLINE_SEND),
        "can_admin": principal.can(Permission.HOTLINE_ADMIN),
        "live_after": mark,
    }


def _badge_class(message: HotlineMessage) -> str:
    return f"prec-{message.precedence.lower()}"


@router.get("/hotline", response_class=HTMLResponse)
def inbox(
    request: Request,
    node: NodeDep,
    position: Annotated[str | None, Query(max_length=64)] = None,
    direction: Annotated[str | None, Query(pattern="^(|in|out)$")] = None,
    state: Annotated[str | None, Query(pattern="^(|queued|delivered|seen|acknowledged|closed)$")] = None,
    principal: Principal = requires(Permission.HOTLINE_READ),
) -> HTMLResponse:
    """Messages of the positions the viewer holds now, newest first, updated live."""
    mark = _live_mark(node)
    flt = reading.MessageFilter(
        position=position or None, direction=direction or None, state=state or None, limit=200
    )
    now = node.clock.now()
    with node.sessions() as session:
        rows = reading.list_messages(session, node, principal, flt)
        link_down = {m.id for m in rows if m.origin == node.party and reading.is_link_down(m, now)}
    record_list_read(
        node, principal.username, "hotline", "hotline.message", rows, client_ip=client_ip(request)
    )
    context = _common(request, principal, mark)
    context.update(
        {
            "rows": rows,
            "filters": {"position": position or "", "direction": direction or "", "state": state or ""},
            "states": STATES,
            "link_down": link_down,
            "badge": _badge_class,
        }
    )
    return render(request, "hotline_inbox.html", context, principal=principal)


def _compose_labels() -> dict[str, str]:
    return {
        "channel": _("Channel"),
        "precedence": _("Precedence"),
        "subject": _("Subject"),
        "body": _("Message"),
        "lat": _("Latitude"),
        "lon": _("Longitude"),
        "incident": _("Incident"),
    }


def _incident_choices(session: Any, node: Node, principal: Principal) -> list[Any] | None:
    """Recent incidents to refer to (None when the user may not read incidents: a typed reference then)."""
    if not principal.can(Permission.INCIDENTS_READ):
        return None
    from sarhad.incidents import choices  # lazy: the incidents package is optional here

    return list(choices.recent_choices(session, node, principal, principal.language))


def _compose_page(
    request: Request,
    principal: Principal,
    values: dict[str, Any],
    *,
    errors: FormErrors | None = None,
    reply_to: HotlineMessage | None = None,
) -> HTMLResponse:
    node = request.app.state.node
    mark = _live_mark(node)
    with node.sessions() as session:
        held = access.held_positions(session, node, principal) or set()
        channels = [c for c in configuration.list_channels(session) if c.own_position_id in held]
        incidents = _incident_choices(session, node, principal)
    if incidents:  # received incidents named in the choice are a list read
        record_list_read(
            node, principal.username, "incident", "incident", incidents, client_ip=client_ip(request)
        )
    context = _common(request, principal, mark)
    context.update(
        {
            "values": values,
            "errors": errors or form_errors(principal, _compose_labels()),
            "channels": channels,
            "incidents": incidents,
            "precedences": domain.PRECEDENCES,
            "reply_to": reply_to,
            "body_max": domain.BODY_MAX,
            "subject_max": domain.SUBJECT_MAX,
        }
    )
    return render(
        request, "hotline_compose.html", context, principal=principal, status_code=422 if errors else 200
    )


@router.get("/hotline/compose", response_class=HTMLResponse)
def compose(
    request: Request,
    node: NodeDep,
    reply_to: Annotated[str | None, Query(max_length=64)] = None,
    channel: Annotated[str | None, Query(max_length=36)] = None,
    principal: Principal = requires(Permission.HOTLINE_SEND),
) -> HTMLResponse:
    original = None
    values: dict[str, Any] = {"channel": channel or "", "precedence": "ROUTINE", "subject": "", "body": ""}
    values.update({"lat": "", "lon": "", "incident": "", "reply_to": reply_to or ""})
    if reply_to:
        with node.transaction() as session:
            original = reading.get_message(session, node, principal, reply_to, client_ip=client_ip(request))
        values["subject"] = (
            original.subject if original.subject.startswith("RE: ") else f"RE: {original.subject}"
        )
        values["subject"] = values["subject"][: domain.SUBJECT_MAX]
        values["precedence"] = original.precedence
        values["incident"] = original.incident or ""
    return _compose_page(request, principal, values, reply_to=original)


@router.post("/hotline/compose", response_class=HTMLResponse)
def compose_submit(
    request: Request,
    node: NodeDep,
    channel: Annotated[str, Form(max_length=36)] = "",
    precedence: Annotated[str, Form(max_length=16)] = "ROUTINE",
    subject: Annotated[str, Form(max_length=domain.SUBJECT_MAX * 4)] = "",
    body: Annotated[str, Form(max_length=domain.BODY_MAX * 4)] = "",
    lat: Annotated[str, Form(max_length=40)] = "",
    lon: Annotated[str, Form(max_length=40)] = "",
    incident: Annotated[str, Form(max_length=400)] = "",
    reply_to: Annotated[str, Form(max_length=64)] = "",
    principal: Principal = requires(Permission.HOTLINE_SEND),
) -> Response:
    values = {
        "channel": channel,
        "precedence": precedence,
        "subject": subject,
        "body": body,
        "lat": lat,
        "lon": lon,
        "incident": incident,
        "reply_to": reply_to,
    }
    problems = form_errors(principal, _compose_labels())
    coordinates: dict[str, float | None] = {}
    for name, raw in (("lat", lat), ("lon", lon)):
        text = raw.strip().replace(",", ".")
        try:
            coordinates[name] = float(text) if text else None
        except ValueError:
            problems.add(name, _("Write a number in degrees, such as 28.95."))
            coordinates[name] = None
    for name, typed in (("subject", subject), ("body", body)):
        if not typed.strip():
            problems.add(name, _("Fill this in."))
    original = None
    if not problems:
        try:
            data = MessageIn(
                channel=channel or None,
                precedence=precedence,
                subject=subject,
                body=body,
                lat=coordinates["lat"],
                lon=coordinates["lon"],
                incident=incident or None,
                reply_to=reply_to or None,
            )
            with node.transaction() as session:
                message = sending.send_message(session, node, principal, data, client_ip=client_ip(request))
            return RedirectResponse(f"/hotline/messages/{message.id}", status_code=303)
        except (ValidationError, SarhadError) as exc:
            problems.add_exception(exc)
    if reply_to:
        with node.sessions() as session:
            try:
                original = reading.find_message(session, reply_to)
            except SarhadError:
                original = None
    return _compose_page(request, principal, values, errors=problems, reply_to=original)


@router.get("/hotline/messages/{message_id}", response_class=HTMLResponse)
def thread(
    message_id: str,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.HOTLINE_READ),
) -> HTMLResponse:
    """One message, its thread and its state timeline. Opening a received message marks it seen."""
    if len(message_id) > 64:
        raise InvalidInput("message id too long")
    now = node.clock.now()
    mark = _live_mark(node)
    with node.transaction() as session:
        message = reading.get_message(
            session,
            node,
            principal,
            message_id,
            client_ip=client_ip(request),
            audit=request.headers.get("x-sarhad-live") != "refresh",
        )
        held = access.held_positions(session, node, principal) or set()
        addressed = message.origin != node.party and bool(set(access.audience(message, node.party)) & held)
        if addressed and message.seen_at is None:
            sending.mark_seen(session, node, principal, message.id)
        events = list(reading.timeline(session, message))
        thread_rows = list(reading.thread_of(session, message))
        signed = reading.signed_ack(session, node, message)
    own = message.origin == node.party
    link_down_at = message.created_at + timedelta(seconds=domain.LINK_DOWN_SECONDS)
    context = _common(request, principal, mark)
    context.update(
        {
            "m": message,
            "own": own,
            "events": events,
            "thread": thread_rows,
            "signed_ack": signed,
            "can_ack": addressed
            and message.acknowledged_at is None
            and principal.can(Permission.HOTLINE_SEND),
            "can_close": own
            and message.acknowledged_at is not None
            and message.closed_at is None
            and message.from_position_id in held,
            "link_down": own and reading.is_link_down(message, now),
            "watch_link": own and message.delivered_at is None and message.precedence in domain.URGENT,
            "link_down_at": link_down_at.astimezone(UTC).isoformat(),
            "badge": _badge_class,
            "pick_name": pick_name,
        }
    )
    return render(request, "hotline_thread.html", context, principal=principal)


def _back(next_url: str, fallback: str) -> str:
    return next_url if next_url.startswith("/hotline") and "//" not in next_url else fallback


@router.post("/hotline/messages/{message_id}/ack")
def ack_submit(
    message_id: str,
    request: Request,
    node: NodeDep,
    reply: Annotated[str, Form(max_length=domain.REPLY_MAX * 4)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=300)] = "",
    principal: Principal = requires(Permission.HOTLINE_SEND),
) -> Response:
    with node.transaction() as session:
        sending.acknowledge(
            session, node, principal, message_id[:64], reply=reply or None, client_ip=client_ip(request)
        )
    return RedirectResponse(_back(next_url, f"/hotline/messages/{message_id}"), status_code=303)


@router.post("/hotline/messages/{message_id}/close")
def close_submit(
    message_id: str,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.HOTLINE_SEND),
) -> Response:
    with node.transaction() as session:
        sending.close_message(session, node, principal, message_id[:64], client_ip=client_ip(request))
    return RedirectResponse(f"/hotline/messages/{message_id}", status_code=303)


def _parse_day(value: str | None, default: datetime) -> datetime:
    if not value:
        return default
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"not a date: {value!r} (use YYYY-MM-DD)") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.get("/hotline/report", response_class=HTMLResponse)
def report_page(
    request: Request,
    node: NodeDep,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    principal: Principal = requires(Permission.HOTLINE_READ),
) -> HTMLResponse:
    """Per channel and precedence: counts and times to delivery and acknowledgement, with a chart."""
    now = node.clock.now()
    until = _parse_day(end, now + timedelta(seconds=1))
    since = _parse_day(start, until - timedelta(days=30))
    if until <= since:
        raise InvalidInput(_("'to' must be after 'from'"))
    mark = _live_mark(node)
    with node.sessions() as session:
        rows = reports.report(session, node, since, until)
    categories = [f"{r.precedence} {r.channel.split(' → ')[-1]}" for r in rows]
    chart = Chart(
        id="hotline-ack",
        title=_("Time to acknowledgement per channel and precedence"),
        labels=categories,
        series=[
            Series(_("Median to acknowledgement (s)"), [r.ack_p50 for r in rows]),
            Series(_("90th percentile to acknowledgement (s)"), [r.ack_p90 for r in rows]),
        ],
        unit=_("seconds"),
        language=principal.language,
        category_title=_("Channel"),
        empty_text=_("No messages in this period."),
    )
    context = _common(request, principal, mark)
    context.update(
        {
            "rows": rows,
            "chart": chart,
            "since": since.strftime("%Y-%m-%d"),
            "until": until.strftime("%Y-%m-%d"),
            "since_iso": since.isoformat(),
            "until_iso": until.isoformat(),
        }
    )
    return render(request, "hotline_report.html", context, principal=principal)


# --- administration: deadlines, escalation policies, channels ------------------------------------------------


def _policy_text(steps: list[domain.PolicyStep]) -> str:
    return "\n".join(f"{'deadline' if s.wait_seconds is None else s.wait_seconds} {s.notify}" for s in steps)


def _parse_policy(text: str) -> list[dict[str, Any]]:
    """One step per line: ``<seconds | deadline> <parent | position id>``."""
    steps: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise InvalidInput(
                _("line %(n)d: write '<seconds or deadline> <parent or position id>'") % {"n": number},
                details={"field": "steps"},
            )
        wait: int | None
        if parts[0] == "deadline":
            wait = None
        elif parse_count(parts[0]) is not None:
            wait = parse_count(parts[0])
        else:
            raise InvalidInput(
                _("line %(n)d: the wait is a number of seconds or 'deadline'") % {"n": number},
                details={"field": "steps"},
            )
        steps.append({"wait_seconds": wait, "notify": parts[1]})
    return steps


def _admin_labels() -> dict[str, str]:
    return {
        "flash": "FLASH",
        "immediate": "IMMEDIATE",
        "priority": "PRIORITY",
        "routine": "ROUTINE",
        "steps": _("Steps"),
        "max_repeats": _("Repeats"),
        "own_position": _("Our position"),
        "counterpart_party": _("Party"),
        "counterpart_position": _("Counterpart position id"),
        "name_en": _("Name (English)"),
    }


def _admin_errors(principal: Principal, exc: SarhadError | None = None) -> FormErrors:
    paths = {p: p.lower() for p in domain.PRECEDENCES}  # the deadline rules name the precedence
    errors = form_errors(principal, _admin_labels(), paths)
    return errors.add_exception(exc) if exc is not None else errors


def _admin_page(
    request: Request,
    node: Node,
    principal: Principal,
    *,
    errors: FormErrors | None = None,
    done: str = "",
    form: str = "",
) -> HTMLResponse:
    mark = _live_mark(node)
    with node.sessions() as session:
        table = configuration.deadlines(session)
        positions = list(list_positions(session, node.party))
        policies = {p.id: _policy_text(configuration.policy_of(session, p.id)[0]) for p in positions}
        repeats = {p.id: configuration.policy_of(session, p.id)[1] for p in positions}
        channels = list(configuration.list_channels(session))
        peers = sorted(peer_parties(session))
    context = _common(request, principal, mark)
    context.update(
        {
            "deadlines": table,
            "positions": positions,
            "policies": policies,
            "repeats": repeats,
            "channels": channels,
            "peers": peers,
            "errors": errors or _admin_errors(principal),
            "error_form": form,
            "done": done,
        }
    )
    return render(
        request, "hotline_admin.html", context, principal=principal, status_code=422 if errors else 200
    )


@router.get("/hotline/admin", response_class=HTMLResponse)
def admin(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.HOTLINE_ADMIN)
) -> HTMLResponse:
    """Acknowledgement deadlines, escalation policies and channels of this deployment."""
    return _admin_page(request, node, principal)


@router.post("/hotline/admin/deadlines", response_class=HTMLResponse)
def admin_deadlines(
    request: Request,
    node: NodeDep,
    flash: Annotated[str, Form(max_length=12)] = "",
    immediate: Annotated[str, Form(max_length=12)] = "",
    priority: Annotated[str, Form(max_length=12)] = "",
    routine: Annotated[str, Form(max_length=12)] = "",
    principal: Principal = requires(Permission.HOTLINE_ADMIN),
) -> Response:
    raw = {"FLASH": flash, "IMMEDIATE": immediate, "PRIORITY": priority, "ROUTINE": routine}
    errors = _admin_errors(principal)
    for key, value in raw.items():
        if parse_count(value) is None:
            errors.add(key.lower(), _("Write a whole number of seconds."))
    if errors:
        return _admin_page(request, node, principal, errors=errors, form="deadlines")
    try:
        with node.transaction() as session:
            configuration.set_deadlines(session, node, principal, {k: int(v) for k, v in raw.items()})
    except SarhadError as exc:
        return _admin_page(request, node, principal, errors=_admin_errors(principal, exc), form="deadlines")
    return RedirectResponse("/hotline/admin?saved=deadlines", status_code=303)


@router.post("/hotline/admin/policy", response_class=HTMLResponse)
def admin_policy(
    request: Request,
    node: NodeDep,
    position: Annotated[str, Form(max_length=64)],
    steps: Annotated[str, Form(max_length=2000)] = "",
    max_repeats: Annotated[str, Form(max_length=4)] = "0",
    principal: Principal = requires(Permission.HOTLINE_ADMIN),
) -> Response:
    try:
        if not max_repeats.strip().isdigit():
            raise InvalidInput(_("Write a whole number."), details={"field": "max_repeats"})
        with node.transaction() as session:
            configuration.set_policy(
                session, node, principal, position, _parse_policy(steps), int(max_repeats)
            )
    except SarhadError as exc:
        errors = _admin_errors(principal, exc)
        return _admin_page(request, node, principal, errors=errors, form=f"policy:{position}")
    return RedirectResponse("/hotline/admin?saved=policy", status_code=303)


@router.post("/hotline/admin/channel", response_class=HTMLResponse)
def admin_channel(
    request: Request,
    node: NodeDep,
    own_position: Annotated[str, Form(max_length=64)],
    counterpart_party: Annotated[str, Form(max_length=2)],
    counterpart_position: Annotated[str, Form(max_length=64)],
    name_en: Annotated[str, Form(max_length=200)] = "",
    name_ur: Annotated[str, Form(max_length=200)] = "",
    name_fa: Annotated[str, Form(max_length=200)] = "",
    principal: Principal = requires(Permission.HOTLINE_ADMIN),
) -> Response:
    names = {k: v.strip() for k, v in (("en", name_en), ("ur", name_ur), ("fa", name_fa)) if v.strip()}
    try:
        with node.transaction() as session:
            configuration.upsert_channel(
                session,
                node,
                principal,
                own_position=own_position,
                counterpart_party=counterpart_party,
                counterpart_position=counterpart_position.strip(),
                counterpart_names=names,
            )
    except SarhadError as exc:
        return _admin_page(request, node, principal, errors=_admin_errors(principal, exc), form="channel")
    return RedirectResponse("/hotline/admin?saved=channel", status_code=303)
