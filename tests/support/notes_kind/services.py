"""The note kind: its rules and write path on the shared-record lifecycle, and its handlers."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.core.errors import InvalidInput, RecordRefused, RuleError
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.exchange import records
from sarhad.exchange.record_rules import content_time
from sarhad.exchange.registry import IncomingRecord, RecordKind, get_kind, register_kind
from support.notes_kind.models import Note, NotesBase

KIND = "test.note"
NOTES = records.SharedKind(KIND, Note, "note")


class NoteContent(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: str
    updated_at: AwareDatetime


def check_text(text: str) -> str:
    text = text.strip()
    if not 1 <= len(text) <= 500:
        raise RuleError("text", "a note has 1 to 500 characters")
    return text


def _content(note: Note) -> dict[str, object]:
    return {"text": note.text, "updated_at": content_time(note.updated_at)}


def create_note(session: Session, node: Node, actor: Actor, text: str, release_to: Sequence[str]) -> Note:
    require(actor, Permission.RECORDS_RELEASE, "releasing notes")
    try:
        text = check_text(text)
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    now = node.clock.now()
    note = Note(origin=node.party, id=new_id(), version=1, text=text, tlp="amber", handling="no_onward",
                created_by=actor.username, created_at=now, updated_at=now)  # fmt: skip
    session.add(note)
    records.add_version(session, node, NOTES, note, _content(note), actor.username)
    records.release(session, node, actor, NOTES, note, release_to, content=_content(note))
    return note


def update_note(session: Session, node: Node, actor: Actor, note_id: str, text: str) -> Note:
    note = records.access_own(
        session,
        node,
        actor,
        NOTES,
        note_id,
        permission=Permission.RECORDS_RELEASE,
        doing="notes",
        verb="edited",
    )
    try:
        note.text = check_text(text)
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    note.version, note.updated_at = note.version + 1, node.clock.now()
    records.publish_version(session, node, actor, NOTES, note, _content(note))
    return note


def apply_note(session: Session, node: Node, record: IncomingRecord) -> None:
    content = NoteContent.model_validate(record.content)
    try:
        text = check_text(content.text)
    except RuleError as exc:
        raise RecordRefused.from_rule(exc) from exc

    def fill(note: Note) -> None:
        note.text, note.updated_at = text, content.updated_at

    first = {"created_by": records.peer_actor(record), "created_at": content.updated_at}
    records.store_received(session, node, NOTES, record, fill, new_row=first)


def withdraw_note(session: Session, node: Node, record: IncomingRecord) -> None:
    records.apply_received_withdrawal(session, node, NOTES, record)


def install(node: Node) -> None:
    """Create the notes table on the node's database and register the kind with the exchange (once)."""
    NotesBase.metadata.create_all(node.engine)
    if get_kind(KIND) is None:
        register_kind(RecordKind(KIND, schema=NoteContent, apply=apply_note, withdraw=withdraw_note))
