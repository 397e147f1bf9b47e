"""`app.py serve` as a separate process group on free loopback ports, for tests that kill it."""
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

from tests.images import REPOSITORY
from tests.network import free_ports


@contextmanager
def served(workspace: str, *options: str, timeout: float = 180):
    """Yield (process, grpc_port, http_port) once the Flow serves; kill what is left at the end.

    The server gets a session of its own, so os.killpg(process.pid, SIGKILL) ends the gateway
    and both executors at once, as a power cut or the OOM killer would.
    """
    grpc_port, http_port = free_ports(2)
    process = subprocess.Popen([sys.executable, os.path.join(REPOSITORY, 'app.py'), 'serve', '--workspace', workspace,
                                '--port-grpc', str(grpc_port), '--port-http', str(http_port), *options],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while 'serving' not in process.stderr.readline():
            assert process.poll() is None and time.monotonic() < deadline, 'the server did not start'
        threading.Thread(target=process.stderr.read, daemon=True).start()  # a full pipe would stall it
        yield process, grpc_port, http_port
    finally:
        kill_group(process)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL to the process and every process it started (they share its process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:  # all gone already
        pass
    process.wait(timeout=60)
