"""SimpleIndexer: stores hashed image documents and finds the stored images nearest a query.

The endpoints only adapt documents and parameters; the work is in image_index.py.
"""
import os
from typing import Optional

from docarray import DocList
from jina import Executor, requests

from executors import parameters as params
from executors.documents import HASH_TYPES, ImageDoc, Match
from executors.simple_indexer.grouping import keep_rank
from executors.simple_indexer.image_index import ImageIndex
from executors.simple_indexer.sharding import partition_problem, shard_of
from executors.simple_indexer.store import ImageRecord, blob_to_hex
from executors.view_pairs import HASHES_PER_VIEW, INDEX_VIEWS, view_pairs

MAX_LIMIT = 10_000


def record_of(doc: ImageDoc) -> ImageRecord:
    hashes = {name: getattr(doc, name) for name in ('ahash', 'phash', 'dhash', 'whash') if getattr(doc, name)}
    return ImageRecord(uri=doc.uri, digest=doc.digest, hash_size=doc.hash_size, hashes=hashes,
                       width=doc.width, height=doc.height, byte_size=doc.byte_size, mtime=doc.mtime,
                       views=dict(doc.views))


def view_problem(doc: ImageDoc) -> Optional[str]:
    """Why doc's views cannot be stored, if they cannot: each is '<hash type>.<view>' -> whole hashes in hex."""
    width = (doc.hash_size ** 2 + 3) // 4
    for name, text in doc.views.items():
        hash_type, _, view = name.partition('.')
        if hash_type not in HASH_TYPES or view not in INDEX_VIEWS:
            return f'unknown view {name!r}: views are named <hash type>.<{"|".join(INDEX_VIEWS)}>'
        if not text or len(text) % width or len(text) // width != HASHES_PER_VIEW[view] \
                or any(c not in '0123456789abcdefABCDEF' for c in text):
            count = HASHES_PER_VIEW[view]
            return f'view {name!r} must be {count} hash{"es" * (count > 1)} of {width} hex digits each'
    return None


def _usable(doc: ImageDoc) -> bool:
    """Hashed by the ImageHasher and not marked with an error; a doc without either gets one."""
    if doc.error:
        return False
    if not doc.digest or not doc.hash_size:
        doc.error = 'the document was not hashed: send it through the ImageHasher first'
        return False
    doc.error = view_problem(doc)
    return doc.error is None


def _match(row: dict) -> Match:
    """A stored image's row (ImageStore.rows plus 'distance') as a match."""
    return Match(id=row['id'], uri=row['uri'], distance=row['distance'], digest=row['digest'], width=row['width'],
                 height=row['height'], byte_size=row['byte_size'], mtime=row['mtime'])


def _answer(**values) -> DocList[ImageDoc]:
    """/status, /delete, /clear answer with one document: dicts would reach the client from one shard only."""
    return DocList[ImageDoc]([ImageDoc(result=values)])


def group_document(group: dict) -> ImageDoc:
    kept = group['keep']
    return ImageDoc(id=kept['id'], uri=kept['uri'], digest=kept['digest'], width=kept['width'],
                    height=kept['height'], byte_size=kept['byte_size'], mtime=kept['mtime'],
                    status=group['kind'], matches=[_match(row) for row in group['duplicates']])


def table_documents(index: ImageIndex, hash_type: str, hash_size: int, shard_id: int, pairs,
                    **settings) -> DocList[ImageDoc]:
    """One shard's part of /duplicates for the shard merger: a first document whose `result`
    holds the shard and the request's settings, then one document per stored image with its hash,
    its views that `pairs` compare and its row (`result` {'key': its key, the order it was indexed
    in on this shard})."""
    table, rows = index.table(hash_type, hash_size, pairs)
    nbits = hash_size * hash_size
    texts = {}  # (view, key) -> the hex of its hashes, end to end
    for view in table.names:
        keys, codes = table.view(view)
        for key, code in zip(keys.tolist(), codes):
            texts[view, key] = texts.get((view, key), '') + blob_to_hex(code.tobytes(), nbits)
    head = ImageDoc(result={'table_of_shard': shard_id, 'hash_type': hash_type, 'hash_size': hash_size,
                            'pairs': [list(pair) for pair in pairs], **settings})
    return DocList[ImageDoc]([head] + [
        ImageDoc(id=row['id'], uri=row['uri'], digest=row['digest'], width=row['width'], height=row['height'],
                 byte_size=row['byte_size'], mtime=row['mtime'], hash_size=hash_size, result={'key': key},
                 views={f'{hash_type}.{view}': texts[view, key] for view in table.names
                        if view != 'plain' and (view, key) in texts},
                 **{hash_type: texts['plain', key]})
        for key, row in rows.items()])


