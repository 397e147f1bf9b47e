"""Multi-index hashing: exact Hamming search that looks at a small part of the rows.

Norouzi, Punjani and Fleet, "Fast Search in Hamming Space with Multi-Index Hashing", CVPR 2012,
with the radii of Qin et al., "Generalizing the Pigeonhole Principle for Similarity Search in
Hamming Space", TKDE 2019: cut each hash into m disjoint substrings and give substring p a
radius t_p with sum(t_p) = r - m + 1. Two hashes at most r bits apart are then at most t_p
bits apart in at least one substring p (were every substring t_p + 1 or more apart, the whole
would be r + 1 or more). So it is enough to compare, in full, the pairs whose substring p is
within t_p bits, for each p: all found by looking up the buckets at the XOR masks of t_p or
fewer bits in a table of the rows sorted by substring p. Nothing is missed; every candidate is
checked with a full popcount.

Substrings never straddle a 64-bit word; every function here takes codes as an (n, words)
uint64 array of hashes that fill their words (64, 128, 256... bits).
"""
from functools import lru_cache
from itertools import combinations
from math import comb

import numpy as np

CHUNK = 1 << 20  # candidate pairs compared at once: temporaries of 8 MB, which malloc reuses

# Rough costs in nanoseconds on a 2020s laptop core, to choose between the join and brute force.
_PER_PROBED_ROW = 10.0   # one row looked up in one bucket table (XOR, gather, count)
_PER_CANDIDATE = 25.0    # one candidate pair compared in full
_PER_BRUTE_PAIR_WORD = 2.0


