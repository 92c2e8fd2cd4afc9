"""Who may act on and read a hotline message: the actor, the positions it holds now, a message's audience.

A message is addressed to a position, never a person, so every check here goes through the duty roster
(``position_holders``) at the time of the act.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from sarhad.accounts import actors
from sarhad.accounts.domain import Permission
from sarhad.accounts.services import positions_held
from sarhad.core.node import Node
from sarhad.hotline.models import HotlineMessage


class Actor(actors.Actor, Protocol):
    """A signed-in ``Principal``, or ``SystemActor`` (CLI, demo, jobs): the hotline also shows who acted."""

    @property
    def display_name(self) -> str: ...


def _user_id(actor: Actor) -> str | None:
    value = getattr(actor, "user_id", None)
    return value if isinstance(value, str) else None


def held_positions(session: Session, node: Node, actor: Actor) -> set[str] | None:
    """Positions the actor holds now; None for a system actor (acts for any position)."""
    user_id = _user_id(actor)
    if user_id is None:
        return None
    return set(positions_held(session, user_id, node.clock.now()))


def audience(message: HotlineMessage, party: str) -> list[str]:
    """The positions on this node that follow a message: the sender's, or the addressed and escalated ones."""
    if message.origin == party:
        return [message.from_position_id]
    return [message.to_position_id, *message.escalated_positions]


def sees_everything(actor: Actor, held: set[str] | None) -> bool:
    """A system actor, a hotline administrator or an auditor reads every message of this node."""
    return held is None or actor.can(Permission.HOTLINE_ADMIN) or actor.can(Permission.AUDIT_READ)


def may_read(node: Node, actor: Actor, message: HotlineMessage, held: set[str] | None) -> bool:
    """Whether the actor may read the message: a holder of a position it concerns, or one who sees all."""
    if sees_everything(actor, held):
        return True
    assert held is not None  # sees_everything is True for a system actor
    return bool(set(audience(message, node.party)) & held)
