"""The evaluation: its scoring on a hand-made case, its benchmark and views on real photos, the command."""
import csv
import io
import json
import os
import random
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from evaluation.benchmark import UNALTERED, build, photo_paths
from evaluation.methods import Hashes, Method
from evaluation.scoring import curve, false_matches_by_group, measure, nearest_negative, recall_by_group, \
    threshold_at_precision
from evaluation.transforms import TRANSFORMS, altered_copy, cropped, padded
from executors.image_hasher.views import trim_borders
from executors.image_hasher.decode import open_image
from tests.images import DATA, REPOSITORY

EVAL_PHOTOS = photo_paths(os.path.join(DATA, 'eval'))

# Three indexed photos A, B, C; q1..q3 are copies of A, B, C, q4 is an unrelated photo.
# Positives are at 1, 3 and 8 bits; the nearest negative is q4-A at 6 bits, then q1-B at 9.
DISTANCES = np.array([[1, 9, 20],
                      [12, 3, 30],
                      [25, 18, 8],
                      [6, 15, 40]])
LABELS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=bool)
GROUPS = ['jpeg', 'jpeg', 'crop', 'unaltered']


def test_counts_precision_and_recall_at_every_threshold_of_a_hand_made_case():
    result = curve(DISTANCES, LABELS, max_distance=10)
    assert result.true_matches.tolist() == [0, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3]
    assert result.false_matches.tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2]
    assert result.positives == 3
    # no match at all claims nothing false; then 2 right of 3 matches at 6, 3 of 4 at 8, 3 of 5 at 9
    assert result.precision.tolist() == pytest.approx([1, 1, 1, 1, 1, 1, 2 / 3, 2 / 3, 3 / 4, 3 / 5, 3 / 5])
    assert result.recall.tolist() == pytest.approx([0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3, 1, 1, 1])


def test_the_threshold_is_the_largest_one_that_keeps_the_precision():
    result = curve(DISTANCES, LABELS, max_distance=10)
    assert threshold_at_precision(result, 0.999) == 5  # just under the stranger at 6
    assert threshold_at_precision(result, 0.7) == 8  # 3 of 4 right
    assert threshold_at_precision(result, 0.5) == 10


def test_recall_and_false_matches_per_transform_and_the_nearest_distinct_pair():
    assert recall_by_group(DISTANCES, LABELS, GROUPS, 5) == {'jpeg': 1.0, 'crop': 0.0}
    assert recall_by_group(DISTANCES, LABELS, GROUPS, 2) == {'jpeg': 0.5, 'crop': 0.0}
    assert false_matches_by_group(DISTANCES, LABELS, GROUPS, 9) == {'jpeg': 1, 'crop': 0, 'unaltered': 1}
    assert nearest_negative(DISTANCES, LABELS) == 6
    result = measure('hand-made', DISTANCES, LABELS, GROUPS, max_distance=10)
    assert (result.threshold, result.precision, result.false_matches, result.negatives) == (5, 1.0, 0, 9)
    assert result.recall == pytest.approx(2 / 3)


@pytest.fixture(scope='module')
def small_benchmark(tmp_path_factory):
    folder = tmp_path_factory.mktemp('photos')
    for path in EVAL_PHOTOS[:5]:
        shutil.copy(path, folder)
    return build(str(folder), transforms=('jpeg-q50', 'flip-horizontal'))


def test_the_benchmark_labels_each_copy_with_its_own_original_and_holds_one_photo_in_five_out(small_benchmark):
    names = [os.path.splitext(os.path.basename(p))[0] for p in EVAL_PHOTOS[:5]]
    assert small_benchmark.index == names[:4]
    assert len(small_benchmark.queries) == 5 * 2 + 1 == len(small_benchmark.query_greys)
    labels = small_benchmark.labels()
    for row, query in enumerate(small_benchmark.queries):
        if query.photo == names[4]:
            assert query.original is None and not labels[row].any()
        else:
            assert query.original == query.photo and labels[row].tolist() == [n == query.photo for n in names[:4]]
    assert [q.transform for q in small_benchmark.queries if q.photo == names[4]] == [UNALTERED, 'jpeg-q50',
                                                                                     'flip-horizontal']


def test_phash_finds_recompressed_copies_and_only_the_rotations_views_find_flips(small_benchmark):
    hashes, labels = Hashes(small_benchmark), small_benchmark.labels()
    flips = np.array([q.transform == 'flip-horizontal' and q.original is not None for q in small_benchmark.queries])
    jpegs = np.array([q.transform == 'jpeg-q50' and q.original is not None for q in small_benchmark.queries])
    plain = hashes.distances(Method('phash', 8))
    turned = hashes.distances(Method('phash', 8, rotations=True))
    assert (plain[labels & jpegs[:, None]] <= 6).all()
    assert (plain[jpegs].argmin(axis=1) == labels[jpegs].argmax(axis=1)).all()  # the original is the nearest
    assert (plain[labels & flips[:, None]] > 15).all()
    assert (turned[labels & flips[:, None]] <= 6).all()
    assert (turned <= plain).all()  # extra views only ever bring a pair closer


