import numpy as np

from executors.simple_indexer.hamming import HammingIndex


def random_index(count, nbits, seed=0):
    rng = np.random.default_rng(seed)
    index = HammingIndex(nbits, capacity=4)  # small, so adding must grow it
    codes = rng.integers(0, 2 ** 63, size=(count, index.words), dtype=np.uint64)
    index.add(np.arange(count) + 100, codes.tobytes())
    return index, codes


def popcount_distance(a, b):
    return sum(bin(int(x) ^ int(y)).count('1') for x, y in zip(a, b))


def test_distances_are_the_number_of_differing_bits():
    for nbits in (64, 256):
        index, codes = random_index(300, nbits)
        query = codes[7].copy()
        query[0] ^= np.uint64(0b1011)  # three bits flipped
        dist = index.distances(query.tobytes())
        assert dist[7] == 3
        assert dist.tolist() == [popcount_distance(query, row) for row in codes]


def test_within_respects_threshold_and_limit_and_keeps_ties():
    index, codes = random_index(500, 64)
    query = codes[0].tobytes()
    dist = index.distances(query)
    keys, found = index.within(query, threshold=30, limit=1000)
    assert sorted(keys.tolist()) == [k + 100 for k in np.flatnonzero(dist <= 30)]
    keys, found = index.within(query, threshold=64, limit=5)
    fifth = np.sort(dist)[4]
    assert len(keys) == np.count_nonzero(dist <= fifth) >= 5 and found.max() == fifth


def test_remove_drops_exactly_the_named_keys():
    index, codes = random_index(50, 64)
    index.remove([100, 120, 149, 999])
    assert len(index) == 47
    keys, _ = index.within(codes[20].tobytes(), threshold=0, limit=10)
    assert 120 not in keys.tolist()
    keys, dist = index.within(codes[21].tobytes(), threshold=0, limit=10)
    assert keys.tolist() == [121] and dist.tolist() == [0]


def test_pairs_within_finds_every_close_pair_once():
    rng = np.random.default_rng(1)
    index = HammingIndex(64)
    base = rng.integers(0, 2 ** 63, size=(300, 1), dtype=np.uint64)
    near = base[:100] ^ np.uint64(0b111)  # 100 copies 3 bits away from the first 100
    codes = np.concatenate([base, near])
    index.add(np.arange(len(codes)) * 7, codes.tobytes())  # keys not in row order
    a, b, d = index.pairs_within(threshold=12, block=64)
    found = set(zip(a.tolist(), b.tolist(), d.tolist()))
    expected = {(min(7 * i, 7 * j), max(7 * i, 7 * j), popcount_distance(codes[i], codes[j]))
                for i in range(len(codes)) for j in range(i + 1, len(codes))
                if popcount_distance(codes[i], codes[j]) <= 12}
    assert found == expected and len(found) == len(a)
    assert {(7 * i, 7 * (300 + i), 3) for i in range(100)} <= found
