"""Receiving a batch of envelopes from a peer: shape check, then verify, then accept in order.

1. **Shape** (no database): the link is addressed to this node, the batch is within the limits, every
   envelope has the protocol's shape, they are all for this link and in sequence.
2. **Verify**: hashes and signatures against the sender's keys, each valid for its window of seqs. A large
   batch is verified before its turn (in spawned processes, ``verifiers``), while the batch before it on the
   link is still being applied; a small one inside the write transaction.
3. **Accept in order**, in one transaction: each envelope is placed against the head of the link
   (:class:`Placement`): the next seq is accepted if it chains, one already held is a duplicate (the same
   hash) or equivocation (another hash), anything else is refused. The records of the accepted envelopes
   go to the inbox (``inbox``) and the answer is a signed cumulative receipt.

A refusal (:mod:`~sarhad.exchange.refusals`) leaves nothing written. On a gap it carries our receipt, so the
sender resumes where we are. Equivocation is recorded as evidence and an alert in a transaction of its own,
then refused.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.core.database import insert_rows, table_of
from sarhad.core.errors import ErrorCode
from sarhad.core.node import Node
from sarhad.exchange import protocol, verifiers
from sarhad.exchange.alerts import raise_alert
from sarhad.exchange.domain import (
    BASE_LANE,
    KEY_ROTATION_KIND,
    LANES,
    Lane,
    lane_of_link,
    link_id,
    split_link,
)
from sarhad.exchange.inbox import Pending, apply_pending, prepare_record
from sarhad.exchange.models import Evidence, InboundEnvelope, LinkHead, Peer
from sarhad.exchange.peers import PeerKeyRing, open_lane_chain
from sarhad.exchange.receipts import issue_receipt
from sarhad.exchange.refusals import (
    ExchangeConflict,
    ExchangeForbidden,
    ExchangeNotFound,
    ExchangeRefusal,
    ExchangeTooLarge,
)


@dataclass(frozen=True)
class BatchResult:
    """The answer to a push: our signed cumulative receipt and what became of the batch's envelopes."""

    receipt: dict[str, Any]
    applied: int
    duplicates: int
    quarantined: int


@dataclass(frozen=True)
class Equivocation:
    """Two different envelopes validly signed for one seq: the one we hold and the one just received."""

    env: dict[str, Any]
    first_body: str


class Placement(Enum):
    """Where an envelope falls on its link, against the head of what this node holds."""

    NEXT = "next"  # the seq after the head: accepted if it chains to the head
    DUPLICATE = "duplicate"  # held already, with the same hash: a harmless resend
    EQUIVOCATION = "equivocation"  # held already, with another hash: a fault at the sender or a stolen key
    UNKNOWN = "unknown"  # at or below the head, but not held: refused
    GAP = "gap"  # beyond the seq after the head: refused with our receipt, so the sender resumes


@dataclass
class _Accepted:
    """The envelopes of a batch accepted so far (their inbox entries) and the duplicates passed over."""

    pending: list[Pending] = field(default_factory=list)
    duplicates: int = 0


@dataclass(frozen=True)
class _EarlyVerdicts:
    """A large batch's verdicts, made before its turn with the sender's keys as they were then."""

    windows: list[protocol.KeyWindow]
    verdicts: list[verifiers.Verdict]


def receive_batch(node: Node, link: str, envelopes: list[Any], raw: bytes | None = None) -> BatchResult:
    """Verify and apply a batch from a peer in one transaction; answer with a signed cumulative receipt.

    Raises :class:`ExchangeRefusal` (nothing written) for anything malformed, forged or out of order. On a gap
    (the batch starts after our last seq + 1) the refusal carries our receipt so the sender resumes.
    Equivocation is recorded as evidence and an alert in its own transaction, then refused.

    ``raw`` is the push body the envelopes were parsed from (by orjson, which keeps the last of two members
    of one name). The batch is applied only if ``raw`` is proven free of duplicate member names: either it
    is byte for byte ``{"envelopes":[E1,E2,...]}`` with each ``Ei`` the canonical JSON of the envelope
    parsed (which a sender of canonical envelopes always sends, and which cannot hold a duplicate, since
    canonical JSON is written from the parsed objects), or the exact, slower parse of
    :func:`~sarhad.exchange.protocol.canonical.parse_json_strict` finds none. Pulled batches are parsed
    exactly by the puller and pass no ``raw``.
    """
    sender = _sender(node, link)
    try:
        checked = _check_shape(node, link, envelopes)
    except ExchangeRefusal:
        _check_strictly(raw)  # a duplicate member may be why the shape is wrong: say so precisely
        raise
    with _turn(node, link, checked[0]["seq"] if checked else 0) as ticket:
        early = _verify_early(node, link, sender, checked)
        ticket.wait()  # batches of this link that came in together are applied in the order of their seqs
        with _gate(node).turn(lane_of_link(link)):  # a FLASH is not left behind the next bulk batch
            outcome = _accept(node, link, sender, checked, early, raw)
    if isinstance(outcome, Equivocation):
        _record_equivocation(node, link, outcome)
        raise ExchangeConflict.at(
            ErrorCode.EQUIVOCATION,
            f"envelope seq {outcome.env['seq']} differs from the one already accepted for that seq; "
            "both are kept as evidence and an alert was raised",
            outcome.env["seq"],
        )
    return outcome


