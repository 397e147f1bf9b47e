"""Keeping an index in step with its collection: skip unchanged files, find and drop missing ones.

Both questions are asked of the index in bulk (README, "Keeping the index current"): which
of a batch of (uri, size, modification time) were stored from those very files (the local
command line reads that from the workspace's databases, a remote one asks /unchanged, thousands
of files per document), and which uris it holds (/uris, a page per shard). The files are looked
at here, on the client's disk, which is where a remote client's uris point.
"""
import glob
import json
import os
import sqlite3
from typing import Iterator, List, Optional, Sequence, Tuple

import yaml

from client.archives import Archive
from client.connection import REPOSITORY, Connection, check_shards
from client.files import Source
from client.jobs import Progress
from client.workspace import check_workspace
from executors.documents import ImageDoc
from executors.parameters import KNOWN_PARAMETERS
from executors.simple_indexer.store import unchanged_in
from executors.uris import ARCHIVE_SEPARATOR, file_uri, local_path

CHECK_BATCH = 10_000  # files per /unchanged document: about 1 MB of JSON
PROGRESS_FROM = 10_000  # fewer files than this are checked without a progress line


def split_unchanged(files: Sequence[Source], parameters: dict, ask) -> Tuple[List[Source], int]:
    """(the files that must be read and hashed, how many need not be): a file is skipped when the
    index holds an entry made from it at its present size and modification time, an archive when
    it was read through at its present size and time (record_archives). `ask` is
    asked_of(connection) or read_from(workspace). A file that cannot be looked at, or a batch not
    answered, is simply read (and fails there, named, if it must). An unchanged archive counts
    as one."""
    todo, described = [], []  # described: (path, [uri, size, mtime]) for the files that could be looked at
    for path in files:
        if isinstance(path, Archive):  # looked at when found
            described.append((path, path.described()))
            continue
        try:
            stat = os.stat(path)
        except OSError:
            todo.append(path)
            continue
        described.append((path, [os.path.abspath(path), stat.st_size, stat.st_mtime]))  # the uri index_files sends
    batches = [described[start:start + CHECK_BATCH] for start in range(0, len(described), CHECK_BATCH)]
    progress = Progress('checking', len(described), noun='files') if len(described) >= PROGRESS_FROM else None
    unanswered = set(range(len(batches)))
    unchanged = 0

    def answered(number: int, verdicts: bytes) -> None:
        nonlocal unchanged
        batch = batches[number]
        unanswered.discard(number)
        if len(verdicts) != len(batch):  # not an answer to this question (a server without /unchanged)
            verdicts = b'0' * len(batch)
        todo.extend(path for (path, _), verdict in zip(batch, verdicts) if verdict != ord('1'))
        unchanged += verdicts.count(b'1')
        if progress:
            progress.advance(len(batch))

    ask([[entry for _, entry in batch] for batch in batches], parameters, answered)
    todo.extend(path for number in unanswered for path, _ in batches[number])
    order = {path: number for number, path in enumerate(files)}
    return sorted(todo, key=order.__getitem__), unchanged


def archives_read_through(files: Sequence[Source], errors: Sequence[Tuple[str, str]]) -> List[Archive]:
    """The archives of `files` every image of which was indexed: none of them, nor the archive
    itself, among the `errors` (labels: ARCHIVE::MEMBER, or the archive's path)."""
    failed = {label.partition(ARCHIVE_SEPARATOR)[0] for label, _ in errors}
    return [source for source in files if isinstance(source, Archive) and source.path not in failed]


def record_archives(connection: Connection, archives: Sequence[Archive], parameters: dict) -> None:
    """Tell the index these archives were read through, so that the next `index` skips them while
    their size and modification time stay the same. An archive is recorded only after all its
    images were stored, so a run cut short reads it again."""
    if not archives:
        return
    try:
        connection.call('/archived', {'archives': [archive.described() for archive in archives],
                                      **{name: parameters[name] for name in ('hash_size', 'views') if name in parameters}})
    except Exception as error:  # a server without /archived: its archives are simply read again next time
        if isinstance(error, ConnectionError):
            raise


def asked_of(connection: Connection):
    """split_unchanged's question put to the Flow's indexer (/unchanged), a document per batch."""
    def ask(batches, parameters: dict, answered) -> None:
        docs = [ImageDoc(blob=json.dumps(batch).encode()) for batch in batches]
        number_of = {doc.id: number for number, doc in enumerate(docs)}

        def on_batch(answers, error) -> None:
            for doc in answers:
                if not error and doc.blob:
                    answered(number_of[doc.id], doc.blob)

        try:
            # Only what /unchanged knows: it refuses the rest of index's parameters (hash_type), by name.
            known = {name: value for name, value in parameters.items() if name in KNOWN_PARAMETERS['/unchanged']}
            connection.post('/unchanged', iter(docs), known, 1, on_batch)
        except Exception as error:  # an older server without /unchanged, say: indexing goes on without the check
            if isinstance(error, ConnectionError):
                raise
    return ask


def read_from(workspace: str, shards: Optional[int] = None):
    """split_unchanged's question answered from the workspace's own databases, read-only, before
    any Flow starts: an index whose files are all unchanged then needs no Flow at all. A file is
    unchanged if the shard that holds it says so. The workspace is checked as a Flow would check
    it (WorkspaceError: unusable, or indexed with another number of shards)."""
    check_workspace(workspace)
    check_shards(workspace, shards)
    databases = sorted(glob.glob(os.path.join(os.path.abspath(workspace), 'SimpleIndexer', '*', 'index.db')))
    hash_size = int(hasher_setting('hash_size'))

    def ask(batches, parameters: dict, answered) -> None:
        views = parameters.get('views', True) is not False
        for number, batch in enumerate(batches):
            try:
                found = [unchanged_in(database, batch, int(parameters.get('hash_size', hash_size)), views)
                         for database in databases]
            except sqlite3.Error:  # damaged since the check: the Flow started for the files says why
                return
            answered(number, bytes(b'01'[any(column)] for column in zip(*found)) if found else b'0' * len(batch))
    return ask


def hasher_setting(name: str):
    """A setting of the ImageHasher as its config.yml gives it (the hash size the files are hashed at)."""
    with open(os.path.join(REPOSITORY, 'executors', 'image_hasher', 'config.yml')) as file:
        return yaml.safe_load(file)['with'][name]


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
