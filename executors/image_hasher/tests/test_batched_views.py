"""The batched views and evidence give what the straightforward way gives: each view cut as a PIL
image, squeezed by its own resize, turned by Image.rotate and flipped by Image.transpose, and
each pHash's DCT taken by scipy, one image of one view at a time."""
import glob
import os

import numpy as np
import pytest
from PIL import Image

from executors.image_hasher.decode import open_image, shrink, to_grey
from executors.image_hasher.evidence import (BAND_SCALE, VERIFY_CROPS, VERIFY_HASH_SIZE, VERIFY_SIDE, VERIFY_TURNS,
                                             image_evidence)
from executors.image_hasher.hashes import RESAMPLE, perceptual_hash, perceptual_hashes, perceptual_hashes_by_product
from executors.image_hasher.views import (CROP_SCALE, ORIENTATIONS, TURN_DEGREES, centre, cropped_at, oriented,
                                          trim_borders, turned_centre, view_hashes)
from executors.view_pairs import INDEX_VIEWS, QUERY_VIEWS, verification_layout, verification_views

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PHOTOS = sorted(glob.glob(os.path.join(REPOSITORY, 'data', 'eval', '*.jpg')))[:8]
BOX = Image.Resampling.BOX


def decoded(path, side=2 * VERIFY_SIDE):
    """The grey image the hasher works on, decoded at reduced scale as the fast path does."""
    with open(path, 'rb') as file:
        return to_grey(open_image(file.read(), reduce_to=side))


def one_by_one(small: Image.Image, views, crops, turns, bands: bool) -> list:
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
    if bands:
        width, height = small.size
        kept_w, kept_h = round(width * BAND_SCALE), round(height * BAND_SCALE)
        images += [small.crop(box) for box in ((0, 0, width, kept_h), (0, height - kept_h, width, height),
                                               (0, 0, kept_w, height), (width - kept_w, 0, width, height))]
    return images


def scipy_phashes(images, side, hash_size) -> np.ndarray:
    squares = np.array([np.asarray(image.resize((side, side), BOX)) for image in images])
    return perceptual_hashes(squares, hash_size).reshape(len(images), -1)


@pytest.mark.parametrize('path', PHOTOS)
def test_a_turned_centre_is_the_centre_of_the_turned_image_bit_for_bit(path):
    grey = shrink(decoded(path), VERIFY_SIDE)
    for degrees in VERIFY_TURNS:
        expected = centre(grey.rotate(degrees, resample=Image.Resampling.BILINEAR))
        assert np.array_equal(np.asarray(turned_centre(grey, degrees)), np.asarray(expected))


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


@pytest.mark.parametrize('path', PHOTOS)
def test_the_64_bit_views_equal_the_views_hashed_one_by_one(path):
    grey = decoded(path, 64)
    small = shrink(grey, 32)
    expected = scipy_phashes(one_by_one(small, INDEX_VIEWS, ((CROP_SCALE, 3),), (-TURN_DEGREES, TURN_DEGREES),
                                        bands=False)[1:], 32, 8)
    square = small.resize((32, 32), RESAMPLE)
    expected = np.concatenate([expected, np.array([perceptual_hash(square.transpose(method), 8).ravel()
                                                   for method in ORIENTATIONS])])
    found = view_hashes(grey, 'phash', 8, INDEX_VIEWS)
    assert list(found) == list(INDEX_VIEWS)
    assert np.array_equal(np.concatenate(list(found.values())), expected)


@pytest.mark.parametrize('views', [INDEX_VIEWS, QUERY_VIEWS], ids=['index', 'query'])
@pytest.mark.parametrize('path', PHOTOS[:4])
def test_the_verification_hashes_equal_the_views_hashed_one_by_one(path, views):
    grey = decoded(path)
    small = shrink(grey, VERIFY_SIDE)
    images = one_by_one(small, views, VERIFY_CROPS, VERIFY_TURNS, bands=True)
    if 'orientations' in views:  # they come before the bands, from the plain square
        square = small.resize((VERIFY_SIDE, VERIFY_SIDE), BOX)
        images[-4:-4] = [square.transpose(method) for method in ORIENTATIONS]
    expected = np.packbits(scipy_phashes(images, VERIFY_SIDE, VERIFY_HASH_SIZE), axis=1)
    evidence = image_evidence(grey, grey, views)
    assert evidence.codes == expected.tobytes()
    layout = verification_layout(verification_views(views))
    assert len(expected) == layout[-1][1] + layout[-1][2]  # 52 for an indexed image, 7 for a query
