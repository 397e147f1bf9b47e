"""`app.py serve` as a separate process group on free loopback ports, for tests that kill it."""
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

from tests.images import REPOSITORY
from tests.network import free_ports


@contextmanager
def served(workspace: str, *options: str, timeout: float = 180):
    """Yield (process, grpc_port, http_port) once the Flow serves; kill what is left at the end.
    process.log is the path of the server's log (its stderr and stdout), while it serves.

    The server gets a session of its own, so os.killpg(process.pid, SIGKILL) ends the gateway
    and both executors at once, as a power cut or the OOM killer would. Its stderr goes to a
    file, read back for the "serving" line: a pipe would need a reader until the end.
    """
    grpc_port, http_port = free_ports(2)
    with tempfile.NamedTemporaryFile('w', prefix='serve-', suffix='.log') as log, open(log.name) as lines:
        process = subprocess.Popen([sys.executable, os.path.join(REPOSITORY, 'app.py'), 'serve', '--workspace',
                                    workspace, '--port-grpc', str(grpc_port), '--port-http', str(http_port), *options],
                                   stdout=log, stderr=log, start_new_session=True)
        process.log = log.name
        try:
            deadline = time.monotonic() + timeout
            while not lines.readline().startswith('serving '):  # app.py's own line, not Jina's banner
                assert process.poll() is None, 'the server did not start:\n' + open(log.name).read()
                assert time.monotonic() < deadline, 'the server did not start in time'
                time.sleep(0.1)
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
