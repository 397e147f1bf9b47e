"""`python app.py evaluate`: measure every hash on the labelled benchmark and write the report."""
import os
import sys
import time

from client.jobs import Progress
from evaluation.benchmark import HASH_VARIANTS, build
from evaluation.decision import decision_recall, image_files, precision, precision_text, recall_text
from evaluation.keep import keep_text, measure_keep, write_keep
from evaluation.methods import Hashes, Method
from evaluation.report import write_all
from evaluation.scoring import TARGET_PRECISION, measure
from evaluation.transforms import TRANSFORMS

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_IMAGES = os.path.join(REPOSITORY, 'data', 'eval')
DEFAULT_OUTPUT = 'evaluation-output'

SINGLE_HASHES = [Method(hash_type, size) for hash_type, size in HASH_VARIANTS]
# With the views search and dedup compare (executors/view_pairs.py): by default, and with rotations.
WITH_VIEWS = [Method(hash_type, size, views, rotations) for hash_type, size in HASH_VARIANTS
              for views, rotations in ((True, False), (True, True), (False, True))]
SUMMARY_GROUPS = {  # the columns printed on the terminal: families of transforms
    'tonal/format/resize': ('format', 'resize', 'photometric'),
    'overlay': ('overlay',),
    'crop/pad': ('crop/pad',),
    'rotate 2-5': ('rotation',),
    'flip/turn': ('flip/turn',),
}


def lowest_recall(result, families) -> float:
    names = [name for name, (family, *_rest) in TRANSFORMS.items() if family in families]
    return min(result.recall_by_transform[name] for name in names)


def summary(results) -> str:
    header = f'{"method":28s} {"bits":>4s} {"thr":>4s} {"precision":>9s} {"recall":>7s}  ' + \
             '  '.join(f'{name:>19s}' for name in SUMMARY_GROUPS)
    lines = [header, ' ' * 58 + 'lowest recall % in each group of transforms']
    for r in results:
        lines.append(f'{r.method:28s} {r.max_distance:4d} {r.threshold:4d} {100 * r.precision:8.2f}% '
                     f'{100 * r.recall:6.1f}%  ' + '  '.join(f'{100 * lowest_recall(r, families):19.1f}'
                                                              for families in SUMMARY_GROUPS.values()))
    return '\n'.join(lines) + '\n'


def evaluate(images: str, output: str, with_views: bool = True, log=sys.stderr) -> dict:
    """Build the benchmark from `images`, measure every method, write the report into `output`."""
    start = time.monotonic()
    benchmark = build(images)
    labels, groups = benchmark.labels(), benchmark.transforms()
    print(f'benchmark: {len(benchmark.index)} indexed photos, {len(benchmark.queries)} queries '
          f'({int(labels.sum())} copies of indexed photos) in {time.monotonic() - start:.1f} s', file=log)
    hashes = Hashes(benchmark)
    methods = SINGLE_HASHES + (WITH_VIEWS if with_views else [])
    results = [measure(m.name, hashes.distances(m), labels, groups, m.bits) for m in methods]
    singles = results[:len(SINGLE_HASHES)]
    best = max(singles, key=lambda r: (r.recall, -r.max_distance))
    thresholds = {'target_precision': TARGET_PRECISION, 'best_single_hash': best.method,
                  'single': {m.hash_type: {} for m in SINGLE_HASHES}, 'with_views': {}}
    for method, result in zip(methods, results):
        if method in SINGLE_HASHES:
            thresholds['single'][method.hash_type][str(method.hash_size)] = result.threshold
        else:
            thresholds['with_views'][method.name] = result.threshold
    context = (f'Benchmark built by `python app.py evaluate` from {len(benchmark.index) + len(set(q.photo for q in benchmark.queries if q.original is None))} '
               f'photos in `{os.path.relpath(images, REPOSITORY) if images.startswith(REPOSITORY) else images}`: '
               f'{len(benchmark.index)} indexed, the rest held out as unrelated queries; '
               f'{len(benchmark.queries)} queries ({len(TRANSFORMS)} transformed copies of every photo, plus the '
               f'held-out photos themselves), {int(labels.sum())} copy-original pairs and {int((~labels).sum())} '
               f'pairs of different photos. Each threshold is the largest at which precision (over pairs) is at '
               f'least {100 * TARGET_PRECISION:.1f}%. Best single hash by recall: {best.method}.')
    panels = {'64-bit hashes': [r for r in singles if r.max_distance == 64],
              '256-bit hashes': [r for r in singles if r.max_distance == 256]}
    if with_views:
        shown = ('phash8', 'phash8+views', 'phash8+views+rotations', 'phash16', 'phash16+views',
                 'phash16+views+rotations')
        panels['pHash with views'] = [r for r in results if r.method in shown]
    paths = write_all(output, results, best, context, panels, thresholds)
    sys.stdout.write(summary(results))
    keep = measure_keep(images)  # which file dedup keeps: evaluation/keep.py
    paths += write_keep(output, keep)
    sys.stdout.write('\nWhich file dedup keeps (evaluation/keep.py):\n' + keep_text(keep))
    print(f'wrote {", ".join(paths)} in {time.monotonic() - start:.1f} s', file=log)
    return {'results': results, 'best': best, 'thresholds': thresholds, 'paths': paths, 'keep': keep}


def command_evaluate(args) -> int:
    for folder in [args.images] + ([args.negatives] if args.negatives else []):
        if not os.path.isdir(folder):
            print(f'error: {folder}: no such folder', file=sys.stderr)
            return 2
    if args.labels and not (args.negatives and os.path.isfile(args.labels)):
        print(f'error: --labels {args.labels}: ' + ('no such file' if args.negatives else 'goes with --negatives DIR'),
              file=sys.stderr)
        return 2
    evaluate(args.images, args.output, with_views=not args.single_only)
    evaluate_decision(args.images, args.output, args.negatives, args.labels)
    return 0


def evaluate_decision(images: str, output: str, negatives: str = None, labels: str = None, log=sys.stderr) -> dict:
    """The match decision's recall per transform on `images`, and its precision on `negatives`:
    printed, and written to OUTPUT/decision.md (and OUTPUT/closest-different/*.png)."""
    start = time.monotonic()
    recall = [decision_recall(images, rotations) for rotations in (False, True)]
    text = recall_text(recall)
    found = None
    if negatives:
        progress = Progress('hashing', len(image_files(negatives)))
        found = precision(negatives, labels, progress=lambda done: progress.advance(1))
        text += '\n' + precision_text(found, negatives)
        for number, (first, second, evidence) in enumerate(found.closest[:6], 1):
            from reports.sheets import draw_sheet  # matplotlib: for pictures only
            draw_sheet((first, 'different'), [(second, f'{evidence.get("bits256")} of 256 bits')],
                       f'closest different pair {number}', os.path.join(output, 'closest-different', f'{number}.png'))
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, 'decision.md'), 'w') as file:
        file.write('```\n' + text + '```\n')
    sys.stdout.write(text)
    print(f'wrote {os.path.join(output, "decision.md")} in {time.monotonic() - start:.1f} s', file=log)
    return {'recall': recall, 'precision': found}
