"""The delivery worker: pushes each link's backlog in capped batches and stores the peer's receipts.

Runs as a background task in every app process. It wakes when a release commits in this process
(after-commit hook), when a peer says hello, when a back-off timer runs out, and every ``POLL_SECONDS`` to
look (one cheap read) for envelopes committed by other processes. A lease on the peer row makes sure only one process
pushes a given link at a time; even without it, a duplicate push is harmless (the receiver is idempotent).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import json
import logging
import os
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import or_, select, update

from sarhad.core.errors import ErrorCode
from sarhad.core.node import Node
from sarhad.exchange import outbox, peers, protocol
from sarhad.exchange.domain import DeliveryWake, backoff_seconds, link_id
from sarhad.exchange.models import LinkHead, Peer
from sarhad.exchange.receipts import accept_receipt
from sarhad.exchange.receive import receive_batch
from sarhad.exchange.refusals import ExchangeRefusal
from sarhad.exchange.transport import PeerResponse, PeerUnreachable, link_path, make_client, send

log = logging.getLogger("sarhad.exchange.delivery")
LEASE_SECONDS = (
    30  # kept while the process lives, renewed when half has run out; > a request's timeout (15 s)
)
POLL_SECONDS = 0.2  # a cheap read that notices releases committed by other processes (CLI, jobs, API workers)
PULL_SECONDS = 2.0  # how often a pull-only link asks its peer for envelopes
PIPELINE = 2  # batches out at once: the peer verifies one while it applies the other
FRESH_MAX = 5000  # envelopes handed over by after-commit hooks and held for the next push, per peer


class DeliveryWorker:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.wake_event = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.cursor: dict[str, int] = {}  # peer -> seq we believe the peer holds
        self.batch_limit: dict[str, int] = {}  # peer -> envelopes per batch it accepted (halved on 413)
        self.last_pull: dict[str, float] = {}  # peer -> loop time of the last pull
        self.lease_until: dict[str, float] = {}  # peer -> loop time our lease on it lapses
        self.healthy: dict[str, bool] = {}  # peer -> we last recorded it as answering (no failures)
        self.urls: dict[str, str] = {}  # peer -> its URL, as of the last full pass (push peers only)
        self.woken: set[str] = set()  # peers with new envelopes committed in this process since the last pass
        self.last_pass = float("-inf")  # loop time of the last full pass
        # peer -> {seq: body} of envelopes this process has just committed, handed over by the after-commit
        # hook so the next push need not read them back from the database
        self.fresh: dict[str, dict[int, str]] = {}

    def wake(self, party: str | None = None, fresh: Sequence[tuple[int, str]] = ()) -> None:
        """Thread-safe: called from after-commit hooks running in worker threads. ``party``: the peer that
        has new envelopes (None: look at every peer); ``fresh``: those envelopes, as (seq, body)."""
        self.loop.call_soon_threadsafe(self._woken, party, fresh)

    def _woken(self, party: str | None, fresh: Sequence[tuple[int, str]]) -> None:
        if party is None:
            self.last_pass = float("-inf")  # a full pass next
        else:
            self.woken.add(party)
            held = self.fresh.setdefault(party, {})
            if len(held) + len(fresh) <= FRESH_MAX:
                held.update(fresh)
            else:  # the peer is not keeping up: read from the database instead
                held.clear()
        self.wake_event.set()

    def _take_fresh(self, party: str, after: int | None = None) -> tuple[int, list[str]] | None:
        """The next batch from the handed-over envelopes, if they follow on from ``after`` (default: what the
        peer holds)."""
        held = self.fresh.get(party)
        after = self.cursor.get(party) if after is None else after
        if not held or after is None:
            return None
        for seq in [seq for seq in held if seq <= after]:
            del held[seq]  # already delivered
        limit = min(self.batch_limit.get(party, FRESH_MAX), self.node.settings.exchange_batch_max_envelopes)
        budget = self.node.settings.exchange_batch_max_bytes
        bodies: list[str] = []
        while (body := held.get(after + len(bodies) + 1)) is not None and len(bodies) < limit:
            if bodies and len(body) > budget:
                break
            budget -= len(body)
            bodies.append(body)
        if not bodies:
            return None  # a gap (another process released in between): read from the database
        for seq in range(after + 1, after + len(bodies) + 1):
            del held[seq]
        return after, bodies

    async def run(self) -> None:
        self.node.components.put(DeliveryWake(self.wake))
        await asyncio.to_thread(self._clear_dead_leases)
        try:
            async with make_client(self.node) as client:
                await self._say_hello(client)
                delay = 0.0
                while True:
                    woken, self.woken = self.woken, set()
                    if self.loop.time() - self.last_pass >= min(delay, POLL_SECONDS) or not self._fast(woken):
                        delay = await self.cycle(client)
                    else:
                        # A release committed here for peers we are talking to: push at once, without
                        # first reading every peer's state again (that is what the full pass is for).
                        for party in sorted(woken):
                            delay = min(
                                delay, await self._serve(client, party, self.urls[party], True, False)
                            )
                    if self.woken:
                        continue
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake_event.wait(), timeout=delay)
                    self.wake_event.clear()
        finally:  # stopping: let another process take the links at once instead of after the lease
            for party in list(self.lease_until):
                with contextlib.suppress(Exception):
                    self._release_lease(party)
            self.lease_until.clear()

    def _fast(self, woken: set[str]) -> bool:
        """Whether the woken peers can be pushed to straight away: each answered last time, is a push peer
        we hold the lease of, and nothing else is due."""
        if not woken:
            return False
        now = self.loop.time()
        return all(
            self.healthy.get(party)
            and party in self.urls
            and now < self.lease_until.get(party, float("-inf")) - LEASE_SECONDS / 2
            for party in woken
        )

    async def cycle(self, client: aiohttp.ClientSession) -> float:
        """One pass over the peers; returns how long to sleep before the next pass."""
        peers = await asyncio.to_thread(self._due_peers)
        self.last_pass = self.loop.time()
        self.urls = {party: url for party, url, push, *_ in peers if push}
        delay = POLL_SECONDS
        now = self.loop.time()
        for party, url, push, pull, wait, pending, failing in peers:
            if failing:  # recorded as failing (maybe by another process): record the recovery when it comes
                self.healthy[party] = False
            if wait > 0:
                delay = min(delay, wait) if pending or pull else delay
                continue
            push = push and pending  # nothing unreceipted: no lease, no request
            pull = pull and now - self.last_pull.get(party, float("-inf")) >= PULL_SECONDS
            if not (push or pull):
                continue
            if pull:
                self.last_pull[party] = now
            delay = min(delay, await self._serve(client, party, url, push, pull))
        return delay

    async def _serve(
        self, client: aiohttp.ClientSession, party: str, url: str, push: bool, pull: bool
    ) -> float:
        """Push to and/or pull from one peer; returns how long to wait before trying it again."""
        if not await self._ensure_lease(party):
            return 1.0
        try:
            talked = False
            if push:
                talked |= await self.push(client, party, url)
            if pull:
                talked |= await self.pull(client, party, url)
            if talked and not self.healthy.get(party):
                await asyncio.to_thread(self._note, party, None)
                self.healthy[party] = True
        except PeerUnavailable as exc:
            self.healthy[party] = False
            failures = await asyncio.to_thread(self._note, party, str(exc))
            return backoff_seconds(failures)
        except Exception as exc:  # a bug or a database error with this peer must not stall the others
            log.exception("delivery to %s failed", party)
            self.healthy[party] = False
            failures = await asyncio.to_thread(self._note, party, f"{type(exc).__name__}: {exc}")
            return backoff_seconds(failures)
        return POLL_SECONDS

    async def _ensure_lease(self, party: str) -> bool:
        """Hold the peer's lease; it is kept between passes and renewed when half of it has run out."""
        now = self.loop.time()
        if now < self.lease_until.get(party, float("-inf")) - LEASE_SECONDS / 2:
            return True
        if not await asyncio.to_thread(self._take_lease, party):
            self.lease_until.pop(party, None)
            return False
        self.lease_until[party] = now + LEASE_SECONDS
        return True

    # -- database steps (run in threads) --

    def _due_peers(self) -> list[tuple[str, str, bool, bool, float, bool, bool]]:
        """Each peer: party, url, push, pull, seconds of back-off left, whether anything is unreceipted, and
        whether it is recorded as failing."""
        now = self.node.clock.now()
        with self.node.sessions() as session:
            heads = {
                link: seq > receipted
                for link, seq, receipted in session.execute(
                    select(LinkHead.link, LinkHead.seq, LinkHead.receipted_seq)
                )
            }
            result = []
            for p in session.scalars(select(Peer)).all():
                wait = (p.next_attempt_at - now).total_seconds() if p.next_attempt_at else 0.0
                pending = heads.get(link_id(self.node.party, p.party), False)
                result.append((p.party, p.url, p.push, p.pull, max(0.0, wait), pending, p.failures > 0))
            return result

    def _take_lease(self, party: str) -> bool:
        now = self.node.clock.now()
        with self.node.transaction() as session:
            result = session.execute(
                update(Peer)
                .where(
                    Peer.party == party,
                    or_(Peer.lease_until.is_(None), Peer.lease_until < now, Peer.lease_owner == self.owner),
                )
                .values(lease_owner=self.owner, lease_until=now + timedelta(seconds=LEASE_SECONDS))
            )
            return bool(getattr(result, "rowcount", 0))

    def _clear_dead_leases(self) -> None:
        """Free leases held by processes of this host that no longer exist (a crash, kill -9)."""
        host = socket.gethostname()
        with self.node.transaction() as session:
            for peer in session.scalars(select(Peer).where(Peer.lease_owner.startswith(f"{host}:"))).all():
                try:
                    pid = int(peer.lease_owner.split(":")[1])
                    os.kill(pid, 0)
                except ProcessLookupError:
                    peer.lease_owner, peer.lease_until = "", None
                except (ValueError, IndexError, PermissionError):
                    continue

    def _release_lease(self, party: str) -> None:
        with self.node.transaction() as session:
            session.execute(
                update(Peer)
                .where(Peer.party == party, Peer.lease_owner == self.owner)
                .values(lease_owner="", lease_until=None)
            )

    def _note(self, party: str, error: str | None) -> int:
        with self.node.transaction() as session:
            peer = session.get(Peer, party)
            failures = (peer.failures + 1) if peer and error else 0
            next_at: datetime | None = None
            if error is not None:
                next_at = self.node.clock.now() + timedelta(seconds=backoff_seconds(failures))
            peers.note_contact(session, self.node, party, error, next_at)
            return failures

    def _batch(self, party: str, after: int | None = None) -> tuple[int, list[str]]:
        """The next batch for the peer: after ``after``, or after what we believe it holds."""
        with self.node.sessions() as session:
            head = session.get(LinkHead, link_id(self.node.party, party))
            if head is None:
                return 0, []
            if after is None:
                after = self.cursor.get(party, head.receipted_seq)
            if after > head.seq:
                after = head.receipted_seq
            limit = self.batch_limit.get(party)
            return after, outbox.outbound_batch(session, self.node, party, after, max_count=limit)

    def _mark_sent(self, party: str, up_to: int) -> None:
        with self.node.transaction() as session:
            outbox.mark_sent(session, self.node, party, up_to)

    def _accept(self, party: str, receipt: Any, sent_up_to: int | None = None) -> int:
        with self.node.transaction() as session:
            return accept_receipt(session, self.node, party, receipt, sent_up_to)

    # -- network steps --

    async def push(self, client: aiohttp.ClientSession, party: str, url: str) -> bool:
        """Send batches until the link is drained or the peer stops accepting; True if the peer answered.

        After a full batch the next one goes out at once, before the first is answered (at most ``PIPELINE``
        batches are out): the peer verifies the second while it applies the first, and this node reads and
        sends while the peer works. Answers are taken in order; when one is not a plain receipt for its whole
        batch, the answers of the batches behind it are ignored and sending resumes from what the peer holds.
        """
        talked = False
        settings = self.node.settings
        path = link_path(self.node.party, party, "envelopes")
        flights: collections.deque[_Flight] = collections.deque()

        def launch(after: int, bodies: list[str]) -> _Flight:
            payload = ('{"envelopes":[' + ",".join(bodies) + "]}").encode()
            full = (
                len(bodies) >= (self.batch_limit.get(party) or settings.exchange_batch_max_envelopes)
                or len(payload) >= settings.exchange_batch_max_bytes // 2
            )
            task = asyncio.ensure_future(send(client, self.node, url, "POST", path, raw_body=payload))
            return _Flight(after=after, bodies=bodies, full=full, task=task)

        async def abandon() -> None:
            """The batches still out answer for a state already left behind: let them end, ignore them."""
            while flights:
                with contextlib.suppress(Exception):
                    await flights.popleft().task

        try:
            while True:
                while len(flights) < PIPELINE and (not flights or flights[-1].full):
                    if not await self._ensure_lease(party):
                        if not flights:
                            return talked  # another process took over the link
                        break
                    start = flights[-1].after + len(flights[-1].bodies) if flights else None
                    batch = self._take_fresh(party, start)
                    after, bodies = (
                        batch if batch is not None else await asyncio.to_thread(self._batch, party, start)
                    )
                    if not bodies:
                        break
                    flights.append(launch(after, bodies))
                if not flights:
                    return talked
                flight = flights.popleft()
                try:
                    response = await flight.task
                except PeerUnreachable as exc:
                    raise PeerUnavailable(str(exc)) from exc
                talked = True
                last_sent = flight.after + len(flight.bodies)
                answer = _json(response)
                error = answer.get("error", {}) if isinstance(answer.get("error"), dict) else {}
                details = error.get("details", {}) if isinstance(error.get("details"), dict) else {}
                if response.status_code == 413 and len(flight.bodies) > 1:
                    # The peer's limits are smaller than ours: halve the batch for this peer and go on.
                    self.batch_limit[party] = max(1, len(flight.bodies) // 2)
                    log.info(
                        "peer %s refused a batch of %s as too large; now sending %s",
                        party,
                        len(flight.bodies),
                        self.batch_limit[party],
                    )
                    await abandon()
                    continue
                try:
                    if response.status_code == 200 and "receipt" in answer:
                        try:
                            accepted = await asyncio.to_thread(
                                self._accept, party, answer["receipt"], last_sent
                            )
                        except ExchangeRefusal:
                            await asyncio.to_thread(self._mark_sent, party, last_sent)  # they did go out
                            raise
                        self.cursor[party] = accepted
                        if accepted != last_sent:
                            # The receipt stopped short (the receiver met a gap): resume from it.
                            await abandon()
                            continue
                        if not flight.full and not flights:
                            # A short batch emptied the link when it was read; what was released since
                            # comes by a wake (this process) or the poll (others).
                            return talked
                        continue
                    if (
                        response.status_code == 409
                        and error.get("code") == "seq_gap"
                        and "receipt" in details
                    ):
                        seq = await asyncio.to_thread(self._accept_gap, party, details["receipt"])
                        log.info("peer %s holds up to %s; resending from %s", party, seq, seq + 1)
                        self.cursor[party] = seq
                        await abandon()
                        continue
                except ExchangeRefusal as exc:
                    raise PeerUnavailable(f"peer's receipt refused: {exc.code}: {exc.message}") from exc
                raise PeerUnavailable(
                    f"peer refused batch after seq {flight.after}: HTTP {response.status_code} "
                    f"{error.get('code', '')}: {error.get('message', response.text[:300])}"
                )
        finally:
            # Leaving with batches out (an error, a stop): their answers are not needed.
            for flight in flights:
                flight.task.cancel()

    def _accept_gap(self, party: str, receipt: Any) -> int:
        """A gap answer's receipt moves the cursor, even backwards (a peer restored from a backup)."""
        with self.node.transaction() as session:
            head = session.get(LinkHead, link_id(self.node.party, party))
            assert head is not None
            seq = receipt.get("seq") if isinstance(receipt, dict) else None
            if isinstance(seq, int) and seq < head.receipted_seq:
                try:
                    protocol.verify_receipt(
                        protocol.check_receipt_shape(receipt), peers.peer_keys(session, party)
                    )
                except protocol.ProtocolError as exc:
                    raise ExchangeRefusal(exc.message, code=ErrorCode(exc.code)) from exc
                return seq
            return accept_receipt(session, self.node, party, receipt)

    async def pull(self, client: aiohttp.ClientSession, party: str, url: str) -> bool:
        """Fetch what the peer holds for us (when it cannot connect to us) and receipt it; True if it answered."""
        link = link_id(party, self.node.party)
        limit = self.node.settings.exchange_batch_max_envelopes
        talked = False
        while True:
            with self.node.sessions() as session:
                head = session.get(LinkHead, link)
                after = head.seq if head else 0
            path = link_path(party, self.node.party, "envelopes") + f"?after={after}&limit={limit}"
            try:
                response = await send(client, self.node, url, "GET", path)
            except PeerUnreachable as exc:
                raise PeerUnavailable(str(exc)) from exc
            talked = True
            answer = _json(response)
            if response.status_code != 200:
                raise PeerUnavailable(f"pull refused: HTTP {response.status_code} {answer.get('error', '')}")
            try:  # exactly: duplicate member names, unsafe numbers and deep nesting refused (§2.1)
                exact = protocol.parse_json_strict(response.content, protocol.MAX_DEPTH + 2, "pull answer")
            except protocol.ProtocolError as exc:
                raise PeerUnavailable(f"pulled batch refused: {exc.code}: {exc.message}") from exc
            envelopes = exact.get("envelopes", []) if isinstance(exact, dict) else []
            if not isinstance(envelopes, list) or not envelopes:
                return talked
            try:
                result = await asyncio.to_thread(receive_batch, self.node, link, envelopes)
            except ExchangeRefusal as exc:
                raise PeerUnavailable(f"pulled batch refused: {exc.code}: {exc.message}") from exc
            receipt_path = link_path(party, self.node.party, "receipts")
            try:
                await send(client, self.node, url, "POST", receipt_path, {"receipt": result.receipt})
            except PeerUnreachable as exc:
                raise PeerUnavailable(f"could not return the receipt: {exc}") from exc

    async def _say_hello(self, client: aiohttp.ClientSession) -> None:
        """Tell every peer we are up, so it resumes pushing to us at once instead of waiting out its back-off."""
        peers = await asyncio.to_thread(self._due_peers)
        for _party, url, *_ in peers:
            with contextlib.suppress(PeerUnreachable):
                await send(client, self.node, url, "POST", "/exchange/v1/hello", {"party": self.node.party})


@dataclasses.dataclass
class _Flight:
    """A batch sent and not yet answered."""

    after: int
    bodies: list[str]
    full: bool
    task: asyncio.Future[PeerResponse]


class PeerUnavailable(Exception):
    """The peer did not answer or refused; try again after a back-off."""


def _json(response: PeerResponse) -> dict[str, Any]:
    try:
        value = response.json()
    except (json.JSONDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


async def delivery_task(node: Node) -> None:
    worker = DeliveryWorker(node)
    while True:
        try:
            await worker.run()
        except asyncio.CancelledError:
            raise
        except Exception:  # never let a bug stop delivery for good; log and start again
            log.exception("delivery worker crashed; restarting in 2 s")
            await asyncio.sleep(2)
