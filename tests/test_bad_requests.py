"""Bad requests over gRPC and HTTP, and the server's limits: each gets a clear error in its
response, and the next good request is served as if nothing had happened.

One Flow (flow.yml, with its size limits lowered so that an oversized request is cheap to
make) serves the whole module.
"""
import ast
import base64
import glob
import os
import urllib.error
import urllib.request

import pytest
from docarray import DocList

import app
from client.connection import REPOSITORY, Connection, flow_config, load_flow
from client.jobs import index_files
from executors.documents import ImageDoc
from executors.image_hasher.tests.test_decode import png_header_claiming
from executors.simple_indexer.executor import SimpleIndexer
from tests.corpus import encoded, photo
from tests.images import INDEX_IMAGES
from tests.network import free_ports
from tests.test_flow import http_post

REQUEST_LIMIT = 4_000_000  # the gateway's gRPC limit here (flow.yml: 1 GiB)
IMAGE_LIMIT = 2_000_000  # the hasher's max_bytes here (default: 512 MiB)


@pytest.fixture(scope='module')
def served(tmp_path_factory):
    """(gRPC client, HTTP port, allowed folder) of a Flow that has indexed two photos."""
    base = tmp_path_factory.mktemp('requests')
    allowed = base / 'allowed'
    allowed.mkdir()
    (allowed / 'inside.png').write_bytes(encoded(photo(6), 'PNG'))
    (base / 'outside.png').write_bytes(encoded(photo(7), 'PNG'))
    os.symlink(base / 'outside.png', allowed / 'link-out.png')
    os.symlink(allowed / 'inside.png', allowed / 'link-in.png')
    grpc_port, http_port = free_ports(2)
    config = flow_config(str(base / 'workspace'), ports=(grpc_port, http_port), allowed_roots=[str(allowed)])
    config['gateway']['grpc_server_options']['grpc.max_receive_message_length'] = REQUEST_LIMIT
    for executor in config['executors']:
        if executor['name'] == 'hasher':
            executor['uses_with']['max_bytes'] = IMAGE_LIMIT
    with load_flow(config):
        from jina import Client
        client = Client(host=f'grpc://127.0.0.1:{grpc_port}')
        indexed = client.post('/index', inputs=docs(*INDEX_IMAGES[:2]), return_type=DocList[ImageDoc])
        assert [doc.status for doc in indexed] == ['indexed', 'indexed']
        yield client, http_port, allowed


def docs(*paths) -> DocList:
    """Documents carrying the photos' bytes, labelled with their paths."""
    return DocList[ImageDoc]([ImageDoc(uri=path, blob=open(path, 'rb').read()) for path in paths])


def base64_of(path: str) -> str:
    """A file as JSON clients send it."""
    with open(path, 'rb') as file:
        return base64.b64encode(file.read()).decode()


def assert_served_normally(client, http_port):
    """The next good request, over both protocols, finds the photo it shows at distance 0."""
    found, = client.post('/search', inputs=docs(INDEX_IMAGES[1]), return_type=DocList[ImageDoc])
    assert found.error is None and (found.matches[0].uri, found.matches[0].distance) == (INDEX_IMAGES[1], 0)
    status, answer = http_post(http_port, '/search', {'data': [{'blob': base64_of(INDEX_IMAGES[0])}]})
    match = answer['data'][0]['matches'][0]
    assert status == 200 and (match['uri'], match['distance']) == (INDEX_IMAGES[0], 0)


BAD_PARAMETERS = [
    ({'hash_type': 'md5'}, "unknown hash_type 'md5'"),
    ({'hash_types': 5}, 'hash_types must be a non-empty list'),
    ({'hash_size': [8]}, 'hash_size must be a whole number'),
    ({'hash_size': 1000}, 'hash_size must be between 2 and 32'),
    ({'threshold': -1}, 'threshold must be between 0 and 64'),
    ({'threshold': 'near'}, "threshold must be a whole number, not 'near'"),
    ({'limit': 10 ** 12}, 'limit must be between 1 and 10000'),
    ({'limit': 2.5}, 'limit must be a whole number, not 2.5'),
]


