"""The batched views and evidence against the straightforward way: each view cut and squeezed by
Pillow's own resize, turned by Image.rotate, flipped by Image.transpose, and its DCT taken by
scipy, one view at a time. The 64-bit views equal it bit for bit. The evidence's matrix products
(view_frequencies.py) skip the resize's rounding of each pixel to 8 bits and sample the turns on
a grid, so a few bits differ where a frequency sits next to the median, never many; flips and
the DCT as a product are exact."""
import glob
import os

import numpy as np
import pytest
from PIL import Image

from executors.image_hasher.decode import open_image, shrink, to_grey
from executors.image_hasher.evidence import (VERIFY_HASH_SIZE, VERIFY_SIDE, VERIFY_TURNS, image_evidence,
                                             verification_cuts, verification_frequencies, verification_hashes)
from executors.image_hasher.hashes import (RESAMPLE, low_dct_rows, perceptual_hash, perceptual_hashes,
                                           perceptual_hashes_by_product)
from executors.image_hasher.view_frequencies import (WHOLE, covered_before, low_frequencies, oriented_frequencies,
                                                     ranges_low_frequencies, view_frequencies)
from executors.image_hasher.view_frequencies import turned_centre as grid_turned_centre
from executors.image_hasher.views import (CROP_SCALE, ORIENTATIONS, TURN_DEGREES, border_box, centre, cropped_at,
                                          oriented, trim_borders, turned_centre, view_hashes)
from executors.view_pairs import INDEX_VIEWS, QUERY_VIEWS, verification_layout, verification_views

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PHOTOS = sorted(glob.glob(os.path.join(REPOSITORY, 'data', 'eval', '*.jpg')))[:8]
BOX = Image.Resampling.BOX


def decoded(path, side=2 * VERIFY_SIDE):
    """The grey image the hasher works on, decoded at reduced scale as the fast path does."""
    with open(path, 'rb') as file:
        return to_grey(open_image(file.read(), reduce_to=side))


def pillow_square(small: Image.Image, cut, side: int) -> np.ndarray:
    """One cut squeezed to side x side the straightforward way: Pillow's box resize of its box
    (fractional edges), or the centre of Image.rotate's turned image."""
    if isinstance(cut, float):
        return np.asarray(centre(small.rotate(cut, resample=Image.Resampling.BILINEAR)).resize((side, side), BOX))
    if cut == 'trim':
        box = border_box(small)
    else:
        (top, bottom), (left, right) = cut
        box = (left * small.width, top * small.height, right * small.width, bottom * small.height)
    return np.asarray(small.resize((side, side), BOX, box=box))


def one_by_one(small: Image.Image, views, crops, turns) -> list:
    """Every view of `small` as its own PIL image, in the hasher's order (the orientations apart)."""
    images = [small]
    if 'trim' in views:
        images.append(trim_borders(small))
    if 'centre' in views:
        images.append(centre(small))
    if 'turns' in views:
        images += [centre(small.rotate(degrees, resample=Image.Resampling.BILINEAR)) for degrees in turns]
    if 'crops' in views:
        images += [cropped_at(small, x, y, scale) for scale, steps in crops
                   for y in np.linspace(0, 1, steps) for x in np.linspace(0, 1, steps)]
    return images


def scipy_phashes(images, side, hash_size) -> np.ndarray:
    squares = np.array([np.asarray(image.resize((side, side), BOX)) for image in images])
    return perceptual_hashes(squares, hash_size).reshape(len(images), -1)


def bits_apart(found: np.ndarray, squares: list, hash_size: int) -> np.ndarray:
    expected = perceptual_hashes(np.array(squares), hash_size).reshape(len(squares), -1)
    return (found.reshape(len(squares), -1) != expected).sum(axis=1)


