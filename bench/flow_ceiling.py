"""How fast the Flow could index if hashing cost nothing: the architecture's own ceiling.

`app.py index` runs with its hasher replaced by CeilingHasher, an ImageHasher that stops after
one stage of hash_document and copies every computed field (hashes, views, evidence,
provenance) from one real document of the same corpus:
- read: the file is read and digested, nothing decoded;
- decode: also decoded as hash_document decodes it (colour, DCT-scaled to 128 pixels a side,
  oriented, flattened, grey);
- full: the real hash_document (the product as it is).

Every stage sends the same documents, of the same size, through the same client, gateway,
hops and SQLite writes, so `full - decode` is what the pixel work costs in the Flow and
`decode` is the most any faster hashing code could reach in this architecture. Each stage is
a fresh process on a fresh workspace (Flow start timed apart), alternated --rounds times, on
the same files, beside the decode floor of bench/hashing.py. Prints one JSON line per run:
images/s once started, its share of the floor, and the CPU seconds of the whole process tree
(its Flow included, start included) per image.

    python bench/flow_ceiling.py [--folder DIR] [--count N] [--rounds 2] [--stages read,decode,full] [--batch-sizes 32,128]
"""
import os
import sys

os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')  # as app.py sets it
REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)

from docarray import DocList  # noqa: E402

from executors.documents import ImageDoc  # noqa: E402
from executors.image_hasher.decode import flattened, open_image, sha256_digest  # noqa: E402
from executors.image_hasher.evidence import DECODE_SIDE  # noqa: E402
from executors.image_hasher.executor import ImageHasher, hash_document  # noqa: E402
from executors.image_hasher.hashes import fast_side  # noqa: E402
from executors.uris import file_uri  # noqa: E402

STAGES = ('read', 'decode', 'full')
COPIED = ('ahash', 'phash', 'dhash', 'whash', 'views', 'embedding', 'verify_codes', 'information', 'colour',
          'provenance', 'hash_size', 'width', 'height')


class CeilingHasher(ImageHasher):
    """ImageHasher cut short after `stage` (module docstring); the fields it does not compute
    are the first image's, computed for real."""

    def __init__(self, stage: str = 'full', **kwargs):
        super().__init__(**kwargs)
        if stage not in STAGES:
            raise ValueError(f'stage must be one of {STAGES}, not {stage!r}')
        self.stage = stage
        self.template = None

    def hash(self, docs: DocList[ImageDoc], parameters: dict, views) -> DocList[ImageDoc]:
        if self.stage == 'full':
            return super().hash(docs, parameters, views)
        for doc in docs:
            doc.uri = file_uri(doc.uri)
            data, doc.mtime = self.paths.read(doc.uri)
            if self.template is None:
                self.template = ImageDoc(blob=data)
                hash_document(self.template, self.hash_types, self.hash_size, self.hash_type, self.paths,
                              self.max_pixels, self.exact, views)
            if self.stage == 'decode':
                flattened(open_image(data, self.max_pixels, max(fast_side(self.hash_size), DECODE_SIDE))).convert('L')
            for name in COPIED:
                setattr(doc, name, getattr(self.template, name))
            doc.digest, doc.byte_size = sha256_digest(data), len(data)
        return docs


RUN = """
import json, os, sys, time
os.environ.setdefault('JINA_LOG_LEVEL', 'ERROR')  # as client.connection.connect sets it
sys.path.insert(0, {repository!r})
started = time.perf_counter()
from client.connection import Connection, flow_config, load_flow
from client.jobs import index_files
from jina import Client
files = sorted(open({listing!r}).read().split())
config = flow_config({workspace!r}, protocols=('grpc',), allowed_roots=['/'])
hasher = [executor for executor in config['executors'] if executor['name'] == 'hasher'][0]
hasher['uses'] = {{'jtype': 'CeilingHasher', 'py_modules': ['bench.flow_ceiling'],
                  'with': {{'stage': {stage!r}, 'allowed_roots': ['/']}}}}
hasher.pop('uses_with', None)
flow = load_flow(config)
flow.start()
try:
    ready = time.perf_counter()
    tally = index_files(Connection(Client(host=flow.host, port=flow.port, protocol='grpc'), remote=False), files, {{}}, batch_size={batch_size})
    done = time.perf_counter()
finally:
    flow.close()
print(json.dumps({{'start_s': ready - started, 'index_s': done - ready, 'summary': tally.summary()}}))
"""


def run_stage(stage: str, paths, batch_size: int = 32) -> dict:
    """One fresh `app.py index`-like run with the hasher cut at `stage` (bench/hashing.py's
    timed_index): its times and the CPU of its whole process tree."""
    import resource

    from bench.hashing import timed_index

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = timed_index(paths, RUN, stage=stage, batch_size=batch_size)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {**found, 'cpu_s': cpu, 'cpu_ms_per_image': cpu / len(paths) * 1e3}


def main() -> None:
    import argparse
    import json

    from bench.hashing import corpus, decode_floor
    from bench.report import finish, started

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--count', type=int, default=2000)
    parser.add_argument('--photos', default='/tmp/bench-photos')
    parser.add_argument('--folder', help='an existing folder of images instead of the benchmark photos')
    parser.add_argument('--rounds', type=int, default=2, help='times each stage runs, alternated')
    parser.add_argument('--stages', default=','.join(STAGES))
    parser.add_argument('--batch-sizes', default='32', help="images per request, as app.py index's --batch-size; "
                                                             'several (comma-separated) are alternated')
    parser.add_argument('--output', default='/tmp/bench-flow-ceiling.json')
    args = parser.parse_args()
    stages = args.stages.split(',')
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f'unknown stages {sorted(unknown)}: choose from {",".join(STAGES)}')
    paths, _ = corpus(args)
    report = started(images=len(paths), folder=args.folder or args.photos, runs=[])
    floor = len(paths) / decode_floor(paths)
    report['decode_floor_images_per_s'] = floor
    print('decode_floor', json.dumps({'images_per_s': floor}), flush=True)
    batch_sizes = [int(size) for size in args.batch_sizes.split(',')]
    for round_number in range(args.rounds):
        for stage in stages:
            for batch_size in batch_sizes:
                run = run_stage(stage, paths, batch_size)
                run.update(stage=stage, batch_size=batch_size, round=round_number,
                           images_per_s_started=len(paths) / run['index_s'],
                           share_of_floor_started=len(paths) / run['index_s'] / floor)
                report['runs'].append(run)
                print(stage, json.dumps(run), flush=True)
    finish(report, args.output)


if __name__ == '__main__':
    main()
