"""Hamming-distance search over packed hashes held in memory.

All hashes of one type and size sit in one (n, words) uint64 array; a query XORs against
every row and counts the differing bits. That is O(n * words) per query, vectorised by numpy
(about 1 ms per 10^5 64-bit hashes on one core), with 16 bytes of memory per 64-bit entry.
Rows are named by integer keys (the SQLite rowid), so the index holds no strings.
"""
import numpy as np


def pad(packed: bytes, words: int) -> bytes:
    """A packed hash widened to words*8 bytes with zeros on the left (padding adds no distance)."""
    return packed.rjust(words * 8, b'\0')


def words_for(nbits: int) -> int:
    return (nbits + 63) // 64


class HammingIndex:
    def __init__(self, nbits: int, capacity: int = 1024):
        self.nbits = nbits
        self.words = words_for(nbits)
        self._keys = np.empty(capacity, dtype=np.int64)
        self._codes = np.empty((capacity, self.words), dtype=np.uint64)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    @property
    def keys(self) -> np.ndarray:
        return self._keys[:self.size]

    @property
    def codes(self) -> np.ndarray:
        return self._codes[:self.size]

    def add(self, keys, packed_codes: bytes) -> None:
        """Append entries: keys[i] has the i-th words*8 bytes of packed_codes. Keys must be new."""
        keys = np.asarray(keys, dtype=np.int64)
        codes = np.frombuffer(packed_codes, dtype=np.uint64).reshape(len(keys), self.words)
        end = self.size + len(keys)
        if end > len(self._keys):
            capacity = max(end, 2 * len(self._keys))
            self._keys = np.resize(self._keys, capacity)
            self._codes = np.resize(self._codes, (capacity, self.words))
        self._keys[self.size:end] = keys
        self._codes[self.size:end] = codes
        self.size = end

    def remove(self, keys) -> None:
        """Drop the entries with these keys (O(n): meant for batches, not single calls in a loop)."""
        keep = ~np.isin(self.keys, np.asarray(keys, dtype=np.int64))
        kept = int(keep.sum())
        self._keys[:kept] = self.keys[keep]
        self._codes[:kept] = self.codes[keep]
        self.size = kept

    def distances(self, packed_query: bytes) -> np.ndarray:
        query = np.frombuffer(packed_query, dtype=np.uint64)
        return np.bitwise_count(self.codes ^ query).sum(axis=1, dtype=np.int64)

    def within(self, packed_query: bytes, threshold: int, limit: int):
        """(keys, distances) of the entries at most `threshold` bits away, the `limit` nearest.

        Ties at the limit's distance are all returned so that the caller can order them by id.
        """
        dist = self.distances(packed_query)
        rows = np.flatnonzero(dist <= threshold)
        if rows.size > limit:
            kth = np.partition(dist[rows], limit - 1)[limit - 1]
            rows = rows[dist[rows] <= kth]
        return self.keys[rows], dist[rows]

    def pairs_within(self, threshold: int, block: int = 512):
        """Every pair of stored entries at most `threshold` bits apart: (keys_a, keys_b, distances).

        Each pair comes once, with keys_a < keys_b. Brute force in blocks of rows: O(n^2 * words)
        time, O(block * n) memory.
        """
        keys, codes = self.keys, self.codes
        found_a, found_b, found_d = [], [], []
        for start in range(0, self.size, block):
            rows = codes[start:start + block]
            dist = np.bitwise_count(rows[:, None, :] ^ codes[None, start:, :]).sum(axis=2, dtype=np.int64)
            i, j = np.nonzero(dist <= threshold)
            later = j > i  # j is offset by `start`, so this keeps each pair once and drops self-pairs
            i, j = i[later] + start, j[later] + start
            found_a.append(keys[i])
            found_b.append(keys[j])
            found_d.append(dist[i - start, j - start])
        if not found_a:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        a, b, d = np.concatenate(found_a), np.concatenate(found_b), np.concatenate(found_d)
        low, high = np.minimum(a, b), np.maximum(a, b)
        return low, high, d