@pytest.mark.parametrize('views', [INDEX_VIEWS, QUERY_VIEWS], ids=['index', 'query'])
@pytest.mark.parametrize('path', PHOTOS[:4])
def test_the_verification_hashes_are_the_views_squeezed_by_pillow_and_hashed_by_scipy(path, views):
    small = shrink(decoded(path), VERIFY_SIDE)
    cuts = verification_cuts(verification_views(views))
    found = verification_frequencies(small, verification_views(views))
    layout = [view for view, _, rows in verification_layout(verification_views(views)) for _ in range(rows)]
    assert len(found) == len(layout)  # 52 for an indexed image, 7 for a query
    rows = [row for row, view in enumerate(layout) if view != 'orientations']
    bits = np.unpackbits(verification_hashes(found[rows]), axis=1).astype(bool)
    squares = [pillow_square(small, cut, VERIFY_SIDE) for cut in cuts if cut != 'oriented']
    differ = bits_apart(bits, squares, VERIFY_HASH_SIZE)
    assert np.median(differ) <= 6 and differ.max() <= 16, dict(zip([layout[row] for row in rows], differ.tolist()))


@pytest.mark.parametrize('path', PHOTOS)
def test_the_64_bit_views_equal_the_views_hashed_one_by_one(path):
    grey = decoded(path, 64)
    small = shrink(grey, 32)
    expected = scipy_phashes(one_by_one(small, INDEX_VIEWS, ((CROP_SCALE, 3),), (-TURN_DEGREES, TURN_DEGREES))[1:], 32, 8)
    square = small.resize((32, 32), RESAMPLE)
    expected = np.concatenate([expected, np.array([perceptual_hash(square.transpose(method), 8).ravel()
                                                   for method in ORIENTATIONS])])
    found = view_hashes(grey, 'phash', 8, INDEX_VIEWS)
    assert list(found) == list(INDEX_VIEWS)
    assert np.array_equal(np.concatenate(list(found.values())), expected)


@pytest.mark.parametrize('path', PHOTOS)
def test_a_turned_centre_is_the_centre_of_the_turned_image_bit_for_bit(path):
    grey = shrink(decoded(path), VERIFY_SIDE)
    for degrees in VERIFY_TURNS:
        expected = centre(grey.rotate(degrees, resample=Image.Resampling.BILINEAR))
        assert np.array_equal(np.asarray(turned_centre(grey, degrees)), np.asarray(expected))


def test_flipping_and_turning_a_square_only_changes_the_signs_and_order_of_its_frequencies():
    square = np.asarray(decoded(PHOTOS[1]).resize((VERIFY_SIDE, VERIFY_SIDE), BOX), dtype=np.float64)
    dct = low_dct_rows(VERIFY_SIDE, VERIFY_HASH_SIZE)
    expected = np.array([dct @ turned @ dct.T for turned in oriented(square)])
    assert np.allclose(oriented_frequencies(dct @ square @ dct.T), expected)


def test_orientations_of_a_square_are_its_transposes():
    square = np.asarray(Image.open(PHOTOS[0]).convert('L').resize((32, 32), RESAMPLE))
    expected = [np.asarray(Image.fromarray(square).transpose(method)) for method in ORIENTATIONS]
    assert np.array_equal(oriented(square), np.array(expected))


@pytest.mark.parametrize('hash_size', [8, 16])
def test_the_dct_as_a_matrix_product_gives_scipys_bits_on_photos(hash_size):
    side = 4 * hash_size
    squares = np.array([np.asarray(decoded(path).resize((side, side), BOX)) for path in PHOTOS]
                       + [np.asarray(cropped_at(decoded(path), 0, 1, 0.8).resize((side, side), BOX))
                          for path in PHOTOS])
    assert np.array_equal(perceptual_hashes_by_product(squares, hash_size), perceptual_hashes(squares, hash_size))
    # The documented exception: a flat square's AC coefficients are all 0 up to rounding, and the
    # two roundings differ; such an image's hash is noise either way (evidence.information says so).
    flat = np.full((1, side, side), 200, dtype=np.uint8)
    assert perceptual_hashes_by_product(flat, hash_size).shape == (1, hash_size, hash_size)


def box_weights(start: float, stop: float, size: int, side: int) -> np.ndarray:
    """(side, size): a box filter at fractional edges, the rise of covered_before over each run."""
    return np.diff(covered_before(np.array([start]), np.array([stop]), size, side)[0], axis=0) / ((stop - start) / side)


