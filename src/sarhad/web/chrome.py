"""The page chrome every page shares: the main navigation per role, and the layout's own context (the alert
banner) supplied by feature packages.

Navigation: a feature's pages module registers its entries with ``add_nav_item``; a viewer sees an entry only
when they hold its permission (and, for an entry registered with ``unless``, do not hold that one: the admin,
who may configure the hotline but not read it, gets the hotline's settings page instead of the inbox). Entries
are shown in ``NAV_ORDER`` (the officer's daily work first), unknown paths last in registration order.

Layout context: ``add_layout_context(provider)``; ``templating.render`` calls every provider with the request
and the viewer and merges what it returns into every page's context (``layout.html`` reads it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from sarhad.accounts.services import Principal
from sarhad.core.i18n import gettext


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str  # English msgid, translated when shown
    permission: str | None  # needed to see the entry (None: every signed-in user)
    unless: str | None = None  # not shown to holders of this permission (they have a better entry)
    more: bool = False  # a secondary entry: under "More", so the main line stays one line on a desktop


NAV_ITEMS: list[NavItem] = []
"""Feature packages append to this when their pages module loads."""

NAV_ORDER = (
    "/hotline",
    "/hotline/admin",
    "/incidents",
    "/map",
    "/requests",
    "/bulletins",
    "/impact",
    "/incidents/reports/daily",
    "/joint",
    "/exchange",
    "/border",
    "/audit",
    "/users",
)


def add_nav_item(
    path: str, label: str, permission: str | None, *, unless: str | None = None, more: bool = False
) -> None:
    if not any(item.path == path for item in NAV_ITEMS):
        NAV_ITEMS.append(NavItem(path, label, permission, unless, more))


def _rank(item: NavItem) -> int:
    return NAV_ORDER.index(item.path) if item.path in NAV_ORDER else len(NAV_ORDER)


def _shown(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    allowed = {p.value for p in principal.permissions}
    shown = [
        item
        for item in NAV_ITEMS
        if (item.permission is None or item.permission in allowed)
        and (item.unless is None or item.unless not in allowed)
    ]
    shown.sort(key=_rank)  # stable: unknown paths keep their registration order
    return shown


def navigation(principal: Principal | None) -> list[tuple[str, str]]:
    """(path, translated label) of the main entries the viewer may use, in the officer's order."""
    return [(item.path, gettext(item.label)) for item in _shown(principal) if not item.more]


def navigation_more(principal: Principal | None) -> list[tuple[str, str]]:
    """(path, translated label) of the secondary entries the viewer may use, shown under "More"."""
    return [(item.path, gettext(item.label)) for item in _shown(principal) if item.more]


LayoutProvider = Callable[[Request, Principal | None], dict[str, Any]]
LAYOUT_PROVIDERS: list[LayoutProvider] = []


def add_layout_context(provider: LayoutProvider) -> None:
    if provider not in LAYOUT_PROVIDERS:
        LAYOUT_PROVIDERS.append(provider)


def layout_context(request: Request, principal: Principal | None) -> dict[str, Any]:
    """What every page's layout needs beyond the page's own context (e.g. the alert banner)."""
    context: dict[str, Any] = {}
    for provider in LAYOUT_PROVIDERS:
        context.update(provider(request, principal))
    return context