# --- 1. shape -------------------------------------------------------------------------------------------------


def _sender(node: Node, link: str) -> str:
    """The sending party of ``link``, which must be addressed to this node."""
    try:
        sender, receiver = split_link(link)
    except ValueError as exc:
        raise ExchangeNotFound.at(ErrorCode.UNKNOWN_LINK, str(exc)) from exc
    if receiver != node.party:
        raise ExchangeNotFound.at(
            ErrorCode.UNKNOWN_LINK, f"this node is {node.party}; link {link} is not addressed to it"
        )
    return sender


def _check_shape(node: Node, link: str, envelopes: list[Any]) -> list[dict[str, Any]]:
    """The batch's envelopes, each of the protocol's shape, all for ``link`` and in sequence."""
    max_count = node.settings.exchange_batch_max_envelopes
    if len(envelopes) > max_count:
        raise ExchangeTooLarge.at(
            ErrorCode.TOO_LARGE, f"batch of {len(envelopes)} envelopes exceeds the limit of {max_count}"
        )
    checked: list[dict[str, Any]] = []
    for index, raw in enumerate(envelopes):
        try:
            checked.append(protocol.check_envelope_shape(raw))
        except protocol.ProtocolError as exc:  # malformed, too_deep or unsafe_number
            raise ExchangeRefusal.at(
                ErrorCode(exc.code), f"envelope {index} in the batch: {exc.message}", exc.seq
            ) from exc
    for index, env in enumerate(checked):
        if env["link"] != link:
            raise ExchangeRefusal.at(
                ErrorCode.BAD_LINK, f"envelope {index} is for link {env['link']}, not {link}", env["seq"]
            )
        if index and env["seq"] != checked[index - 1]["seq"] + 1:
            raise ExchangeRefusal.at(
                ErrorCode.MALFORMED,
                f"batch is not in sequence: seq {env['seq']} follows {checked[index - 1]['seq']}",
                env["seq"],
            )
    return checked


def _check_strictly(raw: bytes | None) -> None:
    """Parse a push body exactly; refuse it with ``duplicate_member`` (or the domain's codes) if it must be."""
    if raw is None:
        return
    try:
        protocol.parse_json_strict(raw, protocol.MAX_DEPTH + 2, "push body")
    except protocol.ProtocolError as exc:
        raise ExchangeRefusal.at(ErrorCode(exc.code), exc.message) from exc


def _check_unique(raw: bytes | None, verdicts: list[verifiers.Verdict]) -> None:
    """Prove the push body free of duplicate member names: cheaply if it is the canonical form of what was
    parsed (the verdicts carry each envelope's canonical JSON), else by parsing it exactly."""
    if raw is None:
        return
    texts = [v.text for v in verdicts if not isinstance(v, protocol.ProtocolError)]
    if len(texts) == len(verdicts) and raw == b'{"envelopes":[' + ",".join(texts).encode() + b"]}":
        return
    _check_strictly(raw)


# --- 2. verify ------------------------------------------------------------------------------------------------


def _verify_early(node: Node, link: str, sender: str, checked: list[dict[str, Any]]) -> _EarlyVerdicts | None:
    """A backlog (a large batch) is verified before its turn, while the batch before it is applied."""
    if len(checked) < verifiers.PARALLEL_FROM:
        return None
    with node.sessions() as session:
        windows = PeerKeyRing(session, sender, link).windows
    return _EarlyVerdicts(windows, verifiers.verify_all(checked, windows))


def _verdicts(
    checked: list[dict[str, Any]], ring: PeerKeyRing, early: _EarlyVerdicts | None
) -> list[verifiers.Verdict]:
    """The early verdicts if the sender's keys have not changed since (a rotation in the batch before), else
    the batch verified now (a small one, a live link, always is: no extra read)."""
    if early is not None and ring.windows == early.windows:
        return early.verdicts
    return verifiers.verify_all(checked, ring.windows)


# --- 3. accept in order ---------------------------------------------------------------------------------------


