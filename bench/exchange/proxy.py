"""A round-robin TCP proxy for the exchange benchmark: each new connection goes to the next target.

    python -m bench.exchange.proxy LISTEN_PORT TARGET_PORT [TARGET_PORT ...]

It stands in front of a node's several ``sarhad serve`` processes (``--receiver-processes``), as a load
balancer would in a deployment. Only loopback; it copies bytes and looks at nothing, so it costs little CPU
(the exchange's batches are a few large writes). It stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve(listen: int, targets: list[int]) -> None:
    turn = itertools.cycle(targets)

    async def connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", next(turn))
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    server = await asyncio.start_server(connect, "127.0.0.1", listen)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with server:
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), [int(p) for p in sys.argv[2:]]))