def grpc_failure(client, endpoint: str, inputs: DocList, parameters=None) -> str:
    """The server's message for a gRPC request that must fail."""
    with pytest.raises(Exception) as failed:
        client.post(endpoint, inputs=inputs, parameters=parameters or {}, return_type=DocList[ImageDoc])
    header = failed.value.args[0]  # jina's BadServer carries the response header, BadServerFlow a text
    return header.status.description if hasattr(header, 'status') else str(header)


@pytest.mark.parametrize('parameters, message', BAD_PARAMETERS)
def test_a_wrong_parameter_fails_the_grpc_request_with_its_name(served, parameters, message):
    client, http_port, _ = served
    assert message in grpc_failure(client, '/search', docs(INDEX_IMAGES[0]), parameters)
    assert_served_normally(client, http_port)


@pytest.mark.parametrize('parameters, message', BAD_PARAMETERS)
def test_a_wrong_parameter_fails_the_http_request_with_its_name(served, parameters, message):
    client, http_port, _ = served
    status, answer = http_post(http_port, '/search', {'data': [{'blob': base64_of(INDEX_IMAGES[0])}],
                                                      'parameters': parameters})
    assert status == 500 and message in answer['detail']
    assert_served_normally(client, http_port)


def test_unusable_documents_get_their_own_error_and_the_rest_of_the_request_is_served(served):
    client, http_port, _ = served
    good, empty, garbage, not_base64, too_big, bomb = client.post('/search', inputs=DocList[ImageDoc]([
        docs(INDEX_IMAGES[0])[0], ImageDoc(), ImageDoc(blob=b'\x00\xffnot an image at all'),
        ImageDoc(blob=b'QUJ'), ImageDoc(blob=b'\x89PNG' + bytes(IMAGE_LIMIT)),
        ImageDoc(blob=png_header_claiming(50000, 50000))]), return_type=DocList[ImageDoc])
    assert good.error is None and good.matches[0].uri == INDEX_IMAGES[0]
    assert empty.error == 'no image: the document has no uri, blob or tensor'
    assert garbage.error == 'not a readable image (unknown or unsupported format)'
    assert 'neither image bytes nor valid base64' in not_base64.error
    assert too_big.error == f'blob is {IMAGE_LIMIT + 4:,} bytes, over the limit of {IMAGE_LIMIT:,}'
    assert 'too many pixels' in bomb.error
    for doc in (empty, garbage, not_base64, too_big, bomb):
        assert doc.matches == [] and doc.blob is None  # nothing matched, and no bytes sent back
    assert_served_normally(client, http_port)


def test_an_oversized_grpc_request_is_refused_unread(served):
    client, http_port, _ = served
    failure = grpc_failure(client, '/index', DocList[ImageDoc]([ImageDoc(blob=bytes(REQUEST_LIMIT))]))
    assert 'RESOURCE_EXHAUSTED' in failure and 'Received message larger than max' in failure
    assert_served_normally(client, http_port)


@pytest.mark.parametrize('body, message', [
    (b'{"data": [', 'JSON decode error'),
    (b'{"parameters": {}}', 'Field required'),
    (b'{"data": [{"blob": 123}]}', 'Input should be a valid string'),
    (b'{"data": [{"uri": ["a", "b"]}]}', 'Input should be a valid string'),
    (b'{"data": [], "parameters": 5}', 'Input should be a valid dictionary'),
])
def test_malformed_http_bodies_are_refused_with_the_field_at_fault(served, body, message):
    client, http_port, _ = served
    request = urllib.request.Request(f'http://127.0.0.1:{http_port}/search', data=body,
                                     headers={'Content-Type': 'application/json'})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 422 and message in refused.value.read().decode()
    assert_served_normally(client, http_port)


def test_http_documents_with_bad_or_oversized_bytes_get_their_own_error(served):
    client, http_port, _ = served
    bodies = ['QUJ', base64.b64encode(b'\x00\xffnot an image').decode(),
              base64.b64encode(b'\x89PNG' + bytes(IMAGE_LIMIT)).decode()]
    status, answer = http_post(http_port, '/index', {'data': [{'blob': body} for body in bodies]})
    assert status == 200
    not_base64, garbage, too_big = answer['data']
    assert 'neither image bytes nor valid base64' in not_base64['error']
    assert garbage['error'] == 'not a readable image (unknown or unsupported format)'
    assert too_big['error'] == f'blob is {IMAGE_LIMIT + 4:,} bytes, over the limit of {IMAGE_LIMIT:,}'
    assert [doc['blob'] for doc in answer['data']] == [None] * 3 and [doc['status'] for doc in answer['data']] == [None] * 3
    assert_served_normally(client, http_port)


