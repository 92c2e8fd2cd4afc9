"""The start page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.web.deps import requires
from sarhad.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: Principal = requires(Permission.PROFILE)) -> HTMLResponse:
    return render(request, "home.html", principal=principal)
