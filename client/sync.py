"""Keeping an index in step with its collection: skip unchanged files, find and drop missing ones.

Both questions are asked of the indexer in bulk (README, "Keeping the index current"): which
of a batch of (uri, size, modification time) were stored from those very files (/unchanged,
thousands of files per document), and which uris it holds (/uris, a page per shard). The files
are looked at here, on the client's disk, which is where a remote client's uris point.
"""
import json
import os
from typing import Iterator, List, Optional, Sequence, Tuple

from client.connection import Connection
from client.jobs import Progress
from executors.documents import ImageDoc
from executors.uris import file_uri, local_path

CHECK_BATCH = 10_000  # files per /unchanged document: about 1 MB of JSON
PROGRESS_FROM = 10_000  # fewer files than this are checked without a progress line


def split_unchanged(connection: Connection, files: Sequence[str], parameters: dict) -> Tuple[List[str], int]:
    """(the files that must be read and hashed, how many need not be): a file is skipped when the
    index holds an entry made from it at its present size and modification time. A file that
    cannot be looked at, or a batch the server does not answer, is simply read (and fails there,
    named, if it must)."""
    todo, described = [], []  # described: (path, [uri, size, mtime]) for the files that could be looked at
    for path in files:
        try:
            stat = os.stat(path)
        except OSError:
            todo.append(path)
            continue
        described.append((path, [file_uri(os.path.abspath(path)), stat.st_size, stat.st_mtime]))
    batches = [described[start:start + CHECK_BATCH] for start in range(0, len(described), CHECK_BATCH)]
    progress = Progress('checking', len(described), noun='files') if len(described) >= PROGRESS_FROM else None
    docs = [ImageDoc(blob=json.dumps([entry for _, entry in batch]).encode()) for batch in batches]
    batch_of = {doc.id: batch for doc, batch in zip(docs, batches)}
    unchanged = 0

    def answered(answers, error) -> None:
        nonlocal unchanged
        for doc in answers:
            batch = batch_of.pop(doc.id, [])
            verdicts = doc.blob if not error and doc.blob and len(doc.blob) == len(batch) else b'0' * len(batch)
            todo.extend(path for (path, _), verdict in zip(batch, verdicts) if verdict != ord('1'))
            unchanged += verdicts.count(b'1')
            if progress:
                progress.advance(len(batch))

    try:
        connection.post('/unchanged', iter(docs), parameters, 1, answered)
    except Exception as error:  # an older server without /unchanged, say: indexing goes on without the check
        if isinstance(error, ConnectionError):
            raise
    for batch in batch_of.values():  # never answered: read them
        todo.extend(path for path, _ in batch)
    order = {path: number for number, path in enumerate(files)}
    return sorted(todo, key=order.__getitem__), unchanged


def stored_uris(connection: Connection, shards: int, under: Sequence[str] = ()) -> Iterator[str]:
    """Every uri the index holds (only those of `under`'s files and folders, if given), a page
    per shard at a time."""
    after, more = [-1] * shards, True
    parameters = {'under': [file_uri(os.path.abspath(path)) for path in under]} if under else {}
    while more:
        more = False
        for doc in connection.fetch('/uris', dict(parameters, after=after)):
            shard = int(doc.result.get('shard', 0))
            after[shard] = int(doc.result['after'])
            more = more or bool(doc.result.get('more'))
            if doc.blob:
                yield from doc.blob.decode().split('\0')


def missing_files(uris: Sequence[str]) -> List[str]:
    """The uris whose file is not on this machine's disk (for ARCHIVE::MEMBER, the archive), a
    stat each; uris that name no local file (none, http://...) are never missing."""
    progress = Progress('checking', len(uris), noun='stored files') if len(uris) >= PROGRESS_FROM else None
    missing = []
    for start in range(0, len(uris), CHECK_BATCH):
        chunk = uris[start:start + CHECK_BATCH]
        missing.extend(uri for uri in chunk if is_missing(uri))
        if progress:
            progress.advance(len(chunk))
    return missing


def is_missing(uri: Optional[str]) -> bool:
    path = local_path(uri)
    return path is not None and not os.path.exists(path)


def prune(connection: Connection, shards: int, under: Sequence[str]) -> int:
    """Remove the entries under these files and folders whose files no longer exist; how many."""
    missing = missing_files(list(stored_uris(connection, shards, under)))
    if not missing:
        return 0
    return int(connection.call('/delete', {'uris': missing}).get('deleted', 0))


def forget(connection: Connection, paths: Sequence[str]) -> int:
    """Remove the entries of these files and of every file under these folders; how many. The
    files themselves are not touched."""
    under = [file_uri(os.path.abspath(path)) for path in paths]
    return int(connection.call('/delete', {'under': under}).get('deleted', 0))
