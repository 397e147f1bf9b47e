"""All pairs of stored images within a threshold when views count (executors/view_pairs.py).

Every hash of every view taking part sits in one table, each row tagged with its view and its
image. Each pair of views compared is one join by multi-index hashing (multi_index.py): a view
with itself (plain with plain, trim with trim, centre with centre) as for plain hashes, two
views (plain with crops, centre with turns) by looking the rows of one up in substring tables
of the other; each falls back to comparing every pair where that is cheaper (small sets).
Pairs of rows of one image are dropped, and an image pair's distance is the smallest over its
rows.

Cost: the default views add about 12 hashes per image, 9 of them crops that every plain hash is
looked up among, so the joins do roughly 10 to 20 times the work of plain hashes alone
(bench/views.py measures it); `views: false` compares the images alone.
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np

from executors.simple_indexer import multi_index
from executors.simple_indexer.hamming import HammingIndex, brute_pairs_between


class ViewTable:
    def __init__(self, nbits: int, views: Dict[str, Tuple[np.ndarray, np.ndarray]], pairs: Sequence[Tuple[str, str]]):
        """views: view name -> (keys, (rows, words) codes), 'plain' among them; a key repeats
        once per hash of its view. pairs: the (view, view) pairs that count."""
        self.nbits = nbits
        self.names = sorted(views)
        self.keys = np.concatenate([views[name][0] for name in self.names]).astype(np.int64)
        self.codes = np.concatenate([views[name][1] for name in self.names])
        self.tags = np.concatenate([np.full(len(views[name][0]), tag) for tag, name in enumerate(self.names)])
        self.pairs = sorted({tuple(sorted(pair)) for pair in pairs if set(pair) <= set(views)})
        self.counts = np.zeros((len(self.names), len(self.names)), dtype=bool)
        for first, second in self.pairs:
            a, b = self.names.index(first), self.names.index(second)
            self.counts[a, b] = self.counts[b, a] = True
        self._by_key = np.argsort(self.keys, kind='stable')
        self._sorted_keys = self.keys[self._by_key]

    def pairs_within(self, threshold: int, leave_out: Sequence[int] = ()) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(keys_a, keys_b, distances): each pair of images within `threshold` once, keys_a < keys_b,
        at their smallest distance; images with a key in `leave_out` take no part."""
        taking_part = ~np.isin(self.keys, np.asarray(leave_out, dtype=np.int64))
        found = [self._join(first, second, taking_part, threshold) for first, second in self.pairs]
        i, j, distance = (np.concatenate(parts) for parts in zip(*found))
        a, b = np.minimum(self.keys[i], self.keys[j]), np.maximum(self.keys[i], self.keys[j])
        order = np.lexsort((distance, b, a))
        a, b, distance = a[order], b[order], distance[order]
        first = np.ones(len(a), dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        return a[first], b[first], distance[first]

    def _join(self, first: str, second: str, taking_part: np.ndarray, threshold: int):
        """(rows, rows, distances) of this table: the pairs of one view with itself (multi-index
        hashing where it pays, hamming.py) or of two views (compared in full), of two images."""
        rows_a = np.flatnonzero(taking_part & (self.tags == self.names.index(first)))
        if first == second:
            table = HammingIndex(self.nbits)
            table.add(rows_a, np.ascontiguousarray(self.codes[rows_a]).tobytes())
            keys = self.keys[rows_a]
            i, j, distance = table.pairs_within(threshold, wanted=lambda i, j: keys[i] != keys[j])
            return i, j, distance  # the table's keys are this table's rows
        rows_b = np.flatnonzero(taking_part & (self.tags == self.names.index(second)))
        codes_a, codes_b = self.codes[rows_a], self.codes[rows_b]
        if self.nbits % 64 == 0 and multi_index.cross_join_is_cheaper(len(rows_a), len(rows_b), self.nbits, threshold):
            i, j, distance = multi_index.pairs_between(codes_a, codes_b, threshold)
        else:
            i, j, distance = brute_pairs_between(codes_a, codes_b, threshold)
        i, j = rows_a[i], rows_b[j]
        apart = self.keys[i] != self.keys[j]
        return i[apart], j[apart], distance[apart]

    def view(self, name: str) -> Tuple[np.ndarray, np.ndarray]:
        """(keys, codes) of one view's rows."""
        rows = self.tags == self.names.index(name)
        return self.keys[rows], self.codes[rows]

    def _rows_of(self, key: int) -> np.ndarray:
        start, end = np.searchsorted(self._sorted_keys, [key, key + 1])
        return self._by_key[start:end]

    def distances(self, key: int, others: List[int]) -> List[int]:
        """The smallest counted distance from image `key` to each of `others` (for group reports)."""
        mine = self._rows_of(key)
        result = []
        for other in others:
            theirs = self._rows_of(other)
            between = np.bitwise_count(self.codes[mine][:, None, :] ^ self.codes[theirs][None, :, :]).sum(axis=2)
            counted = self.counts[self.tags[mine][:, None], self.tags[theirs][None, :]]
            result.append(int(between[counted].min()))
        return result
