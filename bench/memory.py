"""Indexer start-up and memory with 1,000,000 stored images.

Builds (once) a workspace holding `--rows` images through ImageStore, each with all four 64-bit
hashes (skewed pHash-like bits from bench/search.py), then, each in a fresh process:
- ImageIndex: open the database and load the pHash index (what the indexer does at start),
  then answer one search (which builds the substring tables);
- SimpleIndexer: the executor itself, constructed as Jina does (load_on_start), then a search.
Reports seconds and the process's resident memory (VmRSS, and the peak VmHWM) after each step.

    python bench/memory.py [--rows 1000000] [--workspace /tmp/bench-workspace-1m]
"""
import argparse
import json
import os
import subprocess
import sys
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)

MEASURE = """
import json, os, sys, time
def memory():
    fields = dict(line.split(':', 1) for line in open('/proc/self/status'))
    return {{name: int(fields[name].split()[0]) / 1024 for name in ('VmRSS', 'VmHWM')}}
sys.path.insert(0, {repository!r})
report = {{}}
started = time.perf_counter()
{imports}
report['imports'] = {{'seconds': time.perf_counter() - started, **memory()}}
started = time.perf_counter()
{start}
report['start'] = {{'seconds': time.perf_counter() - started, **memory()}}
times = []
for query in ('c3c2bdb5a2a4e86a', '90565cb9236c7e93', 'ffffffff00000000') * 5:
    started = time.perf_counter()
    {search}
    times.append(time.perf_counter() - started)
report['search'] = {{'first_seconds': times[0], 'median_seconds': sorted(times)[len(times) // 2], **memory()}}
print(json.dumps(report))
"""

KINDS = {
    'ImageIndex': dict(
        imports='from executors.simple_indexer.image_index import ImageIndex',
        start="index = ImageIndex({database!r}); index.load('phash', 8)",
        search="index.search('phash', query, 8, 15, 10)"),
    'SimpleIndexer': dict(
        imports='from executors.simple_indexer.executor import SimpleIndexer',
        start="indexer = SimpleIndexer(metas={{'workspace': {workspace!r}}})",
        search="indexer.index.search('phash', query, 8, 15, 10)"),
}


def build(database: str, rows: int) -> None:
    """A workspace of `rows` images, written through ImageStore in batches (about a minute per 10^6)."""
    import numpy as np
    from bench.search import make_hashes
    from executors.simple_indexer.store import ImageRecord, ImageStore
    store = ImageStore(database)
    if store.count() >= rows:
        store.close()
        return
    codes = {name: make_hashes('skewed', rows, seed=seed) for seed, name in enumerate(('ahash', 'phash', 'dhash', 'whash'))}
    digests = np.random.default_rng(3).integers(0, 2 ** 63, size=(rows, 4))
    for start in range(store.count(), rows, 10_000):
        store.upsert([ImageRecord(uri=f'/photos/{i // 1000:04d}/img{i:08d}.jpg',
                                  digest=''.join(f'{int(x):016x}' for x in digests[i]), hash_size=8,
                                  hashes={name: f'{int(codes[name][i]):016x}' for name in codes},
                                  width=1600, height=1200, byte_size=400_000, mtime=1.7e9)
                      for i in range(start, min(rows, start + 10_000))])
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rows', type=float, default=1e6)
    parser.add_argument('--workspace', default='/tmp/bench-workspace-1m')
    args = parser.parse_args()
    database = os.path.join(args.workspace, 'SimpleIndexer', 'index.db')  # where SimpleIndexer looks, outside a Flow
    started = time.perf_counter()
    build(database, int(args.rows))
    print(f'workspace: {int(args.rows):,} images in {database} '
          f'({os.path.getsize(database) / 2**20:.0f} MiB; built or checked in {time.perf_counter() - started:.0f} s)')
    for kind, parts in KINDS.items():
        code = MEASURE.format(repository=REPOSITORY, imports=parts['imports'],
                              start=parts['start'].format(database=database, workspace=args.workspace),
                              search=parts['search'])
        finished = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
        if finished.returncode:
            raise SystemExit(finished.stderr[-3000:])
        print(kind, json.dumps(json.loads(finished.stdout.strip().splitlines()[-1])))


if __name__ == '__main__':
    main()
