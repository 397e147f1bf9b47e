"""Hashing benchmark: `python app.py index` against the decode floor and a plain ImageHash loop.

On the 2,000 JPEGs of bench/photos.py (1-3 megapixels, made from package-shipped photos), or on
the images of an existing folder (--folder, e.g. ../shared/datasets/clothing-small):
- the decode floor, the least work any of these hashes needs: a pool of one process per usable
  core doing only `im = Image.open(p); im.draft('L', (64, 64)); im.load()` over the files;
- the baseline: one process, `imagehash.phash(Image.open(path))` for each file (one hash);
- this project: `python app.py index FOLDER` on a fresh workspace as a subprocess, timed from
  its start to its exit (Flow start, all four hashes, views, verification evidence, SQLite
  writes included), with the fast path (the default) and with the exact path (`exact: true`);
- the same client code as `app.py index` timed in two parts: the Flow's start, and the
  indexing once started (`index_started`), each as a share of the decode floor;
- the per-image cost of each step (one process, no Flow) for the baseline, the exact path and
  the fast path;
- the fast path's distance from stock ImageHash (`imagehash.X(Image.open(path))`) per hash type
  on a sample: mean and largest number of differing bits, share of identical hashes;
- with --scaling: the index time for 250, 500, 1000 and 2000 of the photos.

    python bench/hashing.py [--count 2000] [--photos /tmp/bench-photos] [--scaling]
    python bench/hashing.py --folder ../shared/datasets/clothing-small --count 3781
"""
import os

os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')  # as app.py sets it, for this process and the Flows it starts

import argparse  # noqa: E402
import glob  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import imagehash  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)
from bench.photos import DEFAULT_OUT, make  # noqa: E402
from bench.report import finish, started  # noqa: E402
from client.connection import usable_cores  # noqa: E402
from executors.documents import ImageDoc  # noqa: E402
from executors.image_hasher import hashes  # noqa: E402
from executors.image_hasher.executor import PathPolicy, hash_document  # noqa: E402
from executors.image_hasher.decode import flattened, open_image, shrink  # noqa: E402
from executors.image_hasher.evidence import DECODE_SIDE  # noqa: E402
from executors.image_hasher.views import view_hashes  # noqa: E402
from executors.view_pairs import INDEX_VIEWS  # noqa: E402

IMAGEHASH = {'ahash': imagehash.average_hash, 'phash': imagehash.phash,
             'dhash': imagehash.dhash, 'whash': imagehash.whash}
EXACT_INDEX = """
import sys
sys.path.insert(0, {repository!r})
from client.connection import connect
from client.jobs import index_files
files = sorted(open({listing!r}).read().split())
with connect({workspace!r}) as connection:
    tally = index_files(connection, files, {{'hash_type': 'phash', 'exact': True}})
print(tally.summary(), file=sys.stderr)
"""
TIMED_INDEX = """
import json, sys, time
sys.path.insert(0, {repository!r})
started = time.perf_counter()
from client.connection import connect
from client.jobs import index_files
files = sorted(open({listing!r}).read().split())
with connect({workspace!r}) as connection:
    ready = time.perf_counter()
    tally = index_files(connection, files, {{}})
    done = time.perf_counter()
print(json.dumps({{'start_s': ready - started, 'index_s': done - ready, 'summary': tally.summary()}}))
"""


def decode_only(path: str) -> None:
    image = Image.open(path)
    image.draft('L', (64, 64))
    image.load()


def decode_floor(paths):
    """Seconds for a pool of one process per usable core to decode every file, as little as a
    64-pixel hash allows (JPEG at up to 1/8 scale, straight to grey); the pool's start included."""
    started = time.perf_counter()
    with multiprocessing.Pool(usable_cores()) as pool:
        pool.map(decode_only, paths, chunksize=16)
    return time.perf_counter() - started


def timed_index(paths, script: str = TIMED_INDEX, **fields):
    """{start_s, index_s, summary}: the client code of `app.py index` (local Flow, defaults) in a
    fresh process on a fresh workspace, the Flow's start (imports included) timed apart. Another
    `script` (bench/flow_ceiling.py's) gets `fields` filled in besides the repository, the listing
    of `paths` and the workspace, and prints the same JSON line."""
    with tempfile.TemporaryDirectory() as scratch:
        listing = os.path.join(scratch, 'files.txt')
        with open(listing, 'w') as file:
            file.write('\n'.join(paths))
        command = [sys.executable, '-c', script.format(repository=REPOSITORY, listing=listing,
                                                       workspace=os.path.join(scratch, 'workspace'), **fields)]
        finished = subprocess.run(command, capture_output=True, text=True, cwd=scratch)
    if finished.returncode != 0:
        raise SystemExit(f'timed index failed:\n{finished.stderr[-2000:]}')
    return json.loads(finished.stdout.strip().splitlines()[-1])


