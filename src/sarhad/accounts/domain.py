"""Roles and permissions: pure rules, no I/O.

Every endpoint names the permission it needs; a role is a named bundle of permissions. Keeping the map
here, in one table, lets a reviewer see at a glance who may do what.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    COMMANDER = "commander"
    LIAISON_OFFICER = "liaison_officer"
    OPERATOR = "operator"
    ANALYST = "analyst"
    TRADE_OFFICER = "trade_officer"
    CUSTODY_OFFICER = "custody_officer"
    SECRETARIAT = "secretariat"
    AUDITOR = "auditor"


class Permission(StrEnum):
    PROFILE = "profile"  # see and change one's own preferences; every signed-in user
    USERS_MANAGE = "users.manage"
    AUDIT_READ = "audit.read"
    BORDER_READ = "border.read"
    BORDER_EDIT = "border.edit"
    EXCHANGE_ADMIN = "exchange.admin"
    EXCHANGE_READ = "exchange.read"
    RECORDS_RELEASE = "records.release"
    BULLETINS_READ = "bulletins.read"
    BULLETINS_WRITE = "bulletins.write"
    JOINT_DECIDE = "joint.decide"
    HOTLINE_READ = "hotline.read"  # read the hotline inbox and threads of the positions one holds
    HOTLINE_SEND = "hotline.send"  # send, reply and acknowledge from a position one holds
    HOTLINE_ADMIN = "hotline.admin"  # channels between counterpart positions and escalation policies
    INCIDENTS_READ = "incidents.read"
    INCIDENTS_WRITE = "incidents.write"  # draft, report, edit and release incidents
    INCIDENTS_VALIDATE = "incidents.validate"  # validate, close or dismiss reported incidents
    REQUESTS_READ = "requests.read"
    REQUESTS_WRITE = "requests.write"  # send requests to the other side and answer theirs
    INTEL_READ = "intel.read"  # read intelligence reports (every read is audited)
    INTEL_WRITE = "intel.write"  # write draft intelligence reports
    INTEL_APPROVE = "intel.approve"  # approve another person's draft report (four eyes)
    QRF_READ = "qrf.read"  # the QRF board: own units and the other side's shared ones
    QRF_MANAGE = (
        "qrf.manage"  # own QRF units: add them and set their status (sharing one also needs records.release)
    )


_EVERYONE = {Permission.PROFILE, Permission.BORDER_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(
        _EVERYONE
        | {
            Permission.USERS_MANAGE,
            Permission.BORDER_EDIT,
            Permission.EXCHANGE_ADMIN,
            Permission.EXCHANGE_READ,
            Permission.BULLETINS_READ,
            Permission.HOTLINE_ADMIN,
        }
    ),
    Role.COMMANDER: frozenset(
        _EVERYONE
        | {
            Permission.BULLETINS_READ,
            Permission.BULLETINS_WRITE,
            Permission.RECORDS_RELEASE,
            Permission.JOINT_DECIDE,
            Permission.HOTLINE_READ,
            Permission.HOTLINE_SEND,
            Permission.INCIDENTS_READ,
            Permission.INCIDENTS_WRITE,
            Permission.INCIDENTS_VALIDATE,
            Permission.REQUESTS_READ,
            Permission.REQUESTS_WRITE,
            Permission.INTEL_READ,
            Permission.INTEL_WRITE,
            Permission.INTEL_APPROVE,
        }
    ),
    Role.LIAISON_OFFICER: frozenset(
        _EVERYONE
        | {
            Permission.BULLETINS_READ,
            Permission.BULLETINS_WRITE,
            Permission.RECORDS_RELEASE,
            Permission.JOINT_DECIDE,
            Permission.EXCHANGE_READ,
            Permission.HOTLINE_READ,
            Permission.HOTLINE_SEND,
            Permission.INCIDENTS_READ,
            Permission.INCIDENTS_WRITE,
            Permission.INCIDENTS_VALIDATE,
            Permission.REQUESTS_READ,
            Permission.REQUESTS_WRITE,
            Permission.INTEL_READ,
            Permission.INTEL_WRITE,
        }
    ),
    Role.OPERATOR: frozenset(
        _EVERYONE
        | {
            Permission.BULLETINS_READ,
            Permission.HOTLINE_READ,
            Permission.HOTLINE_SEND,
            Permission.INCIDENTS_READ,
            Permission.INCIDENTS_WRITE,
            Permission.REQUESTS_READ,
        }
    ),
    Role.ANALYST: frozenset(
        _EVERYONE
        | {
            Permission.BULLETINS_READ,
            Permission.INCIDENTS_READ,
            Permission.REQUESTS_READ,
            Permission.INTEL_READ,
            Permission.INTEL_WRITE,
        }
    ),
    Role.TRADE_OFFICER: frozenset(_EVERYONE),
    Role.CUSTODY_OFFICER: frozenset(_EVERYONE),
    Role.SECRETARIAT: frozenset(
        _EVERYONE
        | {
            Permission.BULLETINS_READ,
            Permission.JOINT_DECIDE,
            Permission.HOTLINE_READ,
            Permission.HOTLINE_SEND,
            Permission.INCIDENTS_READ,
            Permission.REQUESTS_READ,
        }
    ),
    Role.AUDITOR: frozenset(
        _EVERYONE
        | {
            Permission.AUDIT_READ,
            Permission.EXCHANGE_READ,
            Permission.BULLETINS_READ,
            Permission.HOTLINE_READ,
            Permission.INCIDENTS_READ,
            Permission.REQUESTS_READ,
        }
    ),
}

# QRF units (issue 19, docs/qrf.md): commanders and duty officers (operators) manage and dispatch their own
# units; whoever reads the operational picture reads the board. Kept as its own table so it merges cleanly.
_QRF_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.COMMANDER: frozenset({Permission.QRF_READ, Permission.QRF_MANAGE}),
    Role.OPERATOR: frozenset({Permission.QRF_READ, Permission.QRF_MANAGE}),
    Role.LIAISON_OFFICER: frozenset({Permission.QRF_READ}),
    Role.ANALYST: frozenset({Permission.QRF_READ}),
    Role.SECRETARIAT: frozenset({Permission.QRF_READ}),
    Role.AUDITOR: frozenset({Permission.QRF_READ}),
}
for _role, _granted in _QRF_GRANTS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _granted


def permissions_for(roles: list[str] | tuple[str, ...]) -> frozenset[Permission]:
    """Union of the permissions of the given roles; unknown role names grant nothing."""
    granted: set[Permission] = set()
    for name in roles:
        try:
            granted |= ROLE_PERMISSIONS[Role(name)]
        except ValueError:
            continue
    return frozenset(granted)


USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10


def check_username(username: str) -> str:
    """Return the username if acceptable, else raise ValueError with the rule it broke."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise ValueError(
            "username must be 2-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter"
        )
    return username