def layout(words: int, part_bits: int):
    """The substrings as (word, shift, bits): each 64-bit word cut into near-equal parts of about part_bits."""
    per_word = max(1, round(64 / part_bits))
    sizes = [64 // per_word + (1 if i < 64 % per_word else 0) for i in range(per_word)]
    parts = []
    for word in range(words):
        shift = 0
        for bits in sizes:
            parts.append((word, shift, bits))
            shift += bits
    return parts


def radii(threshold: int, parts: int):
    """Per-substring radii t_p summing to threshold - parts + 1 (-1: the substring is not probed)."""
    whole, extra = divmod(threshold + 1, parts)
    return [whole - 1 + (1 if p < extra else 0) for p in range(parts)]


def ball(bits: int, radius: int) -> int:
    """How many values of `bits` bits are within `radius` of one value: the masks probed."""
    return sum(comb(bits, k) for k in range(max(radius, -1) + 1))


@lru_cache(maxsize=64)
def masks(bits: int, radius: int) -> np.ndarray:
    """Every `bits`-bit XOR mask of at most `radius` set bits, fewest bits first."""
    found = [0]
    for k in range(1, radius + 1):
        found.extend(sum(1 << b for b in chosen) for chosen in combinations(range(bits), k))
    result = np.array(found, dtype=np.int64)
    result.flags.writeable = False
    return result


def substring(codes: np.ndarray, part, dtype=np.int64) -> np.ndarray:
    """Substring `part` of every row."""
    word, shift, bits = part
    values = codes[:, word] >> np.uint64(shift)
    values &= np.uint64((1 << bits) - 1)
    return values.astype(dtype)


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The concatenation of arange(start, start + count) for each (start, count), vectorised."""
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    ends = np.cumsum(counts)
    return np.repeat(starts - (ends - counts), counts) + np.arange(total)


def popcount_rows(x: np.ndarray) -> np.ndarray:
    """Set bits per row of an (n, words) uint64 array."""
    if x.shape[1] == 1:
        return np.bitwise_count(x[:, 0]).astype(np.int64)
    return np.bitwise_count(x).sum(axis=1, dtype=np.int64)


class SubstringTables:
    """For one query at a time: per substring, the rows sorted by it, their hashes in that
    order (so that a bucket's hashes are read in one run) and each bucket's offset.

    12 bytes per 64-bit row per substring plus 4 bytes per bucket; rebuilt rather than updated
    (a stable radix sort of 16-bit values, about 25 ms per 10^6 rows per substring).
    """

    def __init__(self, codes: np.ndarray, part_bits: int = 16):
        self.rows = len(codes)
        self.parts = layout(codes.shape[1], part_bits)
        self.order, self.sorted_codes, self.offsets = [], [], []
        index_type = np.int32 if self.rows < 2 ** 31 else np.int64
        for part in self.parts:  # one substring at a time, so that the temporaries stay small
            values = substring(codes, part, np.uint16 if part[2] <= 16 else np.uint32)
            offsets = np.zeros((1 << part[2]) + 1, dtype=index_type)
            np.cumsum(np.bincount(values, minlength=1 << part[2]), out=offsets[1:])
            self.offsets.append(offsets)
            order = np.argsort(values, kind='stable').astype(index_type)
            del values
            self.order.append(order)
            self.sorted_codes.append(codes[order])

    def worth_probing(self, threshold: int) -> bool:
        """Whether probing is expected to look at fewer rows than a full scan would."""
        looked_at = sum(ball(bits, t) * (1 + self.rows / (1 << bits))
                        for (_, _, bits), t in zip(self.parts, radii(threshold, len(self.parts))))
        return looked_at * 4 < self.rows

    def search(self, query: np.ndarray, threshold: int):
        """(rows, distances) of the rows within `threshold` bits of the query, each row once."""
        found_rows, found_distances = [], []
        for part, t, order, codes, offsets in zip(self.parts, radii(threshold, len(self.parts)),
                                                  self.order, self.sorted_codes, self.offsets):
            if t < 0:
                continue
            values = substring(query.reshape(1, -1), part)[0] ^ masks(part[2], t)
            starts = offsets[values]
            positions = ranges(starts, offsets[values + 1] - starts)
            distances = popcount_rows(codes[positions] ^ query)
            close = distances <= threshold
            found_rows.append(order[positions[close]])
            found_distances.append(distances[close])
        if not found_rows:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        rows, first = np.unique(np.concatenate(found_rows), return_index=True)  # met in several substrings
        return rows, np.concatenate(found_distances)[first]


def join_cost(n: int, words: int, threshold: int, part_bits: int) -> float:
    """Expected nanoseconds of pairs_within with substrings of about part_bits bits."""
    parts = layout(words, part_bits)
    cost = 0.0
    for (_, _, bits), t in zip(parts, radii(threshold, len(parts))):
        probes = ball(bits, t)
        cost += probes * n * _PER_PROBED_ROW + probes * n * n / (1 << (bits + 1)) * _PER_CANDIDATE
    return cost


def best_part_bits(n: int, words: int, threshold: int) -> int:
    return min((16, 21), key=lambda bits: join_cost(n, words, threshold, bits))  # tables of 2^16, 2^22 buckets


def join_is_cheaper(n: int, nbits: int, threshold: int) -> bool:
    """Whether pairs_within is expected to beat comparing all n^2 / 2 pairs."""
    words = (nbits + 63) // 64
    return (join_cost(n, words, threshold, best_part_bits(n, words, threshold))
            < n * n / 2 * words * _PER_BRUTE_PAIR_WORD)


def pairs_within(codes: np.ndarray, threshold: int, part_bits: int = 0, wanted=None):
    """(rows_i, rows_j, distances) of every pair of rows at most `threshold` bits apart, once each;
    only the pairs for which wanted(rows_i, rows_j) is True, if given (dropped as they are found,
    so pairs nobody wants never pile up in memory).

    Per substring p: sort the rows by it, then for each XOR mask m of at most t_p bits pair
    each row with the bucket of (its substring XOR m); a pair is kept only at the first
    substring where it is within radius, so it comes out once. Time about
    sum_p ball(t_p) * (n + n^2 / 2^(bits_p + 1)); memory a few arrays of n plus CHUNK pairs.
    """
    n, words = codes.shape
    parts = layout(words, part_bits or best_part_bits(n, words, threshold))
    radius = radii(threshold, len(parts))

    def found():
        for p, (part, t) in enumerate(zip(parts, radius)):
            if t < 0:
                continue
            earlier = [(parts[q], radius[q]) for q in range(p) if radius[q] >= 0]
            for i, j, d in _part_join(codes, part, t, threshold, earlier):
                if wanted is not None:
                    keep = wanted(i, j)
                    i, j, d = i[keep], j[keep], d[keep]
                yield i, j, d
    return _concatenated(found())


def _concatenated(chunks):
    """(rows_i, rows_j, distances) of all the chunks of pairs, end to end."""
    found = tuple(zip(*chunks))
    if not found:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    return tuple(np.concatenate(values) for values in found)


def _part_join(codes, part, t, threshold, earlier):
    """The pairs within `threshold` whose substring `part` is within t bits and no earlier one is within its radius."""
    n = len(codes)
    bits = part[2]
    packed = np.sort((substring(codes, part).astype(np.uint64) << np.uint64(32)) | np.arange(n, dtype=np.uint64))
    order = (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
    values = (packed >> np.uint64(32)).astype(np.int64)
    del packed
    sorted_codes = codes[order]
    # bucket u holds the sorted positions [first[u], first[u] + counts[u]); `occupied` is
    # small enough to stay in cache, so most lookups (empty buckets) never touch the others
    counts = np.bincount(values, minlength=1 << bits)
    first = np.zeros(1 << bits, dtype=np.int64)
    np.cumsum(counts[:-1], out=first[1:])
    occupied = counts > 0
    positions = np.arange(n)
    # mask 0: pairs inside one bucket, each row with the rows after it in its bucket
    ends = first[values] + counts[values]
    yield from _verified(sorted_codes, order, positions, positions + 1, ends - positions - 1,
                         threshold, earlier)
    del ends
    all_masks = masks(bits, t)[1:]
    highest = np.frexp(all_masks.astype(np.float64))[1] - 1  # the top set bit of each mask
    for top in np.unique(highest):
        # a pair {x, x ^ m} is met once: from the side whose bit `top` is 0
        sources = np.flatnonzero((values & (1 << int(top))) == 0)
        source_values = values[sources]
        targets = np.empty_like(source_values)  # reused: fresh arrays of n would fault in new pages
        found = np.empty(len(sources), dtype=bool)
        for mask in all_masks[highest == top]:
            np.bitwise_xor(source_values, mask, out=targets)
            np.take(occupied, targets, out=found)
            hit = np.flatnonzero(found)
            buckets = targets[hit]
            yield from _verified(sorted_codes, order, sources[hit], first[buckets], counts[buckets],
                                 threshold, earlier)


def cross_join_is_cheaper(n_first: int, n_second: int, nbits: int, threshold: int) -> bool:
    """Whether pairs_between is expected to beat comparing all n_first * n_second pairs."""
    words = (nbits + 63) // 64
    parts = layout(words, best_part_bits(n_second, words, threshold))
    cost = sum(ball(bits, t) * n_first * (_PER_PROBED_ROW + n_second / (1 << bits) * _PER_CANDIDATE)
               for (_, _, bits), t in zip(parts, radii(threshold, len(parts))))
    return cost < n_first * n_second * words * _PER_BRUTE_PAIR_WORD


def pairs_between(first: np.ndarray, second: np.ndarray, threshold: int, part_bits: int = 0):
    """(rows of first, rows of second, distances) of every pair of a row of `first` and a row of
    `second` at most `threshold` bits apart, once each: the join of pairs_within between two sets.

    Per substring p, `second` is sorted by it and each row of `first` looks up the buckets of
    its substring XOR every mask of at most t_p bits. Time about sum_p ball(t_p) * n_first *
    (1 + n_second / 2^bits_p); memory a few arrays of n_second plus CHUNK pairs.
    """
    words = second.shape[1]
    parts = layout(words, part_bits or best_part_bits(len(second), words, threshold))
    radius = radii(threshold, len(parts))
    identity = np.arange(len(first))

    def found():
        for p, (part, t) in enumerate(zip(parts, radius)):
            if t < 0 or len(first) == 0 or len(second) == 0:
                continue
            earlier = [(parts[q], radius[q]) for q in range(p) if radius[q] >= 0]
            bits = part[2]
            values = substring(second, part)
            order = np.argsort(values, kind='stable')
            counts = np.bincount(values, minlength=1 << bits)
            starts = np.zeros(1 << bits, dtype=np.int64)
            np.cumsum(counts[:-1], out=starts[1:])
            occupied, sorted_second = counts > 0, second[order]
            probes = substring(first, part)
            for mask in masks(bits, t):
                targets = probes ^ mask
                hit = np.flatnonzero(occupied[targets])
                buckets = targets[hit]
                yield from _verified(sorted_second, order, hit, starts[buckets], counts[buckets], threshold, earlier,
                                     first, identity)
    return _concatenated(found())


def _verified(sorted_codes, order, sources, starts, counts, threshold, earlier, source_codes=None, source_rows=None):
    """Pair each source position with counts positions from starts, compare in full, keep the close ones.

    Sources are positions in sorted_codes (a self-join), or rows of source_codes, named by
    source_rows, when given (a join of two sets)."""
    if source_codes is None:
        source_codes, source_rows = sorted_codes, order
    keep = counts > 0
    sources, starts, counts = sources[keep], starts[keep], counts[keep]
    if sources.size == 0:
        return
    cumulative = np.cumsum(counts)
    cuts = np.searchsorted(cumulative, np.arange(CHUNK, int(cumulative[-1]), CHUNK), side='right')
    for s, e in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [sources.size]])):
        if s == e:
            continue
        a = np.repeat(sources[s:e], counts[s:e])
        b = ranges(starts[s:e], counts[s:e])
        if sorted_codes.shape[1] == 1:  # 64-bit hashes: 1-D gathers are several times faster
            x = source_codes[:, 0][a] ^ sorted_codes[:, 0][b]
            d = np.bitwise_count(x)
            close = np.flatnonzero(d <= threshold)
            x = x[close, None]
        else:
            x = source_codes[a] ^ sorted_codes[b]
            d = popcount_rows(x)
            close = np.flatnonzero(d <= threshold)
            x = x[close]
        first_here = np.ones(close.size, dtype=bool)
        for (word, shift, bits), t in earlier:  # met already at an earlier substring
            first_here &= np.bitwise_count((x[:, word] >> np.uint64(shift)) & np.uint64((1 << bits) - 1)) > t
        close = close[first_here]
        yield source_rows[a[close]], order[b[close]], d[close].astype(np.int64)