def corpus(args):
    """The benchmark files: bench/photos.py's, or the first --count images under --folder, and
    the folder `app.py index` is given (a folder of links when only some of --folder's are used)."""
    if not args.folder:
        return make(args.count, args.photos), args.photos
    folder = os.path.abspath(args.folder)  # the runs' subprocesses work in other folders
    found = sorted(path for pattern in ('*.jpg', '*.jpeg', '*.png')
                   for path in glob.glob(os.path.join(folder, '**', pattern), recursive=True))
    paths = found[:args.count]
    if len(paths) == len(found):
        return paths, folder
    links = tempfile.mkdtemp(prefix='bench-hashing-')
    for number, path in enumerate(paths):
        os.symlink(path, os.path.join(links, f'{number:06d}{os.path.splitext(path)[1]}'))
    return paths, links


def baseline(paths):
    """Seconds for the plain loop the issue names: one process, pHash only."""
    started = time.perf_counter()
    for path in paths:
        imagehash.phash(Image.open(path))
    return time.perf_counter() - started


def run_index(folder, paths=(), exact=0, replicas=None, options=()):
    """Seconds of `python app.py index folder` on a fresh workspace, or with exact=N of the same
    client indexing the first N of `paths` through the exact path (`exact: true`)."""
    with tempfile.TemporaryDirectory() as scratch:
        workspace = os.path.join(scratch, 'workspace')
        if exact:
            listing = os.path.join(scratch, 'files.txt')
            with open(listing, 'w') as file:
                file.write('\n'.join(paths[:exact]))
            command = [sys.executable, '-c', EXACT_INDEX.format(repository=REPOSITORY, listing=listing,
                                                                 workspace=workspace)]
        else:
            command = [sys.executable, os.path.join(REPOSITORY, 'app.py'), 'index', folder, '--workspace', workspace]
            if replicas:
                command += ['--replicas', str(replicas)]
            command += list(options)
        started = time.perf_counter()
        finished = subprocess.run(command, capture_output=True, text=True, cwd=scratch)
        seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f'{command} failed:\n{finished.stderr[-2000:]}')
    return seconds, finished.stderr.strip().splitlines()[-1]


def breakdown(paths):
    """Milliseconds per image of each step, for the baseline, the exact path and the fast path."""
    steps = {'baseline': {}, 'exact': {}, 'fast': {}}

    def add(path_kind, step, started):
        now = time.perf_counter()
        steps[path_kind][step] = steps[path_kind].get(step, 0.0) + now - started
        return now

    side = hashes.fast_side(8)
    for path in paths:
        with open(path, 'rb') as file:
            data = file.read()
        t = time.perf_counter()
        image = Image.open(io.BytesIO(data))
        image.load()
        t = add('baseline', 'decode (full)', t)
        grey = image.convert('L')
        t = add('baseline', 'grey', t)
        small = np.asarray(grey.resize((32, 32), Image.Resampling.LANCZOS))
        t = add('baseline', 'resize', t)
        imagehash.phash(Image.fromarray(small))  # the DCT and median on the 32x32 it resized to
        add('baseline', 'transform (pHash)', t)
        for kind, reduce_to in (('exact', 0), ('fast', side)):  # as hash_document decodes and shrinks
            t = time.perf_counter()
            image = open_image(data, reduce_to=max(reduce_to, DECODE_SIDE) if reduce_to else 0)
            t = add(kind, 'decode' + (' (DCT-scaled)' if reduce_to else ' (full)'), t)
            grey = flattened(image).convert('L')
            small = shrink(grey, reduce_to) if reduce_to else grey
            t = add(kind, 'grey', t)
            for name in IMAGEHASH:
                hashes.compute_hashes(small, [name], 8, exact=not reduce_to)
                t = add(kind, f'{name} (resize + transform)', t)
            if reduce_to:  # the pHashes of the views an index stores (the default; --no-views skips them)
                view_hashes(grey, 'phash', 8, INDEX_VIEWS)
                add(kind, 'views (20 pHashes)', t)
    return {kind: {step: seconds / len(paths) * 1e3 for step, seconds in found.items()}
            for kind, found in steps.items()}


