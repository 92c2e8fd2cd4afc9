"""A poor link on loopback: a TCP proxy that limits bandwidth, adds latency, and drops or stalls connections.

Put it between two nodes (point one node's peer URL at ``link.url``) to see the exchange over a border
post's link: tens of kbit/s, long round trips, connections that break or hang.

- **Bandwidth** (``bits_per_second``, each direction on its own): one wire per direction, shared by every
  connection through the proxy. Each connection has at most one packet (``PACKET`` bytes) waiting for the
  wire, and the wire is granted in turn (``asyncio.Lock`` is fair), so connections share it like a router
  with fair queuing (fq_codel, Linux's default): a small request is not stuck behind another connection's
  megabytes. Data the proxy has not read yet waits in the sender's socket buffers, as on a real bottleneck.
- **Latency** (``rtt_seconds``): half of it one way, added after a packet has crossed the wire.
- **Faults**: :meth:`EmulatedLink.drop` aborts every open connection (both ends see a reset);
  :meth:`EmulatedLink.stall` keeps connections open but moves no byte (a black hole) until :meth:`resume`;
  ``refuse`` makes new connections close at once (the far end is down).

Usable from synchronous code (tests, benchmarks): ``EmulatedLink`` runs the proxy in an event loop of its own
thread. The counters (``bytes_forwarded``) let a test see what went through without timing anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

PACKET = 1460  # bytes per packet on the emulated wire (a TCP segment on Ethernet)


class _Wire:
    """One direction of the link: serialises packets at the link's rate, in turn per connection."""

    def __init__(self, bits_per_second: float | None) -> None:
        self.bits_per_second = bits_per_second
        self.free_at = 0.0
        self.lock = asyncio.Lock()

    async def cross(self, size: int) -> float:
        """Wait until ``size`` bytes have crossed the wire; return the loop time they were through."""
        loop = asyncio.get_running_loop()
        if self.bits_per_second is None:
            return loop.time()
        async with self.lock:
            start = max(loop.time(), self.free_at)
            self.free_at = start + size * 8 / self.bits_per_second
            through = self.free_at
        await asyncio.sleep(max(0.0, through - loop.time()))
        return through


@dataclass
class _Counters:
    connections: int = 0
    bytes_forwarded: int = 0
    open: set[asyncio.Task[Any]] = field(default_factory=set)


class LinkProxy:
    """The proxy itself, inside a running event loop (see :class:`EmulatedLink` for synchronous use)."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        bits_per_second: float | None = None,
        rtt_seconds: float = 0.0,
        listen_host: str = "127.0.0.1",
    ) -> None:
        self.target = (target_host, target_port)
        self.listen_host = listen_host
        self.one_way = rtt_seconds / 2
        self.up = _Wire(bits_per_second)  # client -> target
        self.down = _Wire(bits_per_second)  # target -> client
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.refuse = False
        self.closing = False
        self.counters = _Counters()
        self.writers: set[asyncio.StreamWriter] = set()
        self.handlers: set[asyncio.Task[Any]] = set()  # one per connection
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._connection, self.listen_host, 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        self.drop()
        self.closing = True
        pumps = list(self.counters.open)
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        if self.handlers:  # each ends once its pumps have (or, opening, sees ``closing``)
            await asyncio.wait(list(self.handlers), timeout=5)
        if self.server is not None:
            with contextlib.suppress(Exception):
                await self.server.wait_closed()

    def drop(self) -> None:
        """Abort every open connection through the link (both ends see the connection reset)."""
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def _connection(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        if self.refuse:
            client_writer.transport.abort()
            return
        handler = asyncio.current_task()
        if handler is not None:
            self.handlers.add(handler)
            handler.add_done_callback(self.handlers.discard)
        self.counters.connections += 1
        # Opening the connection costs a round trip on the emulated link (the SYN / SYN-ACK).
        await asyncio.sleep(2 * self.one_way)
        if self.closing:
            client_writer.transport.abort()
            return
        try:
            target_reader, target_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self.writers.update((client_writer, target_writer))
        tasks = [
            asyncio.ensure_future(self._pump(client_reader, target_writer, self.up)),
            asyncio.ensure_future(self._pump(target_reader, client_writer, self.down)),
        ]
        self.counters.open.update(tasks)
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self.counters.open.difference_update(tasks)
            for writer in (client_writer, target_writer):
                self.writers.discard(writer)
                writer.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: _Wire) -> None:
        """Move one direction's bytes: over the wire (bandwidth), then after the one-way delay (latency)."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        deliver = asyncio.ensure_future(self._deliver(queue, writer))
        try:
            while True:
                await self.flowing.wait()
                chunk = await reader.read(PACKET)
                if not chunk:
                    break
                await self.flowing.wait()
                through = await wire.cross(len(chunk))
                await queue.put((through + self.one_way, chunk))
            await queue.put((asyncio.get_running_loop().time() + self.one_way, b""))
            await deliver
        except (ConnectionError, OSError):
            pass
        finally:
            deliver.cancel()

    async def _deliver(self, queue: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while True:
            at, chunk = await queue.get()
            await asyncio.sleep(max(0.0, at - loop.time()))
            await self.flowing.wait()
            if not chunk:
                with contextlib.suppress(OSError, RuntimeError):
                    writer.write_eof()
                return
            self.counters.bytes_forwarded += len(chunk)  # counted before the far end can see it
            writer.write(chunk)
            await writer.drain()


class EmulatedLink:
    """A :class:`LinkProxy` in a thread of its own, for synchronous tests and benchmarks.

    ``with EmulatedLink("127.0.0.1", port, bits_per_second=64_000, rtt_seconds=0.6) as link: ... link.url``
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        bits_per_second: float | None = None,
        rtt_seconds: float = 0.0,
    ) -> None:
        self._args = (target_host, target_port)
        self._kwargs: dict[str, Any] = {"bits_per_second": bits_per_second, "rtt_seconds": rtt_seconds}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="link-emulator", daemon=True)
        self.proxy: LinkProxy | None = None

    def start(self) -> Self:
        self._thread.start()
        self.proxy = self._call(self._make)
        return self

    async def _make(self) -> LinkProxy:
        proxy = LinkProxy(*self._args, **self._kwargs)
        await proxy.start()
        return proxy

    def _call(self, make: Callable[[], Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(make(), self._loop).result(timeout=30)

    def _proxy(self) -> LinkProxy:
        assert self.proxy is not None, "start the link first"
        return self.proxy

    @property
    def port(self) -> int:
        return self._proxy().port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bytes_forwarded(self) -> int:
        return self._proxy().counters.bytes_forwarded

    @property
    def connections(self) -> int:
        return self._proxy().counters.connections

    def drop(self) -> None:
        """Abort every open connection."""
        self._loop.call_soon_threadsafe(self._proxy().drop)

    def stall(self) -> None:
        """Keep connections open but move no byte, until :meth:`resume`."""
        self._loop.call_soon_threadsafe(self._proxy().flowing.clear)

    def resume(self) -> None:
        self._loop.call_soon_threadsafe(self._proxy().flowing.set)

    def set_refuse(self, refuse: bool) -> None:
        """New connections are closed at once (the far end is down) while ``refuse`` is true."""
        self._proxy().refuse = refuse

    def stop(self) -> None:
        if self.proxy is not None:
            with contextlib.suppress(Exception):
                self._call(self.proxy.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
