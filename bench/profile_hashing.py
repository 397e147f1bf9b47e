"""Where one image's hashing time goes: CPU milliseconds per image of each stage of hash_document.

Runs the stages of executors/image_hasher/executor.py hash_document one after the other, in one
process and without the Flow, on the same files (default: the first 300 of clothing-small),
at the defaults of an /index request (fast path, all four hashes, the index's views and the
verification evidence), and prints one JSON line: ms per image of each stage and in all, and
the same total measured through hash_document itself. With --cprofile it also prints the 25
functions with the most time of their own.

    python bench/profile_hashing.py [--folder DIR] [--count 300] [--cprofile]
"""
import os

os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')  # as app.py sets it for the Flow's hashers (numpy's BLAS is OpenBLAS)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)
from executors.documents import HASH_TYPES, ImageDoc  # noqa: E402
from executors.image_hasher import evidence  # noqa: E402
from executors.image_hasher.decode import flattened, open_image, shrink  # noqa: E402
from executors.image_hasher.evidence import DECODE_SIDE  # noqa: E402
from executors.image_hasher.executor import PathPolicy, hash_document  # noqa: E402
from executors.image_hasher.hashes import compute_hashes, fast_side  # noqa: E402
from executors.image_hasher.provenance import provenance  # noqa: E402
from executors.image_hasher.views import view_hashes  # noqa: E402
from executors.view_pairs import INDEX_VIEWS  # noqa: E402

CLOTHING = '/work/shared/datasets/clothing-small'


def stages(data: bytes, clock):
    """Each stage of hash_document on one file's bytes, timed by clock(stage name)."""
    image = open_image(data, reduce_to=max(fast_side(8), DECODE_SIDE))
    clock('decode (DCT-scaled)')
    upright = flattened(image)
    grey = upright.convert('L')
    clock('orient + grey')
    compute_hashes(shrink(grey, fast_side(8)), HASH_TYPES, 8, exact=False)
    clock('four 64-bit hashes')
    view_hashes(grey, 'phash', 8, INDEX_VIEWS)
    clock('64-bit views (20 pHashes)')
    evidence.image_evidence(upright, grey, INDEX_VIEWS)
    clock('evidence (52 256-bit pHashes, information, colour)')
    provenance(image, upright, grey)
    clock('provenance (for the keep policy)')


def profile(paths):
    datas = []
    for path in paths:
        with open(path, 'rb') as file:
            datas.append(file.read())
    totals = {}
    last = [time.process_time()]

    def clock(stage):
        now = time.process_time()
        totals[stage] = totals.get(stage, 0.0) + now - last[0]
        last[0] = now

    for data in datas:
        last[0] = time.process_time()
        stages(data, clock)
    per_image = {stage: round(seconds / len(paths) * 1e3, 3) for stage, seconds in totals.items()}
    policy = PathPolicy(['/'])
    started = time.process_time()
    for path in paths:
        hash_document(ImageDoc(uri=path), HASH_TYPES, 8, 'phash', policy, exact=False, views=INDEX_VIEWS)
    per_image['sum of stages'] = round(sum(per_image.values()), 3)
    per_image['hash_document (read, digest, document included)'] = round(
        (time.process_time() - started) / len(paths) * 1e3, 3)
    return per_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--folder', default=CLOTHING)
    parser.add_argument('--count', type=int, default=300)
    parser.add_argument('--cprofile', action='store_true')
    args = parser.parse_args()
    paths = sorted(glob.glob(os.path.join(args.folder, '**', '*.jp*g'), recursive=True))[:args.count]
    if not paths:
        raise SystemExit(f'no JPEGs in {args.folder}')
    profile(paths[:20])  # warm: imports, caches
    print(json.dumps({'folder': args.folder, 'images': len(paths), 'ms_per_image': profile(paths),
                      'load': os.getloadavg()}))
    if args.cprofile:
        profiler = cProfile.Profile()
        profiler.runcall(profile, paths)
        pstats.Stats(profiler).sort_stats('tottime').print_stats(25)


if __name__ == '__main__':
    main()
