"""The indexer's core, usable without a Flow: durable store plus in-memory Hamming indexes.

SQLite is the truth; the in-memory indexes are rebuilt from it, one per (hash type, hash
size), the first time that kind of hash is searched, and kept in step with every change after.
"""
import threading
from itertools import islice
from typing import Dict, List, Sequence, Tuple

import numpy as np

from executors.simple_indexer.grouping import groups_from_pairs, keep_rank, near_pairs
from executors.simple_indexer.hamming import HammingIndex, pad
from executors.simple_indexer.store import ImageRecord, ImageStore, hex_to_blob


class ImageIndex:
    def __init__(self, path: str):
        self.store = ImageStore(path)
        self._memory: Dict[Tuple[str, int], HammingIndex] = {}
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

    def load(self, hash_type: str, hash_size: int) -> int:
        """Build the in-memory index of one kind of hash now rather than at the first search."""
        with self._lock:
            return len(self._loaded(hash_type, hash_size))

    def add(self, records: List[ImageRecord]) -> List[bool]:
        """Store a batch; for each record, True if it is a new image, False if it updated one."""
        with self._lock:
            results = self.store.upsert(records)
            updated = [key for key, is_new in results if not is_new]
            for (hash_type, hash_size), index in self._memory.items():
                if updated:
                    index.remove(updated)
                fresh = [(key, record.hashes[hash_type]) for (key, _), record in zip(results, records)
                         if record.hash_size == hash_size and record.hashes.get(hash_type)]
                if fresh:
                    index.add([key for key, _ in fresh],
                              b''.join(pad(hex_to_blob(text), index.words) for _, text in fresh))
        return [is_new for _, is_new in results]

    def search(self, hash_type: str, hex_hash: str, hash_size: int, threshold: int, limit: int) -> List[dict]:
        """The stored images within `threshold` bits, by distance then id: rows as ImageStore.rows
        with their 'distance'."""
        with self._lock:
            index = self._loaded(hash_type, hash_size)
            keys, distances = index.within(pad(hex_to_blob(hex_hash), index.words), threshold, limit)
            rows = self.store.rows(keys.tolist())
        hits = [dict(rows[key], distance=int(distance)) for key, distance in zip(keys.tolist(), distances.tolist())]
        return sorted(hits, key=lambda hit: (hit['distance'], hit['id']))[:limit]

    def duplicates(self, hash_type: str, hash_size: int, threshold: int, strict: bool = False,
                   keep: str = 'best', prefer: Sequence[str] = ()) -> List[dict]:
        """Groups of stored images within `threshold` bits of each other (see grouping.py).

        Each group: {'kind': 'exact' (identical bytes) or 'near', 'keep': row, 'duplicates': [row
        with 'distance' to the kept file]}; rows as ImageStore.rows. Exact copies are found first,
        from the digest index, and only one image per digest enters the all-pairs search.
        """
        rank_row = keep_rank(keep, prefer)
        with self._lock:
            index = self._loaded(hash_type, hash_size)
            keys, codes = index.keys.copy(), index.codes.copy()
            copies = self._identical_copies(keys)
            keys_a, keys_b, involved = near_pairs(keys, codes, index.nbits, copies, threshold)
            rows = self.store.rows(involved)
        return groups_from_pairs(keys_a, keys_b, copies, rows, keys, codes, strict, rank_row)

    def table(self, hash_type: str, hash_size: int) -> Tuple[np.ndarray, np.ndarray, Dict[int, dict]]:
        """Everything /duplicates works on: keys, their (n, words) codes and their rows (as
        ImageStore.rows). A shard sends this to the shard merger, which groups all shards' tables."""
        with self._lock:
            index = self._loaded(hash_type, hash_size)
            keys, codes = index.keys.copy(), index.codes.copy()
            return keys, codes, self.store.rows(keys.tolist())

    def _identical_copies(self, keys: np.ndarray) -> Dict[int, List[int]]:
        """Representative key -> all keys with the same digest, for the images in this index."""
        copies = {}
        for members in self.store.digest_groups():
            present = sorted(np.asarray(members)[np.isin(members, keys)].tolist())
            if len(present) > 1:
                copies[present[0]] = present
        return copies

    def delete(self, ids=(), uris=()) -> int:
        with self._lock:
            keys = self.store.delete(ids=ids, uris=uris)
            for index in self._memory.values():
                index.remove(keys)
        return len(keys)

    def clear(self) -> int:
        with self._lock:
            removed = self.store.clear()
            self._memory.clear()
        return removed

    def status(self) -> dict:
        return {'images': self.store.count(), 'hashes': self.store.count_hashes(), 'database': self.store.path}
