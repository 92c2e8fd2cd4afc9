"""The HTTP server of ``sarhad serve``: uvicorn's, except that a stop asked for by a signal ends with exit code 0.

uvicorn, once its graceful shutdown is done, puts the signal's previous handler back and raises the signal again.
With the default handler the process died of it (exit code -15) before ``serve``'s clean-up and Python's exit
handlers ran, so the envelope verifier processes (``sarhad.exchange.verifiers``) were never shut down and
multiprocessing's resource tracker reported their semaphores as leaked. The stop asked for is done by then:
here ``serve`` finishes its clean-up and the process exits normally.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn


class StoppingServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            captured = getattr(self, "_captured_signals", None)  # what uvicorn would raise again
            if isinstance(captured, list):
                captured.clear()