def _accept(
    node: Node,
    link: str,
    sender: str,
    checked: list[dict[str, Any]],
    early: _EarlyVerdicts | None,
    raw: bytes | None = None,
) -> BatchResult | Equivocation:
    """Accept the batch in one transaction: the envelopes in order, their records, our receipt."""
    with node.transaction() as session:
        if session.get(Peer, sender) is None:
            raise ExchangeForbidden.at(
                ErrorCode.UNKNOWN_PEER, f"{sender} is not a configured peer of {node.party}"
            )
        head = session.scalar(select(LinkHead).where(LinkHead.link == link).with_for_update())
        if head is None:
            head = _open_lane(session, node, link, sender)
        now = node.clock.now()  # the batch's time of receipt
        ring = PeerKeyRing(session, sender, link)
        verdicts = _verdicts(checked, ring, early)
        _check_unique(raw, verdicts)
        accepted = _accept_in_order(session, node, head, checked, verdicts, ring, now)
        if isinstance(accepted, Equivocation):
            return accepted  # met before any envelope was accepted: this transaction has written nothing
        batch = accepted.pending
        apply_pending(session, node, batch)
        if batch:  # one statement for the whole batch
            insert_rows(session, table_of(InboundEnvelope), [p.row for p in batch])
        quarantined = sum(p.row["status"] == "quarantined" for p in batch)
        receipt = issue_receipt(session, node, head)
        peer = session.get(Peer, sender)
        if peer is not None:
            peer.last_contact_at = now
        return BatchResult(
            receipt=receipt,
            applied=len(batch) - quarantined,
            duplicates=accepted.duplicates,
            quarantined=quarantined,
        )


def _open_lane(session: Session, node: Node, link: str, sender: str) -> LinkHead:
    """The head of a precedence lane's chain from ``sender``, opened on its first push (refused when this
    node does not speak lanes: then only the base chain exists)."""
    if not node.settings.exchange_lanes or lane_of_link(link) == BASE_LANE:
        raise ExchangeNotFound.at(ErrorCode.UNKNOWN_LINK, f"no link {link}")
    if session.get(LinkHead, link_id(sender, node.party)) is None:
        raise ExchangeNotFound.at(ErrorCode.UNKNOWN_LINK, f"no link {link}")
    session.add(LinkHead.opened(link, "in", sender, node.clock.now()))
    session.flush()
    head = session.scalar(select(LinkHead).where(LinkHead.link == link).with_for_update())
    assert head is not None
    return head


def _place(session: Session, head: LinkHead, env: dict[str, Any]) -> tuple[Placement, InboundEnvelope | None]:
    """Where ``env`` falls against the head of its link, with the envelope held for its seq (if any)."""
    seq = env["seq"]
    if seq == head.seq + 1:
        return Placement.NEXT, None
    if seq > head.seq + 1:
        return Placement.GAP, None
    held = session.get(InboundEnvelope, (head.link, seq))
    if held is None:
        return Placement.UNKNOWN, None
    return (Placement.DUPLICATE if held.hash == env["hash"] else Placement.EQUIVOCATION), held


def _accept_in_order(
    session: Session,
    node: Node,
    head: LinkHead,
    checked: list[dict[str, Any]],
    verdicts: list[verifiers.Verdict],
    ring: PeerKeyRing,
    now: datetime,
) -> _Accepted | Equivocation:
    """Each envelope in turn: its verdict, then its place on the link; an accepted one advances the head.

    A batch is in sequence, so the envelopes it holds already (duplicates, or equivocation) all come before
    the first new one, and a gap can only be met before anything is accepted.
    """
    accepted = _Accepted()
    for index, env in enumerate(checked):
        seq = env["seq"]
        verdict = verdicts[index]
        if isinstance(verdict, protocol.ProtocolError):
            raise ExchangeRefusal.at(
                ErrorCode(verdict.code), f"envelope seq {seq}: {verdict.message}", seq
            ) from verdict
        placement, held = _place(session, head, env)
        match placement:
            case Placement.DUPLICATE:
                accepted.duplicates += 1
            case Placement.EQUIVOCATION:
                assert held is not None and not accepted.pending
                return Equivocation(env, held.body)
            case Placement.UNKNOWN:
                raise ExchangeRefusal.at(
                    ErrorCode.BAD_PREV,
                    f"envelope seq {seq} is at or below our head {head.seq} but unknown",
                    seq,
                )
            case Placement.GAP:
                raise ExchangeConflict(
                    f"expected seq {head.seq + 1}, got {seq}; resend from {head.seq + 1}",
                    code=ErrorCode.SEQ_GAP,
                    details={"seq": seq, "receipt": issue_receipt(session, node, head), "last_seq": head.seq},
                )
            case Placement.NEXT:
                if env["prev"] != head.hash:
                    raise ExchangeRefusal.at(
                        ErrorCode.BAD_PREV,
                        f"envelope seq {seq} does not chain to our envelope {head.seq}",
                        seq,
                    )
                if ring.lane and seq == 1:
                    # A lane chain's first envelope fixes the key that signs the lane until a rotation on it.
                    open_lane_chain(session, head.link, ring.party, env["key"])
                    ring.reload()
                    verdicts[index + 1 :] = verifiers.verify_all(checked[index + 1 :], ring.windows)
                pending = prepare_record(session, node, head.link, env, verdict, now)
                accepted.pending.append(pending)
                if pending.row["record_kind"] == KEY_ROTATION_KIND and pending.row["status"] == "applied":
                    # The keys changed from here on: verify the rest of the batch again with the new ring.
                    ring.reload()
                    verdicts[index + 1 :] = verifiers.verify_all(checked[index + 1 :], ring.windows)
                head.seq, head.hash, head.updated_at = seq, env["hash"], now
    return accepted


