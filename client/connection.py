"""Reaching the Flow: one started here from flow.yml (the embedded default), or a running one.

A local Flow reads the images from disk itself, so the client sends paths; a remote Flow may
not share our disk, so the client sends the encoded bytes (never decoded pixels, which are an
order of magnitude slower over gRPC).
"""
import os
import sys
import time
import warnings
from contextlib import contextmanager, redirect_stdout
from typing import Callable, Iterable, Iterator, List, Optional, Sequence

import yaml

from client.workspace import check_workspace

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLOW_YML = os.path.join(REPOSITORY, 'flow.yml')
HASHER_YML = os.path.join(REPOSITORY, 'executors', 'image_hasher', 'config.yml')
DEFAULT_WORKSPACE = 'workspace'
DEFAULT_PORTS = (54321, 54322)  # gRPC, HTTP: the same as flow.yml


def quiet_third_party_warnings() -> None:
    """docarray's tensors trip pydantic's serializer warnings on every request; they are noise."""
    warnings.filterwarnings('ignore', module='pydantic')
    warnings.filterwarnings('ignore', category=UserWarning, module='jina')
    warnings.filterwarnings('ignore', category=DeprecationWarning)


def flow_config(workspace: str, host: str = '127.0.0.1', ports: Optional[Sequence[int]] = None,
                protocols: Sequence[str] = ('grpc', 'http'), allowed_roots: Sequence[str] = (),
                replicas: Optional[int] = None, shards: Optional[int] = None) -> dict:
    """flow.yml with this run's workspace, address and readable folders filled in, the indexer's
    shards when given (None: as flow.yml says) and the hasher's replicas (None: one per CPU core
    this process may use, see usable_cores).

    ports=None lets Jina pick free ones (a local run must not collide with a running server).
    """
    with open(FLOW_YML) as file:
        config = yaml.safe_load(file)
    settings = config.setdefault('with', {})
    settings['protocol'] = list(protocols)
    settings['host'] = host
    if ports is None:
        settings.pop('port', None)
    else:
        settings['port'] = list(ports)
    for executor in config['executors']:
        for key in ('uses', 'uses_after'):
            if key in executor:
                executor[key] = os.path.join(REPOSITORY, executor[key])  # any working directory
        if executor['name'] == 'indexer':
            executor['workspace'] = os.path.abspath(workspace)
            if shards is not None:
                executor['shards'] = shards
        if executor['name'] == 'hasher':
            executor['replicas'] = replicas if replicas is not None else usable_cores()
            executor.setdefault('uses_with', {})['allowed_roots'] = [os.path.abspath(p) for p in allowed_roots]
    return config


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity, which containers and `taskset` narrow;
    os.cpu_count() counts the machine's). Hashing is CPU work, so the hasher runs one replica
    per core by default: a 2-core laptop and a 32-core server both hash at their full rate."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def flow_setting(executor: str, key: str, default):
    """A setting of one executor of flow.yml (`replicas`, `shards`), for defaults and help texts."""
    with open(FLOW_YML) as file:
        settings = [e for e in yaml.safe_load(file)['executors'] if e['name'] == executor][0]
    return settings.get(key, default)


def hash_bits() -> int:
    """Bits of the hashes the hasher of flow.yml makes (hash_size squared): the most a threshold can be."""
    with open(HASHER_YML) as file:
        return yaml.safe_load(file)['with']['hash_size'] ** 2


def check_shards(workspace: str, shards: Optional[int]) -> None:
    """Refuse, in words, a workspace indexed with another number of shards (the shards would
    refuse it too, but Jina would only say that the Flow did not start)."""
    from client.workspace import WrongShards
    from executors.simple_indexer.sharding import partition_problem
    if shards is None:
        shards = flow_setting('indexer', 'shards', 1)
    problem = partition_problem(os.path.join(os.path.abspath(workspace), 'SimpleIndexer'), shards)
    if problem:
        raise WrongShards(problem)


def skip_empty_argument_warnings() -> None:
    """Jina 3.34 checks a Flow's and its client's arguments against its whole command line, which
    it builds anew each time (about 0.7 s of CPU, twice per run, before the first image), even
    when every argument was recognised and there is nothing to warn about; skip that case only."""
    import jina.helper
    warn = jina.helper.warn_unknown_args
    if getattr(warn, 'skips_empty', False):
        return

    def warn_if_any(unknown_args):
        if unknown_args:
            warn(unknown_args)

    warn_if_any.skips_empty = True
    jina.helper.warn_unknown_args = warn_if_any  # looked up there at each call


