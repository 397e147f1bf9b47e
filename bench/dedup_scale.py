"""dedup at 10^5 and 10^6 images with the match decision: stage 1, stage 2, grouping, memory.

Builds a workspace of n synthetic images (bench/views.py's hashes and views, which are
bench/search.py's "skewed" pHashes: clusters of similar scenes, 20% near copies, 2% copies with
identical hashes) that also carry stage 2's evidence (executors/match.py), then, in a fresh
process, runs the indexer's /duplicates at dedup's defaults (ImageIndex.duplicates, what
`python app.py dedup` asks the indexer for: views up to app.VIEWS_AUTO_LIMIT images, the
measured threshold, verification, strict groups, keep 'original') and reports each stage's
seconds, the candidate and confirmed pairs, the groups and the peak resident memory (VmHWM).

The evidence imitates real images: an original's 52 256-bit hashes are a code of its own (for
an image in a cluster, its cluster's code with a quarter of the bits random, so similar scenes
sit nearer than strangers, about 96 bits apart) with each view a quarter of the bits off it; a
copy's are its original's with each bit flipped with probability 1/32 (8 bits a hash); 1% of
the originals are flat (information under MIN_INFORMATION), 30% grey, the others coloured in
any direction, their copies within a few degrees (10% of copies grey). Then the groups are
checked: no group may hold two originals' families, and each planted copy (of a non-flat
original) should be grouped with its family.

    python bench/dedup_scale.py --sizes 1e5,1e6 [--workspaces /tmp/bench-dedup-scale]

Workspaces are kept in --workspaces (10^6 images: 2.8 GB of SQLite) and reused when present.
`--app` then also times `python app.py dedup` on the workspace, start to exit, with its reports
(the Flow, /duplicates over gRPC, groups.json, report.html, contact sheets).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.report import finish, started  # noqa: E402
from bench.views import build, peak_resident_mb  # noqa: E402

ROWS = 52  # an indexed image's verification hashes (view_pairs.verification_layout)
WORDS = ROWS * 4


def mixed(counters: np.ndarray) -> np.ndarray:
    """SplitMix64's output function: a well-spread word for each counter (same counter, same word)."""
    z = counters.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def words(ids: np.ndarray, salt: int, ands: int = 1) -> np.ndarray:
    """(len(ids), ROWS, 4) words, random for each id and salt, each bit 1 with probability 2^-ands."""
    counters = ids.astype(np.uint64)[:, None] * np.uint64(WORDS) + np.arange(WORDS, dtype=np.uint64)
    found = np.full(counters.shape, np.uint64(2 ** 64 - 1))
    for k in range(ands):
        found &= mixed(counters ^ (np.uint64(salt * 16 + k) << np.uint64(48)))
    return found.reshape(-1, ROWS, 4)


