"""Merging the answers of the SimpleIndexer's shards into the answer one shard would give.

Each function takes `answers`: one list of documents per shard, as Jina's `docs_matrix` hands
them to the `uses_after` executor. With `polling: ALL` every shard answered the same request, so
the i-th document of every answer is the same query document.
"""
from typing import Any, Dict, List, Optional

from executors.documents import ImageDoc
from executors.match import Evidence, Judge, allows_near_64, evidence_of_doc
from executors.parameters import VERIFY_THRESHOLD
from executors.simple_indexer.grouping import groups_from_pairs, identical_copies, near_pairs
from executors.simple_indexer.keep import keep_order
from executors.simple_indexer.sharding import global_key
from executors.simple_indexer.store import ROW_COLUMNS
from executors.simple_indexer.view_join import ViewTable, table_of_texts



def _first(values) -> Optional[Any]:
    return next((value for value in values if value is not None), None)


def merge_index(answers: List[List[ImageDoc]]) -> List[ImageDoc]:
    """/index: one shard stored each image and set its `status`; the others left it None."""
    merged = answers[0]
    for position, doc in enumerate(merged):
        doc.status = _first(answer[position].status for answer in answers)
        doc.error = _first(answer[position].error for answer in answers)
    return merged


def merge_unchanged(answers: List[List[ImageDoc]]) -> List[ImageDoc]:
    """/unchanged: a file is unchanged if the shard that holds it says so ('1'); the others,
    which do not hold it, say '0'."""
    merged = answers[0]
    for position, doc in enumerate(merged):
        doc.blob = bytes(map(max, *(answer[position].blob for answer in answers))) if len(answers) > 1 else doc.blob
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
    one shard. Groups as ImageIndex.duplicates returns them."""
    settings = tables[0][0].result
    entries = [doc for table in tables for doc in table[1:]]
    return group_entries(entries, settings)


def entry_key(doc: ImageDoc) -> int:
    """The key across shards of a stored image sent as a document (result {'key', 'shard'})."""
    return global_key(doc.result['key'], doc.result.get('shard', 0))


def merge_entries(answers: List[List[ImageDoc]]) -> List[ImageDoc]:
    """/entries: every shard's page, in key order across shards (a shard with no more to send
    may answer nothing at all)."""
    return sorted((doc for answer in answers if answer for doc in answer), key=entry_key)


def merge_pairs(answers: List[List[ImageDoc]]) -> List[ImageDoc]:
    """/pairs: each shard found its own pairs (none twice): all of them, end to end (packed
    (key, key, distance) triples, so the bytes simply follow one another)."""
    return [ImageDoc(blob=b''.join(doc.blob or b'' for answer in answers if answer for doc in answer))]


def entries_table(entries: List[ImageDoc], settings: Dict[str, Any]) -> ViewTable:
    """The hashes and views of stored images sent as documents, keyed across shards."""
    hash_type = settings['hash_type']
    return table_of_texts([entry_key(doc) for doc in entries], [getattr(doc, hash_type) for doc in entries],
                          [doc.views for doc in entries], hash_type, int(settings['hash_size']),
                          [tuple(pair) for pair in settings['pairs']])


def group_entries(entries: List[ImageDoc], settings: Dict[str, Any], pairs=None, table: ViewTable = None,
                  evidence: Optional[Dict[int, Evidence]] = None) -> List[dict]:
    """Duplicate groups among stored images sent as documents (one per image: its row, hash,
    views and `result` {'key', 'shard'}), with `settings` {hash_type, hash_size, pairs, strict,
    keep, prefer, threshold, verify, verify_threshold}. `pairs` (keys_a, keys_b, distances) found elsewhere
    (the shards' /pairs), or None to search them here within settings['threshold']; `table`:
    entries_table, if made already; `evidence` of the match decision by key, if not on the entries."""
    entries = sorted(entries, key=entry_key)
    keys = [entry_key(doc) for doc in entries]
    table = table or entries_table(entries, settings)
    rows = {key: {column: key if column == 'key' else getattr(doc, column) for column in ROW_COLUMNS}
            for key, doc in zip(keys, entries)}
    copies = identical_copies(keys, [doc.digest for doc in entries])
    if pairs is None:
        keys_a, keys_b, bits, _ = near_pairs(table, copies, int(settings['threshold']))
    else:  # the pairs of copies other than their representative are left out, as near_pairs does
        others = {key for members in copies.values() for key in members[1:]}
        kept = [i for i, (a, b) in enumerate(zip(pairs[0], pairs[1])) if a not in others and b not in others]
        keys_a, keys_b = [pairs[0][i] for i in kept], [pairs[1][i] for i in kept]
        bits = [pairs[2][i] for i in kept] if len(pairs) > 2 else None  # None: no allowance (match.py)
    judge = None
    if settings.get('verify', True):
        if evidence is None:
            evidence = {key: found for key, doc in zip(keys, entries) if (found := evidence_of_doc(doc))}
        judge = Judge(evidence, [tuple(pair) for pair in settings['pairs']],
                      int(settings.get('verify_threshold', VERIFY_THRESHOLD)),
                      allows_near_64(settings['hash_type'], int(settings['hash_size'])))
        keys_a, keys_b = judge.verified(keys_a, keys_b, bits)
    return groups_from_pairs(keys_a, keys_b, copies, rows, table, bool(settings.get('strict', True)),
                             keep_order(settings['keep'], settings.get('prefer') or []), judge)
