"""Multi-index hashing must find exactly what comparing every pair finds: no pair missed, none twice."""
import numpy as np
import pytest

from executors.simple_indexer import hamming, multi_index
from executors.simple_indexer.hamming import HammingIndex, brute_pairs_within


def flipped(codes, rng, most):
    """A copy of each row with 0..most random bits flipped: near duplicates at every distance."""
    copies = codes.copy()
    nbits = 64 * codes.shape[1]
    for row, count in enumerate(rng.integers(0, most + 1, size=len(codes))):
        for bit in rng.choice(nbits, size=count, replace=False):
            copies[row, bit // 64] ^= np.uint64(1) << np.uint64(bit % 64)
    return copies


def clustered(count, words, seed):
    """Random hashes, near copies of a third of them, exact copies of a few, and a skewed block."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2 ** 64, size=(count, words), dtype=np.uint64, endpoint=False)
    base[: count // 4, 0] &= np.uint64(0xFFFFFFFFFFC00000)  # one substring shared by a quarter
    return np.concatenate([base, flipped(base[: count // 3], rng, 12), base[:20]])


def as_set(i, j, d):
    return set(zip(np.minimum(i, j).tolist(), np.maximum(i, j).tolist(), np.asarray(d).tolist()))


def test_radii_follow_the_pigeonhole_principle():
    for parts in (1, 3, 4, 12):
        for threshold in range(0, 40):
            radius = multi_index.radii(threshold, parts)
            assert sum(t + 1 for t in radius) == threshold + 1 and max(radius) - min(radius) <= 1
    for words, bits in ((1, 16), (1, 21), (4, 21), (1, 13)):
        parts = multi_index.layout(words, bits)
        assert sum(b for _, _, b in parts) == 64 * words
        assert all(shift + b <= 64 for _, shift, b in parts)


@pytest.mark.parametrize('words, thresholds', [(1, (0, 1, 5, 8, 12)), (4, (0, 20, 40))])
@pytest.mark.parametrize('part_bits', [13, 16, 21])
def test_the_join_finds_the_same_pairs_as_brute_force(words, thresholds, part_bits):
    codes = clustered(600, words, seed=words + part_bits)
    for threshold in thresholds:
        i, j, d = multi_index.pairs_within(codes, threshold, part_bits)
        found = as_set(i, j, d)
        assert len(found) == len(i), 'a pair came out twice'
        assert found == as_set(*brute_pairs_within(codes, threshold)), threshold
        assert all(a != b for a, b, _ in found)


@pytest.mark.parametrize('words, thresholds', [(1, (0, 5, 13)), (4, (0, 20, 40))])
@pytest.mark.parametrize('part_bits', [16, 21])
def test_the_join_of_two_sets_finds_the_same_pairs_as_brute_force(words, thresholds, part_bits):
    codes = clustered(900, words, seed=words * part_bits)
    first, second = codes[:600], codes[600:]  # the near and exact copies of first's rows are in second
    for threshold in thresholds:
        i, j, d = multi_index.pairs_between(first, second, threshold, part_bits)
        found = set(zip(i.tolist(), j.tolist(), d.tolist()))
        assert len(found) == len(i), 'a pair came out twice'
        assert found == set(zip(*(v.tolist() for v in hamming.brute_pairs_between(first, second, threshold)))), threshold
        assert threshold < 5 or len(found) > 10


def test_hamming_index_pairs_within_uses_the_join_and_keeps_the_contract():
    codes = clustered(3000, 1, seed=5)
    keys = np.arange(len(codes)) * 3 + 1000
    index = HammingIndex(64)
    index.add(keys, codes.tobytes())
    assert multi_index.join_is_cheaper(len(index), 64, 8)
    a, b, d = index.pairs_within(8)
    assert (a < b).all()
    i, j, e = brute_pairs_within(codes, 8)
    assert as_set(a, b, d) == as_set(keys[i], keys[j], e) and len(a) == len(i) > 500


def brute_within(index, query, threshold):
    dist = index.distances(query.tobytes())
    rows = np.flatnonzero(dist <= threshold)
    return dict(zip(index.keys[rows].tolist(), dist[rows].tolist()))


@pytest.fixture
def small_tables(monkeypatch):
    """Substring tables from a few thousand rows on (in use they start at 2^18)."""
    monkeypatch.setattr(hamming, 'SMALL', 4096)


def test_a_query_finds_what_a_full_scan_finds_across_adds_and_removes(small_tables):
    rng = np.random.default_rng(9)
    codes = clustered(6000, 1, seed=9)
    index = HammingIndex(64)
    index.add(np.arange(len(codes)), codes.tobytes())
    queries = np.concatenate([flipped(codes[rng.choice(len(codes), 40)], rng, 14),
                              rng.integers(0, 2 ** 64, size=(10, 1), dtype=np.uint64, endpoint=False)])

    def check():
        for query in queries:
            for threshold in (0, 3, 10, 16):
                keys, dist = index.within(query.tobytes(), threshold, limit=10 ** 6)
                assert dict(zip(keys.tolist(), dist.tolist())) == brute_within(index, query, threshold)

    check()
    assert index._tables is not None and index._tables.rows == len(codes)  # the tables answered
    more = flipped(codes[:3000], rng, 6)  # past the rebuild point: the tables are built again
    index.add(np.arange(len(codes), len(codes) + 200), more[:200].tobytes())
    check()  # 200 new rows answered by the scan of the rows added since the tables were built
    index.add(np.arange(len(codes) + 200, len(codes) + 3000), more[200:].tobytes())
    check()
    index.remove(np.arange(0, len(codes), 7))
    check()
    assert index._tables.rows == len(index)


def test_a_query_keeps_the_nearest_within_the_limit_with_ties(small_tables):
    codes = clustered(6000, 1, seed=2)
    index = HammingIndex(64)
    index.add(np.arange(len(codes)) + 7, codes.tobytes())
    query = codes[1].tobytes()
    keys, dist = index.within(query, threshold=12, limit=3)
    everything = brute_within(index, codes[1], 12)
    third = sorted(everything.values())[2]
    assert dict(zip(keys.tolist(), dist.tolist())) == {k: d for k, d in everything.items() if d <= third}
