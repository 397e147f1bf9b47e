"""The index and search jobs: files in, documents through the Flow, a tally and results out."""
import os
import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

from client.archives import Archive, image_count, located_members, members
from client.connection import Connection
from client.files import Source, is_image_name
from client.output import QueryResult
from client.progress import Progress
from executors.documents import ImageDoc
from executors.parameters import default_threshold


def document_for(path: str, remote: bool) -> ImageDoc:
    """The file's absolute path for a local Flow; for a remote one, its encoded bytes (raises OSError)."""
    uri = os.path.abspath(path)
    if not remote:
        return ImageDoc(uri=uri)
    with open(path, 'rb') as file:
        return ImageDoc(uri=uri, blob=file.read(), mtime=os.fstat(file.fileno()).st_mtime)


@dataclass
class IndexTally:
    indexed: int = 0
    updated: int = 0
    errors: List[Tuple[str, str]] = field(default_factory=list)  # (path, reason)
    seconds: float = 0.0  # of the hashing: from the first request to the last answer
    unchanged: int = 0  # skipped: stored from the same file at its present size and time (client/sync.py)
    pruned: Optional[int] = None  # entries of missing files removed, when asked to (index --prune)

    def summary(self) -> str:
        done = self.indexed + self.updated
        pruned = f', {self.pruned} pruned' if self.pruned is not None else ''
        rate = (f' ({done} image{"" if done == 1 else "s"} hashed in {self.seconds:.1f} s, '
                f'{done / max(self.seconds, 1e-9):.1f} images/s)') if done else ''
        return (f'indexed {self.indexed} new, {self.updated} updated, {self.unchanged} unchanged, '
                f'{len(self.errors)} failed{pruned}{rate}')


def documents(sources: Iterable[Source], make_doc,
              remote: bool = True) -> Iterator[Tuple[str, Optional[ImageDoc], Optional[str]]]:
    """(label, document, None) for each image of `sources` in order, or (label, None, reason) for
    one that cannot be read. A path's document is make_doc(path) (which may raise OSError); an
    archive's members are read as they are sent, one pass (client/archives.py), and go as `blob`,
    except to a local Flow (remote=False) from a plain tar: its hasher reads the user's files, so it
    is sent the member's uri and where its data starts (`member_offset`), not the bytes, which would
    cross the client, the gateway and the hasher. They carry the archive's modification time, as a
    file's document carries the file's."""
    for source in sources:
        if not isinstance(source, Archive):
            try:
                yield source, make_doc(source), None
            except OSError as error:
                yield source, None, f'cannot read: {error.strerror or error}'
            continue
        for member in (members if remote else located_members)(source, is_image_name):
            if member.error:
                yield member.uri, None, member.error
            elif member.offset is not None:
                yield member.uri, ImageDoc(uri=member.uri, member_offset=member.offset, mtime=source.mtime), None
            else:
                yield member.uri, ImageDoc(uri=member.uri, blob=member.data, mtime=source.mtime), None


def image_total(sources: Sequence[Source]) -> Optional[int]:
    """How many images `sources` hold, for the progress line; None when a tar leaves it unknown."""
    counts = [1 if not isinstance(source, Archive) else image_count(source, is_image_name) for source in sources]
    return None if None in counts else sum(counts)


