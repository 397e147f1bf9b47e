import imagehash
import numpy as np
import pytest
from PIL import Image

from executors.image_hasher.decode import open_image, to_grey
from executors.image_hasher.hashes import HASH_FUNCTIONS, bits_to_hex, compute_hashes, hex_to_bits, row_medians
from executors.image_hasher.views import border_box
from tests.images import INDEX_IMAGES, QUERY_IMAGES

IMAGEHASH = {'ahash': imagehash.average_hash, 'phash': imagehash.phash,
             'dhash': imagehash.dhash, 'whash': imagehash.whash}
SAMPLE = INDEX_IMAGES + QUERY_IMAGES[::3]  # every format in data/: JPEG, PNG, WebP


def grey_of(path):
    with open(path, 'rb') as file:
        return to_grey(open_image(file.read()))


@pytest.mark.parametrize('hash_size', [8, 16])
@pytest.mark.parametrize('hash_type', sorted(IMAGEHASH))
def test_every_hash_agrees_with_imagehash_on_the_same_pixels(hash_type, hash_size):
    for path in SAMPLE:
        grey = grey_of(path)
        ours = bits_to_hex(HASH_FUNCTIONS[hash_type](grey, hash_size))
        assert ours == str(IMAGEHASH[hash_type](grey, hash_size)), path
        assert len(ours) * 4 == hash_size * hash_size


def test_plain_rgb_photo_hashes_as_imagehash_on_the_opened_file():
    # No EXIF rotation and no alpha: our decode is exactly Image.open, so the results must be identical.
    path = INDEX_IMAGES[0]
    ours = compute_hashes(grey_of(path), IMAGEHASH, 8)
    for name, function in IMAGEHASH.items():
        assert bits_to_hex(ours[name]) == str(function(Image.open(path))), name


def test_hex_round_trip_including_sizes_that_are_not_whole_bytes():
    grey = grey_of(INDEX_IMAGES[1])
    for hash_size in (6, 8, 16):
        bits = HASH_FUNCTIONS['phash'](grey, hash_size)
        text = bits_to_hex(bits)
        assert text == str(imagehash.phash(grey, hash_size))
        assert hex_to_bits(text)[-bits.size:].tolist() == bits.ravel().astype(int).tolist()


def test_different_photos_are_far_apart_and_a_copy_is_near():
    a, b = grey_of(INDEX_IMAGES[0]), grey_of(INDEX_IMAGES[1])
    half = a.resize((a.width // 2, a.height // 2))
    phash = HASH_FUNCTIONS['phash']
    assert np.count_nonzero(phash(a) != phash(half)) <= 4
    assert np.count_nonzero(phash(a) != phash(b)) >= 16


def test_wavelet_hash_refuses_sizes_that_are_not_powers_of_two():
    with pytest.raises(ValueError, match='power-of-two'):
        HASH_FUNCTIONS['whash'](grey_of(INDEX_IMAGES[0]), 6)


def test_row_medians_are_numpys_medians_on_real_frequencies_and_on_ties():
    grey = grey_of(SAMPLE[0])
    low = np.asarray(grey.resize((64, 64)), dtype=np.float64)  # rows of real pixels: many ties
    for values in (low, low[:, :63], low.astype(np.float32), np.zeros((2, 256)), np.arange(7.0)[None]):
        assert np.array_equal(row_medians(values), np.median(values, axis=1, keepdims=True))


def test_border_box_cuts_exactly_the_rows_and_columns_beyond_the_tolerance():
    pixels = np.full((40, 50), 200, dtype=np.uint8)
    pixels[10:30, 5:45] = 100
    pixels[0, :] = 212  # within 12 levels of the border's median: still border
    pixels[39, 20] = 213  # 13 levels off: a row (and a column) of content
    assert border_box(Image.fromarray(pixels)) == (5, 10, 45, 40)
    bright = np.full((40, 50), 250, dtype=np.uint8)  # near the top of the 8-bit range
    bright[5:35, 8:45] = 238  # 12 levels off: border
    assert border_box(Image.fromarray(bright)) == (0, 0, 50, 40)
    bright[5:35, 8:45] = 237
    assert border_box(Image.fromarray(bright)) == (8, 5, 45, 35)