class SimpleIndexer(Executor):
    """Persistent Hamming-distance index of image hashes.

    `hash_type` is the hash searched by default; `load_on_start` builds its in-memory index
    when the executor starts instead of at the first search.

    Sharded (`shards: N`, `polling: ALL`, the shard merger as `uses_after`), each shard receives
    every request, stores only the images whose id falls to it (sharding.py), and answers
    /duplicates with its table for the merger to group (see README.md).
    """

    def __init__(self, hash_type: str = 'phash', hash_size: int = 8, limit: int = 10,
                 load_on_start: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.shard_id = getattr(self.runtime_args, 'shard_id', None) or 0
        self.shards = getattr(self.runtime_args, 'shards', None) or 1
        if os.path.basename(os.path.normpath(self.workspace)) == str(self.shard_id):  # Jina's WORKSPACE/<class>/<shard>
            problem = partition_problem(os.path.dirname(os.path.normpath(self.workspace)), self.shards, only=self.shard_id)
            if problem:
                raise RuntimeError(problem)
        self.hash_type = params.hash_type({}, hash_type)
        self.hash_size = hash_size
        self.limit = limit
        self.index = ImageIndex(os.path.join(self.workspace, 'index.db'))
        if load_on_start:
            self.index.load(self.hash_type, hash_size)

    def close(self) -> None:
        self.index.close()
        super().close()

    @requests(on='/index')
    def add(self, docs: DocList[ImageDoc], **kwargs) -> DocList[ImageDoc]:
        usable = [doc for doc in docs if _usable(doc) and shard_of(record_of(doc).id, self.shards) == self.shard_id]
        for doc, is_new in zip(usable, self.index.add([record_of(doc) for doc in usable])):
            doc.status = 'indexed' if is_new else 'updated'
        for doc in docs:  # stored: half of each document's bytes need not travel back to the client
            doc.views = {}
        return docs

    @requests(on='/search')
    def search(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        parameters = parameters or {}
        hash_type = params.hash_type(parameters, self.hash_type)
        limit = params.whole_number(parameters, 'limit', self.limit, 1, MAX_LIMIT)
        views, rotations = params.flag(parameters, 'views', True), params.flag(parameters, 'rotations', False)
        if 'threshold' in parameters:  # refuse a wrong one even when no document is usable
            nbits = max((doc.hash_size ** 2 for doc in docs if doc.hash_size), default=32 * 32)
            params.whole_number(parameters, 'threshold', 0, 0, nbits)
        for doc in docs:
            if not _usable(doc):
                continue
            query = getattr(doc, hash_type)
            if not query:
                doc.error = f'the query has no {hash_type}: it was not computed for this request'
                continue
            nbits = doc.hash_size * doc.hash_size
            threshold = params.threshold(parameters, hash_type, nbits, views, rotations)
            views_of_query = {name.split('.', 1)[1]: text for name, text in doc.views.items()
                              if name.startswith(f'{hash_type}.')}
            found = self.index.search(hash_type, dict(views_of_query, plain=query), doc.hash_size, threshold, limit,
                                      view_pairs(views, rotations))
            doc.matches = [_match(row) for row in found]
        return docs

    @requests(on='/duplicates')
    def duplicates(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        """Every group of stored images within `threshold` bits: one document per group.

        Parameters: hash_type, hash_size, threshold, views (bool, default true: compare the views
        of view_pairs.py too), rotations (bool: and flips and 90-degree turns), strict (bool:
        every member within the threshold of the kept file), keep ('best', 'oldest', 'first'), prefer (folders whose
        files are kept first). The document is the kept file, `status` says 'exact' or 'near',
        and `matches` are the other members with their distance to it.
        """
        parameters = parameters or {}
        hash_type = params.hash_type(parameters, self.hash_type)
        hash_size = params.whole_number(parameters, 'hash_size', self.hash_size, 2, 32)
        views, rotations = params.flag(parameters, 'views', True), params.flag(parameters, 'rotations', False)
        threshold = params.threshold(parameters, hash_type, hash_size * hash_size, views, rotations)
        pairs = view_pairs(views, rotations)
        strict = parameters.get('strict', False)
        prefer = parameters.get('prefer') or []
        if not isinstance(strict, bool):
            raise ValueError(f'strict must be true or false, not {strict!r}')
        if not isinstance(prefer, list) or not all(isinstance(folder, str) for folder in prefer):
            raise ValueError('prefer must be a list of folder paths')
        keep = parameters.get('keep', 'best')
        if self.shards > 1:
            keep_rank(keep, prefer)  # a wrong policy fails here, before any table is sent
            return table_documents(self.index, hash_type, hash_size, self.shard_id, pairs, threshold=threshold,
                                   strict=strict, keep=keep, prefer=prefer)
        groups = self.index.duplicates(hash_type, hash_size, threshold, strict=strict, keep=keep, prefer=prefer,
                                       pairs=pairs)
        return DocList[ImageDoc]([group_document(group) for group in groups])

    @requests(on='/delete')
    def delete(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        """Remove images named by `parameters` {'ids': [...], 'uris': [...]} or by the docs' uris."""
        parameters = parameters or {}
        uris = list(parameters.get('uris') or []) + [doc.uri for doc in docs if doc.uri]
        return _answer(deleted=self.index.delete(ids=list(parameters.get('ids') or []), uris=uris))

    @requests(on='/clear')
    def clear(self, docs: DocList[ImageDoc], **kwargs) -> DocList[ImageDoc]:
        return _answer(deleted=self.index.clear())

    @requests(on='/status')
    def status(self, docs: DocList[ImageDoc], **kwargs) -> DocList[ImageDoc]:
        return _answer(workspace=self.workspace, shards=self.shards, **self.index.status())