def agreement(paths):
    """Per hash type: the distance in bits between the hash the fast path stores (hash_document
    itself, as /index runs it: its decode size, orientation and flattening) and stock ImageHash
    on the opened file."""
    distances = {name: [] for name in IMAGEHASH}
    policy = PathPolicy(['/'])
    for path in paths:
        doc = ImageDoc(uri=path)
        hash_document(doc, list(IMAGEHASH), 8, 'phash', policy, exact=False)
        if doc.error:
            raise SystemExit(f'{path}: {doc.error}')
        stock = Image.open(path)
        for name, function in IMAGEHASH.items():
            stored = int(getattr(doc, name), 16)
            distances[name].append(bin(stored ^ int(str(function(stock)), 16)).count('1'))
    return {name: {'images': len(found), 'mean_bits': float(np.mean(found)), 'max_bits': int(max(found)),
                   'identical': float(np.mean(np.array(found) == 0))} for name, found in distances.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--count', type=int, default=2000)
    parser.add_argument('--photos', default=DEFAULT_OUT)
    parser.add_argument('--folder', help='an existing folder of images instead of the benchmark photos')
    parser.add_argument('--runs', default='fast,no_views,1_replica,exact',
                        help='which `app.py index` runs besides the default one (comma-separated; "" for none)')
    parser.add_argument('--agreement-sample', type=int, default=500, help='photos compared with stock ImageHash (0: skip)')
    parser.add_argument('--breakdown-sample', type=int, default=200, help='photos timed step by step (0: skip)')
    parser.add_argument('--exact-count', type=int, default=500, help='photos indexed through the exact path')
    parser.add_argument('--scaling', action='store_true', help='also time 250, 500 and 1000 photos')
    parser.add_argument('--output', default='/tmp/bench-hashing.json')
    args = parser.parse_args()
    paths, folder = corpus(args)
    report = started(images=len(paths), folder=folder, replicas=usable_cores())

    def show(key, value):
        report[key] = value
        print(key, json.dumps(value), flush=True)

    seconds = decode_floor(paths)
    floor = len(paths) / seconds
    show('decode_floor', {'processes': usable_cores(), 'seconds': seconds, 'images_per_s': floor})
    seconds = baseline(paths)
    show('baseline', {'seconds': seconds, 'images_per_s': len(paths) / seconds})
    timed = timed_index(paths)
    show('index_started', {**timed, 'images_per_s_started': len(paths) / timed['index_s'],
                           'share_of_floor_started': len(paths) / timed['index_s'] / floor,
                           'images_per_s_start_to_exit': len(paths) / (timed['start_s'] + timed['index_s'])})
    runs = {'fast': ('index_fast', {}), 'no_views': ('index_fast_no_views', {'options': ['--no-views']}),
            '1_replica': ('index_fast_1_replica', {'replicas': 1}),
            'exact': ('index_exact', {'exact': args.exact_count})}
    for label, options in (runs[name] for name in args.runs.split(',') if name):
        seconds, summary = run_index(folder, paths, **options)
        count = options.get('exact') or len(paths)
        show(label, {'images': count, 'seconds': seconds, 'images_per_s': count / seconds, 'summary': summary,
                     'speedup_vs_baseline': report['baseline']['seconds'] / len(paths) * count / seconds,
                     'share_of_floor': count / seconds / floor})
    if args.breakdown_sample:
        show('per_image_ms', breakdown(paths[:args.breakdown_sample]))
    if args.agreement_sample:
        show('agreement_with_imagehash', agreement(paths[::max(1, len(paths) // args.agreement_sample)]))
    if args.scaling:
        scaling = []
        for count in (250, 500, 1000):
            with tempfile.TemporaryDirectory() as folder:
                for path in paths[:count]:
                    os.symlink(path, os.path.join(folder, os.path.basename(path)))
                index_seconds, _ = run_index(folder)
            scaling.append({'images': count, 'index_s': index_seconds, 'baseline_s': baseline(paths[:count])})
        scaling.append({'images': len(paths), 'index_s': report['index_fast']['seconds'],
                        'baseline_s': report['baseline']['seconds']})
        show('scaling', scaling)
    finish(report, args.output)


if __name__ == '__main__':
    main()