def _record_equivocation(node: Node, link: str, found: Equivocation) -> None:
    """Keep both envelopes as evidence and raise an alert, in a transaction of their own."""
    env = found.env
    second = protocol.canonical_json(env).decode()
    with node.transaction() as session:
        session.add(
            Evidence(
                kind="equivocation",
                link=link,
                seq=env["seq"],
                first_body=found.first_body,
                second_body=second,
                detected_at=node.clock.now(),
            )
        )
        raise_alert(
            session,
            node,
            kind="equivocation",
            severity="critical",
            link=link,
            seq=env["seq"],
            message=f"two different envelopes validly signed for {link} seq {env['seq']}: a fault at "
            "the sender or a stolen key. The second was refused; both are kept as evidence.",
        )


# --- precedence between lanes --------------------------------------------------------------------------------


class _PrecedenceGate:
    """A batch of a lower precedence lane waits (at most ``GATE_SECONDS``) while a batch of a higher lane is
    waiting to be applied or being applied, so that the write lock goes to the higher lane next: a FLASH waits
    for at most the one bulk batch already being applied, not for the next ones queued behind it."""

    GATE_SECONDS = 2.0

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.active: dict[int, int] = {}  # lane's rank (0 = flash) -> batches registered

    @contextmanager
    def turn(self, lane: Lane) -> Iterator[None]:
        rank = LANES.index(lane)
        with self.condition:
            self.active[rank] = self.active.get(rank, 0) + 1
            self.condition.wait_for(
                lambda: not any(n for r, n in self.active.items() if r < rank), timeout=self.GATE_SECONDS
            )
        try:
            yield
        finally:
            with self.condition:
                self.active[rank] -= 1
                self.condition.notify_all()


def _gate(node: Node) -> _PrecedenceGate:
    return node.components.setdefault(_PrecedenceGate, _PrecedenceGate)


# --- the turnstile of each link -------------------------------------------------------------------------------


_turnstiles_lock = threading.Lock()


class _Turnstile:
    """Batches of one link that this process is receiving at the same time are applied in seq order.

    A sender may have a second batch on its way while the first is applied; the second is verified at once
    but waits here for its turn (at most ``TURN_SECONDS``; after that it goes ahead, and at worst meets a gap
    and is sent again).
    """

    TURN_SECONDS = 10.0

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.waiting: list[int] = []  # first seqs of the batches registered and not yet done

    def register(self, first: int) -> _Ticket:
        with self.condition:
            self.waiting.append(first)
        return _Ticket(self, first)


@dataclass
class _Ticket:
    turnstile: _Turnstile
    first: int
    active: bool = True

    def wait(self) -> None:
        turnstile = self.turnstile
        with turnstile.condition:
            turnstile.condition.wait_for(
                lambda: min(turnstile.waiting) >= self.first, timeout=turnstile.TURN_SECONDS
            )

    def done(self) -> None:
        if not self.active:
            return
        self.active = False
        turnstile = self.turnstile
        with turnstile.condition:
            turnstile.waiting.remove(self.first)
            turnstile.condition.notify_all()


class _Turnstiles(dict[str, _Turnstile]):
    """The turnstile of each link, one set per node (in ``node.components``)."""


def _turnstile(node: Node, link: str) -> _Turnstile:
    with _turnstiles_lock:
        return node.components.setdefault(_Turnstiles, _Turnstiles).setdefault(link, _Turnstile())


@contextmanager
def _turn(node: Node, link: str, first_seq: int) -> Iterator[_Ticket]:
    """A place in the link's turnstile for the batch starting at ``first_seq``, given up when the batch is
    done with, whatever happened to it."""
    ticket = _turnstile(node, link).register(first_seq)
    try:
        yield ticket
    finally:
        ticket.done()
