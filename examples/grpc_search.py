"""Search a running Flow over gRPC with jina.Client: the README's example, as a script.

    python app.py serve                                  # in one shell, from the repository
    python examples/grpc_search.py [HOST:PORT] [IMAGE...]  # in another, from anywhere

Sends each image's bytes (the server need not share this disk) and prints, per image, its
pHash, its matches within 10 bits as (uri, distance) and its error, if any. Images default to
two of data/query: a copy of an indexed photo and a photo with no counterpart.
"""
import os
import sys

# The document schema lives in the repository's executors/ package: put the repository on the
# path, so that the script runs from any folder without installing anything.
REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)

from docarray import DocList  # noqa: E402  (after the path is set)
from jina import Client  # noqa: E402

from executors.documents import ImageDoc  # noqa: E402


DEFAULT_QUERIES = ['data/query/seeding2.jpg', 'data/query/kleiber1.jpg']  # in the repository


def main(address: str = '127.0.0.1:54321', paths=()) -> None:
    # (label, file to read): the default images are read from the repository whatever the folder.
    files = [(path, path) for path in paths] or [(path, os.path.join(REPOSITORY, path)) for path in DEFAULT_QUERIES]
    client = Client(host=f'grpc://{address}')
    queries = DocList[ImageDoc]([ImageDoc(uri=label, blob=open(file, 'rb').read()) for label, file in files])
    for doc in client.post('/search', inputs=queries, parameters={'threshold': 10, 'limit': 3},
                           return_type=DocList[ImageDoc]):
        print(doc.uri, doc.phash, [(m.uri, m.distance) for m in doc.matches], doc.error)


if __name__ == '__main__':
    main(*sys.argv[1:2], paths=sys.argv[2:])