def test_a_box_of_fractional_edges_weighs_pixels_by_how_much_of_them_it_covers():
    weights = box_weights(0.5, 3.5, 4, side=2)  # two runs of 1.5 pixels over pixels 0..3
    assert np.allclose(weights, [[1 / 3, 2 / 3, 0, 0], [0, 0, 2 / 3, 1 / 3]])
    assert np.allclose(box_weights(0, 10, 10, side=5) @ np.arange(10.0), [0.5, 2.5, 4.5, 6.5, 8.5])
    # and the operators the evidence uses are those weights' low DCT frequencies
    assert np.allclose(low_frequencies(267, 10.3, 250.7, VERIFY_HASH_SIZE),
                       low_dct_rows(VERIFY_SIDE, VERIFY_HASH_SIZE) @ box_weights(10.3, 250.7, 267, VERIFY_SIDE), atol=1e-6)


def test_the_operators_of_many_ranges_at_once_are_each_ranges_own():
    ranges = [(0.0, 267.0), (10.3, 250.7), (13.35, 253.65), (0.0, 200.25), (66.75, 267.0), (100.5, 101.0)]
    together = ranges_low_frequencies(267, ranges, VERIFY_HASH_SIZE)
    assert together.dtype == np.float32 and together.shape == (len(ranges), VERIFY_HASH_SIZE, 267)
    for found, (start, stop) in zip(together, ranges):  # bit for bit: stored evidence must not move
        assert np.array_equal(found, ranges_low_frequencies(267, [(start, stop)], VERIFY_HASH_SIZE)[0])
        assert np.allclose(found, low_dct_rows(VERIFY_SIDE, VERIFY_HASH_SIZE) @ box_weights(start, stop, 267, VERIFY_SIDE),
                           atol=1e-5)


@pytest.mark.parametrize('path', PHOTOS[:4])
def test_a_turn_sampled_on_a_grid_of_one_point_per_pixel_is_image_rotates(path):
    small = shrink(decoded(path), VERIFY_SIDE)
    for degrees in VERIFY_TURNS:
        expected = np.asarray(small.rotate(degrees, resample=Image.Resampling.BILINEAR), dtype=np.float32)
        found = grid_turned_centre(small, degrees, 1.0, small.size)  # the whole image, a point per pixel
        assert np.abs(found - expected).max() <= 1, degrees


def test_a_panoramas_turned_views_are_sampled_finely_enough_along_its_long_side():
    photo = shrink(decoded(PHOTOS[2]), VERIFY_SIDE)
    panorama = Image.new('L', (5 * photo.width, photo.height))
    for tile in range(5):
        panorama.paste(photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if tile % 2 else photo, (tile * photo.width, 0))
    cuts = verification_cuts(verification_views(INDEX_VIEWS))
    turns = [row for row, cut in enumerate(cuts) if isinstance(cut, float)]  # rows before the orientations
    bits = np.unpackbits(verification_hashes(verification_frequencies(panorama, verification_views(INDEX_VIEWS))[turns]),
                         axis=1).astype(bool)
    assert bits_apart(bits, [pillow_square(panorama, cuts[row], VERIFY_SIDE) for row in turns], VERIFY_HASH_SIZE).max() <= 16


@pytest.mark.parametrize('size', [(1, 1), (2, 3), (1, 500), (500, 1), (40000, 130)])
def test_tiny_thin_and_very_long_images_have_all_their_evidence(size):
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    evidence = image_evidence(image, image.convert('L'), INDEX_VIEWS)
    assert len(evidence.codes) == 52 * 32


def test_cuts_other_than_boxes_turns_one_trim_and_one_orientation_are_refused():
    small = shrink(decoded(PHOTOS[0]), VERIFY_SIDE)
    for cuts in ([((0.1, 0.9), (0.1, 0.9))], [WHOLE, 'sideways'], [WHOLE, 'trim', 'trim']):
        with pytest.raises(ValueError):
            view_frequencies(small, cuts, VERIFY_HASH_SIZE, 0.7, border_box)
