"""Who makes a change, as every domain service sees it, and the permission check they all make.

A signed-in ``Principal`` (from the web layer) and ``SystemActor`` (command line, seeding, jobs, benchmarks)
both satisfy ``Actor``. The services check permissions themselves too, so a caller other than the API
cannot skip them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sarhad.accounts.domain import Permission
from sarhad.core.errors import ErrorCode, PermissionDenied


class Actor(Protocol):
    """Who makes a change: a signed-in ``Principal``, or ``SystemActor`` for the CLI, seeding and jobs."""

    @property
    def username(self) -> str: ...

    def can(self, permission: Permission) -> bool: ...


@dataclass(frozen=True)
class SystemActor:
    """An actor that holds every permission and acts for any position (command line, seeding, tests)."""

    name: str = "system"

    @property
    def username(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return self.name

    def can(self, permission: Permission) -> bool:
        return True


def require(actor: Actor, permission: Permission, what: str) -> None:
    """Refuse, naming the permission, unless ``actor`` holds it; ``what`` completes "your role does not allow …"."""
    if not actor.can(permission):
        raise PermissionDenied(
            f"your role does not allow {what} (needs {permission.value})", code=ErrorCode.FORBIDDEN
        )