def send_files(connection: Connection, endpoint: str, files: Sequence[Source], parameters: dict, batch_size: int,
               on_doc, on_failure, verb: str, make_doc=None, on_taken=None) -> None:
    """Send every image of `files` (paths and archives, find_images' answer) through the Flow:
    on_doc(label, doc) per answer, on_failure(label, reason) per error, where the label is the
    path given or the member's ARCHIVE::MEMBER uri; on_taken(label), if given, as each is taken,
    in order. Labels stream from the archives: nothing here holds more than the images in flight.

    make_doc(path) builds each file's document (default: document_for); it may raise OSError.
    """
    make_doc = make_doc or (lambda path: document_for(path, connection.remote))
    progress = Progress(verb, image_total(files))
    entries = documents(files, make_doc, connection.remote)
    paths_by_id = {}
    taken = {}  # labels handed to the client and not yet answered or failed, in order
    attempt, handed_out, answered_any = 0, 0, False

    def failed(path: str, reason: str) -> None:
        taken.pop(path, None)
        on_failure(path, reason)
        progress.advance(1)

    def docs(mine: int):
        # One generator per attempt: a broken stream's generator stops instead of taking more files.
        nonlocal handed_out
        while mine == attempt and (entry := next(entries, None)) is not None:
            path, doc, reason = entry
            handed_out += 1
            taken[path] = None
            if on_taken:
                on_taken(path)
            if doc is None:
                failed(path, reason)
                continue
            paths_by_id[doc.id] = path
            yield doc

    def answered(docs, error):
        nonlocal answered_any
        answered_any = True
        for doc in docs:
            path = paths_by_id.pop(doc.id, doc.uri)
            taken.pop(path, None)
            if error:
                on_failure(path, f'server error: {error}')
            else:
                on_doc(path, doc)
        progress.advance(len(docs))

    while True:
        before = handed_out
        try:
            connection.post(endpoint, docs(attempt), parameters, batch_size, answered)
            break
        except Exception as error:  # the stream broke: a request over the server's size limit, or the server gone
            if isinstance(error, ConnectionError) and not answered_any:
                raise  # the server was never reached: one message says so
            attempt += 1
            reason = f'no answer from the server: {broken_stream(error)}'
            for path in list(taken):  # in flight: lost with the stream
                failed(path, reason)
            paths_by_id.clear()
            if handed_out == before:  # not one file went out this time: the rest cannot either
                for path, _, _ in entries:
                    if on_taken:
                        on_taken(path)
                    failed(path, reason)
                break
    for path in list(taken):  # sent but never answered
        failed(path, 'no answer from the server')
    progress.finish()


def broken_stream(error: Exception) -> str:
    """One line on why a stream broke: gRPC's own errors print as several lines of repr."""
    if callable(getattr(error, 'code', None)) and callable(getattr(error, 'details', None)):
        return f'gRPC error: {error.code()} {error.details()}'
    return (str(error).splitlines() or [type(error).__name__])[0]


def index_files(connection: Connection, files: Sequence[Source], parameters: dict, batch_size: int = 32) -> IndexTally:
    tally = IndexTally()
    started = time.monotonic()

    def on_doc(path: str, doc: ImageDoc) -> None:
        if doc.error:
            tally.errors.append((path, doc.error))
        elif doc.status == 'updated':
            tally.updated += 1
        else:
            tally.indexed += 1

    send_files(connection, '/index', files, parameters, batch_size,
               on_doc, lambda path, reason: tally.errors.append((path, reason)), 'indexing')
    tally.seconds = time.monotonic() - started
    return tally


def search_files(connection: Connection, files: Sequence[Source], parameters: dict,
                 batch_size: int = 32) -> List[QueryResult]:
    """One QueryResult per image, in the order of `files` (an archive's in its own order)."""
    results, order = {}, []
    hash_type = parameters.get('hash_type', 'phash')

    def on_doc(path: str, doc: ImageDoc) -> None:
        if doc.error:
            results[path] = QueryResult(path, error=doc.error)
            return
        threshold = parameters.get('threshold', default_threshold(hash_type, doc.hash_size ** 2,
                                                                  parameters.get('views', True),
                                                                  parameters.get('rotations', False)))
        results[path] = QueryResult(path, [{'uri': m.uri, 'id': m.id, 'distance': m.distance, 'evidence': m.evidence}
                                           for m in doc.matches], threshold=threshold)

    def on_failure(path: str, reason: str) -> None:
        results[path] = QueryResult(path, error=reason)

    send_files(connection, '/search', files, parameters, batch_size, on_doc, on_failure, 'searching',
               on_taken=order.append)
    return [results.get(path) or QueryResult(path, error='no answer from the server') for path in order]