def test_transforms_make_readable_copies_of_the_expected_size():
    photo = Image.open(EVAL_PHOTOS[0]).convert('RGB')
    for name in TRANSFORMS:
        copy = open_image(altered_copy(photo, name, seed='x'))
        if name.startswith(('crop', 'pad', 'resize', 'rotate-90')):
            continue
        assert copy.size == photo.size, name
    rng = random.Random(1)
    assert cropped(0.10)(photo, rng).size == (photo.width - round(photo.width * 0.1), photo.height - round(photo.height * 0.1))
    assert padded(0.20)(photo, rng).size == (photo.width + round(photo.width * 0.2), photo.height + round(photo.height * 0.2))
    assert open_image(altered_copy(photo, 'rotate-90', seed='x')).size == (photo.height, photo.width)


def test_trimming_undoes_a_letterbox_and_leaves_a_photo_alone():
    grey = Image.open(EVAL_PHOTOS[0]).convert('L')
    boxed = open_image(altered_copy(grey, 'pad-20%', seed='x')).convert('L')
    trimmed = trim_borders(boxed)
    assert abs(trimmed.width - grey.width) <= 2 and abs(trimmed.height - grey.height) <= 2
    assert trim_borders(grey).size == grey.size


def test_evaluate_command_writes_the_tables_and_the_plot(tmp_path):
    photos = tmp_path / 'photos'
    photos.mkdir()
    for path in EVAL_PHOTOS[:5]:
        shutil.copy(path, photos)
    out = tmp_path / 'out'
    run = subprocess.run([sys.executable, os.path.join(REPOSITORY, 'app.py'), 'evaluate', '--images', str(photos),
                          '--output', str(out), '--single-only'], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert 'phash8' in run.stdout and 'benchmark: 4 indexed photos' in run.stderr
    rows = list(csv.DictReader(io.StringIO((out / 'results.csv').read_text())))
    assert {r['method'] for r in rows} == {f'{t}{s}' for t in ('ahash', 'phash', 'dhash', 'whash') for s in (8, 16)}
    assert {r['transform'] for r in rows} == set(TRANSFORMS) | {'all'}
    thresholds = json.loads((out / 'thresholds.json').read_text())
    assert set(thresholds['single']) == {'ahash', 'phash', 'dhash', 'whash'}
    assert '| crop/pad: pad-20% |' in (out / 'results.md').read_text()
    assert Image.open(out / 'pr_curves.png').size[0] > 1000
    keep = list(csv.DictReader(io.StringIO((out / 'keep.csv').read_text())))  # evaluation/keep.py
    assert {r['policy'] for r in keep} == {'original', 'largest', 'oldest', 'first'}
    original = {(r['group'], r['transform']): (int(r['original_kept']), int(r['groups'])) for r in keep
                if r['policy'] == 'original'}
    assert original['with all copies', 'all'] == (5, 5)  # the default policy keeps every original
    one_copy = [counts for (group, _), counts in original.items() if group == 'with one copy']
    assert sum(kept for kept, _ in one_copy) >= 0.95 * sum(total for _, total in one_copy)
    assert 'one group of all copies' in run.stdout and (out / 'keep.md').exists()
    missing = subprocess.run([sys.executable, os.path.join(REPOSITORY, 'app.py'), 'evaluate', '--images',
                              str(tmp_path / 'nowhere')], capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and 'no such folder' in missing.stderr  # wrong usage, found before any work


def test_the_default_thresholds_are_the_ones_evaluate_measures_on_the_shipped_photos(tmp_path):
    """Defaults from data: change a view, a transform or a hash, and this says which default to update."""
    from evaluation.command import SINGLE_HASHES, WITH_VIEWS, evaluate
    from executors.parameters import default_threshold
    measured = evaluate(os.path.join(DATA, 'eval'), str(tmp_path), log=io.StringIO())['thresholds']
    for method in SINGLE_HASHES:
        assert default_threshold(method.hash_type, method.bits) == \
            measured['single'][method.hash_type][str(method.hash_size)], method.name
    for method in WITH_VIEWS:
        assert default_threshold(method.hash_type, method.bits, method.views, method.rotations) == \
            measured['with_views'][method.name], method.name
