"""ShardMerger: the `uses_after` of a sharded SimpleIndexer; the merging is in merge.py."""
from typing import List, Optional

from docarray import DocList
from jina import Executor, requests

from executors import parameters as params
from executors.documents import ImageDoc
from executors.shard_merger.merge import (is_table, merge_entries, merge_index, merge_pairs, merge_results,
                                          merge_search, merge_unchanged, union_groups)
from executors.simple_indexer.executor import MAX_LIMIT, group_document


class ShardMerger(Executor):
    """Turns the shards' answers into the answer of one index. `limit`: matches per query when a
    request names none; keep it equal to the indexer's `limit`."""

    def __init__(self, limit: int = 10, **kwargs):
        super().__init__(**kwargs)
        params.log_request_errors_in_one_line(getattr(self.runtime_args, 'name', None))
        self.limit = limit

    # Each endpoint declares `docs: DocList[ImageDoc]`: only then does Jina hand docs_matrix over as ImageDocs.
    @requests(on='/index')
    def index(self, docs: DocList[ImageDoc], docs_matrix: List[DocList[ImageDoc]], **kwargs) -> DocList[ImageDoc]:
        return DocList[ImageDoc](merge_index(docs_matrix))

    @requests(on='/search')
    def search(self, docs: DocList[ImageDoc], docs_matrix: List[DocList[ImageDoc]],
               parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        limit = params.whole_number(parameters or {}, 'limit', self.limit, 1, MAX_LIMIT)
        return DocList[ImageDoc](merge_search(docs_matrix, limit))

    @requests(on='/duplicates')
    def duplicates(self, docs: DocList[ImageDoc], docs_matrix: List[DocList[ImageDoc]], **kwargs) -> DocList[ImageDoc]:
        tables = [answer for answer in docs_matrix if is_table(answer)]
        if not tables:  # an unsharded indexer answered with its groups already
            return docs_matrix[0]
        return DocList[ImageDoc]([group_document(group) for group in union_groups(tables)])

    @requests(on=['/entries', '/evidence'])
    def entries(self, docs: DocList[ImageDoc], docs_matrix: List[DocList[ImageDoc]], **kwargs) -> DocList[ImageDoc]:
        return DocList[ImageDoc](merge_entries(docs_matrix or []))

    @requests(on='/pairs')
    def pairs(self, docs: DocList[ImageDoc], docs_matrix: List[DocList[ImageDoc]], **kwargs) -> DocList[ImageDoc]:
        return DocList[ImageDoc](merge_pairs(docs_matrix or []))

    @requests(on='/unchanged')
    def unchanged(self, docs: DocList[ImageDoc], docs_matrix: List[DocList[ImageDoc]], **kwargs) -> DocList[ImageDoc]:
        return DocList[ImageDoc](merge_unchanged(docs_matrix))

    @requests(on='/uris')
    def uris(self, docs: DocList[ImageDoc], docs_matrix: List[DocList[ImageDoc]], **kwargs) -> DocList[ImageDoc]:
        return DocList[ImageDoc]([doc for answer in docs_matrix or [] for doc in answer])  # one page per shard

    @requests(on=['/status', '/delete', '/clear', '/archived'])
    def results(self, docs: DocList[ImageDoc], docs_matrix: List[DocList[ImageDoc]], **kwargs) -> DocList[ImageDoc]:
        merged = merge_results([answer[0].result for answer in docs_matrix if answer])
        return DocList[ImageDoc]([ImageDoc(result=dict(merged, shards=len(docs_matrix)))])
