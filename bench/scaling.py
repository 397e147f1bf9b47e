"""Scaling figures for the README: hashing throughput with 1 and 2 hasher replicas, search
latency with 1 and 3 indexer shards at 10^5 entries.

    python bench/photos.py                       # the benchmark photos, once
    python bench/scaling.py [--photos /tmp/bench-photos] [--count 400] [--entries 100000]

Hashing: `app.py index` of --count photos into a fresh workspace, per replica count (the
images/s of its summary line, which counts from the first request to the last answer; Flow
start-up is not included). Search: workspaces filled directly through ImageStore with random
64-bit hashes, each shard with its partition (sharding.shard_of), then the Flow is started with
that many shards and /search is timed over gRPC for queries sent one per request (latency) and
32 per request (throughput). Queries are stored hashes with a few bits flipped, sent already
hashed so only the indexer side is timed. The machine may be shared: the load average is printed.
"""
import argparse
import glob
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)

from client.connection import connect  # noqa: E402
from executors.simple_indexer.sharding import shard_of  # noqa: E402
from executors.simple_indexer.store import ImageRecord, ImageStore  # noqa: E402


def load() -> str:
    return '/'.join(f'{value:.1f}' for value in os.getloadavg())


def hashing(photos: list, replicas: int, scratch: str) -> float:
    folder = os.path.join(scratch, 'photos')
    if not os.path.isdir(folder):
        os.makedirs(folder)
        for path in photos:
            os.link(path, os.path.join(folder, os.path.basename(path)))
    workspace = os.path.join(scratch, f'hash-replicas{replicas}')
    run = subprocess.run([sys.executable, os.path.join(REPOSITORY, 'app.py'), 'index', folder, '--workspace',
                          workspace, '--replicas', str(replicas)], capture_output=True, text=True, check=True)
    return float(re.search(r'([\d.]+) images/s', run.stderr).group(1))


def fill(workspace: str, shards: int, entries: int, seed: int = 1) -> list:
    """entries random records over the shards' databases; returns their phash hex, in order."""
    rng = random.Random(seed)
    codes = [f'{rng.getrandbits(64):016x}' for _ in range(entries)]
    records = [ImageRecord(uri=f'/synthetic/{n:07d}.jpg', digest=f'{n:064x}', hash_size=8,
                           hashes={name: code for name in ('ahash', 'phash', 'dhash', 'whash')},
                           width=1000, height=1000, byte_size=100_000, mtime=0.0)
               for n, code in enumerate(codes)]
    parts = [[] for _ in range(shards)]
    for record in records:
        parts[shard_of(record.id, shards)].append(record)
    for shard, part in enumerate(parts):
        store = ImageStore(os.path.join(workspace, 'SimpleIndexer', str(shard), 'index.db'))
        for start in range(0, len(part), 10_000):
            store.upsert(part[start:start + 10_000])
        store.close()
    return codes


def searching(workspace: str, shards: int, codes: list, queries: int = 300) -> tuple:
    from docarray import DocList
    from executors.documents import ImageDoc
    rng = random.Random(2)

    def query(n: int) -> ImageDoc:
        code = int(rng.choice(codes), 16) ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64))
        return ImageDoc(uri=f'/query/{n}', phash=f'{code:016x}', hash_size=8, digest=f'q{n}')

    docs = DocList[ImageDoc]([query(n) for n in range(queries)])
    with connect(workspace, shards=shards) as connection:
        client = connection.client
        client.post('/search', inputs=docs[:10], request_size=1)  # warm up: connections, first search
        started = time.perf_counter()
        answers = client.post('/search', inputs=docs, request_size=1, return_type=DocList[ImageDoc])
        one = (time.perf_counter() - started) / queries
        started = time.perf_counter()
        client.post('/search', inputs=docs, request_size=32)
        batched = queries / (time.perf_counter() - started)
    assert all(doc.matches for doc in answers), 'every query is 2 bits from a stored hash'
    return one * 1000, batched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--photos', default='/tmp/bench-photos')
    parser.add_argument('--count', type=int, default=400)
    parser.add_argument('--entries', type=int, default=100_000)
    parser.add_argument('--skip-hashing', action='store_true')
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix='neardup-scaling-')
    try:
        print(f'{os.cpu_count()} cores; load average before: {load()}')
        if not args.skip_hashing:
            photos = sorted(glob.glob(os.path.join(args.photos, '*.jpg')))[:args.count]
            for replicas in (1, 2):
                rate = hashing(photos, replicas, scratch)
                print(f'hashing {len(photos)} photos, replicas {replicas}: {rate:.1f} images/s (load {load()})')
        for shards in (1, 3):
            workspace = os.path.join(scratch, f'search-shards{shards}')
            codes = fill(workspace, shards, args.entries)
            latency, rate = searching(workspace, shards, codes)
            print(f'search at {args.entries:,} entries, shards {shards}: {latency:.2f} ms per single-query request, '
                  f'{rate:.0f} queries/s in requests of 32 (load {load()})')
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == '__main__':
    main()
