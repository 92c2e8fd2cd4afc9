"""The delivery worker: pushes each link's backlog in capped batches and stores the peer's receipts.

Runs as a background task in every app process. It wakes when a release commits in this process
(after-commit hook), when a peer says hello, when a back-off timer runs out, and every ``POLL_SECONDS`` to
look (one cheap read) for envelopes committed by other processes. A lease on the peer row makes sure only one process
pushes a given link at a time; even without it, a duplicate push is harmless (the receiver is idempotent).

Delivery leases (issue 17): a process that holds a peer's lease keeps it for as long as it lives, renewing it every
``RENEW_SECONDS`` from a task of its own (on a thread of its own, so a busy thread pool does not delay it), for
``LEASE_SECONDS`` at a time; a stop releases it. When the holder dies (``kill -9``, a crash, a host that vanishes,
on this host or another) nothing renews the lease, it lapses within ``LEASE_SECONDS`` of the last renewal, and
another process that has something to send takes it at its next try (every ``LEASE_RETRY_SECONDS`` while it
waits): delivery resumes within ``TAKEOVER_SECONDS`` of the death. The times of the lease are the database's
clock on PostgreSQL (the processes may run on hosts whose clocks differ a little) and this host's on SQLite (one
host). A holder fences itself: it launches a batch only while its own record of its last renewal says the lease
has at least ``RENEW_SECONDS`` left, and a renewal that finds another owner drops the lease. A holder that was
only stalled (not dead) past its lease may still have a batch on the wire when the new holder sends the same
envelopes: harmless, the receiver takes each seq once and answers the other with a receipt or a ``seq_gap``.
Chosen over PostgreSQL advisory locks held on a connection of the holder: those end at once when the holder's
process dies, but not when its host vanishes (the server notices a dead connection only through TCP keepalive,
hours by default), they need a connection per process held open outside the pool, and SQLite has none.

Precedence lanes (docs/exchange-protocol.md, "Precedence lanes"): with a peer that speaks them, each lane
is a chain of its own, and the pusher serves them by precedence. The next batch always comes from the
highest lane that has envelopes waiting, and goes out at once, next to the batches of lower lanes still on
their way (a FLASH never waits for a bulk batch to be answered). A lower lane passed over ``FAIR_EVERY``
times in a row gets the next batch: nothing starves.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
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
from sqlalchemy import func, or_, select, update

from sarhad.core.errors import ErrorCode
from sarhad.core.node import Node
from sarhad.exchange import outbox, peers, protocol
from sarhad.exchange import peers as peers_module
from sarhad.exchange.alerts import raise_alert
from sarhad.exchange.domain import (
    BASE_LANE,
    LANES,
    LANES_VERSION,
    DeliveryWake,
    Lane,
    backoff_seconds,
    link_id,
    next_lane,
    split_lane_link,
    split_link,
)
from sarhad.exchange.models import LinkHead, Peer
from sarhad.exchange.receipts import receive_receipt
from sarhad.exchange.receive import receive_batch
from sarhad.exchange.refusals import ExchangeRefusal
from sarhad.exchange.transport import PeerResponse, PeerUnreachable, link_path, make_client, send

log = logging.getLogger("sarhad.exchange.delivery")
LEASE_SECONDS = 3.0  # a lease lasts this long after its last renewal (kept while the process lives)
RENEW_SECONDS = 1.0  # the holder renews its leases this often
LEASE_RETRY_SECONDS = 0.5  # a process with something to send tries a lease held elsewhere this often
TAKEOVER_SECONDS = LEASE_SECONDS + LEASE_RETRY_SECONDS  # at most from a holder's death to another's lease
POLL_SECONDS = 0.2  # a cheap read that notices releases committed by other processes (CLI, jobs, API workers)
PULL_SECONDS = 2.0  # how often a pull-only link asks its peer for envelopes
PIPELINE = 2  # batches out at once per chain: the peer verifies one while it applies the other
FRESH_MAX = 5000  # envelopes handed over by after-commit hooks and held for the next push, per chain
FAIR_EVERY = 8  # a waiting lane passed over this many times in a row gets the next batch (anti-starvation)


class DeliveryWorker:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.wake_event = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.cursor: dict[str, int] = {}  # chain (link or lane link) -> seq we believe the peer holds
        self.batch_limit: dict[str, int] = {}  # peer -> envelopes per batch it accepted (halved on 413)
        self.lanes: dict[str, bool] = {}  # peer -> it speaks lanes (as of the last full pass)
        self.gaps: dict[str, int] = {}  # chain -> seq_gap answers in a row, without a receipt in between
        self.nudges: dict[str, asyncio.Event] = {}  # peer -> set when it has new envelopes (a push watches)
        self.touched: dict[
            str, set[str]
        ] = {}  # peer -> chains with envelopes handed over since a push looked
        self.last_pull: dict[str, float] = {}  # peer -> loop time of the last pull
        self.lease_until: dict[str, float] = {}  # peer -> loop time our lease on it lapses (at the latest)
        # the renewals run on a thread of their own: a thread pool busy with requests must not delay them
        self.lease_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sarhad-lease")
        self.healthy: dict[str, bool] = {}  # peer -> we last recorded it as answering (no failures)
        self.urls: dict[str, str] = {}  # peer -> its URL, as of the last full pass (push peers only)
        self.woken: set[str] = set()  # peers with new envelopes committed in this process since the last pass
        self.last_pass = float("-inf")  # loop time of the last full pass
        # chain -> {seq: body} of envelopes this process has just committed, handed over by the after-commit
        # hook so the next push need not read them back from the database
        self.fresh: dict[str, dict[int, str]] = {}

    def wake(self, party: str | None = None, fresh: Sequence[tuple[str, int, str]] = ()) -> None:
        """Thread-safe: called from after-commit hooks running in worker threads. ``party``: the peer that
        has new envelopes (None: look at every peer); ``fresh``: those envelopes, as (chain, seq, body)."""
        self.loop.call_soon_threadsafe(self._woken, party, fresh)

    def _woken(self, party: str | None, fresh: Sequence[tuple[str, int, str]]) -> None:
        if party is None:
            self.last_pass = float("-inf")  # a full pass next
        else:
            self.woken.add(party)
            by_chain: dict[str, dict[int, str]] = {}
            for chain, seq, body in fresh:
                by_chain.setdefault(chain, {})[seq] = body
            self.touched.setdefault(party, set()).update(by_chain)
            for chain, bodies in by_chain.items():
                held = self.fresh.setdefault(chain, {})
                if len(held) + len(bodies) <= FRESH_MAX:
                    held.update(bodies)
                else:  # the peer is not keeping up: read from the database instead
                    held.clear()
            self._nudge(party).set()  # a push to it under way takes the new envelopes at once
        self.wake_event.set()

    def _nudge(self, party: str) -> asyncio.Event:
        return self.nudges.setdefault(party, asyncio.Event())

    def _take_fresh(self, chain: str, after: int | None = None) -> tuple[int, list[str]] | None:
        """The next batch of a chain from the handed-over envelopes, if they follow on from ``after``
        (default: what the peer holds)."""
        held = self.fresh.get(chain)
        after = self.cursor.get(chain) if after is None else after
        if not held or after is None:
            return None
        for seq in [seq for seq in held if seq <= after]:
            del held[seq]  # already delivered
        party = split_link(chain)[1]
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
        self.lease_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sarhad-lease")
        await asyncio.to_thread(self._clear_dead_leases)
        renewer = asyncio.create_task(self._keep_leases(), name="exchange.leases")
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
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await renewer
            for party in list(self.lease_until):
                with contextlib.suppress(Exception):
                    self._release_lease(party)
            self.lease_until.clear()
            self.lease_thread.shutdown(wait=False)

    async def _keep_leases(self) -> None:
        """Renew the leases this process holds every ``RENEW_SECONDS``; drop those another process has taken
        (this one stalled past its lease)."""
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            for party in list(self.lease_until):
                started = self.loop.time()
                try:
                    kept = await self.loop.run_in_executor(self.lease_thread, self._take_lease, party)
                except Exception:  # the database is unreachable: the lease runs out unless a renewal succeeds
                    log.warning("renewing the delivery lease of %s failed", party, exc_info=True)
                    continue
                if kept:
                    self.lease_until[party] = started + LEASE_SECONDS
                else:
                    log.info("the delivery lease of %s is held by another process now", party)
                    self.lease_until.pop(party, None)

    def _holds(self, party: str, now: float) -> bool:
        """Whether this process holds the peer's lease with ``RENEW_SECONDS`` to spare (the fence: a holder
        whose renewals stalled stops launching batches before its lease can lapse)."""
        return now < self.lease_until.get(party, float("-inf")) - RENEW_SECONDS

    def _fast(self, woken: set[str]) -> bool:
        """Whether the woken peers can be pushed to straight away: each answered last time, is a push peer
        we hold the lease of, and nothing else is due."""
        if not woken:
            return False
        now = self.loop.time()
        return all(
            self.healthy.get(party) and party in self.urls and self._holds(party, now) for party in woken
        )

    async def cycle(self, client: aiohttp.ClientSession) -> float:
        """One pass over the peers; returns how long to sleep before the next pass."""
        peers = await asyncio.to_thread(self._due_peers)
        self.last_pass = self.loop.time()
        self.urls = {party: url for party, url, push, *_ in peers if push}
        self.lanes = {party: lanes for party, *_, lanes in peers}
        delay = POLL_SECONDS
        now = self.loop.time()
        for party, url, push, pull, wait, pending, failing, _lanes in peers:
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
            return LEASE_RETRY_SECONDS  # held by another process: try again soon (it may have died)
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
        """Hold the peer's lease: take it (or renew it, if the renewals fell behind); ``_keep_leases`` keeps it."""
        now = self.loop.time()
        if self._holds(party, now):
            return True
        if not await self.loop.run_in_executor(self.lease_thread, self._take_lease, party):
            self.lease_until.pop(party, None)
            return False
        self.lease_until[party] = now + LEASE_SECONDS
        return True

    # -- database steps (run in threads) --

    def _due_peers(self) -> list[tuple[str, str, bool, bool, float, bool, bool, bool]]:
        """Each peer: party, url, push, pull, seconds of back-off left, whether anything is unreceipted (on
        a chain it can be sent: lane chains only to a peer that speaks lanes), whether it is recorded as
        failing, and whether it speaks lanes."""
        now = self.node.clock.now()
        lanes_on = self.node.settings.exchange_lanes
        with self.node.sessions() as session:
            pending: dict[str, set[str]] = {}  # peer -> its chains with something unreceipted
            for link, peer, seq, receipted in session.execute(
                select(LinkHead.link, LinkHead.peer, LinkHead.seq, LinkHead.receipted_seq).where(
                    LinkHead.direction == "out"
                )
            ):
                if seq > receipted:
                    pending.setdefault(peer, set()).add(link)
            result = []
            for p in session.scalars(select(Peer)).all():
                wait = (p.next_attempt_at - now).total_seconds() if p.next_attempt_at else 0.0
                lanes = lanes_on and p.lanes >= LANES_VERSION
                waiting = pending.get(p.party, set())
                if not lanes:
                    waiting &= {link_id(self.node.party, p.party)}
                result.append(
                    (p.party, p.url, p.push, p.pull, max(0.0, wait), bool(waiting), p.failures > 0, lanes)
                )
            return result

    def _take_lease(self, party: str) -> bool:
        """Take the peer's lease if it is free, lapsed or ours (then renew it); False if another holds it."""
        now: Any = self.node.clock.now()
        if self.node.engine.dialect.name == "postgresql":
            now = func.now()  # the database's clock: the same for every process, whatever host it runs on
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

    def _batch(self, chain: str, after: int | None = None) -> tuple[int, list[str]]:
        """The next batch of a chain: after ``after``, or after what we believe the peer holds."""
        _, party, lane = split_lane_link(chain)
        with self.node.sessions() as session:
            head = session.get(LinkHead, chain)
            if head is None:
                return 0, []
            if after is None:
                after = self.cursor.get(chain, head.receipted_seq)
            if after > head.seq:
                after = head.receipted_seq
            limit = self.batch_limit.get(party)
            return after, outbox.outbound_batch(session, self.node, party, after, max_count=limit, lane=lane)

    def _idle_chains(self, party: str) -> set[str]:
        """The peer's chains with nothing beyond what it holds (as far as this worker knows): one read, so a
        push need not read each empty lane's outbox."""
        with self.node.sessions() as session:
            rows = session.execute(
                select(LinkHead.link, LinkHead.seq, LinkHead.receipted_seq).where(
                    LinkHead.peer == party, LinkHead.direction == "out"
                )
            ).all()
        heads = {link: (seq, receipted) for link, seq, receipted in rows}
        idle = set()
        for lane in LANES:
            chain = link_id(self.node.party, party, lane)
            seq, receipted = heads.get(chain, (0, 0))
            if seq <= self.cursor.get(chain, receipted):
                idle.add(chain)
        return idle

    def _mark_sent(self, chain: str, up_to: int) -> None:
        _, party, lane = split_lane_link(chain)
        with self.node.transaction() as session:
            outbox.mark_sent(session, self.node, party, up_to, lane)

    def _accept(self, party: str, receipt: Any, sent_up_to: int | None = None) -> int:
        return receive_receipt(self.node, party, receipt, sent_up_to)

    # -- network steps --

    async def push(self, client: aiohttp.ClientSession, party: str, url: str) -> bool:
        """Send batches until every chain to the peer is drained or the peer stops accepting; True if the
        peer answered.

        Per chain, after a full batch the next one goes out at once, before the first is answered (at most
        ``PIPELINE`` batches are out): the peer verifies the second while it applies the first, and this node
        reads and sends while the peer works. Across chains (precedence lanes), a new batch always comes
        from the highest lane with envelopes waiting (:func:`~sarhad.exchange.domain.next_lane`), and goes
        out next to the lower lanes' batches already on their way. Answers are taken in order per chain;
        when one is not a plain receipt for its whole batch, the answers of the chain's batches behind it
        are ignored and sending resumes from what the peer holds.
        """
        pusher = _Push(self, client, party, url)
        try:
            return await pusher.run()
        finally:
            pusher.stop()

    def _seq_gap(self, chain: str, party: str) -> None:
        """The peer answered a gap: the first is a resumption (resend at once); repeated ones, with no receipt
        in between, are a failure of the link (its back-off applies) and alerted from the ``N``th on."""
        repeats = self.gaps[chain] = self.gaps.get(chain, 0) + 1
        if repeats < 2:
            return
        if repeats == self.node.settings.exchange_seq_gap_alert_after:
            with self.node.transaction() as session:
                raise_alert(
                    session,
                    self.node,
                    kind="seq_gap_repeated",
                    severity="warning",
                    link=chain,
                    seq=self.cursor.get(chain),
                    message=f"{party} answered seq_gap {repeats} times in a row on {chain} and takes "
                    "nothing we resend (a node restored from a backup, or a fault): backing off",
                )
        raise PeerUnavailable(f"{party} answered seq_gap {repeats} times in a row on {chain}; backing off")

    def _accept_gap(self, party: str, receipt: Any) -> int:
        """A gap answer's receipt moves the cursor, even backwards (a peer restored from a backup)."""
        seq = receipt.get("seq") if isinstance(receipt, dict) else None
        chain = receipt.get("link") if isinstance(receipt, dict) else None
        with self.node.transaction() as session:
            head = session.get(LinkHead, chain) if isinstance(chain, str) else None
            if head is not None and head.peer == party and isinstance(seq, int) and seq < head.receipted_seq:
                try:
                    protocol.verify_receipt(
                        protocol.check_receipt_shape(receipt), peers.peer_keys(session, party)
                    )
                except protocol.ProtocolError as exc:
                    raise ExchangeRefusal(exc.message, code=ErrorCode(exc.code)) from exc
                return seq
        return receive_receipt(self.node, party, receipt)

    async def pull(self, client: aiohttp.ClientSession, party: str, url: str) -> bool:
        """Fetch what the peer holds for us (when it cannot connect to us) and receipt it, lane by lane,
        highest first (one chain if it does not speak lanes); True if it answered."""
        lanes = LANES if self.lanes.get(party) else (BASE_LANE,)
        talked = False
        for lane in lanes:
            talked |= await self._pull_chain(client, party, url, lane)
        return talked

    async def _pull_chain(self, client: aiohttp.ClientSession, party: str, url: str, lane: Lane) -> bool:
        link = link_id(party, self.node.party, lane)
        limit = self.node.settings.exchange_batch_max_envelopes
        query = "" if lane == BASE_LANE else f"&lane={lane.value}"
        talked = False
        while True:
            with self.node.sessions() as session:
                head = session.get(LinkHead, link)
                after = head.seq if head else 0
            path = link_path(party, self.node.party, "envelopes") + f"?after={after}&limit={limit}{query}"
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
        """Tell every peer we are up, so it resumes pushing to us at once instead of waiting out its back-off;
        with lanes on, offer them, and note what each peer's answer offers."""
        peers = await asyncio.to_thread(self._due_peers)
        lanes_on = self.node.settings.exchange_lanes
        body: dict[str, Any] = {"party": self.node.party}
        if lanes_on:
            body["lanes"] = LANES_VERSION
        for party, url, *_ in peers:
            with contextlib.suppress(PeerUnreachable):
                answer = await send(client, self.node, url, "POST", "/exchange/v1/hello", body)
                if lanes_on and answer.status_code == 200:
                    await asyncio.to_thread(
                        self._note_lanes, party, peers_module.offered_lanes(answer.content)
                    )

    def _note_lanes(self, party: str, version: int) -> None:
        with self.node.transaction() as session:
            peers_module.note_lanes(session, party, version)
        self.lanes[party] = version >= LANES_VERSION


