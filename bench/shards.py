"""Duplicates across shards: `dedup`'s broadcast join with 1 and 3 indexer shards on the same images.

Builds workspaces of n synthetic images (bench/views.py's hashes and views) with 1 and with 3
shards, starts the Flow on each (`--shards`), and times the duplicate search alone (what `dedup`
does before writing reports: /duplicates on one shard, /entries and /pairs across three), with
and without views. The groups must be the same.

    python bench/shards.py --sizes 1e4,1e5
"""
import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.report import finish, started  # noqa: E402
from bench.views import build  # noqa: E402


def timed_groups(workspace: str, shards: int, views: bool, threshold: int) -> dict:
    from client.connection import connect
    from client.dedup import duplicate_groups
    begin = time.perf_counter()
    with connect(workspace, shards=shards, replicas=1) as connection:
        ready = time.perf_counter()
        images = connection.call('/status')['images']
        groups = duplicate_groups(connection, {'hash_type': 'phash', 'threshold': threshold, 'views': views,
                                               'rotations': False, 'strict': False, 'keep': 'best', 'prefer': []},
                                  shards, images)
        searched = time.perf_counter()
    return {'shards': shards, 'views': views, 'images': images, 'flow_start_s': round(ready - begin, 2),
            'duplicates_s': round(searched - ready, 2), 'groups': len(groups),
            'grouped': sum(1 + len(group['duplicates']) for group in groups)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='1e4,1e5')
    parser.add_argument('--threshold', type=int, default=13)
    parser.add_argument('--output', default='/tmp/bench-shards.json')
    args = parser.parse_args()
    report = started(runs=[])
    for n in (int(float(size)) for size in args.sizes.split(',')):
        with tempfile.TemporaryDirectory() as folder:
            for shards in (1, 3):
                build(os.path.join(folder, str(shards)), n, shards)
            for views in (False, True):
                results = [timed_groups(os.path.join(folder, str(shards)), shards, views, args.threshold)
                           for shards in (1, 3)]
                assert results[0]['groups'] == results[1]['groups'], results
                for result in results:
                    print(json.dumps(result), flush=True)
                    report['runs'].append(result)
    finish(report, args.output)


if __name__ == '__main__':
    main()
