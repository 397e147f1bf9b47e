"""SimpleIndexer: stores hashed image documents and finds the stored images nearest a query.

The endpoints only adapt documents and parameters; the work is in image_index.py.
"""
import json
import os
from typing import List, Optional

import numpy as np
from docarray import DocList
from jina import Executor, requests

from executors import parameters as params
from executors.image_hasher.decode import blob_bytes
from executors.documents import HASH_TYPES, ImageDoc, Match
from executors.simple_indexer.keep import DEFAULT_POLICY, keep_order
from executors.simple_indexer.image_index import ImageIndex
from executors.simple_indexer.sharding import SHARD_SPACE, partition_problem, shard_of
from executors.simple_indexer.store import ImageRecord, blob_to_hex
from executors.simple_indexer.view_join import ViewTable
from executors.match import VERIFY_BYTES, evidence_of_doc
from executors.uris import file_uri
from executors.view_pairs import HASHES_PER_VIEW, INDEX_VIEWS, layout_of, view_pairs

MAX_LIMIT = 10_000
ENTRIES_PAGE = 5_000  # images per shard in one /entries answer: a few MB
URIS_PAGE = 100_000  # uris per shard in one /uris answer: about 10 MB


def record_of(doc: ImageDoc) -> ImageRecord:
    hashes = {name: getattr(doc, name) for name in ('ahash', 'phash', 'dhash', 'whash') if getattr(doc, name)}
    return ImageRecord(uri=doc.uri, digest=doc.digest, hash_size=doc.hash_size, hashes=hashes,
                       width=doc.width, height=doc.height, byte_size=doc.byte_size, mtime=doc.mtime,
                       views=dict(doc.views), evidence=evidence_of_doc(doc),
                       provenance=dict(doc.provenance))