class WeakPassword(ValueError):
    """A password the policy refuses (``check_password``); the message says which rule it broke."""


def check_password(password: str, names: Sequence[str] = ()) -> str:
    """The password policy: 10 to 1,024 characters, no NUL, not a common password (the 30,000 most common of
    zxcvbn's list, also with digits and symbols added at its end, in any case), and not built on the user's own
    names (``names``: the username and display name; a part of 4 or more letters may not appear in it)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise WeakPassword("password must be at most 1024 characters")
    if "\x00" in password:
        raise WeakPassword("password may not contain NUL characters (U+0000)")
    folded = password.casefold()
    letters = re.sub(r"[^\w]|_", "", folded)
    stem = re.sub(r"[\W\d_]+$", "", folded)
    common = common_passwords()
    if folded in common or letters in common or (len(stem) >= 6 and stem in common):
        raise WeakPassword("password is one of the most common passwords; choose a longer phrase of your own")
    for name in names:
        for part in re.split(r"[\W_]+", name.casefold()):
            if len(part) >= 4 and part in letters:
                raise WeakPassword("password may not contain your username or your name")
    return password


@functools.cache
def common_passwords() -> frozenset[str]:
    """The most common passwords, as zxcvbn ships them (its ``passwords`` frequency list, maintained upstream)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"])


def check_roles(roles: list[str]) -> list[str]:
    unknown = [r for r in roles if r not in {role.value for role in Role}]
    if unknown:
        raise ValueError(f"unknown role(s): {', '.join(unknown)}; known: {', '.join(r.value for r in Role)}")
    if not roles:
        raise ValueError("a user needs at least one role")
    return sorted(set(roles))
