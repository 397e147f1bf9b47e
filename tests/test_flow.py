"""The real Flow from flow.yml, reached over gRPC with jina.Client and over HTTP with a JSON POST."""
import base64
import json
import os
import socket
import urllib.error
import urllib.request

import pytest
from docarray import DocList

from executors.documents import ImageDoc
from tests.images import DATA, INDEX_IMAGES, QUERY_IMAGES, original_of
from tests.network import outside_address
from tests.server import served


@pytest.fixture(scope='module')
def flow(tmp_path_factory):
    """flow.yml served by `app.py serve` in a process of its own (tests/server.py): a Flow started
    inside the test process would fork it with other tests' gRPC threads alive (test_concurrency)."""
    with served(str(tmp_path_factory.mktemp('workspace')), '--allow-root', DATA) as (_, grpc_port, http_port):
        from jina import Client
        client = Client(host=f'grpc://127.0.0.1:{grpc_port}')
        docs = DocList[ImageDoc]([ImageDoc(uri=p, blob=open(p, 'rb').read()) for p in INDEX_IMAGES])
        indexed = client.post('/index', inputs=docs, return_type=DocList[ImageDoc])
        assert [d.status for d in indexed] == ['indexed'] * len(INDEX_IMAGES)
        yield client, http_port


def http_post(port, endpoint, body):
    request = urllib.request.Request(f'http://127.0.0.1:{port}{endpoint}', data=json.dumps(body).encode(),
                                     headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def matches_of(doc):
    return [(m['id'], m['uri'], m['distance']) for m in doc['matches']]


def test_grpc_and_http_return_the_same_matches(flow):
    client, http_port = flow
    queries = QUERY_IMAGES
    grpc = client.post('/search', inputs=DocList[ImageDoc]([ImageDoc(blob=open(p, 'rb').read()) for p in queries]),
                       parameters={'limit': 3}, return_type=DocList[ImageDoc])
    by_grpc = [[(m.id, m.uri, m.distance) for m in doc.matches] for doc in grpc]
    blobs = [{'blob': base64.b64encode(open(p, 'rb').read()).decode()} for p in queries]
    status, answer = http_post(http_port, '/search', {'data': blobs, 'parameters': {'limit': 3}})
    assert status == 200
    assert [matches_of(doc) for doc in answer['data']] == by_grpc
    status, answer = http_post(http_port, '/search', {'data': [{'uri': p} for p in queries], 'parameters': {'limit': 3}})
    assert [matches_of(doc) for doc in answer['data']] == by_grpc
    for query, matches in zip(queries, by_grpc):
        original = original_of(query)
        if original:
            assert matches[0][1] == original, query
        else:
            assert matches == [], query


def test_http_status_and_a_bad_request_then_a_good_one(flow):
    _, http_port = flow
    status, answer = http_post(http_port, '/status', {'data': [], 'parameters': {}})
    summary = answer['data'][0]['result']  # one document, so that shards' answers can be summed
    assert status == 200 and summary['images'] == len(INDEX_IMAGES)
    status, answer = http_post(http_port, '/search', {'data': [{'uri': INDEX_IMAGES[0]}], 'parameters': {'threshold': -1}})
    assert status >= 400 and 'threshold must be between 0 and 64' in json.dumps(answer)
    status, answer = http_post(http_port, '/search', {'data': [{'uri': INDEX_IMAGES[0]}], 'parameters': {'threshold': 0}})
    assert status == 200 and matches_of(answer['data'][0])[0][1:] == (INDEX_IMAGES[0], 0)


def test_paths_outside_the_allowed_folder_are_refused_over_http(flow):
    _, http_port = flow
    status, answer = http_post(http_port, '/search', {'data': [{'uri': os.path.abspath(__file__)}]})
    assert status == 200 and 'outside the folders' in answer['data'][0]['error']


def test_the_gateway_listens_on_loopback_only(flow):
    _, http_port = flow
    address = outside_address()
    if address is None:
        pytest.skip('this machine has no non-loopback address to try')
    with pytest.raises(OSError):
        socket.create_connection((address, http_port), timeout=2).close()
