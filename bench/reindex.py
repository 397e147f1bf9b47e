"""Re-indexing an unchanged collection: `python app.py index FOLDER` over files indexed already.

Makes n small distinct PNGs (8x8 noise, 100 folders of n/100; made once and kept), indexes them
once for real through `app.py index` (hashed and stored like any collection; kept, so a second
run of the script finds it indexed), then times whole `app.py index FOLDER` runs over the
unchanged folder, each a fresh process as a user runs it: interpreter start and imports, the
folder walk, a stat per file and the check, which the local command line reads from the
workspace itself (no Flow starts when nothing changed). Then the same against a served Flow
(`index --host`, the check through /unchanged). Reported: files/s of the whole command (n /
wall seconds) and of the check alone (its progress line). Every run must find all n files
unchanged and hash none.

    python bench/reindex.py --files 1e5 [--shards 1] [--runs 3]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np
from PIL import Image

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)
from bench.report import finish, started  # noqa: E402

FOLDERS = 100


def make_files(folder: str, n: int) -> None:
    """n distinct 8x8 noise PNGs in FOLDERS subfolders, unless they are there already."""
    rng = np.random.default_rng(0)
    for number in range(n):
        path = os.path.join(folder, f'{number % FOLDERS:03d}', f'{number:07d}.png')
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(path)


def app_index(folder: str, workspace: str, shards: int, *options: str) -> tuple:
    """(wall seconds, stderr) of one `app.py index` run."""
    begin = time.perf_counter()
    run = subprocess.run([sys.executable, os.path.join(REPOSITORY, 'app.py'), 'index', folder, '--workspace', workspace,
                          '--shards', str(shards), *options], capture_output=True, text=True)
    seconds = time.perf_counter() - begin
    assert run.returncode == 0, run.stderr
    return seconds, run.stderr


def served_runs(files: str, workspace: str, shards: int, runs: int, n: int) -> list:
    """The same runs against a Flow that `app.py serve` started on the workspace (`index --host`):
    the check goes through the Flow's /unchanged, and no Flow starts in the timed command."""
    from tests.server import served
    results = []
    with served(workspace, '--shards', str(shards)) as (_, grpc_port, _):
        for _ in range(runs):
            results.append(timed_run(files, workspace, shards, n, '--host', f'127.0.0.1:{grpc_port}'))
    return results


def timed_run(files: str, workspace: str, shards: int, n: int, *options: str) -> dict:
    seconds, stderr = app_index(files, workspace, shards, *options)
    summary = stderr.strip().splitlines()[-1]
    assert summary == f'indexed 0 new, 0 updated, {n} unchanged, 0 failed', stderr
    check = re.findall(r'checking \d+/\d+ files \(([\d.]+)/s\)', stderr)
    run = {'host': bool(options), 'seconds': round(seconds, 2), 'files_per_s': round(n / seconds),
           'check_files_per_s': round(float(check[-1])) if check else None}
    print(json.dumps(run), flush=True)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--files', default='1e5')
    parser.add_argument('--shards', type=int, default=1)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--folder', default='/tmp/bench-reindex', help='where the files and workspace go (kept)')
    parser.add_argument('--output', default='/tmp/bench-reindex.json')
    args = parser.parse_args()
    n = int(float(args.files))
    files = os.path.join(args.folder, f'files-{n}')
    workspace = os.path.join(args.folder, f'workspace-{n}-{args.shards}')
    report = started(files=n, shards=args.shards, runs=[])
    make_files(files, n)
    seconds, stderr = app_index(files, workspace, args.shards, '--batch-size', '256')  # the real index, once
    report['first_index'] = {'seconds': round(seconds, 1), 'summary': stderr.strip().splitlines()[-1]}
    print(json.dumps(report['first_index']), flush=True)
    report['runs'] = [timed_run(files, workspace, args.shards, n) for _ in range(args.runs)]
    report['median_files_per_s'] = statistics.median(run['files_per_s'] for run in report['runs'])
    report['served_runs'] = served_runs(files, workspace, args.shards, args.runs, n)
    report['served_median_files_per_s'] = statistics.median(run['files_per_s'] for run in report['served_runs'])
    print(json.dumps({key: report[key] for key in ('median_files_per_s', 'served_median_files_per_s')}), flush=True)
    finish(report, args.output)


if __name__ == '__main__':
    main()
