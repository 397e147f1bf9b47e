"""A client in a process of its own that indexes files by path through a served Flow and prints
`ack URI` for every document the server has answered as stored, the moment it has the answer.

Run by test_durability, which kills the server under it: gRPC's client state after a killed
server is best kept out of the pytest process, which starts Flows of its own afterwards.

    python tests/ack_client.py GRPC_PORT PATH...
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from client.connection import Connection, quiet_third_party_warnings  # noqa: E402
from executors.documents import ImageDoc  # noqa: E402


def main(port: str, paths) -> None:
    # Jina's client logs a lost connection to stdout: the acknowledgements get stdout to themselves.
    acks = os.fdopen(os.dup(sys.stdout.fileno()), 'w')
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    from jina import Client
    quiet_third_party_warnings()

    def on_batch(docs, error):
        if not error:
            for doc in docs:
                if doc.status in ('indexed', 'updated'):
                    print('ack', doc.uri, file=acks, flush=True)

    connection = Connection(Client(host=f'grpc://127.0.0.1:{port}'), remote=False)
    connection.post('/index', (ImageDoc(uri=path) for path in paths), batch_size=50, on_batch=on_batch)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])
