"""A link's state in words, for people: up, behind by N records, or down since the last good contact.

Pure rules over ``exchange.peers.LinkStatus`` (no I/O); the home dashboard and the exchange page both use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sarhad.exchange.peers import LinkStatus


class LinkWord(StrEnum):
    UP = "up"  # in contact, nothing of ours waiting for a receipt
    BEHIND = "behind"  # in contact, ``count`` records sent or waiting without a receipt yet
    DOWN = "down"  # the last attempt failed after the last good contact (``since`` = that contact)
    NEVER = "never"  # paired, never reached yet


@dataclass(frozen=True)
class LinkState:
    peer: str
    word: LinkWord
    count: int  # records of ours not yet receipted (every lane)
    since: datetime | None  # DOWN: the last good contact; BEHIND: the oldest record waiting; UP: last contact
    error: str  # the last error, while it is news


def link_state(status: LinkStatus) -> LinkState:
    """The state of one peer's link in words. An error newer than the last good contact means down (since
    that contact); otherwise a backlog means behind by that many records; otherwise up."""
    if status.last_error:  # peer_status reports an error only while it is newer than the last contact
        word = LinkWord.DOWN if status.last_contact_at is not None else LinkWord.NEVER
        return LinkState(status.peer, word, status.backlog, status.last_contact_at, status.last_error)
    if status.last_contact_at is None:
        return LinkState(status.peer, LinkWord.NEVER, status.backlog, None, "")
    if status.backlog > 0:
        return LinkState(status.peer, LinkWord.BEHIND, status.backlog, status.oldest_unreceipted_at, "")
    return LinkState(status.peer, LinkWord.UP, 0, status.last_contact_at, "")
