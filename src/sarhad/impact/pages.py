"""The impact-level page: every section with its level in force, the pending proposal, the suggested level, and
forms to propose a level and to accept or reject the other side's proposal (JOINT_DECIDE)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.core.errors import InvalidInput, SarhadError
from sarhad.core.i18n import gettext as _
from sarhad.impact import domain, services
from sarhad.web.deps import NodeDep, client_ip, requires
from sarhad.web.forms import FormErrors, form_errors
from sarhad.web.templating import add_nav_item, render

router = APIRouter(include_in_schema=False)
add_nav_item("/impact", "Impact levels", Permission.BORDER_READ.value, more=True)


def _labels() -> dict[str, str]:
    return {
        "low": _("low"),
        "medium": _("medium"),
        "high": _("high"),
        "critical": _("critical"),
        "accept": _("accepts"),
        "reject": _("rejects"),
        "pending": _("not decided"),
    }


def explain(section: dict[str, Any]) -> str:
    """The suggested level's reason in the viewer's language (the API gives it in English)."""
    suggestion: domain.Suggestion | None = section.get("suggestion")
    if suggestion is None:
        return _("No incident counts on this node (the incidents package is not installed).")
    n = suggestion.counts
    counted = _(
        "%(total)s incidents in the last 30 days (low %(low)s, medium %(medium)s, high %(high)s, "
        "very high %(very_high)s)"
    ) % {
        "total": sum(n.values()),
        "low": n.get("low", 0),
        "medium": n.get("medium", 0),
        "high": n.get("high", 0),
        "very_high": n.get("very_high", 0),
    }
    scored = _("score %(score)s, so %(level)s") % {
        "score": suggestion.score,
        "level": _labels().get(suggestion.level.value, suggestion.level.value),
    }
    return f"{counted}: {scored}"


def _field_labels() -> dict[str, str]:
    return {"level": _("Level"), "expires_at": _("Expires (critical only)"), "reason": _("Reason")}


def _page(
    request: Request,
    node: NodeDep,
    principal: Principal,
    errors: FormErrors | None = None,
    *,
    section: str = "",
    form: str = "",
) -> HTMLResponse:
    with node.sessions() as session:
        sections = services.section_levels(session, node, principal)
    return render(
        request,
        "impact.html",
        {
            "sections": sections,
            "levels": [level.value for level in domain.LEVEL_ORDER],
            "labels": _labels(),
            "explain": explain,
            "can_decide": principal.can(Permission.JOINT_DECIDE),
            "critical_max_hours": int(domain.CRITICAL_MAX.total_seconds() // 3600),
            "errors": errors or form_errors(principal, _field_labels()),
            "error_section": section,
            "error_form": form,
        },
        principal=principal,
        status_code=422 if errors else 200,
    )


@router.get("/impact", response_class=HTMLResponse)
def impact_page(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.BORDER_READ)
) -> HTMLResponse:
    return _page(request, node, principal)


@router.get("/impact/{section}", response_class=HTMLResponse)
def section_page(
    section: str, request: Request, node: NodeDep, principal: Principal = requires(Permission.BORDER_READ)
) -> HTMLResponse:
    """One section's level in force and every proposal and decision on it."""
    with node.sessions() as session:
        current = services.section_level(session, node, principal, section)
        items = services.history(session, node, principal, section)
    return render(
        request,
        "impact_section.html",
        {"s": current, "items": items, "labels": _labels(), "explain": explain},
        principal=principal,
    )


@router.post("/impact/propose", response_model=None)
def propose(
    request: Request,
    node: NodeDep,
    section: Annotated[str, Form(max_length=32)] = "",
    level: Annotated[str, Form(max_length=16)] = "",
    expires_at: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=domain.REASON_MAX)] = "",
    principal: Principal = requires(Permission.JOINT_DECIDE),
) -> Response:
    try:
        expires: datetime | None = None
        if expires_at.strip():
            try:
                expires = datetime.fromisoformat(expires_at.strip())
            except ValueError:
                raise InvalidInput(_("Write a date and time."), details={"field": "expires_at"}) from None
            if expires.tzinfo is None:  # typed in the viewer's zone
                expires = expires.replace(tzinfo=ZoneInfo(principal.time_zone))
        with node.transaction() as session:
            services.propose_level(
                session,
                node,
                principal,
                section,
                level,
                expires_at=expires,
                reason=reason,
                client_ip=client_ip(request),
            )
    except SarhadError as exc:
        errors = form_errors(principal, _field_labels()).add_exception(exc)
        return _page(request, node, principal, errors, section=section, form="propose")
    return RedirectResponse("/impact", status_code=303)


@router.post("/impact/decide", response_model=None)
def decide(
    request: Request,
    node: NodeDep,
    section: Annotated[str, Form(max_length=32)] = "",
    content_hash: Annotated[str, Form(max_length=64)] = "",
    decision: Annotated[str, Form(max_length=8)] = "",
    reason: Annotated[str, Form(max_length=domain.REASON_MAX)] = "",
    principal: Principal = requires(Permission.JOINT_DECIDE),
) -> Response:
    try:
        with node.transaction() as session:
            services.decide_level(
                session,
                node,
                principal,
                section,
                content_hash,
                decision,
                reason=reason,
                client_ip=client_ip(request),
            )
    except SarhadError as exc:
        errors = form_errors(principal, _field_labels()).add_exception(exc)
        return _page(request, node, principal, errors, section=section, form="decide")
    return RedirectResponse("/impact", status_code=303)
