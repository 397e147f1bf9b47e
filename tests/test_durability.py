"""Crashes and full or read-only disks: the workspace opens again, SQLite finds nothing damaged,
every acknowledged batch is there, and indexing again completes the rest without doubles."""
import os
import re
import resource
import subprocess
import sys
from contextlib import contextmanager

import pytest

from tests.corpus import write_many
from tests.images import REPOSITORY
from tests.server import kill_group, served
from tests.store_check import integrity, stored_uris
from tests.test_cli import app

IMAGES = 5000


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('durability') / 'images')
    return folder, write_many(folder, IMAGES)


def index_in_background(grpc_port: int, paths) -> subprocess.Popen:
    """tests/ack_client.py indexing `paths` through the served Flow: it prints `ack URI` per stored image."""
    return subprocess.Popen([sys.executable, os.path.join(REPOSITORY, 'tests', 'ack_client.py'), str(grpc_port),
                             *paths], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)


def acknowledged(client: subprocess.Popen, count: int = None) -> list:
    """The uris the client reports as stored: until there are `count`, or all it printed."""
    uris = []
    for line in client.stdout:
        if not line.startswith('ack '):  # Jina's client logs a lost server to stdout
            continue
        uris.append(line[len('ack '):].rstrip('\n'))
        if len(uris) == count:
            return uris
    assert count is None, f'the client stopped after {len(uris)} acknowledgements'
    return uris


