"""Merging the answers of the SimpleIndexer's shards into the answer one shard would give.

Each function takes `answers`: one list of documents per shard, as Jina's `docs_matrix` hands
them to the `uses_after` executor. With `polling: ALL` every shard answered the same request, so
the i-th document of every answer is the same query document.
"""
from typing import Any, Dict, List, Optional

import numpy as np

from executors.documents import ImageDoc
from executors.simple_indexer.grouping import groups_from_pairs, identical_copies, keep_rank, near_pairs
from executors.simple_indexer.hamming import pad
from executors.simple_indexer.store import hex_to_blob, views_blob
from executors.simple_indexer.view_join import ViewTable
from executors.view_pairs import views_needed

ROW_FIELDS = ('id', 'uri', 'digest', 'width', 'height', 'byte_size', 'mtime')


def _first(values) -> Optional[Any]:
    return next((value for value in values if value is not None), None)


def merge_index(answers: List[List[ImageDoc]]) -> List[ImageDoc]:
    """/index: one shard stored each image and set its `status`; the others left it None."""
    merged = answers[0]
    for position, doc in enumerate(merged):
        doc.status = _first(answer[position].status for answer in answers)
        doc.error = _first(answer[position].error for answer in answers)
    return merged


def merge_search(answers: List[List[ImageDoc]], limit: int) -> List[ImageDoc]:
    """/search: every shard's matches of a query, by distance then id, the first `limit`: the
    order one shard gives (each shard already cut its own list at `limit`, which loses nothing)."""
    merged = answers[0]
    for position, doc in enumerate(merged):
        found = [match for answer in answers for match in answer[position].matches]
        doc.matches = sorted(found, key=lambda match: (match.distance, match.id))[:limit]
        doc.error = _first(answer[position].error for answer in answers)
    return merged


def merge_results(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    """/status, /delete, /clear: counts summed (nested too: hashes per type and size); any other
    value kept once if every shard says the same, else as the list of the shards' values."""
    merged = {}
    for name in dict.fromkeys(key for result in results for key in result):
        values = [result[name] for result in results if name in result]
        if all(isinstance(value, dict) for value in values):
            merged[name] = merge_results(values)
        elif all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values):
            total = sum(values)
            merged[name] = int(total) if float(total).is_integer() else total  # protobuf numbers arrive as floats
        elif all(value == values[0] for value in values):
            merged[name] = values[0]
        else:
            merged[name] = values
    return merged


def is_table(answer: List[ImageDoc]) -> bool:
    return bool(answer) and 'table_of_shard' in answer[0].result


def union_groups(tables: List[List[ImageDoc]]) -> List[dict]:
    """/duplicates over all shards: the union of the shards' tables grouped by the very functions
    a single index uses (grouping.py), so the groups, kept files, distances and order are those of
    one shard. Groups as ImageIndex.duplicates returns them.

    Rows get new keys in the order (key on its shard, shard), which is what keep='first' ranks by:
    indexing order within a shard, the shards interleaved.
    """
    tables = sorted(tables, key=lambda table: table[0].result['table_of_shard'])
    settings = tables[0][0].result
    hash_type, hash_size = settings['hash_type'], int(settings['hash_size'])
    pairs = [tuple(pair) for pair in settings['pairs']]
    nbits = hash_size * hash_size
    words = (nbits + 63) // 64
    entries = sorted(((int(doc.result['key']), shard, doc) for shard, table in enumerate(tables) for doc in table[1:]),
                     key=lambda entry: entry[:2])
    docs = [doc for _, _, doc in entries]
    views = {'plain': (np.arange(len(docs), dtype=np.int64),
                       np.frombuffer(b''.join(pad(hex_to_blob(getattr(doc, hash_type)), words) for doc in docs),
                                     dtype=np.uint64).reshape(len(docs), words))}
    for view in views_needed(pairs):
        packed = {key: views_blob(doc.views[f'{hash_type}.{view}'], nbits) for key, doc in enumerate(docs)
                  if f'{hash_type}.{view}' in doc.views}
        keys = [key for key, codes in packed.items() for _ in range(len(codes) // (words * 8))]
        views[view] = (np.array(keys, dtype=np.int64),
                       np.frombuffer(b''.join(packed.values()), dtype=np.uint64).reshape(len(keys), words))
    table = ViewTable(nbits, views, pairs)
    rows = {key: dict({field: getattr(doc, field) for field in ROW_FIELDS}, key=key) for key, doc in enumerate(docs)}
    copies = identical_copies(list(range(len(docs))), [doc.digest for doc in docs])
    keys_a, keys_b, _ = near_pairs(table, copies, int(settings['threshold']))
    return groups_from_pairs(keys_a, keys_b, copies, rows, table, bool(settings['strict']),
                             keep_rank(settings['keep'], settings.get('prefer') or []))
