"""Indexing images from WebDataset tar shards against indexing the same images as files.

Makes n JPEGs of the size of real training images (seeded crops of ../shared/datasets/clothing-small's
photos, about 37 KB each; see make_images; made once and kept) in 100 folders, and
the same bytes in tar shards of 1,000 samples (KEY.jpg and KEY.json each, tests/datasets.py).
Then alternates whole `python app.py index` runs, each a fresh process on a fresh workspace as
a user runs it: the folder, then the shards (`index shard-*.tar`). Files go to the local Flow as
paths (the hasher reads them); shard members as their uri and the offset of their data, the client
reading only the tars' headers (the hasher reads each member with a seek; before, their bytes
crossed client, gateway and hasher and cost 14.5% more CPU), so the comparison measures what
reading the images from tar shards costs over reading them as files.
Reported: wall and CPU seconds of each run (Flow start included; CPU of the command and its
Flow's processes) and the hashing rate of its summary line; the medians, and the shards' over the
files'.

    python bench/archives.py --images 1e4 [--runs 3] [--shard-size 1000]
"""
import argparse
import glob
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from PIL import Image

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)
from bench.report import finish, started  # noqa: E402
from tests.datasets import webdataset_tar  # noqa: E402

FOLDERS = 100
DEFAULT_ROOT = '/tmp/bench-archives'


def source_photos() -> list:
    """The garment photos of ../shared/datasets/clothing-small (a real training set: 3,781 JPEGs of
    about 17 KB), else data/'s photos."""
    shared = sorted(glob.glob(os.path.join(os.path.dirname(REPOSITORY), 'shared', 'datasets', 'clothing-small',
                                           '**', '*.jpg'), recursive=True))
    return shared or sorted(glob.glob(os.path.join(REPOSITORY, 'data', '*', '*.jpg')))


def make_images(folder: str, n: int) -> list:
    """n JPEGs in FOLDERS subfolders, unless they are there: each a seeded crop (80-100% of each
    side) of a source photo, in turn, saved at quality 75-95, so that all n are distinct files of
    the size of the training images they come from."""
    paths = [os.path.join(folder, f'{number % FOLDERS:03d}', f'{number:07d}.jpg') for number in range(n)]
    if all(os.path.exists(path) for path in paths):
        return paths
    rng = random.Random(0)
    sources = source_photos()
    for number, path in enumerate(paths):
        with Image.open(sources[number % len(sources)]) as source:
            source = source.convert('RGB')
        width, height = source.size
        crop_w, crop_h = int(width * rng.uniform(0.8, 1.0)), int(height * rng.uniform(0.8, 1.0))
        left, top = rng.randint(0, width - crop_w), rng.randint(0, height - crop_h)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        source.crop((left, top, left + crop_w, top + crop_h)).save(path, 'JPEG', quality=rng.randint(75, 95))
    return paths


def make_shards(folder: str, images: list, shard_size: int) -> list:
    os.makedirs(folder, exist_ok=True)
    shards = []
    for number, start in enumerate(range(0, len(images), shard_size)):
        path = os.path.join(folder, f'shard-{number:06d}.tar')
        if not os.path.exists(path):
            chunk = images[start:start + shard_size]
            webdataset_tar(path + '.part', chunk, keys=[f'{start + i:07d}' for i in range(len(chunk))])
            os.replace(path + '.part', path)  # a run cut short leaves no half shard behind
        shards.append(path)
    return shards


def timed_index(kind: str, paths: list, n: int) -> dict:
    with tempfile.TemporaryDirectory() as workspace:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        begin = time.perf_counter()
        run = subprocess.run([sys.executable, os.path.join(REPOSITORY, 'app.py'), 'index', *paths,
                              '--workspace', workspace], capture_output=True, text=True)
        seconds = time.perf_counter() - begin
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds of the command and the Flow it started (its executors are its children, waited
    # for): what the work costs, which a machine shared with other jobs does not inflate as it
    # does the wall time.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert run.returncode == 0, run.stderr
    summary = run.stderr.strip().splitlines()[-1]
    assert summary.startswith(f'indexed {n} new, 0 updated, 0 unchanged, 0 failed'), run.stderr
    rate = float(re.search(r'([\d.]+) images/s', summary).group(1))
    result = {'kind': kind, 'seconds': round(seconds, 1), 'cpu_seconds': round(cpu, 1), 'hashing_images_per_s': rate,
              'load': os.getloadavg()[0]}
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', default='1e4')
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--shard-size', type=int, default=1000)
    parser.add_argument('--root', default=DEFAULT_ROOT)
    parser.add_argument('--output', default='/tmp/bench-archives.json')
    args = parser.parse_args()
    n = int(float(args.images))
    images = make_images(os.path.join(args.root, 'files'), n)
    shards = make_shards(os.path.join(args.root, f'shards-{args.shard_size}'), images, args.shard_size)
    megabytes = sum(os.path.getsize(path) for path in images) / 1e6
    report = started(images=n, megabytes=round(megabytes, 1), shards=len(shards), runs=[])
    for _ in range(args.runs):  # alternated, so that a change in the machine's load hits both alike
        report['runs'].append(timed_index('files', [os.path.join(args.root, 'files')], n))
        report['runs'].append(timed_index('tar', shards, n))
    for kind in ('files', 'tar'):
        runs = [run for run in report['runs'] if run['kind'] == kind]
        report[f'{kind}_median_s'] = statistics.median(run['seconds'] for run in runs)
        report[f'{kind}_median_cpu_s'] = statistics.median(run['cpu_seconds'] for run in runs)
        report[f'{kind}_median_images_per_s'] = statistics.median(run['hashing_images_per_s'] for run in runs)
    report['tar_over_files'] = round(report['tar_median_s'] / report['files_median_s'], 3)
    report['tar_over_files_cpu'] = round(report['tar_median_cpu_s'] / report['files_median_cpu_s'], 3)
    print(json.dumps({name: value for name, value in report.items() if name != 'runs'}))
    finish(report, args.output)


if __name__ == '__main__':
    main()