def evidence_problem(doc: ImageDoc) -> Optional[str]:
    """Why doc's evidence cannot be used, if it cannot: whole 256-bit hashes in a known layout."""
    if doc.verify_codes is None:
        return None
    codes = doc.verify_codes = blob_bytes(doc.verify_codes)  # JSON clients send base64 text
    if len(codes) % VERIFY_BYTES or doc.information is None or (doc.colour is not None and len(doc.colour) != 2):
        return f'verify_codes must be whole {VERIFY_BYTES}-byte hashes, sent with information (and colour as [rg, yb])'
    try:
        layout_of(len(codes) // VERIFY_BYTES)
    except ValueError as error:
        return f'verify_codes: {error}'
    return None


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
    doc.error = view_problem(doc) or evidence_problem(doc)
    return doc.error is None


def _paths(parameters: dict, name: str) -> List[str]:
    """A parameter that lists files or folders, in the normal form of stored uris."""
    paths = parameters.get(name) or []
    if not isinstance(paths, list) or not all(isinstance(path, str) and path for path in paths):
        raise ValueError(f'{name} must be a list of file or folder paths')
    return [file_uri(path) for path in paths]


def _match(row: dict) -> Match:
    """A stored image's row (ImageStore.rows plus 'distance') as a match."""
    return Match(id=row['id'], uri=row['uri'], distance=row['distance'], digest=row['digest'], width=row['width'],
                 height=row['height'], byte_size=row['byte_size'], mtime=row['mtime'], evidence=row.get('evidence') or {})


def _json_blob(blob):
    """A blob of JSON: as gRPC clients send it, raw, or as JSON clients send any blob, base64 text.
    (blob_bytes alone refuses raw JSON: printable text that is not base64 is no image.)"""
    try:
        return json.loads(bytes(blob))
    except ValueError:
        return json.loads(blob_bytes(blob))


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
    holds the shard and the request's settings, then its entry_documents."""
    head = ImageDoc(result={'table_of_shard': shard_id, 'hash_type': hash_type, 'hash_size': hash_size,
                            'pairs': [list(pair) for pair in pairs], **settings})
    entries = entry_documents(index, hash_type, hash_size, shard_id, pairs)
    add_evidence(index, entries)
    return DocList[ImageDoc]([head] + entries)


def add_evidence(index: ImageIndex, entries: List[ImageDoc]) -> None:
    """Each stored image's evidence of the match decision on its entry document (result['key'])."""
    stored = index.store.evidence([doc.result['key'] for doc in entries])
    for doc in entries:
        evidence = stored.get(doc.result['key'])
        if evidence is not None:
            doc.verify_codes, doc.information = evidence.codes, evidence.information
            doc.colour = list(evidence.colour) if evidence.colour else None


def entry_documents(index: ImageIndex, hash_type: str, hash_size: int, shard_id: int, pairs, after: int = -1,
                    page: Optional[int] = None) -> List[ImageDoc]:
    """The stored images with a key above `after`, the first `page` of them by key: one document
    each with its row, its hash, the views that `pairs` compare, and `result` {'key': the order it
    was indexed in on this shard, 'shard'}."""
    table = index.table(hash_type, hash_size, pairs)
    plain_keys = table.view('plain')[0]
    keys = np.sort(plain_keys[plain_keys > after])[:page].tolist()
    rows = index.store.rows(keys)
    nbits = hash_size * hash_size
    texts = {}  # (view, key) -> the hex of its hashes, end to end
    for view in table.names:
        view_keys, codes = table.view(view)
        on_page = np.isin(view_keys, keys)  # the page's rows only: this runs once per page
        for key, code in zip(view_keys[on_page].tolist(), codes[on_page]):
            texts[view, key] = texts.get((view, key), '') + blob_to_hex(code.tobytes(), nbits)
    return [ImageDoc(id=row['id'], uri=row['uri'], digest=row['digest'], width=row['width'], height=row['height'],
                     byte_size=row['byte_size'], mtime=row['mtime'], provenance=row['provenance'], hash_size=hash_size,
                     result={'key': key, 'shard': shard_id},
                     views={f'{hash_type}.{view}': texts[view, key] for view in table.names
                            if view != 'plain' and (view, key) in texts},
                     **{hash_type: texts['plain', key]})
            for key in keys for row in (rows[key],)]


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
        params.log_request_errors_in_one_line(getattr(self.runtime_args, 'name', None))
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
    def add(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        params.check_known(parameters, '/index')
        for doc in docs:  # one spelling per file, whichever client sent it (uris.py)
            doc.uri = file_uri(doc.uri)
        usable = [doc for doc in docs if _usable(doc) and shard_of(record_of(doc).id, self.shards) == self.shard_id]
        for doc, is_new in zip(usable, self.index.add([record_of(doc) for doc in usable])):
            doc.status = 'indexed' if is_new else 'updated'
        for doc in docs:  # stored: most of each document's bytes need not travel back to the client
            doc.views, doc.verify_codes, doc.provenance = {}, None, {}
        return docs

    @requests(on='/search')
    def search(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        parameters = parameters or {}
        params.check_known(parameters, '/search')
        hash_type = params.hash_type(parameters, self.hash_type)
        limit = params.whole_number(parameters, 'limit', self.limit, 1, MAX_LIMIT)
        views, rotations = params.flag(parameters, 'views', True), params.flag(parameters, 'rotations', False)
        verify, verify_threshold = params.verification(parameters)
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
                                      view_pairs(views, rotations), evidence_of_doc(doc), verify, verify_threshold)
            doc.matches = [_match(row) for row in found]
        for doc in docs:  # used: the client has no need of them (and JSON has no raw bytes)
            doc.verify_codes = None
        return docs

    @requests(on='/duplicates')
    def duplicates(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        """Every group of stored images within `threshold` bits: one document per group.

        Parameters: hash_type, hash_size, threshold, views (bool, default true: compare the views
        of view_pairs.py too), rotations (bool: and flips and 90-degree turns), strict (bool:
        every member within the threshold of the kept file), keep ('original', the default;
        'largest', also 'best'; 'oldest'; 'first': keep.py), prefer (folders whose files are kept
        first). The document is the kept file, `status` says 'exact' or 'near',
        and `matches` are the other members with their distance to it.
        """
        parameters = parameters or {}
        params.check_known(parameters, '/duplicates')
        hash_type, hash_size, threshold, pairs = self._pair_settings(parameters)
        strict = params.flag(parameters, 'strict', True)
        verify, verify_threshold = params.verification(parameters)
        prefer = parameters.get('prefer') or []
        if not isinstance(prefer, list) or not all(isinstance(folder, str) for folder in prefer):
            raise params.RequestError('prefer must be a list of folder paths')
        keep = parameters.get('keep', DEFAULT_POLICY)
        if self.shards > 1:
            keep_order(keep, prefer)  # a wrong policy fails here, before any table is sent
            return table_documents(self.index, hash_type, hash_size, self.shard_id, pairs, threshold=threshold,
                                   strict=strict, keep=keep, prefer=prefer, verify=verify,
                                   verify_threshold=verify_threshold)
        groups = self.index.duplicates(hash_type, hash_size, threshold, strict=strict, keep=keep, prefer=prefer,
                                       pairs=pairs, verify=verify, verify_threshold=verify_threshold)
        return DocList[ImageDoc]([group_document(group) for group in groups])

    @requests(on='/entries')
    def entries(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        """A page of the stored images with their hashes and the views /pairs compares, for a client
        that finds duplicates across shards. Parameters as /duplicates, plus `after` (per shard,
        the last key it has: [-1, ...] to start) and `page` (images per shard, 5,000)."""
        parameters = parameters or {}
        params.check_known(parameters, '/entries')
        hash_type, hash_size, _, pairs = self._pair_settings(parameters)
        after = parameters.get('after') or []
        if not isinstance(after, list) or not all(isinstance(key, (int, float)) for key in after):
            raise params.RequestError('after must be a list of keys, one per shard')
        page = params.whole_number(parameters, 'page', ENTRIES_PAGE, 1, 100_000)
        mine = int(after[self.shard_id]) if self.shard_id < len(after) else -1
        return DocList[ImageDoc](entry_documents(self.index, hash_type, hash_size, self.shard_id, pairs, mine, page))

    @requests(on='/evidence')
    def evidence(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        """The evidence of the match decision of stored images, for a client that verifies the
        pairs found across shards: `keys` as /entries and /pairs name them (key * SHARD_SPACE +
        shard); this shard answers for its own, one document each with `result` {'key', 'shard'}."""
        params.check_known(parameters, '/evidence')
        keys = (parameters or {}).get('keys') or []
        if not isinstance(keys, list) or not all(isinstance(key, (int, float)) for key in keys):
            raise ValueError('keys must be a list of keys as /entries names them')
        mine = [int(key) // SHARD_SPACE for key in keys if int(key) % SHARD_SPACE == self.shard_id]
        entries = [ImageDoc(result={'key': key, 'shard': self.shard_id}) for key in mine]
        add_evidence(self.index, entries)
        return DocList[ImageDoc](entries)

    @requests(on='/pairs')
    def pairs(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        """The near pairs between images sent from every shard, a chunk at a time, and this
        shard's own. The chunk is one document: `result` the header and `blob` the bytes of a
        packed ViewTable (view_join.py) keyed across shards. The answer is one document whose
        `blob` holds (key, key, distance) triples as little-endian int64: each pair of the whole
        collection is found by one shard only, so the pair search divides among the shards
        (view_join.pairs_across)."""
        params.check_known(parameters, '/pairs')
        hash_type, hash_size, threshold, pairs = self._pair_settings(parameters or {})
        found = []
        for doc in docs:
            chunk = ViewTable.unpacked(doc.result, blob_bytes(doc.blob))
            if chunk.nbits != hash_size * hash_size:
                raise params.RequestError(f'the chunk holds {chunk.nbits}-bit hashes, the request asks for hash_size {hash_size}')
            own = self.index.table(hash_type, hash_size, pairs)
            found.append(np.stack(chunk.pairs_across(own, threshold, own.keys * SHARD_SPACE + self.shard_id), axis=1))
        triples = np.concatenate(found) if found else np.empty((0, 3), dtype=np.int64)
        return DocList[ImageDoc]([ImageDoc(blob=triples.astype('<i8').tobytes())])

    def _pair_settings(self, parameters: dict) -> tuple:
        """(hash type, hash size, threshold, pairs of views compared) of a /duplicates-like request."""
        hash_type = params.hash_type(parameters, self.hash_type)
        hash_size = params.whole_number(parameters, 'hash_size', self.hash_size, 2, 32)
        views, rotations = params.flag(parameters, 'views', True), params.flag(parameters, 'rotations', False)
        threshold = params.threshold(parameters, hash_type, hash_size * hash_size, views, rotations)
        return hash_type, hash_size, threshold, view_pairs(views, rotations)

    @requests(on='/delete')
    def delete(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        """Remove images named by `parameters` {'ids': [...], 'uris': [...], 'under': [...]} or by
        the docs' uris; `under`: files or folders, whose images are removed, files below included."""
        parameters = parameters or {}
        params.check_known(parameters, '/delete')
        uris = [file_uri(uri) for uri in list(parameters.get('uris') or []) + [doc.uri for doc in docs if doc.uri]]
        return _answer(deleted=self.index.delete(ids=list(parameters.get('ids') or []), uris=uris,
                                                 under=_paths(parameters, 'under')))

    @requests(on='/unchanged')
    def unchanged(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        """Which files need not be read again: each document's `blob` is a JSON list of [uri, size
        in bytes, modification time] (a client's batch: one document for thousands of files, so
        that the check costs no per-file document); the answer puts in its place one ASCII '1'
        (stored from that very file, see ImageStore.unchanged) or '0' per file. Parameters:
        hash_size and views, as /index's, which the stored entry must have been made with.
        Every shard answers for the files it holds; the shard merger combines the answers."""
        parameters = parameters or {}
        params.check_known(parameters, '/unchanged')
        hash_size = params.whole_number(parameters, 'hash_size', self.hash_size, 2, 32)
        views = params.flag(parameters, 'views', True)
        for doc in docs:
            try:
                files = [(file_uri(uri), size, mtime) for uri, size, mtime in _json_blob(doc.blob)]
            except (ValueError, TypeError):  # HTTP clients write this by hand: say what is wanted
                raise ValueError('/unchanged: each blob must be a JSON list of [uri, size, mtime]') from None
            doc.blob = bytes(b'01'[known] for known in self.index.store.unchanged(files, hash_size, views))
        return docs

    @requests(on='/archived')
    def archived(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        """Remember archives and Parquet files whose every image the client has had stored:
        `archives` is a list of [path, size in bytes, modification time], as /unchanged asks about
        them, so that an unchanged archive is skipped whole (client/archives.py). hash_size and
        views: as /index's. Every shard records them (each answers /unchanged for its share)."""
        parameters = parameters or {}
        params.check_known(parameters, '/archived')
        hash_size = params.whole_number(parameters, 'hash_size', self.hash_size, 2, 32)
        try:
            archives = [(file_uri(path), int(size), float(mtime)) for path, size, mtime in parameters.get('archives') or []]
        except (ValueError, TypeError):
            raise params.RequestError('/archived: archives must be a list of [path, size, mtime]') from None
        return _answer(archived=self.index.store.record_archives(archives, hash_size, params.flag(parameters, 'views', True)))

    @requests(on='/uris')
    def uris(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        """A page of the stored uris, for a client that checks which files are missing on its disk
        (status, index --prune). Parameters: `under` (files or folders: only their images),
        `after` (per shard, the last key it sent: [-1, ...] to start) and `page` (uris per shard).
        One document per shard: `blob` its uris, NUL-separated (no path holds a NUL), and
        `result` {'shard', 'after': its last key, 'more': whether a next page has any}."""
        parameters = parameters or {}
        params.check_known(parameters, '/uris')
        after = parameters.get('after') or []
        if not isinstance(after, list) or not all(isinstance(key, (int, float)) for key in after):
            raise ValueError('after must be a list of keys, one per shard')
        mine = int(after[self.shard_id]) if self.shard_id < len(after) else -1
        page = params.whole_number(parameters, 'page', URIS_PAGE, 1, 1_000_000)
        rows = self.index.store.uris_under(_paths(parameters, 'under'), mine, page)
        return DocList[ImageDoc]([ImageDoc(blob='\0'.join(uri for _, uri in rows).encode(),
                                           result={'shard': self.shard_id, 'after': rows[-1][0] if rows else mine,
                                                   'more': len(rows) == page})])

    @requests(on='/clear')
    def clear(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        params.check_known(parameters, '/clear')
        return _answer(deleted=self.index.clear())

    @requests(on='/status')
    def status(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        params.check_known(parameters, '/status')
        return _answer(workspace=self.workspace, shards=self.shards, **self.index.status())
