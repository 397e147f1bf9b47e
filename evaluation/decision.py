"""The match decision as search and dedup make it (executors/match.py), measured two ways:

- recall: evaluate's copies of data/eval (each of TRANSFORMS applied to every photo) searched
  against the indexed photos, stage 1 then stage 2, per transform;
- precision: every pair of a folder of real photos known to differ (`--negatives DIR`, with
  `--labels CSV` naming the pairs that are the same picture), as dedup compares them. The false
  pairs per pair, the closest different pairs, and the false pairs to expect at 10^4, 10^6 and
  10^8 images (pairs grow as n^2/2: a rate of 1e-8 is 5,000 false pairs at 10^6 images).

Every image is hashed by the hasher's own function (hash_document, fast path, views), so this
measures what `index`, `search` and `dedup` compute.
"""
import csv
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from evaluation.benchmark import photo_paths, split
from evaluation.transforms import TRANSFORMS, altered_copy
from executors.documents import ImageDoc
from executors.image_hasher.decode import open_image
from executors.image_hasher.executor import PathPolicy, hash_document
from executors.match import Judge, evidence_of_doc, verify
from executors.parameters import VERIFY_THRESHOLD, default_threshold
from executors.simple_indexer.view_join import table_of_texts
from executors.view_pairs import INDEX_VIEWS, QUERY_VIEWS, view_pairs

SCALES = (10 ** 4, 10 ** 6, 10 ** 8)
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.webp', '.bmp', '.gif', '.tif', '.tiff')


def hashed(data: bytes, views, label: str = '') -> ImageDoc:
    doc = ImageDoc(blob=data, uri=label)
    hash_document(doc, ['phash'], 8, 'phash', PathPolicy([]), exact=False, views=views)
    if doc.error:
        raise ValueError(f'{label}: {doc.error}')
    return doc


def table(docs: List[ImageDoc], keys, pairs):
    return table_of_texts(keys, [doc.phash for doc in docs], [doc.views for doc in docs], 'phash', 8, pairs)


@dataclass
class DecisionRecall:
    rotations: bool
    threshold: int
    recall: Dict[str, float]  # transform -> share of copies that find their original
    recall_stage1: Dict[str, float]  # the same with stage 1 alone
    false_matches: int  # query-photo pairs confirmed although different
    false_stage1: int
    pairs: int


def decision_recall(images: str, rotations: bool = False, transforms=tuple(TRANSFORMS),
                    verify_threshold: int = VERIFY_THRESHOLD) -> DecisionRecall:
    """Every copy of every indexed photo searched as `search` does (views; `rotations`)."""
    paths = photo_paths(images)
    names = [os.path.splitext(os.path.basename(path))[0] for path in paths]
    indexed, _ = split(names)
    pairs = view_pairs(True, rotations)
    threshold = default_threshold('phash', 64, True, rotations)
    index_docs, queries = [], []  # queries: (transform, original's position or None, doc)
    for name, path in zip(names, paths):
        with open(path, 'rb') as file:
            data = file.read()
        position = len(index_docs) if name in indexed else None
        if position is not None:
            index_docs.append(hashed(data, INDEX_VIEWS, name))
        colour = open_image(data)
        colour = colour.convert('L' if colour.mode == 'L' else 'RGB')
        for transform in transforms:
            copy = altered_copy(colour, transform, seed=name)  # encoded in the transform's format
            queries.append((transform, position, hashed(copy, QUERY_VIEWS, f'{name}:{transform}')))
    stored = table(index_docs, range(len(index_docs)), pairs)
    asked = table([doc for _, _, doc in queries], [-1 - i for i in range(len(queries))], pairs)
    q, i, bits = asked.pairs_across(stored, threshold)
    found, found_stage1 = set(), set()
    false, false_stage1 = 0, 0
    for query_key, index_key, stage1_bits in zip(q.tolist(), i.tolist(), bits.tolist()):
        transform, original, doc = queries[-1 - query_key]
        same = verify(evidence_of_doc(doc), evidence_of_doc(index_docs[index_key]), pairs, both_ways=False,
                      threshold=verify_threshold, stage1_bits=stage1_bits).same
        if original == index_key:
            found_stage1.add(-1 - query_key)
            if same:
                found.add(-1 - query_key)
        else:
            false_stage1 += 1
            false += same

    def share(hits) -> Dict[str, float]:
        by_transform: Dict[str, List[bool]] = {}
        for position, (transform, original, _) in enumerate(queries):
            if original is not None:
                by_transform.setdefault(transform, []).append(position in hits)
        return {name: sum(hit) / len(hit) for name, hit in by_transform.items()}

    return DecisionRecall(rotations, threshold, share(found), share(found_stage1), false, false_stage1,
                          len(queries) * len(index_docs))


