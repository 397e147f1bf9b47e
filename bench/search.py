"""Search benchmark: one query, and all pairs within 8 bits, among 10^5 to 10^7 64-bit hashes.

Compares HammingIndex (multi-index hashing) with numpy brute force, faiss IndexBinaryFlat and
a BK-tree (pybktree) on the same hashes, and checks that our all-pairs answer is exact: for a
random sample of rows, brute force lists every stored hash within the threshold of each, and
our pairs touching those rows must be exactly those.

Two kinds of hashes:
- uniform: independent random bits (the easy case for substring tables);
- skewed: what real pHashes look like to an index. Bits are biased (a few nearly constant, as
  pHash's DC bit is, the rest 1 with probability 0.3-0.7), 60% of the hashes sit in clusters of
  about 50 around a centre (each bit flipped with probability 0.15: similar scenes), 20% are
  near copies of another hash (0-10 bits flipped), 2% exact copies, the rest independent.

Slow baselines are timed on a sample and scaled up (marked "est." in the output): brute force
and faiss on a block of query rows times n / block (halved for brute force, which visits each
pair once; faiss's range search visits both orders), the BK-tree on a sample of queries.
faiss uses every core (OpenMP); everything else here runs on one.

    pip install -r bench/requirements-bench.txt
    python bench/search.py --sizes 1e5,1e6,1e7 [--kinds uniform,skewed] [--threshold 8]
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.report import finish, started  # noqa: E402
from executors.simple_indexer.hamming import HammingIndex  # noqa: E402

QUERY_THRESHOLDS = (8, 15)  # 15: pHash's measured default at 64 bits (executors/parameters.py)


def random_bits(rng, n, probabilities):
    """n hashes whose bit i is 1 with probability probabilities[i]."""
    words = np.zeros(n, dtype=np.uint64)
    for bit, p in enumerate(probabilities):
        words |= (rng.random(n) < p).astype(np.uint64) << np.uint64(bit)
    return words


def flip_bits(rng, codes, counts):
    """codes with counts[i] distinct random bits flipped in row i."""
    keys = rng.random((len(codes), 64))
    order = np.argsort(keys, axis=1)
    chosen = np.zeros((len(codes), 64), dtype=bool)
    rows = np.arange(len(codes))[:, None]
    chosen[rows, order] = np.arange(64)[None, :] < counts[:, None]
    masks = (chosen.astype(np.uint64) << np.arange(64, dtype=np.uint64)[None, :]).sum(axis=1, dtype=np.uint64)
    return codes ^ masks


def make_hashes(kind, n, seed=0):
    return make_hashes_with_origins(kind, n, seed)[0]


def make_hashes_with_origins(kind, n, seed=0):
    """make_hashes' hashes, and for each row the row it is a copy of (-1: an original) and the
    cluster of similar scenes it belongs to (-1: none; a copy is in its original's), so that a
    benchmark knows which images are copies (bench/dedup_scale.py)."""
    rng = np.random.default_rng(seed)
    if kind == 'uniform':
        return rng.integers(0, 2 ** 64, size=n, dtype=np.uint64, endpoint=False), np.full(n, -1), np.full(n, -1)
    probabilities = rng.uniform(0.3, 0.7, size=64)
    probabilities[rng.choice(64, size=4, replace=False)] = 0.98
    clustered, near, exact = int(n * 0.6), int(n * 0.2), int(n * 0.02)
    alone = n - clustered - near - exact
    centres = random_bits(rng, max(1, clustered // 50), probabilities)
    cluster = rng.integers(0, len(centres), size=clustered)
    members = centres[cluster]
    noise = random_bits(rng, clustered, np.full(64, 0.15))
    codes = np.concatenate([members ^ noise, random_bits(rng, alone, probabilities)])
    clusters = np.concatenate([cluster, np.full(alone, -1)])
    origins = np.full(len(codes), -1)
    for count, counts_of in ((near, lambda: rng.integers(0, 11, size=near)), (exact, None)):
        sources = rng.integers(0, len(codes), size=count)
        copies = codes[sources] if counts_of is None else flip_bits(rng, codes[sources], counts_of())
        codes = np.concatenate([codes, copies])
        clusters, origins = np.concatenate([clusters, clusters[sources]]), np.concatenate([origins, sources])
    order = rng.permutation(n)
    row_of = np.empty(n, dtype=np.int64)
    row_of[order] = np.arange(n)
    return codes[order], np.where(origins[order] >= 0, row_of[origins[order]], -1), clusters[order]


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def query_times(search, queries):
    """Median and 99th percentile milliseconds of search(query) over the queries."""
    times = []
    for query in queries:
        started = time.perf_counter()
        search(query)
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1e3), float(np.percentile(times, 99) * 1e3)


def brute_partners(codes, rows, threshold):
    """{row: set of other rows within threshold}, by comparing each sampled row with every row."""
    partners = {}
    for row in rows:
        close = np.flatnonzero(np.bitwise_count(codes ^ codes[row]) <= threshold)
        partners[int(row)] = set(close.tolist()) - {int(row)}
    return partners


def check_exact(codes, a, b, threshold, rng, sample=200):
    """Our pairs touching a random sample of rows against brute force: (pairs checked, missed, extra)."""
    rows = rng.choice(len(codes), size=min(sample, len(codes)), replace=False)
    expected = brute_partners(codes, rows, threshold)
    found = {int(row): set() for row in rows}
    for x, y in ((a, b), (b, a)):
        touching = np.isin(x, rows)
        for row, other in zip(x[touching].tolist(), y[touching].tolist()):
            found[row].add(other)
    missed = sum(len(expected[r] - found[r]) for r in found)
    extra = sum(len(found[r] - expected[r]) for r in found)
    return sum(len(s) for s in expected.values()), missed, extra


def ours(codes, threshold, queries, results):
    index = HammingIndex(64)
    index.add(np.arange(len(codes)), codes.tobytes())
    results['tables_s'], _ = timed(index.within, codes[:1].tobytes(), threshold, 10)  # builds the tables
    for r in QUERY_THRESHOLDS:
        results[f'query_ms_r{r}'] = query_times(lambda q: index.within(q.tobytes(), r, 10), queries)
    seconds, (a, b, d) = timed(index.pairs_within, threshold)
    results['pairs_s'], results['pairs'] = seconds, int(len(a))
    assert (a < b).all() and (d <= threshold).all()
    checked, missed, extra = check_exact(codes, a, b, threshold, np.random.default_rng(1))
    results['check'] = {'sampled_rows': min(200, len(codes)), 'pairs_checked': checked,
                        'missed': missed, 'extra': extra}


def numpy_brute(codes, threshold, queries, results):
    for r in QUERY_THRESHOLDS:
        results[f'query_ms_r{r}'] = query_times(
            lambda q: np.flatnonzero(np.bitwise_count(codes ^ q) <= r), queries)
    block = min(len(codes), 1024)
    started = time.perf_counter()
    for start in range(0, block, 256):
        rows = codes[start:start + 256]
        for column in range(0, len(codes), 1 << 20):  # bounded memory: 256 x 2^20 distances
            np.nonzero(np.bitwise_count(rows[:, None] ^ codes[None, column:column + (1 << 20)]) <= threshold)
    per_row = (time.perf_counter() - started) / block
    results['pairs_s_est'] = per_row * len(codes) / 2


def faiss_flat(codes, threshold, queries, results):
    import faiss
    as_bytes = codes.view(np.uint8).reshape(len(codes), 8)
    index = faiss.IndexBinaryFlat(64)
    index.add(as_bytes)
    for r in QUERY_THRESHOLDS:
        results[f'query_ms_r{r}'] = query_times(
            lambda q: index.range_search(np.array([q]).view(np.uint8).reshape(1, 8), r + 1), queries)  # strict radius
    block = min(len(codes), 2000 if len(codes) <= 10 ** 6 else 200)
    seconds, _ = timed(index.range_search, as_bytes[:block], threshold + 1)
    results['pairs_s_est'] = seconds * len(codes) / block
    results['threads'] = faiss.omp_get_max_threads()


def bk_tree(codes, threshold, queries, results):
    import pybktree

    def distance(x, y):
        return (x ^ y).bit_count()

    items = codes.tolist()
    results['build_s'], tree = timed(pybktree.BKTree, distance, items)
    sample = [int(q) for q in queries[:20]]
    for r in QUERY_THRESHOLDS:
        results[f'query_ms_r{r}'] = query_times(lambda q: tree.find(q, r), sample)
    per_query, _ = timed(lambda: [tree.find(q, threshold) for q in sample])
    results['pairs_s_est'] = per_query / len(sample) * len(codes)


METHODS = {'ours': ours, 'numpy': numpy_brute, 'faiss': faiss_flat, 'bktree': bk_tree}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='1e5,1e6,1e7')
    parser.add_argument('--kinds', default='uniform,skewed')
    parser.add_argument('--methods', default='ours,numpy,faiss,bktree')
    parser.add_argument('--bktree-max', type=float, default=1e6, help='largest n to build a BK-tree for')
    parser.add_argument('--threshold', type=int, default=8)
    parser.add_argument('--output', default='/tmp/bench-search.json')
    args = parser.parse_args()
    report = started(runs=[])
    for n in (int(float(size)) for size in args.sizes.split(',')):
        for kind in args.kinds.split(','):
            codes = make_hashes(kind, n)
            rng = np.random.default_rng(7)
            picked = codes[rng.integers(0, n, size=500)]
            queries = np.concatenate([flip_bits(rng, picked, rng.integers(0, 9, size=500)),
                                      rng.integers(0, 2 ** 64, size=500, dtype=np.uint64, endpoint=False)])
            for method in args.methods.split(','):
                if method == 'bktree' and n > args.bktree_max:
                    continue
                results = {'n': n, 'kind': kind, 'method': method}
                METHODS[method](codes, args.threshold, queries, results)
                print(json.dumps(results), flush=True)
                report['runs'].append(results)
    finish(report, args.output)


if __name__ == '__main__':
    main()
