"""What the default views cost at scale: memory, one query and all pairs, with and without views.

Stores n images in a real ImageIndex (SQLite workspace in a temporary folder), each with the
views the hasher makes, then, in a fresh process per measurement so that peak memory is its own:
loads the index and its views, times queries, and times /duplicates' all-pairs join.

Hashes are synthetic, shaped like real ones: the plain hashes are bench/search.py's "skewed"
pHashes, and each view is its image's plain hash with as many bits flipped as the median
measured on 100 of bench/photos.py's photos (trim 2, crops 16, centre 26, turns 8 from the
centre, orientations 32), so that views of one image sit as close together as they do in
practice.

    python bench/views.py --sizes 1e4,1e5 [--threshold 13]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.report import finish, started  # noqa: E402
from bench.search import flip_bits, make_hashes_with_origins  # noqa: E402

FLIPS = {'trim': [2], 'crops': [16] * 9, 'centre': [26], 'orientations': [32] * 7}  # 'turns': from the centre
BATCH = 10_000


def build(folder: str, n: int, shards: int = 0, evidence=None, uris: str = '/photos') -> np.ndarray:
    """n synthetic images in folder/index.db, or with `shards` in a workspace of that many shards
    (folder/SimpleIndexer/<shard>/index.db, each image on the shard of its id) as the Flow keeps them.
    With `evidence`, a function (rows, origins, clusters) -> their match.Evidence, they carry stage
    2's evidence too (see make_hashes_with_origins). The image of row r is `uris`/r (8 digits).jpg.
    Returns each row's origin: the row it is a copy of, -1 for an original."""
    from executors.simple_indexer.image_index import ImageIndex
    from executors.simple_indexer.sharding import shard_of
    from executors.simple_indexer.store import ImageRecord
    rng = np.random.default_rng(1)
    plain, origins, clusters = make_hashes_with_origins('skewed', n)
    views = {name: np.stack([flip_bits(rng, plain, np.full(n, count)) for count in counts], axis=1)
             for name, counts in FLIPS.items()}
    views['turns'] = np.stack([flip_bits(rng, views['centre'][:, 0], np.full(n, 8)) for _ in range(2)], axis=1)
    indexes = [ImageIndex(os.path.join(folder, 'SimpleIndexer', str(shard), 'index.db') if shards
                          else os.path.join(folder, 'index.db')) for shard in range(max(shards, 1))]
    for start in range(0, n, BATCH):
        rows = np.arange(start, min(n, start + BATCH))
        found = evidence(rows, origins, clusters) if evidence else [None] * len(rows)
        records = [ImageRecord(uri=f'{uris}/{row:08d}.jpg', digest=f'{row:064x}', hash_size=8,
                               hashes={'phash': f'{plain[row]:016x}'},
                               views={f'phash.{name}': ''.join(f'{code:016x}' for code in codes[row])
                                      for name, codes in views.items()}, evidence=stored)
                   for row, stored in zip(rows.tolist(), found)]
        for shard, index in enumerate(indexes):
            index.add([record for record in records if shard_of(record.id, len(indexes)) == shard])
    for index in indexes:
        index.close()
    return origins


def measure(folder: str, views: bool, rotations: bool, threshold: int, all_pairs: bool = True) -> dict:
    """In this process: load, query, join; seconds and peak resident memory."""
    from executors.simple_indexer.image_index import ImageIndex
    from executors.view_pairs import view_pairs
    pairs = view_pairs(views, rotations)
    result = {'views': views, 'rotations': rotations, 'threshold': threshold}
    start = time.perf_counter()
    index = ImageIndex(os.path.join(folder, 'index.db'))
    index.search('phash', '0' * 16, 8, threshold, 10, pairs)  # loads every index the pairs use
    result['load_s'] = round(time.perf_counter() - start, 2)
    result['loaded_peak_mb'] = peak_resident_mb()
    queries = index.store._db.execute('SELECT phash FROM images ORDER BY RANDOM() LIMIT 200').fetchall()
    times = []
    for (code,) in queries:
        query = {'plain': code.hex(), 'trim': code.hex(), 'centre': code.hex()}
        begin = time.perf_counter()
        index.search('phash', query, 8, threshold, 10, pairs)
        times.append(time.perf_counter() - begin)
    result['query_ms_median'] = round(1000 * float(np.median(times)), 3)
    result['query_ms_p99'] = round(1000 * float(np.percentile(times, 99)), 3)
    if all_pairs:
        begin = time.perf_counter()
        groups = index.duplicates('phash', 8, threshold, pairs=pairs)
        result['all_pairs_s'] = round(time.perf_counter() - begin, 2)
        result['groups'] = len(groups)
    result['peak_rss_mb'] = peak_resident_mb()  # the searches' tables and the join included
    return result


def peak_resident_mb() -> float:
    """VmHWM: unlike getrusage's ru_maxrss, which Linux carries over from the parent across fork
    and exec, it belongs to this process's own memory."""
    with open('/proc/self/status') as status:
        line = next(line for line in status if line.startswith('VmHWM:'))
    return round(int(line.split()[1]) / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='1e4,1e5')
    parser.add_argument('--threshold', type=int, default=13, help='default: pHash 64 with views (parameters.py)')
    parser.add_argument('--output', default='/tmp/bench-views.json')
    parser.add_argument('--all-pairs-max', type=float, default=1e5,
                        help='largest n to time all pairs for (with views they grow with n^2)')
    parser.add_argument('--measure', nargs=5, metavar=('FOLDER', 'VIEWS', 'ROTATIONS', 'THRESHOLD', 'ALL_PAIRS'),
                        help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure:
        folder, views, rotations, threshold, all_pairs = args.measure
        print(json.dumps(measure(folder, views == 'True', rotations == 'True', int(threshold), all_pairs == 'True')))
        return
    report = started(runs=[])
    for n in (int(float(size)) for size in args.sizes.split(',')):
        with tempfile.TemporaryDirectory() as folder:
            begin = time.perf_counter()
            build(folder, n)
            print(f'built {n} images in {time.perf_counter() - begin:.0f} s', file=sys.stderr)
            for views, rotations in ((False, False), (True, False), (True, True)):
                child = subprocess.run([sys.executable, __file__, '--measure', folder, str(views), str(rotations),
                                        str(args.threshold), str(n <= args.all_pairs_max)],
                                       capture_output=True, text=True, check=True)
                result = dict(json.loads(child.stdout), n=n)
                print(json.dumps(result), flush=True)
                report['runs'].append(result)
    finish(report, args.output)


if __name__ == '__main__':
    main()