class SyntheticEvidence:
    """build()'s `evidence`: each row's Evidence, from its original's (see the module's docstring)."""

    def __init__(self, n: int, seed: int = 2):
        rng = np.random.default_rng(seed)
        self.information = rng.uniform(1.0, 12.0, n)
        self.flat = rng.random(n) < 0.01
        self.information[self.flat] = rng.uniform(0.0, 0.4, self.flat.sum())
        self.angle = rng.uniform(0, 2 * np.pi, n)
        self.chroma = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(8.0, 30.0, n))
        self.copy_angle = rng.normal(0, np.radians(5), n)
        self.copy_grey = rng.random(n) < 0.1
        self.copy_scale = rng.uniform(0.9, 1.1, n)
        self.roots = None

    def root_of(self, origins: np.ndarray) -> np.ndarray:
        """The original each row is (a copy of a copy of ...) a copy of; itself for an original."""
        if self.roots is None:
            roots = np.where(origins >= 0, origins, np.arange(len(origins)))
            while True:
                deeper = np.where(origins[roots] >= 0, origins[roots], roots)
                if (deeper == roots).all():
                    break
                roots = deeper
            self.roots = roots
        return self.roots

    def __call__(self, rows: np.ndarray, origins: np.ndarray, clusters: np.ndarray) -> list:
        from executors.match import Evidence
        roots = self.root_of(origins)[rows]
        in_cluster = clusters[rows] >= 0
        base = np.where(in_cluster[:, None, None], words(np.maximum(clusters[rows], 0), 1)[:, :1, :], words(roots, 2)[:, :1, :])
        base = base ^ np.where(in_cluster[:, None, None], words(roots, 3, 2)[:, :1, :], np.uint64(0))
        views = words(roots, 4, 2)
        views[:, 0, :] = 0  # row 0 is the image itself
        codes = base ^ views
        copy = origins[rows] >= 0
        codes = codes ^ np.where(copy[:, None, None], words(rows, 5, 5), np.uint64(0))
        packed = codes.astype('>u8').reshape(len(rows), -1)
        information = np.where(copy, self.information[roots] * self.copy_scale[rows], self.information[roots])
        angle = self.angle[roots] + np.where(copy, self.copy_angle[rows], 0.0)
        chroma = np.where(copy & self.copy_grey[rows], 0.0, self.chroma[roots])
        return [Evidence(packed[i].tobytes(), round(float(information[i]), 2),
                         (round(float(chroma[i] * np.cos(angle[i])), 2), round(float(chroma[i] * np.sin(angle[i])), 2))
                         if chroma[i] else None) for i in range(len(rows))]


def measure(folder: str, groups_path: str) -> dict:
    """In this fresh process: the indexer's /duplicates at dedup's defaults, timed by stage."""
    from app import views_for_all_pairs
    from client.workspace import INDEX_DB
    from executors import parameters as params
    from executors.simple_indexer.image_index import ImageIndex
    from executors.simple_indexer.keep import DEFAULT_POLICY
    from executors.view_pairs import view_pairs
    begin = time.perf_counter()
    index = ImageIndex(os.path.join(folder, INDEX_DB))
    n = index.store.count()
    views = views_for_all_pairs(None, n)  # dedup's own choice: views up to VIEWS_AUTO_LIMIT images
    threshold = params.threshold({}, 'phash', 64, views, False)
    result = {'n': n, 'views': views, 'threshold': threshold}
    index.load('phash', 8)
    result['load_s'] = round(time.perf_counter() - begin, 2)
    timings = {}
    begin = time.perf_counter()
    groups = index.duplicates('phash', 8, threshold, strict=True, keep=DEFAULT_POLICY, prefer=[],
                              pairs=view_pairs(views, False), verify=True, timings=timings)
    result['duplicates_s'] = round(time.perf_counter() - begin, 2)
    result.update({name: round(value, 2) if isinstance(value, float) else value for name, value in timings.items()})
    result['us_per_candidate'] = round(1e6 * timings['stage2_s'] / max(timings['candidates'], 1), 1)
    result['groups'] = len(groups)
    result['grouped'] = sum(1 + len(group['duplicates']) for group in groups)
    result['peak_rss_mb'] = peak_resident_mb()
    with open(groups_path, 'w') as file:
        json.dump([[row_of(m['uri']) for m in [group['keep']] + group['duplicates']] for group in groups], file)
    return result


def app_dedup(folder: str, groups: list) -> dict:
    """`python app.py dedup` on the workspace, start to exit, reports written: the grouped images'
    files exist (hard links to one small JPEG; dedup leaves out members whose file is gone)."""
    from PIL import Image
    picture = os.path.join(folder, 'picture.jpg')
    Image.new('RGB', (64, 48), (90, 120, 150)).save(picture)
    for members in groups:
        for row in members:
            path = os.path.join(folder, 'files', f'{row:08d}.jpg')
            if not os.path.exists(path):
                os.link(picture, path)
    output = os.path.join(folder, 'dedup-output')
    shutil.rmtree(output, ignore_errors=True)
    begin = time.perf_counter()
    child = subprocess.run(['/usr/bin/time', '-v', sys.executable, 'app.py', 'dedup', '--workspace', folder,
                            '--output', output], cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           stderr=subprocess.PIPE, text=True, check=True)
    seconds = time.perf_counter() - begin
    lines = child.stderr.splitlines()
    summary = next(line for line in lines if ' to remove, ' in line)
    peak = next(line for line in lines if 'Maximum resident set size' in line)
    return {'app_dedup_s': round(seconds, 1), 'app_summary': summary.strip(),
            'app_largest_process_peak_mb': round(int(peak.split()[-1]) / 1024, 1)}


