"""Hamming-distance search over packed hashes held in memory.

All hashes of one type and size sit in one (n, words) uint64 array, rows named by integer keys
(the SQLite rowid), 16 bytes per 64-bit entry (and 48 more for the query tables). Two searches
use it:

- `within` (one query): multi-index hashing. Norouzi, Punjani and Fleet, "Fast Search in
  Hamming Space with Multi-Index Hashing", CVPR 2012: the hash is cut into 16-bit substrings,
  each with a table of the rows sorted by that substring, and by the pigeonhole principle a row
  within r bits of the query is within a few bits of it in at least one substring. Only the
  rows in the table buckets near the query's substrings are compared in full.
- `pairs_within` (all pairs, what /duplicates needs): the same principle joined with itself
  (multi_index.py), so the work grows with n times the bucket load instead of with n^2.

Both fall back to brute force (XOR and popcount against every row) where that is cheaper:
small indexes, large thresholds, and hash sizes that are not a whole number of 64-bit words.
"""
import numpy as np

from executors.simple_indexer import multi_index

SMALL = 1 << 18       # below this many rows a query scans them all (under 0.5 ms): tables would not pay
QUERY_PART_BITS = 16  # the query tables' substrings: 65,536 buckets, 4 bytes per row per table


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
        self._tables = None  # the query's substring tables over rows [0, self._tables.rows)

    def __len__(self) -> int:
        return self.size

    @property
    def keys(self) -> np.ndarray:
        return self._keys[:self.size]

    @property
    def codes(self) -> np.ndarray:
        return self._codes[:self.size]

    def add(self, keys, packed_codes: bytes) -> None:
        """Append entries: keys[i] has the i-th words*8 bytes of packed_codes. Keys must be new.

        The substring tables stay valid: rows added after they were built are scanned in full
        by each query until there are enough of them to rebuild the tables.
        """
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
        if kept == self.size:
            return
        self._keys[:kept] = self.keys[keep]
        self._codes[:kept] = self.codes[keep]
        self.size = kept
        self._tables = None  # rows moved: the next query rebuilds the tables

    def distances(self, packed_query: bytes) -> np.ndarray:
        query = np.frombuffer(packed_query, dtype=np.uint64)
        return _distances(self.codes, query)

    def within(self, packed_query: bytes, threshold: int, limit: int):
        """(keys, distances) of the entries at most `threshold` bits away, the `limit` nearest.

        Ties at the limit's distance are all returned so that the caller can order them by id.
        """
        query = np.frombuffer(packed_query, dtype=np.uint64)
        tables = self._tables_for(threshold)
        if tables is None:
            dist = _distances(self.codes, query)
            rows = np.flatnonzero(dist <= threshold)
            dist = dist[rows]
        else:
            rows, dist = tables.search(query, threshold)
            tail = _distances(self.codes[tables.rows:], query)  # rows added since the tables were built
            close = np.flatnonzero(tail <= threshold)
            rows, dist = np.concatenate([rows, close + tables.rows]), np.concatenate([dist, tail[close]])
        if rows.size > limit:
            kth = np.partition(dist, limit - 1)[limit - 1]
            nearest = dist <= kth
            rows, dist = rows[nearest], dist[nearest]
        return self.keys[rows], dist

    def _tables_for(self, threshold: int):
        """The substring tables, (re)built if needed, or None where a full scan is cheaper."""
        if self.size < SMALL or self.nbits % 64:
            return None
        tables = self._tables
        if tables is None or self.size - tables.rows > max(SMALL, tables.rows // 16):
            self._tables = tables = None  # the old tables go before the new ones are built
            tables = self._tables = multi_index.SubstringTables(self.codes, QUERY_PART_BITS)
        return tables if tables.worth_probing(threshold) else None

    def pairs_within(self, threshold: int, block: int = 512, wanted=None):
        """Every pair of stored entries at most `threshold` bits apart: (keys_a, keys_b, distances).

        Each pair comes once, with keys_a < keys_b, in no particular order. Multi-index hashing
        where it is cheaper than comparing every pair, which is exact too (multi_index.py).
        wanted(rows_i, rows_j), if given, keeps only the pairs of rows it says True for.
        """
        keys, codes = self.keys, self.codes
        if self.nbits % 64 == 0 and multi_index.join_is_cheaper(self.size, self.nbits, threshold):
            i, j, d = multi_index.pairs_within(codes, threshold, wanted=wanted)
        else:
            i, j, d = brute_pairs_within(codes, threshold, block)
            if wanted is not None:
                keep = wanted(i, j)
                i, j, d = i[keep], j[keep], d[keep]
        a, b = keys[i], keys[j]
        return np.minimum(a, b), np.maximum(a, b), d


def _distances(codes: np.ndarray, query: np.ndarray) -> np.ndarray:
    if codes.shape[1] == 1:  # the common 64-bit case: no per-row sum
        return np.bitwise_count(codes[:, 0] ^ query[0]).astype(np.int64)
    return np.bitwise_count(codes ^ query).sum(axis=1, dtype=np.int64)


def brute_pairs_between(first: np.ndarray, second: np.ndarray, threshold: int, cells: int = 1 << 18):
    """(rows_i of first, rows_j of second, distances) of every pair at most `threshold` bits apart.

    Compares every pair, a block of `first` at a time against all of `second`: O(n * m * words)
    time, about `cells` distances in memory at once.
    """
    block = max(1, cells // max(1, len(second)))
    found_i, found_j, found_d = [], [], []
    for start in range(0, len(first), block):
        if first.shape[1] == 1:  # 64-bit hashes: no per-pair sum, and one byte per distance
            dist = np.bitwise_count(first[start:start + block, 0][:, None] ^ second[None, :, 0])
        else:
            dist = np.bitwise_count(first[start:start + block, None, :] ^ second[None, :, :]).sum(axis=2)
        i, j = np.nonzero(dist <= threshold)
        found_i.append(i + start)
        found_j.append(j)
        found_d.append(dist[i, j].astype(np.int64))
    if not found_i:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_d)


def brute_pairs_within(codes: np.ndarray, threshold: int, block: int = 512):
    """(rows_i, rows_j, distances) of every pair i < j of rows at most `threshold` bits apart.

    Compares every pair, in blocks of rows: O(n^2 * words) time, O(block * n) memory.
    """
    found_i, found_j, found_d = [], [], []
    for start in range(0, len(codes), block):
        rows = codes[start:start + block]
        dist = np.bitwise_count(rows[:, None, :] ^ codes[None, start:, :]).sum(axis=2, dtype=np.int64)
        i, j = np.nonzero(dist <= threshold)
        later = j > i  # j is offset by `start`, so this keeps each pair once and drops self-pairs
        found_i.append(i[later] + start)
        found_j.append(j[later] + start)
        found_d.append(dist[i[later], j[later]])
    if not found_i:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_d)