def test_paths_are_read_only_inside_the_allowed_folder_whatever_the_protocol(served):
    client, http_port, allowed = served
    inside, link_in = str(allowed / 'inside.png'), str(allowed / 'link-in.png')
    refused = [str(allowed.parent / 'outside.png'), str(allowed / '..' / 'outside.png'), str(allowed / 'link-out.png'),
               '/etc/passwd', 'file:///etc/passwd', os.path.relpath(str(allowed.parent / 'outside.png'))]
    answered = client.post('/search', inputs=DocList[ImageDoc]([ImageDoc(uri=uri) for uri in [inside, link_in, *refused]]),
                           return_type=DocList[ImageDoc])
    status, over_http = http_post(http_port, '/search', {'data': [{'uri': uri} for uri in [inside, link_in, *refused]]})
    assert status == 200
    for doc, (uri, http_doc) in zip(answered, zip([inside, link_in, *refused], over_http['data'])):
        if uri in (inside, link_in):  # a link that stays inside is fine
            assert doc.error is None and http_doc['error'] is None and doc.phash == http_doc['phash']
        else:
            assert 'outside the folders this server may read' in doc.error and doc.phash is None, uri
            assert http_doc['error'] == doc.error
    assert_served_normally(client, http_port)


def test_the_server_listens_on_loopback_unless_told_otherwise():
    assert app.parser().parse_args(['serve']).host == '127.0.0.1'
    assert flow_config('workspace')['with']['host'] == '127.0.0.1'


def test_no_client_data_is_unpickled_or_evaluated():
    """No module of the project calls pickle, marshal, eval or exec, or yaml's unsafe loader."""
    sources = [path for path in glob.glob(os.path.join(REPOSITORY, '**', '*.py'), recursive=True)
               if f'{os.sep}.venv{os.sep}' not in path]
    for path in sources:
        with open(path, encoding='utf-8') as file:
            tree = ast.parse(file.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] + [getattr(node, 'module', None) or '']
                assert not {'pickle', 'cPickle', 'dill', 'marshal', 'shelve'} & set(names), path
            if isinstance(node, ast.Call):
                called = getattr(node.func, 'id', None) or getattr(node.func, 'attr', None)
                assert called not in ('eval', 'exec', 'unsafe_load'), f'{path}:{node.lineno}'
                if called == 'load' and getattr(getattr(node.func, 'value', None), 'id', None) == 'yaml':
                    assert 'SafeLoader' in ast.dump(node), f'{path}:{node.lineno}: yaml.load without SafeLoader'


def test_a_remote_index_run_reports_an_oversized_request_and_every_other_file(served, tmp_path):
    """`app.py index --host`: the request the gateway refuses kills its gRPC stream. The oversized
    file, and any sent on the same stream and lost with it, are failed by name; none is forgotten.

    Which of the files in flight had their answer before the stream broke, and whether the client
    sees the server's RESOURCE_EXHAUSTED or its own failed send, depends on timing.
    """
    client, http_port, _ = served
    big = tmp_path / 'big.png'
    big.write_bytes(b'\x89PNG' + bytes(REQUEST_LIMIT))
    files = [INDEX_IMAGES[2], str(big), *INDEX_IMAGES[3:6]]
    tally = index_files(Connection(client, remote=True), files, {}, batch_size=1)
    reasons = dict(tally.errors)
    assert tally.indexed + len(reasons) == len(files) and str(big) in reasons
    assert all(reason.startswith('no answer from the server: gRPC error: ') for reason in reasons.values())
    again = index_files(Connection(client, remote=True), [path for path in reasons if path != str(big)], {})
    # Unanswered is not unstored: a file in flight may have been stored before the stream broke.
    assert again.errors == [] and again.indexed + again.updated == len(reasons) - 1
    assert_served_normally(client, http_port)


