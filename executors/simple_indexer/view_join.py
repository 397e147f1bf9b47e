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
from executors.simple_indexer.hamming import HammingIndex, brute_pairs_between, pad
from executors.simple_indexer.store import hex_to_blob, views_blob
from executors.view_pairs import views_needed


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

    def subset(self, keys: Sequence[int]) -> 'ViewTable':
        """The rows of these images only (a chunk to send to the shards)."""
        taken = np.isin(self.keys, np.asarray(keys, dtype=np.int64))
        return ViewTable(self.nbits, {name: (self.keys[taken & (self.tags == tag)], self.codes[taken & (self.tags == tag)])
                                      for tag, name in enumerate(self.names)}, self.pairs)

    def packed(self) -> Tuple[dict, bytes]:
        """(header, bytes): the table as plain numbers, to travel in one document instead of a
        document per image (whose protobuf costs more than the join); `unpacked` reads it."""
        header = {'nbits': self.nbits, 'views': [[name, int((self.tags == tag).sum())] for tag, name in enumerate(self.names)],
                  'pairs': [list(pair) for pair in self.pairs]}
        return header, self.keys.astype('<i8').tobytes() + self.codes.astype('<u8').tobytes()

    @staticmethod
    def unpacked(header: dict, data: bytes) -> 'ViewTable':
        nbits, counts = int(header['nbits']), [(name, int(count)) for name, count in header['views']]
        words, rows = (nbits + 63) // 64, sum(count for _, count in counts)
        if len(data) != rows * 8 * (1 + words):
            raise ValueError(f'a packed table of {rows} rows must be {rows * 8 * (1 + words)} bytes, not {len(data)}')
        keys = np.frombuffer(data, dtype='<i8', count=rows).astype(np.int64)
        codes = np.frombuffer(data, dtype='<u8', offset=rows * 8).astype(np.uint64).reshape(rows, words)
        ends = np.cumsum([count for _, count in counts])
        views = {name: (keys[end - count:end], codes[end - count:end]) for (name, count), end in zip(counts, ends)}
        return ViewTable(nbits, views, [tuple(pair) for pair in header['pairs']])

    def pairs_within(self, threshold: int, leave_out: Sequence[int] = ()) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(keys_a, keys_b, distances): each pair of images within `threshold` once, keys_a < keys_b,
        at their smallest distance; images with a key in `leave_out` take no part."""
        taking_part = ~np.isin(self.keys, np.asarray(leave_out, dtype=np.int64))
        found = [self._join(first, second, taking_part, threshold) for first, second in self.pairs]
        i, j, distance = (np.concatenate(parts) for parts in zip(*found))
        return smallest_per_pair(np.minimum(self.keys[i], self.keys[j]), np.maximum(self.keys[i], self.keys[j]),
                                 distance)

    def pairs_across(self, stored: 'ViewTable', threshold: int,
                     stored_keys: np.ndarray = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(keys here, keys in `stored`, distances): each pair of an image here and an image of
        `stored` within `threshold`, at their smallest distance, counted only where the key here
        is the smaller. So a shard given every image in chunks (this table) and holding its own
        (`stored`) finds each pair of the whole collection once: the shard of its larger key.
        `stored_keys`: the stored rows' keys as this table names them, if not stored.keys."""
        stored_keys = stored.keys if stored_keys is None else stored_keys
        found = []
        for first, second in stored.pairs:
            for mine, theirs in {(first, second), (second, first)}:
                if mine not in self.names:
                    continue
                rows_a = np.flatnonzero(self.tags == self.names.index(mine))
                rows_b = np.flatnonzero(stored.tags == stored.names.index(theirs))
                i, j, distance = join_two(self.codes[rows_a], stored.codes[rows_b], self.nbits, threshold)
                a, b = self.keys[rows_a[i]], stored_keys[rows_b[j]]
                counted = a < b
                found.append((a[counted], b[counted], distance[counted]))
        return smallest_per_pair(*(np.concatenate(parts) for parts in zip(*found)))

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
        i, j, distance = join_two(self.codes[rows_a], self.codes[rows_b], self.nbits, threshold)
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


def join_two(first: np.ndarray, second: np.ndarray, nbits: int, threshold: int):
    """(rows of first, rows of second, distances) within `threshold`: multi-index hashing where
    the cost model expects it to beat comparing every pair."""
    if nbits % 64 == 0 and multi_index.cross_join_is_cheaper(len(first), len(second), nbits, threshold):
        return multi_index.pairs_between(first, second, threshold)
    return brute_pairs_between(first, second, threshold)


def smallest_per_pair(a: np.ndarray, b: np.ndarray, distance: np.ndarray):
    """Each (a, b) once, with its smallest distance, ordered by a then b."""
    order = np.lexsort((distance, b, a))
    a, b, distance = a[order], b[order], distance[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[first], b[first], distance[first]


def table_of_texts(keys: Sequence[int], hashes: Sequence[str], views: Sequence[Dict[str, str]], hash_type: str,
                   hash_size: int, pairs) -> ViewTable:
    """A ViewTable from hex texts as documents carry them: each image's hash and its views
    {'<hash type>.<view>': the hex of the view's hashes end to end}."""
    nbits = hash_size * hash_size
    words = (nbits + 63) // 64
    keys = np.asarray(keys, dtype=np.int64)
    tables = {'plain': (keys, np.frombuffer(b''.join(pad(hex_to_blob(text), words) for text in hashes),
                                            dtype=np.uint64).reshape(len(keys), words))}
    for view in views_needed(pairs):
        packed = [(key, views_blob(texts[f'{hash_type}.{view}'], nbits)) for key, texts in zip(keys.tolist(), views)
                  if f'{hash_type}.{view}' in texts]
        view_keys = [key for key, codes in packed for _ in range(len(codes) // (words * 8))]
        tables[view] = (np.array(view_keys, dtype=np.int64),
                        np.frombuffer(b''.join(codes for _, codes in packed), dtype=np.uint64).reshape(-1, words))
    return ViewTable(nbits, tables, pairs)
