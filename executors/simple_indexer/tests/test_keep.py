"""keep.py: the `original` policy's evidence one piece at a time, and how strict groups follow it."""
import pytest

from executors.simple_indexer.grouping import groups_from_pairs
from executors.simple_indexer.keep import keep_order, original_order
from executors.simple_indexer.view_join import table_of_texts

PHOTO = {'jpeg_quality': 85, 'border': 0.0, 'clipped': 0.02, 'detail': 0.74, 'chroma': 30.0}


def row(key, uri, size=(320, 240), byte_size=15000, **facts):
    return {'key': key, 'id': f'id{key}', 'uri': uri, 'digest': uri, 'width': size[0], 'height': size[1],
            'byte_size': byte_size, 'mtime': None, 'provenance': {**PHOTO, **facts}}


ORIGINAL = row(0, '/o.jpg')


def kept(*copies, policy='original', prefer=()):
    return keep_order(policy, prefer)([*copies, ORIGINAL])[0]['uri']


@pytest.mark.parametrize('copy', [
    row(1, '/padded.jpg', size=(384, 288), border=0.31, byte_size=9000),  # more pixels, but border
    row(2, '/half.jpg', size=(160, 120), byte_size=5000),
    row(3, '/cropped.jpg', size=(304, 228), byte_size=14000),
    row(4, '/grey.jpg', chroma=0.0, byte_size=12000),
    row(5, '/resaved.png', byte_size=80000, jpeg_quality=None),
    row(6, '/resaved.webp', byte_size=8000, jpeg_quality=None),
    row(7, '/small.jpg', jpeg_quality=50, byte_size=7000),
    row(8, '/resaved-q90.jpg', jpeg_quality=90, byte_size=17000),
])
def test_a_copy_that_lost_or_gained_something_is_not_kept(copy):
    assert kept(copy) == '/o.jpg'


def test_clipping_tells_a_brightened_copy_even_at_the_same_quality_and_a_smaller_size():
    assert kept(row(1, '/bright.jpg', clipped=0.15, byte_size=14000, jpeg_quality=85)) == '/o.jpg'


def test_detail_unlike_the_rest_of_the_group_tells_blurred_and_sharpened_copies():
    half = row(1, '/half.jpg', size=(160, 120), byte_size=5000, detail=0.73)
    for copy in (row(2, '/blurred.jpg', detail=0.6, byte_size=11000), row(3, '/sharpened.jpg', detail=0.9)):
        assert kept(half, copy) == '/o.jpg'
    # in a pair nothing says which came first: the smaller file is kept
    assert kept(row(2, '/blurred.jpg', detail=0.6, byte_size=11000)) == '/blurred.jpg'


def test_rows_without_provenance_fall_back_on_pixels_then_the_smaller_file():
    rows = [{'key': 0, 'id': 'a', 'uri': '/a.jpg', 'width': 10, 'height': 10, 'byte_size': 900},
            {'key': 1, 'id': 'b', 'uri': '/b.jpg', 'width': 10, 'height': 10, 'byte_size': 500},
            {'key': 2, 'id': 'c', 'uri': '/c.jpg', 'width': 5, 'height': 5, 'byte_size': 100}]
    assert [r['uri'] for r in original_order(rows)] == ['/b.jpg', '/a.jpg', '/c.jpg']


def test_prefer_beats_every_piece_of_evidence_and_largest_is_the_old_rule():
    copy = row(1, '/curated/small.png', size=(160, 120), jpeg_quality=None, byte_size=90000)
    assert kept(copy, prefer=['/curated']) == '/curated/small.png'
    assert kept(copy, row(2, '/big.png', byte_size=90000, jpeg_quality=None), policy='largest') == '/big.png'
    assert kept(copy, row(2, '/big.png', byte_size=90000, jpeg_quality=None), policy='best') == '/big.png'
    with pytest.raises(ValueError, match='keep policy'):
        keep_order('newest')


def test_a_strict_group_keeps_the_original_chosen_among_all_its_matches():
    # the original (0) matches three copies; the padded copy (1) has the most pixels and would
    # be kept by `largest`, the downscaled one (2) matches only the original and the padded one.
    rows = {0: ORIGINAL, 1: row(1, '/padded.jpg', size=(384, 288), border=0.31),
            2: row(2, '/half.jpg', size=(160, 120), byte_size=5000), 3: row(3, '/q50.jpg', jpeg_quality=50)}
    table = table_of_texts(list(rows), ['0' * 16] * 4, [{}] * 4, 'phash', 8, [('plain', 'plain')])
    keys_a, keys_b = [0, 0, 0, 1], [1, 2, 3, 2]
    for strict in (True, False):
        for policy, expected in (('original', '/o.jpg'), ('largest', '/padded.jpg')):
            (group,) = groups_from_pairs(keys_a, keys_b, {}, rows, table, strict, keep_order(policy))
            assert group['keep']['uri'] == expected
            assert len(group['duplicates']) == (3 if policy == 'original' or not strict else 2)