def load_flow(config: dict):
    quiet_third_party_warnings()
    skip_empty_argument_warnings()
    if REPOSITORY not in sys.path:  # the executors' py_modules are imported by module name
        sys.path.insert(0, REPOSITORY)
    from jina import Flow
    return Flow.load_config(config, extra_search_paths=[REPOSITORY])


class Connection:
    """Sends documents to a Flow in batches and hands each batch's answer to a callback."""

    def __init__(self, client, remote: bool, started_in: Optional[float] = None):
        self.client = client
        self.remote = remote
        self.started_in = started_in  # seconds the local Flow took to start; None for a remote one

    def post(self, endpoint: str, docs: Iterable, parameters: Optional[dict] = None, batch_size: int = 32,
             on_batch: Optional[Callable[[List, Optional[str]], None]] = None) -> None:
        """on_batch(docs, error) is called per answered batch; error is the server's message if it failed."""
        from docarray import DocList
        from executors.documents import ImageDoc

        def done(response):
            if on_batch:
                response.document_array_cls = DocList[ImageDoc]
                on_batch(list(response.docs), None)

        def failed(response):
            if on_batch:
                response.document_array_cls = DocList[ImageDoc]
                status = response.header.status
                on_batch(list(response.docs), status.description or 'the server failed this batch')

        self.client.post(endpoint, inputs=docs, parameters=parameters or {}, request_size=batch_size,
                         on_done=done, on_error=failed, return_type=DocList[ImageDoc],
                         continue_on_error=True)

    def fetch(self, endpoint: str, parameters: Optional[dict] = None, docs=()) -> List:
        """An endpoint that answers with documents of its own (/duplicates): those documents.
        `docs` go with the request, in one request."""
        from docarray import DocList
        from executors.documents import ImageDoc
        return list(self.client.post(endpoint, inputs=DocList[ImageDoc](list(docs)), parameters=parameters or {},
                                     request_size=max(1, len(docs)), return_type=DocList[ImageDoc]))

    def call(self, endpoint: str, parameters: Optional[dict] = None) -> dict:
        """An endpoint that answers with a summary (/status, /delete, /clear): the `result` of the
        one document it answers with (summed over the shards by the shard merger)."""
        answer = self.fetch(endpoint, parameters)
        return dict(answer[0].result) if answer else {}


@contextmanager
def connect(workspace: str = DEFAULT_WORKSPACE, host: Optional[str] = None, replicas: Optional[int] = None,
            shards: Optional[int] = None) -> Iterator[Connection]:
    """A Connection to the Flow at `host` (grpc://HOST:PORT, http://HOST:PORT or HOST:PORT),
    or to a Flow started here on `workspace` (with `replicas` hashers and `shards` indexer
    shards, when given) and stopped on exit."""
    quiet_third_party_warnings()
    os.environ.setdefault('JINA_LOG_LEVEL', 'ERROR')  # start-up chatter would bury our own output
    if host:
        from jina import Client
        address = host if '://' in host else f'grpc://{host}'
        yield Connection(Client(host=address), remote=True)
        return
    check_workspace(workspace)  # a read-only or damaged workspace, said in words before the Flow fails on it
    # The command line's own user may hash any file they can read.
    check_shards(workspace, shards)
    starting = time.monotonic()
    flow = load_flow(flow_config(workspace, protocols=('grpc',), allowed_roots=[os.sep], replicas=replicas,
                                 shards=shards))
    with open(os.devnull, 'w') as devnull, redirect_stdout(devnull):  # Jina prints a banner on stdout
        flow.start()
    started_in = time.monotonic() - starting
    try:
        # A client of our own rather than flow.post's: the Flow hands its client the gateway's and the
        # YAML loader's settings, which the client does not know and warns about (1 s of CPU, see
        # skip_empty_argument_warnings).
        from jina import Client
        yield Connection(Client(host=flow.host, port=flow.port, protocol='grpc'), remote=False, started_in=started_in)
    finally:
        flow.close()