def row_of(uri: str) -> int:
    return int(os.path.basename(uri).split('.')[0])


def check(groups: list, origins: np.ndarray, evidence: SyntheticEvidence) -> dict:
    """Groups against the planted copies: mixed groups (two originals' families) and copies found."""
    roots = evidence.root_of(origins)
    group_of = np.full(len(origins), -1)
    mixed_groups = 0
    for number, members in enumerate(groups):
        group_of[members] = number
        mixed_groups += len(set(roots[members].tolist())) > 1
    copies = np.flatnonzero((origins >= 0) & ~evidence.flat[roots])
    family = {}  # group -> roots in it; a copy is found when its group holds another of its family
    for number, members in enumerate(groups):
        for root in roots[members].tolist():
            family.setdefault(number, []).append(root)
    grouped = group_of[copies] >= 0
    with_family = np.array([group_of[c] >= 0 and family[group_of[c]].count(roots[c]) > 1 for c in copies.tolist()])
    return {'planted_copies': int(len(copies)), 'copies_grouped_with_family': int(with_family.sum()),
            'copies_grouped_with_original': int((grouped & (group_of[copies] == group_of[roots[copies]])).sum()),
            'mixed_groups': int(mixed_groups),
            'flat_copies_grouped': int((group_of[(origins >= 0) & evidence.flat[roots]] >= 0).sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='1e5,1e6')
    parser.add_argument('--workspaces', default='/tmp/bench-dedup-scale', help="kept and reused (10^6: 2.8 GB)")
    parser.add_argument('--output', default='/tmp/bench-dedup-scale.json')
    parser.add_argument('--app', action='store_true', help='also time `python app.py dedup` start to exit')
    parser.add_argument('--measure', nargs=2, metavar=('FOLDER', 'GROUPS'), help=argparse.SUPPRESS)  # the child
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    report = started(runs=[])
    for n in (int(float(size)) for size in args.sizes.split(',')):
        folder = os.path.join(args.workspaces, str(n))
        evidence = SyntheticEvidence(n)
        begin = time.perf_counter()
        if os.path.exists(os.path.join(folder, 'built')):
            from bench.search import make_hashes_with_origins
            origins = make_hashes_with_origins('skewed', n)[1]  # what build() planted
        else:
            shutil.rmtree(folder, ignore_errors=True)  # an unfinished build
            os.makedirs(os.path.join(folder, 'files'))
            origins = build(folder, n, shards=1, evidence=evidence, uris=os.path.join(folder, 'files'))
            open(os.path.join(folder, 'built'), 'w').close()
            print(f'built {n} images in {time.perf_counter() - begin:.0f} s', file=sys.stderr)
        load = os.getloadavg()
        groups_path = os.path.join(folder, 'groups.json')
        child = subprocess.run([sys.executable, __file__, '--measure', folder, groups_path],
                               stdout=subprocess.PIPE, text=True, check=True)
        result = dict(json.loads(child.stdout), load_before=load, load_after=os.getloadavg())
        with open(groups_path) as file:
            groups = json.load(file)
        result.update(check(groups, origins, evidence))
        if args.app:
            result.update(app_dedup(folder, groups), app_load_after=os.getloadavg())
        print(json.dumps(result), flush=True)
        report['runs'].append(result)
    finish(report, args.output)


if __name__ == '__main__':
    main()
