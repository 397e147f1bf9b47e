"""The "keep" table of `python app.py evaluate`: how often dedup's keep policy keeps the original.

Every photo of the benchmark folder, as stored, is an original; its copies are the benchmark's
transforms of it (evaluation/transforms.py), encoded as each transform saves them and named by
their format's extension. Each file is hashed by the hasher's own code (views and provenance
included), and a copy is in its original's group when dedup would put it there at its defaults:
within stage 1's threshold of the original (64-bit pHash with views) and confirmed by the match
decision (executors/match.py). The policy (executors/simple_indexer/keep.py, as dedup calls it)
then orders each group, in three shapes:

- with one copy: the original and one copy, for every copy (per transform);
- with two copies: the original, the copy and each other copy in turn (per transform);
- with all copies: the original and every confirmed copy of it in one group.

Copies that the match decision does not confirm (flips and 90-degree turns, without
--rotations) are in no group, as in dedup. Nothing here sets file times: `oldest` gets none.
"""
import csv
import itertools
import os
from typing import Dict, List

from evaluation.benchmark import photo_paths
from evaluation.decision import hashed, table
from evaluation.transforms import TRANSFORMS, altered_copy
from executors.image_hasher.decode import open_image
from executors.match import Judge, evidence_of_doc
from executors.parameters import default_threshold
from executors.simple_indexer.keep import KEEP_POLICIES, keep_order
from executors.view_pairs import INDEX_VIEWS, view_pairs

EXTENSIONS = {'JPEG': '.jpg', 'PNG': '.png', 'WEBP': '.webp'}
ORIGINAL = 'original'
SHAPES = ('with one copy', 'with two copies')
ALL_COPIES = 'with all copies'


def photo_group(path: str) -> List[dict]:
    """The rows of one photo (first) and of its copies that dedup groups with it, as the indexer
    stores them (key, id, uri, width, height, byte_size, mtime, provenance) plus 'transform'."""
    name = os.path.splitext(os.path.basename(path))[0]
    with open(path, 'rb') as file:
        data = file.read()
    colour = open_image(data)
    colour = colour.convert('L' if colour.mode == 'L' else 'RGB')
    files = [(ORIGINAL, path, data)] + [(transform, f'{name}-{transform}{EXTENSIONS[fmt]}',
                                         altered_copy(colour, transform, name))
                                        for transform, (_family, _function, fmt, _quality) in TRANSFORMS.items()]
    docs = [hashed(blob, INDEX_VIEWS, uri) for _, uri, blob in files]
    pairs = view_pairs()
    distance = table(docs, range(len(docs)), pairs).distances(0, list(range(1, len(docs))))
    judge = Judge({key: evidence_of_doc(doc) for key, doc in enumerate(docs)}, pairs, near_64=True)  # 64-bit pHash
    threshold = default_threshold('phash', 64, views=True)
    grouped = [0] + [key for key, bits in enumerate(distance, 1) if bits <= threshold and judge(0, key, bits).same]
    return [{'key': key, 'id': f'{name}/{files[key][0]}', 'uri': files[key][1], 'transform': files[key][0],
             'width': docs[key].width, 'height': docs[key].height, 'byte_size': docs[key].byte_size, 'mtime': None,
             'provenance': docs[key].provenance} for key in grouped]


def measure_keep(images: str, policies=KEEP_POLICIES) -> Dict[str, dict]:
    """policy -> {'with one copy': {transform: (kept, groups)}, 'with two copies': {...},
    'with all copies': {'all': (kept, groups)}}."""
    orders = {policy: keep_order(policy) for policy in policies}
    counts = {policy: {shape: {} for shape in SHAPES + (ALL_COPIES,)} for policy in policies}

    def count(tally: dict, where, group: List[dict], order) -> None:
        kept, total = tally.get(where, (0, 0))
        tally[where] = (kept + (order(group)[0]['transform'] == ORIGINAL), total + 1)

    for path in photo_paths(images):
        group = photo_group(path)
        original, copies = group[0], group[1:]
        for policy, order in orders.items():
            tally = counts[policy]
            count(tally[ALL_COPIES], 'all', group, order)
            for copy in copies:
                count(tally[SHAPES[0]], copy['transform'], [original, copy], order)
            for copy, other in itertools.permutations(copies, 2):
                count(tally[SHAPES[1]], copy['transform'], [original, copy, other], order)
    return counts


def rate(kept: int, total: int) -> str:
    return f'{100 * kept / total:.1f}' if total else '-'


def overall(per_transform: Dict[str, tuple]) -> tuple:
    return sum(k for k, _ in per_transform.values()), sum(t for _, t in per_transform.values())


def keep_rows(counts: Dict[str, dict]) -> List[List[str]]:
    """A row per transform, one for all groups of each shape and one for the groups of all
    copies; a column per policy and shape."""
    policies = list(counts)
    rows = [[transform] + [rate(*counts[p][shape].get(transform, (0, 0))) for p in policies for shape in SHAPES]
            for transform in TRANSFORMS]
    rows.append(['all groups'] + [rate(*overall(counts[p][shape])) for p in policies for shape in SHAPES])
    rows.append(['one group of all copies'] + [rate(*counts[p][ALL_COPIES].get('all', (0, 0))) if shape == SHAPES[0] else ''
                                               for p in policies for shape in SHAPES])
    return rows


def keep_header(counts: Dict[str, dict]) -> List[str]:
    return ['original kept %'] + [f'{policy}, {shape}' for policy in counts for shape in SHAPES]


def keep_markdown(counts: Dict[str, dict]) -> str:
    header, rows = keep_header(counts), keep_rows(counts)
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)] + ['| ' + ' | '.join(r) + ' |' for r in rows]
    return '\n'.join(lines) + '\n'


def keep_text(counts: Dict[str, dict]) -> str:
    """The table as the terminal shows it: the default policy and `largest`, one copy and two
    ('-': no group, the copy is not confirmed as one)."""
    shown = [policy for policy in ('original', 'largest') if policy in counts]
    columns = [list(counts).index(policy) * len(SHAPES) + s for policy in shown for s in range(len(SHAPES))]
    lines = [f'{"original kept %":24s}' + ''.join(f'{policy + ", " + n:>20s}' for policy in shown
                                                  for n in ('1 copy', '2 copies'))]
    for name, *cells in keep_rows(counts):
        lines.append(f'{name:24s}' + ''.join(f'{cells[c]:>20s}' for c in columns))
    return '\n'.join(lines) + '\n'


def write_keep(folder: str, counts: Dict[str, dict]) -> List[str]:
    """keep.md and keep.csv (policy, group, transform, original_kept, groups) in `folder`."""
    os.makedirs(folder, exist_ok=True)
    markdown, table_path = os.path.join(folder, 'keep.md'), os.path.join(folder, 'keep.csv')
    with open(markdown, 'w') as file:
        file.write('# Which file dedup keeps\n\n' + __doc__.split('\n\n', 1)[1] + '\n' + keep_markdown(counts))
    with open(table_path, 'w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(['policy', 'group', 'transform', 'original_kept', 'groups'])
        for policy, tally in counts.items():
            for shape, per_transform in tally.items():
                for transform, (kept, total) in per_transform.items():
                    writer.writerow([policy, shape, transform, kept, total])
    return [markdown, table_path]
