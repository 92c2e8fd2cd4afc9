"""The processes that verify large batches never outlive the node process that started them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from sarhad.exchange import verifiers

pytestmark = pytest.mark.skipif(verifiers.cpus() < 2, reason="one CPU: batches are verified in-process")

NODE = textwrap.dedent(
    """
    import os, sys, time
    from sarhad.exchange import verifiers

    if __name__ == "__main__":
        pool = verifiers._verifier_pool()
        list(pool.map(time.sleep, [0.5] * verifiers.cpus()))  # every worker is up
        print(" ".join(str(pid) for pid in pool._processes), flush=True)
        time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waits for its parent to reap it: it is gone too
        return stat.read().split()[2] != "Z"


def test_verifier_processes_exit_when_their_node_is_killed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "node.py"
    script.write_text(NODE)
    node = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert node.stdout is not None
        workers = [int(pid) for pid in node.stdout.readline().split()]
        assert len(workers) == verifiers.cpus() and all(_alive(pid) for pid in workers)
        node.send_signal(signal.SIGKILL)  # no shutdown, no atexit: only the watch can end them
        node.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in workers if _alive(pid)], "verifier processes outlived their node"
    finally:
        if node.poll() is None:
            node.kill()
        if node.stdout is not None:
            node.stdout.close()  # or the garbage collector finds the pipe open (ResourceWarning)
