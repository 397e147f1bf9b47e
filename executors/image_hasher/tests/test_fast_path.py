"""The fast decode path: much less decoding, hashes a bit or two from the exact path, and a switch."""
import imagehash
import numpy as np
import pytest
from docarray import DocList
from PIL import Image

from executors.documents import ImageDoc
from executors.image_hasher import ImageHasher
from executors.image_hasher.decode import open_image, shrink, to_grey
from executors.image_hasher.hashes import compute_hashes, fast_side
from tests.images import INDEX_IMAGES, QUERY_IMAGES

TYPES = ('ahash', 'phash', 'dhash', 'whash')


def read(path):
    with open(path, 'rb') as file:
        return file.read()


def both_paths(data, hash_size):
    exact = compute_hashes(to_grey(open_image(data)), TYPES, hash_size)
    side = fast_side(hash_size)
    fast = compute_hashes(shrink(to_grey(open_image(data, reduce_to=side)), side), TYPES, hash_size, exact=False)
    return exact, fast


def test_a_jpeg_is_decoded_at_reduced_scale_but_reports_its_stored_size():
    data = read(INDEX_IMAGES[0])
    full = open_image(data)
    reduced = open_image(data, reduce_to=64)
    assert reduced.mode == full.mode  # scaled, its colour kept: colour is evidence of the match decision
    assert 64 <= min(reduced.size) and reduced.width * reduced.height * 4 <= full.width * full.height
    assert reduced.info['full_size'] == full.size


def test_shrink_keeps_twice_the_side_and_leaves_small_images_alone():
    big = Image.new('L', (1000, 700))
    assert min(shrink(big, 64).size) >= 128 and shrink(big, 64).width <= 250
    small = Image.new('L', (200, 150))
    assert shrink(small, 64) is small


@pytest.mark.parametrize('hash_size, most, mean', [(8, 4, 1.0), (16, 24, 4.0)])
def test_fast_hashes_stay_within_a_few_bits_of_the_exact_ones(hash_size, most, mean):
    distances = {name: [] for name in TYPES}
    for path in INDEX_IMAGES + QUERY_IMAGES:  # JPEG, PNG and WebP, photos and altered copies
        exact, fast = both_paths(read(path), hash_size)
        for name in TYPES:
            distances[name].append(np.count_nonzero(exact[name] != fast[name]))
    for name, found in distances.items():
        assert max(found) <= most and np.mean(found) <= mean, (name, found)
    assert sum(d == 0 for found in distances.values() for d in found) > len(TYPES) * len(INDEX_IMAGES)


def test_the_exact_switch_gives_imagehash_bit_for_bit_and_defaults_to_fast(tmp_path):
    path = tmp_path / 'photo.jpg'
    path.write_bytes(read(INDEX_IMAGES[1]))
    reference = {name: str(function(Image.open(path))) for name, function in
                 (('ahash', imagehash.average_hash), ('phash', imagehash.phash),
                  ('dhash', imagehash.dhash), ('whash', imagehash.whash))}
    hasher = ImageHasher(allowed_roots=[str(tmp_path)])

    def hashed(hasher, **parameters):
        doc, = hasher.hash_for_index(DocList[ImageDoc]([ImageDoc(uri=str(path))]), parameters)
        assert doc.error is None and (doc.width, doc.height) == Image.open(path).size
        return {name: getattr(doc, name) for name in reference}

    assert hasher.exact is False
    assert hashed(hasher, exact=True) == reference
    assert hashed(ImageHasher(allowed_roots=[str(tmp_path)], exact=True)) == reference
    fast = hashed(hasher)
    for name, text in fast.items():
        assert imagehash.hex_to_hash(text) - imagehash.hex_to_hash(reference[name]) <= 4, name
    with pytest.raises(ValueError, match='exact must be true or false'):
        hashed(hasher, exact='yes')


@pytest.mark.parametrize('size, out', [(267, 32), (200, 8), (100, 9), (1000, 64), (50, 64), (7, 8), (1, 32)])
def test_the_fast_path_s_lanczos_matrix_is_pillow_s_resize(size, out):
    """One pass of Pillow's LANCZOS resize (a line's worth of rows) as a matrix: the same 8-bit
    pixels once rounded, reducing or enlarging."""
    from executors.image_hasher.hashes import lanczos_weights
    lines = np.random.default_rng(size).integers(0, 256, (5, size)).astype(np.uint8)
    expected = np.asarray(Image.fromarray(lines).resize((out, 5), Image.Resampling.LANCZOS))
    assert np.array_equal(np.clip(np.rint(lines @ lanczos_weights(size, out).T), 0, 255), expected)


def test_the_fast_path_s_matrix_products_stay_near_pillow_s_resizes_on_real_photos():
    """fast_hashes against the same hashes computed with Pillow resizes of the same decoded image
    (compute_hashes' steps with the fast path's wHash square): Pillow rounds its first pass to 8
    bits, the products do not, so a bit may differ where a coefficient sits on its threshold."""
    from executors.image_hasher.hashes import HASH_FUNCTIONS, fast_hashes
    distances = []
    for path in INDEX_IMAGES + QUERY_IMAGES:
        small = shrink(to_grey(open_image(read(path), reduce_to=128)), fast_side(8))
        fast = fast_hashes(small, TYPES, 8)
        square = min(2 ** int(np.log2(min(small.size))), fast_side(8))
        for name in TYPES:
            pillow = HASH_FUNCTIONS[name](small, 8, square) if name == 'whash' else HASH_FUNCTIONS[name](small, 8)
            distances.append(np.count_nonzero(fast[name] != pillow))
    assert np.mean(distances) <= 0.5 and max(distances) <= 4, distances


@pytest.mark.parametrize('size', [(1, 1), (40, 30), (300, 200)])
def test_a_flat_image_gets_imagehash_s_hashes_not_bits_of_rounding_noise(size):
    """All frequencies but the first, and all block means, are equal in a flat image: the products
    leave them equal to 1e-13, not equal; the fast path must not read that noise as bits."""
    from executors.image_hasher.hashes import fast_hashes
    flat = Image.new('L', size, 173)
    fast = fast_hashes(flat, TYPES, 8)
    for name in ('ahash', 'phash', 'dhash'):
        assert np.array_equal(fast[name], getattr(imagehash, {'ahash': 'average_hash', 'phash': 'phash',
                                                             'dhash': 'dhash'}[name])(flat).hash), name
    assert not fast['whash'].any()