@dataclass
class Precision:
    images: int
    pairs: int  # pairs of different photos
    same_pairs: int  # pairs labelled copy or burst
    false_pairs: int  # different pairs that dedup confirms
    candidates: int  # different pairs that stage 1 proposes
    closest: List[Tuple[str, str, dict]] = field(default_factory=list)  # nearest different pairs, with evidence
    found_same: List[Tuple[str, str, str, bool]] = field(default_factory=list)  # labelled pairs: found or not
    failed: List[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.false_pairs / max(self.pairs, 1)

    @property
    def rate_bound(self) -> float:
        """The rate's 95% upper bound: with none observed, 3/pairs (the rule of three)."""
        return max(self.false_pairs, 3) / max(self.pairs, 1)

    def expected(self, images: int, rate: Optional[float] = None) -> float:
        return (self.rate if rate is None else rate) * images * (images - 1) / 2


def read_labels(path: Optional[str], root: str) -> Dict[Tuple[str, str], str]:
    """{(path, path): label} of the CSV's pairs (columns a, b, label; paths relative to root)."""
    if not path:
        return {}
    labels = {}
    with open(path, newline='') as file:
        for row in csv.DictReader(file):
            a, b = (os.path.normpath(os.path.join(root, row[column])) for column in ('a', 'b'))
            labels[min(a, b), max(a, b)] = row['label']
    return labels


def image_files(folder: str) -> List[str]:
    return sorted(os.path.join(top, name) for top, _, names in os.walk(folder) for name in names
                  if name.lower().endswith(IMAGE_EXTENSIONS))


def precision(folder: str, labels_csv: Optional[str] = None, rotations: bool = False, closest: int = 12,
              progress=None) -> Precision:
    """dedup's decision over every pair of `folder`'s photos: any pair not labelled copy or burst is different."""
    labels = read_labels(labels_csv, folder)
    docs, paths, failed = [], [], []
    for path in image_files(folder):
        with open(path, 'rb') as file:
            data = file.read()
        try:
            docs.append(hashed(data, INDEX_VIEWS, path))
            paths.append(os.path.normpath(path))
        except ValueError as error:
            failed.append(str(error))
        if progress:
            progress(len(docs) + len(failed))
    pairs = view_pairs(True, rotations)
    a, b, bits = table(docs, range(len(docs)), pairs).pairs_within(default_threshold('phash', 64, True, rotations))
    judge = Judge({key: evidence_of_doc(doc) for key, doc in enumerate(docs)}, pairs, near_64=True)  # 64-bit pHash
    same = {pair for pair, label in labels.items() if label in ('copy', 'burst')}
    verdicts, confirmed, false_pairs, candidates = [], set(), 0, 0
    keys_a, keys_b, distances = a.tolist(), b.tolist(), bits.tolist()
    for x, y, d, verdict in zip(keys_a, keys_b, distances, judge.verdicts(keys_a, keys_b, distances)):
        pair = (min(paths[x], paths[y]), max(paths[x], paths[y]))
        if verdict.same:
            confirmed.add(pair)
        if pair not in same:
            candidates += 1
            false_pairs += verdict.same
            verdicts.append((verdict.bits256, pair, verdict.evidence(bits=d)))
    found_same = [(first, second, labels[first, second], (first, second) in confirmed) for first, second in sorted(same)
                  if first in paths and second in paths]
    n = len(docs)
    nearest = sorted(verdicts, key=lambda v: (v[0] if v[0] is not None else 1 << 20, v[1]))[:closest]
    return Precision(n, n * (n - 1) // 2 - len(found_same), len(found_same), false_pairs, candidates,
                     [(first, second, evidence) for _, (first, second), evidence in nearest], found_same, failed)


def precision_text(result: Precision, folder: str) -> str:
    lines = [f'precision on {folder}: {result.images:,} photos, {result.pairs:,} pairs of different photos '
             f'({result.same_pairs} labelled the same picture left out)',
             f'  stage 1 proposes {result.candidates:,} different pairs; the decision confirms {result.false_pairs:,}',
             f'  false pairs per pair: {result.rate:.2e} (95% upper bound {result.rate_bound:.1e})',
             '  expected false pairs at ' + ', '.join(
                 f'{images:,} images: {result.expected(images):,.0f} (bound {result.expected(images, result.rate_bound):,.0f})'
                 for images in SCALES)]
    for first, second, label, found in result.found_same:
        lines.append(f'  labelled {label}: {"found" if found else "not found"}: {os.path.relpath(first, folder)} '
                     f'~ {os.path.relpath(second, folder)}')
    lines.append('  closest different pairs (256-bit bits over views, stage-1 bits):')
    for first, second, evidence in result.closest:
        lines.append(f'    {evidence.get("bits256")} / {evidence.get("bits")} bits, {evidence.get("views")}, '
                     f'colour {evidence.get("colour_degrees", "-")} deg: {os.path.relpath(first, folder)} ~ '
                     f'{os.path.relpath(second, folder)}' + (' CONFIRMED' if evidence.get('verified') else ''))
    return '\n'.join(lines) + '\n'


def recall_text(results: List[DecisionRecall]) -> str:
    lines = ['the match decision (stage 1 then stage 2, as search does): recall % per transform',
             f'{"transform":18s}' + ''.join(f'{"rotations" if r.rotations else "default":>12s} {"stage 1":>8s}'
                                            for r in results)]
    for name in results[0].recall:
        lines.append(f'{name:18s}' + ''.join(f'{100 * r.recall[name]:12.1f} {100 * r.recall_stage1[name]:8.1f}'
                                             for r in results))
    lines.append(f'{"false matches":18s}' + ''.join(f'{r.false_matches:12d} {r.false_stage1:8d}' for r in results) +
                 f'   (of {results[0].pairs:,} query-photo pairs)')
    return '\n'.join(lines) + '\n'