@dataclasses.dataclass
class _Flight:
    """A batch sent and not yet answered."""

    after: int
    bodies: list[str]
    full: bool
    task: asyncio.Future[PeerResponse]


class _Push:
    """One push to a peer: the batches of each of its chains, served by precedence (see ``push``)."""

    def __init__(self, worker: DeliveryWorker, client: aiohttp.ClientSession, party: str, url: str) -> None:
        self.worker, self.client, self.party, self.url = worker, client, party, url
        me = worker.node.party
        lanes = LANES if worker.lanes.get(party) else (BASE_LANE,)
        self.chains: dict[Lane, str] = {lane: link_id(me, party, lane) for lane in lanes}
        self.flights: dict[str, collections.deque[_Flight]] = {
            c: collections.deque() for c in self.chains.values()
        }
        self.drained: set[Lane] = set()  # read to their end (until new envelopes are handed over)
        self.passed_over: dict[Lane, int] = {}  # lane -> batches of higher lanes sent while it waited
        self.talked = False

    async def run(self) -> bool:
        nudge = self.worker._nudge(self.party)
        self.worker.touched.pop(self.party, None)
        if len(self.chains) > 1:  # lanes: start from the chains that have something to send
            idle = await asyncio.to_thread(self.worker._idle_chains, self.party)
            self.drained = {lane for lane, chain in self.chains.items() if chain in idle}
        while True:
            if nudge.is_set():  # new envelopes were handed over: look at those chains again
                nudge.clear()
                touched = self.worker.touched.pop(self.party, set())
                self.drained = {lane for lane in self.drained if self.chains[lane] not in touched}
            if not await self._launch():
                return self.talked  # another process took over the link
            heads: list[asyncio.Future[Any]] = [deque[0].task for deque in self.flights.values() if deque]
            if not heads:
                return self.talked
            waiter = asyncio.ensure_future(nudge.wait())
            try:
                await asyncio.wait([*heads, waiter], return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
            for lane, chain in self.chains.items():
                deque = self.flights[chain]
                while deque and deque[0].task.done():
                    await self._answer(lane, chain, deque.popleft())

    async def _launch(self) -> bool:
        """Send the next batches: from the highest waiting lane (or a starving one), as many as its pipeline
        takes. False if the lease is lost and nothing is out."""
        worker, settings = self.worker, self.worker.node.settings
        while True:
            waiting = [lane for lane in self.chains if lane not in self.drained]
            if not waiting:
                return True
            lane = next_lane(waiting, self.passed_over, FAIR_EVERY)
            chain = self.chains[lane]
            deque = self.flights[chain]
            if len(deque) >= PIPELINE or (deque and not deque[-1].full):
                return True  # the lane to serve is busy: its answers come first (lower lanes wait)
            if not await worker._ensure_lease(self.party):
                return any(self.flights.values())
            start = deque[-1].after + len(deque[-1].bodies) if deque else None
            batch = worker._take_fresh(chain, start)
            after, bodies = (
                batch if batch is not None else await asyncio.to_thread(worker._batch, chain, start)
            )
            if not bodies:
                self.drained.add(lane)
                self.passed_over.pop(lane, None)
                continue
            payload = ('{"envelopes":[' + ",".join(bodies) + "]}").encode()
            full = (
                len(bodies) >= (worker.batch_limit.get(self.party) or settings.exchange_batch_max_envelopes)
                or len(payload) >= settings.exchange_batch_max_bytes // 2
            )
            path = link_path(worker.node.party, self.party, "envelopes")
            if lane != BASE_LANE:
                path += f"?lane={lane.value}"
            task = asyncio.ensure_future(
                send(self.client, worker.node, self.url, "POST", path, raw_body=payload)
            )
            deque.append(_Flight(after=after, bodies=bodies, full=full, task=task))
            self.passed_over[lane] = 0
            for other in waiting:
                if LANES.index(other) > LANES.index(lane):
                    self.passed_over[other] = self.passed_over.get(other, 0) + 1
            if not full:
                self.drained.add(lane)  # a short batch read the chain to its end

    async def _answer(self, lane: Lane, chain: str, flight: _Flight) -> None:
        """Take one chain's oldest answer; raises PeerUnavailable when the peer is not taking envelopes."""
        worker, party = self.worker, self.party
        try:
            response = flight.task.result()
        except PeerUnreachable as exc:
            raise PeerUnavailable(str(exc)) from exc
        self.talked = True
        last_sent = flight.after + len(flight.bodies)
        answer = _json(response)
        error = answer.get("error", {}) if isinstance(answer.get("error"), dict) else {}
        details = error.get("details", {}) if isinstance(error.get("details"), dict) else {}
        if response.status_code == 413 and len(flight.bodies) > 1:
            # The peer's limits are smaller than ours: halve the batch for this peer and go on.
            worker.batch_limit[party] = max(1, len(flight.bodies) // 2)
            log.info(
                "peer %s refused a batch of %s as too large; now sending %s",
                party,
                len(flight.bodies),
                worker.batch_limit[party],
            )
            self._abandon(lane, chain)
            return
        try:
            if response.status_code == 200 and "receipt" in answer:
                try:
                    accepted = await asyncio.to_thread(worker._accept, party, answer["receipt"], last_sent)
                except ExchangeRefusal:
                    await asyncio.to_thread(worker._mark_sent, chain, last_sent)  # they did go out
                    raise
                worker.cursor[chain] = accepted
                worker.gaps.pop(chain, None)
                if accepted != last_sent:
                    # The receipt stopped short (the receiver met a gap): resume from it.
                    self._abandon(lane, chain)
                return
            if response.status_code == 409 and error.get("code") == "seq_gap" and "receipt" in details:
                seq = await asyncio.to_thread(worker._accept_gap, party, details["receipt"])
                log.info("peer %s holds up to %s on %s; resending from %s", party, seq, chain, seq + 1)
                worker.cursor[chain] = seq
                self._abandon(lane, chain)
                await asyncio.to_thread(worker._seq_gap, chain, party)
                return
        except ExchangeRefusal as exc:
            raise PeerUnavailable(f"peer's receipt refused: {exc.code}: {exc.message}") from exc
        raise PeerUnavailable(
            f"peer refused batch after seq {flight.after} on {chain}: HTTP {response.status_code} "
            f"{error.get('code', '')}: {error.get('message', response.text[:300])}"
        )

    def _abandon(self, lane: Lane, chain: str) -> None:
        """The chain's batches still out answer for a state already left behind: let them end, unheard."""
        for flight in self.flights[chain]:
            flight.task.add_done_callback(_ignore)
        self.flights[chain].clear()
        self.drained.discard(lane)

    def stop(self) -> None:
        """Leaving with batches out (an error, a stop): their answers are not needed."""
        for deque in self.flights.values():
            for flight in deque:
                flight.task.cancel()
                flight.task.add_done_callback(_ignore)


def _ignore(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned request's outcome, so that asyncio does not report it as never retrieved."""
    if not task.cancelled():
        task.exception()


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
