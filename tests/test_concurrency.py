"""Four clients indexing and searching one served Flow at once, over gRPC and HTTP (loopback only).

Each client indexes its own images in small batches and searches for what it has just
indexed; all four also index the same shared images, racing each other. Nothing may fail,
every image must end up stored exactly once, and each shared image must be reported new to
exactly one client and updated to the other three.
"""
import base64
import threading
from collections import Counter

import pytest
from docarray import DocList

from executors.documents import ImageDoc
from tests.corpus import write_many
from tests.server import served
from tests.store_check import integrity, stored_uris
from tests.test_flow import http_post

CLIENTS, OWN, SHARED, BATCH = 4, 120, 40, 8
DEADLINE = 600  # seconds: the whole exercise is bounded, a stuck client fails the test


@pytest.fixture(scope='module')
def flow(tmp_path_factory):
    """`app.py serve` in a process of its own (tests/server.py), as a user runs it. A Flow started
    inside this test process forks it with the gRPC threads of earlier tests' clients alive, and
    twice in a clean-clone CI run the forked executors crashed (SIGSEGV, SIGABRT) at start."""
    base = tmp_path_factory.mktemp('concurrency')
    paths = write_many(str(base / 'images'), CLIENTS * OWN + SHARED, size=32)
    workspace = str(base / 'workspace')
    with served(workspace, '--allow-root', str(base / 'images')) as (_, grpc_port, http_port):
        yield grpc_port, http_port, workspace, paths


def grpc_post(grpc_port: int, by_bytes: bool):
    """A client of its own (one per thread) that answers (uri, status, error, match uris at 0 bits)."""
    from jina import Client
    client = Client(host=f'grpc://127.0.0.1:{grpc_port}')

    def post(endpoint, paths):
        docs = DocList[ImageDoc]([ImageDoc(uri=path, blob=open(path, 'rb').read() if by_bytes else None)
                                  for path in paths])
        answered = client.post(endpoint, inputs=docs, return_type=DocList[ImageDoc])
        return [(d.uri, d.status, d.error, [m.uri for m in d.matches if m.distance == 0]) for d in answered]
    return post


def json_post(http_port: int, by_bytes: bool):
    def post(endpoint, paths):
        data = [{'uri': path, 'blob': base64.b64encode(open(path, 'rb').read()).decode()} if by_bytes
                else {'uri': path} for path in paths]
        status, answer = http_post(http_port, endpoint, {'data': data})
        assert status == 200, answer
        return [(d['uri'], d['status'], d['error'], [m['uri'] for m in d['matches'] if m['distance'] == 0])
                for d in answer['data']]
    return post


def work(post, own, shared, log: list) -> None:
    """Index own images batch by batch, searching each batch right after, then the shared ones."""
    for start in range(0, len(own), BATCH):
        batch = own[start:start + BATCH]
        log.extend(('index',) + answer for answer in post('/index', batch))
        log.extend(('search',) + answer for answer in post('/search', batch))
    for start in range(0, len(shared), BATCH):
        log.extend(('index',) + answer for answer in post('/index', shared[start:start + BATCH]))


def test_four_clients_at_once_lose_and_double_nothing(flow):
    grpc_port, http_port, workspace, paths = flow
    shared = paths[CLIENTS * OWN:]
    posts = [grpc_post(grpc_port, by_bytes=True), grpc_post(grpc_port, by_bytes=False),
             json_post(http_port, by_bytes=True), json_post(http_port, by_bytes=False)]
    logs, failures = [[] for _ in posts], []

    def run(number):
        try:  # each client sends the shared images in its own order, so the races differ
            order = shared if number % 2 else shared[::-1]
            work(posts[number], paths[number * OWN:(number + 1) * OWN], order, logs[number])
        except Exception as error:
            failures.append(f'client {number}: {type(error).__name__}: {error}')

    threads = [threading.Thread(target=run, args=(number,), daemon=True) for number in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE)
    assert not any(thread.is_alive() for thread in threads), 'a client was still busy at the deadline'
    assert failures == []

    for number, log in enumerate(logs):
        own = set(paths[number * OWN:(number + 1) * OWN])
        assert [error for *_, error, _ in log if error] == []
        assert Counter(kind for kind, *_ in log) == {'index': OWN + SHARED, 'search': OWN}
        assert {uri for kind, uri, status, *_ in log if kind == 'index' and status == 'indexed'} >= own
        for kind, uri, _, _, exact in log:
            if kind == 'search':
                assert uri in exact, (number, uri, exact)  # what was acknowledged is found at once
    statuses = Counter((uri, status) for log in logs for kind, uri, status, *_ in log
                       if kind == 'index' and uri in shared)
    assert statuses == {**{(uri, 'indexed'): 1 for uri in shared}, **{(uri, 'updated'): CLIENTS - 1 for uri in shared}}
    assert stored_uris(workspace) == {path: 1 for path in paths}
    assert integrity(workspace) == 'ok'
