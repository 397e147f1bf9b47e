"""SimpleIndexer: stores hashed image documents and finds the stored images nearest a query.

The endpoints only adapt documents and parameters; the work is in image_index.py.
"""
import os
from typing import Optional

from docarray import DocList
from jina import Executor, requests

from executors import parameters as params
from executors.documents import ImageDoc, Match
from executors.simple_indexer.image_index import ImageIndex
from executors.simple_indexer.store import ImageRecord

MAX_LIMIT = 10_000


def record_of(doc: ImageDoc) -> ImageRecord:
    hashes = {name: getattr(doc, name) for name in ('ahash', 'phash', 'dhash', 'whash') if getattr(doc, name)}
    return ImageRecord(uri=doc.uri, digest=doc.digest, hash_size=doc.hash_size, hashes=hashes,
                       width=doc.width, height=doc.height, byte_size=doc.byte_size, mtime=doc.mtime)


def _usable(doc: ImageDoc) -> bool:
    """Hashed by the ImageHasher and not marked with an error; a doc without either gets one."""
    if doc.error:
        return False
    if not doc.digest or not doc.hash_size:
        doc.error = 'the document was not hashed: send it through the ImageHasher first'
        return False
    return True


def _match(row: dict) -> Match:
    """A stored image's row (ImageStore.rows plus 'distance') as a match."""
    return Match(id=row['id'], uri=row['uri'], distance=row['distance'], digest=row['digest'], width=row['width'],
                 height=row['height'], byte_size=row['byte_size'], mtime=row['mtime'])


def _group_document(group: dict) -> ImageDoc:
    kept = group['keep']
    return ImageDoc(id=kept['id'], uri=kept['uri'], digest=kept['digest'], width=kept['width'],
                    height=kept['height'], byte_size=kept['byte_size'], mtime=kept['mtime'],
                    status=group['kind'], matches=[_match(row) for row in group['duplicates']])


class SimpleIndexer(Executor):
    """Persistent Hamming-distance index of image hashes.

    `hash_type` is the hash searched by default; `load_on_start` builds its in-memory index
    when the executor starts instead of at the first search.
    """

    def __init__(self, hash_type: str = 'phash', hash_size: int = 8, limit: int = 10,
                 load_on_start: bool = True, **kwargs):
        super().__init__(**kwargs)
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
        usable = [doc for doc in docs if _usable(doc)]
        for doc, is_new in zip(usable, self.index.add([record_of(doc) for doc in usable])):
            doc.status = 'indexed' if is_new else 'updated'
        return docs

    @requests(on='/search')
    def search(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        parameters = parameters or {}
        hash_type = params.hash_type(parameters, self.hash_type)
        limit = params.whole_number(parameters, 'limit', self.limit, 1, MAX_LIMIT)
        for doc in docs:
            if not _usable(doc):
                continue
            query = getattr(doc, hash_type)
            if not query:
                doc.error = f'the query has no {hash_type}: it was not computed for this request'
                continue
            nbits = doc.hash_size * doc.hash_size
            threshold = params.threshold(parameters, hash_type, nbits)
            doc.matches = [_match(row) for row in self.index.search(hash_type, query, doc.hash_size, threshold, limit)]
        return docs

    @requests(on='/duplicates')
    def duplicates(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        """Every group of stored images within `threshold` bits: one document per group.

        Parameters: hash_type, hash_size, threshold, strict (bool: every member within the
        threshold of the kept file), keep ('best', 'oldest', 'first'), prefer (folders whose
        files are kept first). The document is the kept file, `status` says 'exact' or 'near',
        and `matches` are the other members with their distance to it.
        """
        parameters = parameters or {}
        hash_type = params.hash_type(parameters, self.hash_type)
        hash_size = params.whole_number(parameters, 'hash_size', self.hash_size, 2, 32)
        threshold = params.threshold(parameters, hash_type, hash_size * hash_size)
        strict = parameters.get('strict', False)
        prefer = parameters.get('prefer') or []
        if not isinstance(strict, bool):
            raise ValueError(f'strict must be true or false, not {strict!r}')
        if not isinstance(prefer, list) or not all(isinstance(folder, str) for folder in prefer):
            raise ValueError('prefer must be a list of folder paths')
        groups = self.index.duplicates(hash_type, hash_size, threshold, strict=strict,
                                       keep=parameters.get('keep', 'best'), prefer=prefer)
        return DocList[ImageDoc]([_group_document(group) for group in groups])

    @requests(on='/delete')
    def delete(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs):
        """Remove images named by `parameters` {'ids': [...], 'uris': [...]} or by the docs' uris."""
        parameters = parameters or {}
        uris = list(parameters.get('uris') or []) + [doc.uri for doc in docs if doc.uri]
        return {'deleted': self.index.delete(ids=list(parameters.get('ids') or []), uris=uris)}

    @requests(on='/clear')
    def clear(self, **kwargs):
        return {'deleted': self.index.clear()}

    @requests(on='/status')
    def status(self, **kwargs):
        return {'workspace': self.workspace, **self.index.status()}