def kill_index_run_after(folder: str, workspace: str, done: int) -> int:
    """Start `app.py index folder`, kill -9 its whole process group once its progress line says at
    least `done` images are answered; the count it had reported."""
    process = subprocess.Popen([sys.executable, os.path.join(REPOSITORY, 'app.py'), 'index', folder,
                                '--workspace', workspace], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    reported = 0
    try:
        for line in process.stderr:
            progress = re.match(r'indexing (\d+)/', line)
            if progress:
                reported = int(progress.group(1))
                if reported >= done:
                    break
    finally:
        kill_group(process)
    assert reported >= done, 'the run ended before it could be killed'
    return reported


def test_kill_9_mid_index_loses_nothing_acknowledged_and_a_rerun_completes(images, tmp_path):
    folder, paths = images
    workspace = str(tmp_path / 'workspace')

    # 1. A served Flow killed while a client streams batches to it.
    with served(workspace, '--allow-root', folder) as (server, grpc_port, _):
        client = index_in_background(grpc_port, paths)
        try:
            seen = acknowledged(client, 1000)
            kill_group(server)
        finally:
            kill_group(client)
        seen += acknowledged(client)  # answers it had printed by then
    assert integrity(workspace) == 'ok'
    after_kill = stored_uris(workspace)
    assert set(seen) <= set(after_kill) and max(after_kill.values()) == 1
    assert len(after_kill) < IMAGES, 'the kill came too late to test anything'

    # 2. The command line's own run (client and local Flow) killed in the middle.
    reported = kill_index_run_after(folder, workspace, done=IMAGES // 2)
    assert integrity(workspace) == 'ok'
    after_second_kill = stored_uris(workspace)
    assert set(seen) <= set(after_second_kill) and max(after_second_kill.values()) == 1
    assert len(after_second_kill) >= reported

    # 3. Indexing again finishes the job: every image exactly once.
    run = app('index', folder, '--workspace', workspace)
    assert run.returncode == 0, run.stderr
    before = len(after_second_kill)
    assert f'indexed {IMAGES - before} new, 0 updated, {before} unchanged, 0 failed' in run.stderr
    assert stored_uris(workspace) == {path: 1 for path in paths}
    assert integrity(workspace) == 'ok'


def mount(*arguments: str) -> None:
    run = subprocess.run(['mount', *arguments], capture_output=True, text=True)
    if run.returncode:
        pytest.skip(f'this machine does not let the tests mount a filesystem: {run.stderr.strip()}')


@contextmanager
def read_only(folder: str):
    """`folder` on a read-only filesystem (root), or without write permission (anyone else)."""
    if os.geteuid() != 0:
        modes = {}
        for root, folders, files in os.walk(folder):
            for path in [root] + [os.path.join(root, name) for name in folders + files]:
                modes[path] = os.stat(path).st_mode
                os.chmod(path, modes[path] & ~0o222)
        try:
            yield
        finally:
            for path, mode in modes.items():
                os.chmod(path, mode)
        return
    mount('--bind', '-o', 'ro', folder, folder)
    try:
        yield
    finally:
        subprocess.run(['umount', folder], check=True)


def test_a_read_only_workspace_gets_a_clear_error_and_stays_intact(images, tmp_path):
    folder, paths = images
    workspace = str(tmp_path / 'workspace')
    assert app('index', *paths[:20], '--workspace', workspace).returncode == 0
    with read_only(workspace):
        run = app('index', *paths[20:40], '--workspace', workspace)
        assert run.returncode == 1
        assert f'error: cannot use the workspace {workspace}: ' in run.stderr and 'read-only' in run.stderr
        assert 'Traceback' not in run.stderr
    assert integrity(workspace) == 'ok' and stored_uris(workspace) == {path: 1 for path in paths[:20]}
    assert app('index', *paths[20:40], '--workspace', workspace).returncode == 0
    assert stored_uris(workspace) == {path: 1 for path in paths[:40]}


@contextmanager
def tmpfs(folder: str, size: str):
    os.makedirs(folder)
    mount('-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', folder)
    try:
        yield lambda new_size: subprocess.run(['mount', '-o', f'remount,size={new_size}', folder], check=True)
    finally:
        subprocess.run(['umount', folder], check=True)


def limited_file_size(max_bytes: int):
    """A preexec_fn: files this process and its children write stop growing at max_bytes (EFBIG)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))


def index_until_full(folder: str, workspace: str, paths, **popen) -> int:
    """`app.py index` on a disk that fills up: some batches fail, named; the count it stored."""
    run = subprocess.run([sys.executable, os.path.join(REPOSITORY, 'app.py'), 'index', folder,
                          '--workspace', workspace], capture_output=True, text=True, timeout=600, **popen)
    assert run.returncode == 3, run.stderr  # some done, some failed
    assert re.search(r'error: \S+: server error: .*(database or disk is full|disk I/O error)', run.stderr)
    stored = int(re.search(r'indexed (\d+) new, 0 updated, 0 unchanged, (\d+) failed', run.stderr).group(1))
    assert 0 < stored < len(paths)
    kept = stored_uris(workspace)
    assert integrity(workspace) == 'ok' and len(kept) == stored and set(kept) <= set(paths) and max(kept.values()) == 1
    return stored


@pytest.fixture
def few_images(images, tmp_path):
    """600 of the images, in a folder of their own (hard links: no copying)."""
    few = str(tmp_path / 'few')
    os.makedirs(few)
    for path in images[1][:600]:
        os.link(path, os.path.join(few, os.path.basename(path)))
    return few, sorted(os.path.join(few, name) for name in os.listdir(few))


def test_a_full_disk_fails_the_batches_that_do_not_fit_and_damages_nothing(few_images, tmp_path):
    folder, paths = few_images
    disk = str(tmp_path / 'disk')
    with tmpfs(disk, '256k') as resize:
        workspace = os.path.join(disk, 'workspace')
        index_until_full(folder, workspace, paths)
        resize('64m')  # room again: the same workspace takes the rest
        assert app('index', folder, '--workspace', workspace).returncode == 0
        assert integrity(workspace) == 'ok' and stored_uris(workspace) == {path: 1 for path in paths}


def test_a_file_size_limit_fails_the_batches_that_do_not_fit_and_damages_nothing(few_images, tmp_path):
    """The same as a full disk, where no filesystem can be mounted: writes past RLIMIT_FSIZE fail."""
    folder, paths = few_images
    workspace = str(tmp_path / 'workspace')
    index_until_full(folder, workspace, paths, preexec_fn=limited_file_size(256 * 1024))
    assert app('index', folder, '--workspace', workspace).returncode == 0
    assert integrity(workspace) == 'ok' and stored_uris(workspace) == {path: 1 for path in paths}
