"""The indexer's core, usable without a Flow: durable store plus in-memory Hamming indexes.

SQLite is the truth; the in-memory indexes are rebuilt from it, one per (hash type, hash
size) and one per (hash type, hash size, view), the first time that kind of hash or view is
searched, and kept in step with every change after. A view's index holds a row per hash of
the view, under its image's key.
"""
import threading
import time
from itertools import islice
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from executors.match import Evidence, Judge, allows_near_64, verify_all
from executors.parameters import VERIFY_THRESHOLD
from executors.simple_indexer.grouping import groups_from_pairs, near_pairs
from executors.simple_indexer.keep import DEFAULT_POLICY, keep_order
from executors.simple_indexer.hamming import HammingIndex, pad
from executors.simple_indexer.store import ImageRecord, ImageStore, hex_to_blob, views_blob
from executors.simple_indexer.view_join import ViewTable
from executors.view_pairs import HASHES_PER_VIEW, view_pairs, views_needed

PLAIN_ONLY = view_pairs(views=False)
CANDIDATES_BEYOND_LIMIT = 100  # a search asks stage 1 for this many more than it returns: some fail stage 2


class ImageIndex:
    def __init__(self, path: str):
        self.store = ImageStore(path)
        self._memory: Dict[Tuple[str, int], HammingIndex] = {}
        self._views: Dict[Tuple[str, int, str], HammingIndex] = {}
        self._version = 0  # counts changes: a kept table is of one version
        self._table = None
        self._lock = threading.RLock()

    def close(self) -> None:
        self.store.close()

    def _loaded(self, hash_type: str, hash_size: int) -> HammingIndex:
        kind = (hash_type, hash_size)
        if kind not in self._memory:
            index = HammingIndex(hash_size * hash_size)
            rows = self.store.hashes(hash_type, hash_size)
            while page := list(islice(rows, 65536)):  # a page at a time: 10^6 tuples would cost ~150 MB
                keys, blobs = zip(*page)
                packed = b''.join(blobs)
                if len(packed) != len(blobs) * index.words * 8:  # some hash narrower than its words
                    packed = b''.join(pad(blob, index.words) for blob in blobs)
                index.add(keys, packed)
            self._memory[kind] = index
        return self._memory[kind]

    def _loaded_view(self, hash_type: str, hash_size: int, view: str) -> HammingIndex:
        if view == 'plain':
            return self._loaded(hash_type, hash_size)
        kind = (hash_type, hash_size, view)
        if kind not in self._views:
            index = HammingIndex(hash_size * hash_size)
            rows = self.store.view_codes(hash_type, hash_size, view)
            while page := list(islice(rows, 65536)):
                _refresh(index, [], page)
            self._views[kind] = index
        return self._views[kind]

    def load(self, hash_type: str, hash_size: int) -> int:
        """Build the in-memory index of one kind of hash now rather than at the first search."""
        with self._lock:
            return len(self._loaded(hash_type, hash_size))

    def add(self, records: List[ImageRecord]) -> List[bool]:
        """Store a batch; for each record, True if it is a new image, False if it updated one."""
        with self._lock:
            self._version += 1
            results = self.store.upsert(records)
            updated = [key for key, is_new in results if not is_new]
            stored = list(zip((key for key, _ in results), records))
            for (hash_type, hash_size), index in self._memory.items():
                _refresh(index, updated, [(key, pad(hex_to_blob(record.hashes[hash_type]), index.words))
                                          for key, record in stored
                                          if record.hash_size == hash_size and record.hashes.get(hash_type)])
            for (hash_type, hash_size, view), index in self._views.items():
                name = f'{hash_type}.{view}'
                _refresh(index, updated, [(key, views_blob(record.views[name], index.nbits)) for key, record in stored
                                          if record.hash_size == hash_size and name in record.views])
        return [is_new for _, is_new in results]

    def search(self, hash_type: str, query: Union[str, Dict[str, str]], hash_size: int, threshold: int, limit: int,
               pairs=PLAIN_ONLY, evidence: Optional[Evidence] = None, verify: bool = True,
               verify_threshold: int = VERIFY_THRESHOLD) -> List[dict]:
        """The stored images within `threshold` bits that the match decision confirms (match.py,
        from the query's `evidence`; all of stage 1's with verify=False), by distance then id: rows
        as ImageStore.rows with their 'distance', the smallest over `pairs` (view_pairs.py), and
        their 'evidence'. query: the hex of the query's hash, or view -> hex of the query's hash of
        that view ('plain': the image)."""
        query = {'plain': query} if isinstance(query, str) else query
        nearest: Dict[int, int] = {}
        candidates = limit + CANDIDATES_BEYOND_LIMIT if verify else limit  # some will not be confirmed
        with self._lock:
            for query_view, stored_view in pairs:
                if query_view not in query:  # hashed without views, or read from another index
                    continue
                index = self._loaded_view(hash_type, hash_size, stored_view)
                keys, distances = index.within(pad(hex_to_blob(query[query_view]), index.words), threshold,
                                               candidates * HASHES_PER_VIEW[stored_view])
                for key, distance in zip(keys.tolist(), distances.tolist()):
                    nearest[key] = min(distance, nearest.get(key, distance))
            stored = self.store.evidence(nearest) if verify else {}
            rows = self.store.rows(list(nearest))
        if not verify:
            hits = [dict(rows[key], distance=int(distance), evidence={'bits': int(distance)})
                    for key, distance in nearest.items()]
            return sorted(hits, key=lambda hit: (hit['distance'], hit['id']))[:limit]
        known = [key for key in nearest if evidence is not None and key in stored]  # the rest cannot be confirmed
        stage1_bits = [nearest[key] for key in known] if allows_near_64(hash_type, hash_size) else None
        verdicts = verify_all([evidence] * len(known), [stored[key] for key in known], pairs, both_ways=False,
                              threshold=verify_threshold, stage1_bits=stage1_bits)
        hits = [dict(rows[key], distance=int(nearest[key]), evidence=verdict.evidence(bits=int(nearest[key])))
                for key, verdict in zip(known, verdicts) if verdict.same]
        return sorted(hits, key=lambda hit: (hit['distance'], hit['id']))[:limit]

    def duplicates(self, hash_type: str, hash_size: int, threshold: int, strict: bool = True,
                   keep: str = DEFAULT_POLICY, prefer: Sequence[str] = (), pairs=PLAIN_ONLY, verify: bool = True,
                   verify_threshold: int = VERIFY_THRESHOLD, timings: Optional[dict] = None) -> List[dict]:
        """Groups of stored images within `threshold` bits of each other that the match decision
        confirms (match.py; every pair of stage 1's with verify=False; see grouping.py), the
        distance of two images the smallest over `pairs` (view_pairs.py; view_join.py). `timings`,
        if given, receives each stage's seconds and pair counts (bench/dedup_scale.py).

        Each group: {'kind': 'exact' (identical bytes) or 'near', 'keep': row, 'duplicates': [row
        with 'distance' to the kept file]}; rows as ImageStore.rows. Exact copies are found first,
        from the digest index, and only one image per digest enters the all-pairs search.
        """
        order = keep_order(keep, prefer)
        timings = {} if timings is None else timings
        begin = time.perf_counter()
        with self._lock:
            table = self._view_table(hash_type, hash_size, pairs)
            copies = self._identical_copies(table.keys)
        keys_a, keys_b, bits, involved = near_pairs(table, copies, threshold)  # the long part, outside the lock
        timings.update(stage1_s=time.perf_counter() - begin, candidates=len(keys_a))
        begin = time.perf_counter()
        with self._lock:
            judge = Judge(self.store.evidence(involved), pairs, verify_threshold,
                          allows_near_64(hash_type, hash_size)) if verify else None
        if judge:  # only the confirmed pairs' images (and exact copies) can be in a group
            keys_a, keys_b = judge.verified(keys_a, keys_b, bits)
            involved = set(keys_a) | set(keys_b) | {key for members in copies.values() for key in members}
        timings.update(stage2_s=time.perf_counter() - begin, confirmed=len(keys_a))
        begin = time.perf_counter()
        with self._lock:
            rows = self.store.rows(involved)
        groups = groups_from_pairs(keys_a, keys_b, copies, rows, table, strict, order, judge)
        timings['grouping_s'] = time.perf_counter() - begin
        return groups

    def _view_table(self, hash_type: str, hash_size: int, pairs) -> ViewTable:
        """A copy of the in-memory hashes that `pairs` compare, as one table."""
        views = {}
        for view in ['plain'] + views_needed(pairs):
            index = self._loaded_view(hash_type, hash_size, view)
            views[view] = (index.keys.copy(), index.codes.copy())
        return ViewTable(hash_size * hash_size, views, pairs)

    def table(self, hash_type: str, hash_size: int, pairs=PLAIN_ONLY) -> ViewTable:
        """The hashes `pairs` compare, as one table (for the shards' part of /duplicates). Kept until
        the index changes: paging through the images, or comparing chunks of other shards' images
        with these, reads one table."""
        kind = (hash_type, hash_size, tuple(pairs))
        with self._lock:
            if self._table is None or self._table[0] != (kind, self._version):
                self._table = ((kind, self._version), self._view_table(hash_type, hash_size, pairs))
            return self._table[1]

    def _identical_copies(self, keys: np.ndarray) -> Dict[int, List[int]]:
        """Representative key -> all keys with the same digest, for the images in this index."""
        copies = {}
        for members in self.store.digest_groups():
            present = sorted(np.asarray(members)[np.isin(members, keys)].tolist())
            if len(present) > 1:
                copies[present[0]] = present
        return copies

    def delete(self, ids=(), uris=(), under=()) -> int:
        with self._lock:
            self._version += 1
            keys = self.store.delete(ids=ids, uris=uris, under=under)
            for index in list(self._memory.values()) + list(self._views.values()):
                index.remove(keys)
        return len(keys)

    def clear(self) -> int:
        with self._lock:
            self._version += 1
            removed = self.store.clear()
            self._memory.clear()
            self._views.clear()
        return removed

    def status(self) -> dict:
        return {'images': self.store.count(), 'hashes': self.store.count_hashes(), 'database': self.store.path}


def _refresh(index: HammingIndex, gone: List[int], fresh: List[Tuple[int, bytes]]) -> None:
    """Drop the rows of the `gone` keys, then add `fresh` (key, its hashes in whole words end to
    end: one for a plain hash, several for some views)."""
    if gone:
        index.remove(gone)
    if fresh:
        index.add([key for key, codes in fresh for _ in range(len(codes) // (index.words * 8))],
                  b''.join(codes for _, codes in fresh))