class BreakingConnection:
    """A stand-in Connection whose stream breaks on the batch holding `poison`, as a refused request does."""

    remote = True

    def __init__(self, poison: str):
        self.poison, self.streams = poison, 0

    def post(self, endpoint, docs, parameters, batch_size, on_batch):
        self.streams += 1
        batch = []
        for doc in docs:
            batch.append(doc)
            if len(batch) == batch_size:
                if any(d.uri == self.poison for d in batch):
                    raise RuntimeError('gRPC error: StatusCode.RESOURCE_EXHAUSTED: too large\nmore detail')
                on_batch([doc.model_copy(update={'status': 'indexed'}) for doc in batch], None)
                batch = []
        if batch:
            on_batch([doc.model_copy(update={'status': 'indexed'}) for doc in batch], None)


def test_after_a_broken_stream_the_files_not_yet_sent_go_on_a_new_one(monkeypatch):
    files = [f'/images/{number:02d}.png' for number in range(10)]
    monkeypatch.setattr('client.jobs.document_for', lambda path, remote: ImageDoc(uri=path))
    connection = BreakingConnection(poison=files[4])
    tally = index_files(connection, files, {}, batch_size=2)
    assert tally.errors == [(path, 'no answer from the server: gRPC error: StatusCode.RESOURCE_EXHAUSTED: too large')
                            for path in files[4:6]]  # the refused batch, named
    assert tally.indexed == 8 and connection.streams == 2


def test_a_wrong_threshold_fails_the_search_even_without_a_usable_document(tmp_path):
    indexer = SimpleIndexer(metas={'workspace': str(tmp_path)})
    with pytest.raises(ValueError, match='threshold'):
        indexer.search(DocList[ImageDoc]([ImageDoc(error='unreadable')]), {'threshold': -1})
    indexer.close()


@pytest.mark.parametrize('endpoint', ['/search', '/index', '/status', '/duplicates'])
def test_a_misspelt_parameter_is_refused_by_name_over_grpc_and_http(served, endpoint):
    client, http_port, _ = served
    inputs = docs(INDEX_IMAGES[0]) if endpoint in ('/search', '/index') else DocList[ImageDoc]()
    assert f"unknown parameter 'treshold' for {endpoint}" in grpc_failure(client, endpoint, inputs, {'treshold': 3})
    status, answer = http_post(http_port, endpoint, {'data': [], 'parameters': {'treshold': 3}})
    assert status == 500 and f"unknown parameter 'treshold' for {endpoint}" in answer['detail']
    assert_served_normally(client, http_port)


def test_a_refused_grpc_request_carries_the_message_and_none_of_the_servers_internals(served):
    client, http_port, _ = served
    with pytest.raises(Exception) as failed:
        client.post('/search', inputs=docs(INDEX_IMAGES[0]), parameters={'threshold': -1},
                    return_type=DocList[ImageDoc])
    status = failed.value.args[0].status
    assert status.description == 'threshold must be between 0 and 64, not -1'
    told = status.description + ''.join(status.exception.stacks)
    assert 'Traceback' not in told and 'File "' not in told and REPOSITORY not in told, told


def test_text_that_is_not_base64_is_called_so(served):
    client, http_port, _ = served
    status, answer = http_post(http_port, '/search', {'data': [{'blob': '!!!not base64$$$'}]})
    assert status == 200
    assert answer['data'][0]['error'].startswith('blob is neither image bytes nor valid base64 text')


def test_the_server_logs_a_refused_request_in_one_line(tmp_path):
    from tests.server import served as serve
    with serve(str(tmp_path / 'workspace')) as (server, grpc_port, http_port):
        status, answer = http_post(http_port, '/search', {'data': [{'blob': base64_of(INDEX_IMAGES[0])}],
                                                          'parameters': {'treshold': 3}})
        assert status == 500
        status, _ = http_post(http_port, '/status', {'data': []})  # served after it, and the log written by then
        assert status == 200
        log = open(server.log).read()
    refused = [line for line in log.splitlines() if 'treshold' in line]
    assert len(refused) == 1 and 'refused a request: unknown parameter' in refused[0], log
    assert 'Traceback' not in log and '--quiet-error' not in log, log
