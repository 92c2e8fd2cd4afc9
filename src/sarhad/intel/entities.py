"""Persons known to this node's analysts (issue 18, entities: the first kind). The one write path and the
reads; every read of a person is audited, as every read of a report is.

A person has a name in up to three scripts (``en``, ``ur``, ``fa``), aliases, a year of birth, a nationality
and identifiers: a Pakistani CNIC and an Iranian national code, each checked (``intel.identifiers``) and kept
in one canonical form, so one person is never recorded twice under the same number (409 ``conflict`` naming
the person who holds it). Entities stay on this node: no record kind shares them yet.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.core import text
from sarhad.core.errors import Conflict, InvalidInput, NotFound, RuleError
from sarhad.core.formats import like_pattern
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.intel.identifiers import check_cnic, check_iran_national_code
from sarhad.intel.models import IntelEntity
from sarhad.intel.schemas import PersonIn

KIND = "intel.entity"


def _checked(data: PersonIn, now_year: int) -> dict[str, object]:
    names = {script: " ".join(name.split()) for script, name in data.names.model_dump().items() if name}
    names = {script: name for script, name in names.items() if name}
    if not names:
        raise RuleError("names", "a person needs a name in at least one script")
    for script, name in names.items():
        text.check_title(name, f"names.{script}")
    aliases = []
    for alias in data.aliases:
        alias = " ".join(alias.split())
        if alias and alias not in aliases:
            text.check_title(alias, "aliases")
            aliases.append(alias)
    if data.birth_year is not None and not 1900 <= data.birth_year <= now_year:
        raise RuleError("birth_year", f"a year of birth is between 1900 and {now_year}")
    return {
        "names": names,
        "aliases": aliases,
        "birth_year": data.birth_year,
        "nationality": data.nationality,
        "cnic": check_cnic(data.cnic) if data.cnic else None,
        "national_code": check_iran_national_code(data.national_code) if data.national_code else None,
        "passport": data.passport.strip().upper() if data.passport and data.passport.strip() else None,
        "note": data.note.strip(),
    }


def create_person(
    session: Session, node: Node, actor: Actor, data: PersonIn, *, client_ip: str = ""
) -> IntelEntity:
    """Record a person (``intel.write``); a bad identifier is refused (422 ``bad_identifier``), a number
    already recorded too (409), before anything is written."""
    require(actor, Permission.INTEL_WRITE, "recording persons")
    now = node.clock.now()
    try:
        values = _checked(data, now.year)
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    for field in ("cnic", "national_code"):
        value = values[field]
        if value is None:
            continue
        column = getattr(IntelEntity, field)
        holder = session.scalar(select(IntelEntity.id).where(column == value))
        if holder is not None:
            raise Conflict(
                f"{field}: {value} is already recorded for person {holder}",
                details={"field": field, "id": holder},
            )
    person = IntelEntity(
        origin=node.party,
        id=new_id(),
        kind="person",
        created_by=actor.username,
        created_at=now,
        updated_at=now,
        **values,
    )
    session.add(person)
    session.flush()
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="intel_entity.create",
        record_kind=KIND,
        record_id=person.id,
        client_ip=client_ip,
        details={"kind": "person"},
    )
    return person


MAX_LIST = 1000


def list_persons(
    session: Session, node: Node, actor: Actor, q: str | None = None, limit: int = 200
) -> Sequence[IntelEntity]:
    """Persons, newest first; ``q`` matches a name in any script, an alias or an identifier."""
    require(actor, Permission.INTEL_READ, "reading intelligence")
    query = select(IntelEntity)
    if q and q.strip():
        pattern = like_pattern(q.strip())
        query = query.where(
            or_(
                cast(IntelEntity.names, String).ilike(pattern, escape="\\"),
                cast(IntelEntity.aliases, String).ilike(pattern, escape="\\"),
                IntelEntity.cnic.ilike(pattern, escape="\\"),
                IntelEntity.national_code.ilike(pattern, escape="\\"),
                IntelEntity.passport.ilike(pattern, escape="\\"),
            )
        )
    query = query.order_by(IntelEntity.created_at.desc(), IntelEntity.id.desc()).limit(
        max(1, min(limit, MAX_LIST))
    )
    return session.scalars(query).all()


def get_person(
    session: Session, node: Node, actor: Actor, entity_id: str, *, client_ip: str = ""
) -> IntelEntity:
    """One person; the read is audited (``intel_entity.read``)."""
    require(actor, Permission.INTEL_READ, "reading intelligence")
    person = session.get(IntelEntity, (node.party, entity_id))
    if person is None:
        raise NotFound(f"no person {entity_id} is recorded here")
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="intel_entity.read",
        record_kind=KIND,
        record_id=person.id,
        client_ip=client_ip,
        details={"origin": person.origin},
    )
    return person
