"""The four perceptual hashes, computed from a greyscale PIL image.

Each function follows the ImageHash library (https://github.com/JohannesBuchner/imagehash)
step for step, so that `bits_to_hex(phash(grey, 8)) == str(imagehash.phash(grey, 8))` for the
same pixels. The hash is a boolean matrix read row by row; two hashes are compared by the
number of differing bits (the Hamming distance).
"""
from functools import lru_cache

import numpy as np
import scipy.fftpack
from PIL import Image

RESAMPLE = Image.Resampling.LANCZOS  # ImageHash's ANTIALIAS


def average_hash(grey: Image.Image, hash_size: int = 8) -> np.ndarray:
    """aHash: shrink to hash_size x hash_size, one bit per pixel brighter than the mean.

    Neal Krawetz, "Looks Like It", hackerfactor.com, 2011.
    """
    pixels = np.asarray(grey.resize((hash_size, hash_size), RESAMPLE))
    return pixels > pixels.mean()


def perceptual_hash(grey: Image.Image, hash_size: int = 8) -> np.ndarray:
    """pHash: 2-D DCT of a 4*hash_size square, one bit per low frequency above their median.

    Neal Krawetz, "Looks Like It", 2011; the DCT variant of Zauner, "Implementation and
    Benchmarking of Perceptual Image Hash Functions", 2010.
    """
    side = hash_size * 4
    return perceptual_hashes(np.asarray(grey.resize((side, side), RESAMPLE))[None], hash_size)[0]


def perceptual_hashes(squares: np.ndarray, hash_size: int) -> np.ndarray:
    """pHash of a stack of (n, 4*hash_size, 4*hash_size) grey squares at once: (n, hash_size, hash_size)."""
    dct = scipy.fftpack.dct(scipy.fftpack.dct(squares, axis=1), axis=2)
    low = dct[:, :hash_size, :hash_size].reshape(len(squares), -1)
    return (low > np.median(low, axis=1, keepdims=True)).reshape(-1, hash_size, hash_size)


@lru_cache(maxsize=8)
def low_dct_rows(side: int, hash_size: int) -> np.ndarray:
    """The first hash_size rows of the (unnormalised) DCT-II matrix of `side` points, the one
    scipy.fftpack.dct computes: the DCT of each row of X is X @ C.T, of a square C @ X @ C.T."""
    k, n = np.ogrid[:hash_size, :side]
    return 2 * np.cos(np.pi * k * (2 * n + 1) / (2 * side))


def perceptual_hashes_by_product(squares: np.ndarray, hash_size: int) -> np.ndarray:
    """perceptual_hashes of a stack of squares, with the DCT as two matrix products that keep only
    the hash_size x hash_size low frequencies the hash reads (one BLAS call for a whole stack of
    views instead of two full transforms each).

    The coefficients equal scipy's to about 1e-12, so a bit differs only where a coefficient and
    the median agree to that precision: the views of a flat image, whose every AC coefficient is
    0 up to rounding (tests/test_batched_views.py measures it on real photos)."""
    rows = low_dct_rows(squares.shape[-1], hash_size)
    low = (rows @ squares.astype(np.float64) @ rows.T).reshape(len(squares), -1)
    return (low > row_medians(low)).reshape(-1, hash_size, hash_size)


def row_medians(values: np.ndarray) -> np.ndarray:
    """(rows, 1): np.median of each row of a 2-D array, the same values (the middle one, or the
    mean of the middle two) by one sort: np.median's own overhead is most of its time on the few
    hundred values of a hash, and the fast path takes a dozen medians per image."""
    ordered = np.sort(values, axis=1)
    middle = values.shape[1] // 2
    if values.shape[1] % 2:
        return ordered[:, middle:middle + 1]
    return (ordered[:, middle - 1:middle] + ordered[:, middle:middle + 1]) / 2


def difference_hash(grey: Image.Image, hash_size: int = 8) -> np.ndarray:
    """dHash: shrink to (hash_size+1) x hash_size, one bit per pixel darker than its right neighbour.

    Neal Krawetz, "Kind of Like That", hackerfactor.com, 2013.
    """
    pixels = np.asarray(grey.resize((hash_size + 1, hash_size), RESAMPLE))
    return pixels[:, 1:] > pixels[:, :-1]


def wavelet_hash(grey: Image.Image, hash_size: int = 8, image_scale: int = 0) -> np.ndarray:
    """wHash: Haar wavelet low band of a power-of-two square, one bit per coefficient above the median.

    As ImageHash's whash (from the Avito duplicate ads Kaggle competition, 2016): the square
    is the largest power of two not above the shorter side, and the single lowest (DC)
    coefficient is removed first so the hash does not depend on overall brightness.
    image_scale (a power of two) sets that square's side instead, as ImageHash's own argument.
    """
    import pywt  # only the exact path uses the wavelets: the fast path (the default) never loads them

    if hash_size & (hash_size - 1):
        raise ValueError(f'wHash needs a power-of-two hash size, not {hash_size}')
    scale = max(image_scale or 2 ** int(np.log2(min(grey.size))), hash_size)
    max_level = int(np.log2(scale))
    pixels = np.asarray(grey.resize((scale, scale), RESAMPLE)) / 255.0
    coeffs = list(pywt.wavedec2(pixels, 'haar', level=max_level))
    coeffs[0] *= 0
    pixels = pywt.waverec2(coeffs, 'haar')
    low = pywt.wavedec2(pixels, 'haar', level=max_level - int(np.log2(hash_size)))[0]
    return low > np.median(low)


HASH_FUNCTIONS = {
    'ahash': average_hash,
    'phash': perceptual_hash,
    'dhash': difference_hash,
    'whash': wavelet_hash,
}


def lanczos_weights(size: int, out: int) -> np.ndarray:
    """(out, size): Pillow's LANCZOS resize of a line of `size` pixels to `out` as a matrix, with
    Pillow's own coefficients (Resample.c, precompute_coeffs: a Lanczos-3 window widened by the
    reduction, each output's weights summing to 1) but not its rounding to 8 bits after each pass."""
    scale = size / out
    widen = max(scale, 1.0)
    support = 3.0 * widen
    centres = (np.arange(out) + 0.5) * scale
    first = np.maximum((centres - support + 0.5).astype(int), 0)  # truncated, as Pillow's (int) casts
    last = np.minimum((centres + support + 0.5).astype(int), size)
    # Each output reads at most 2 * support + 2 pixels from `first` on: the window is computed
    # there only (a shrink by 30 would otherwise evaluate 30 times as many zeros), then placed.
    pixels = first[:, None] + np.arange(int(2 * support) + 2)
    x = (pixels - centres[:, None] + 0.5) / widen
    inside = (pixels < last[:, None]) & (x >= -3) & (x < 3)
    angle = np.pi * np.where(x == 0, 1e-20, x)  # sinc(x) * sinc(x / 3), as np.sinc computes each
    window = np.where(inside, np.sin(angle) / angle * (np.sin(angle / 3) / (angle / 3)), 0.0)
    window /= window.sum(axis=1, keepdims=True)
    weights = np.zeros((out, size))
    rows = np.broadcast_to(np.arange(out)[:, None], pixels.shape)
    weights[rows[inside], pixels[inside]] = window[inside]
    return weights


@lru_cache(maxsize=1024)  # per line length, hash and axis (a dataset's images share a few); 9 x size floats
def fast_operator(size: int, hash_type: str, hash_size: int, out: int) -> np.ndarray:
    """(hash_size or hash_size + 1, size): what `hash_type` reads of a line of `size` pixels
    resized to `out` by Lanczos: the resized line itself (aHash, dHash), its lowest DCT
    frequencies (pHash: the DCT is linear too, so it folds into the resize), or its block means
    (wHash). Applied to both axes, `rows @ pixels @ columns.T` is what the hash compares.

    wHash without the wavelet transforms: with the Haar wavelet, zeroing the lowest band and
    transforming again leaves, in the hash_size x hash_size low band, the means of the square's
    blocks minus the overall mean (times a constant), so comparing those with their median is
    comparing the block means with theirs: the same bits except where blocks tie (flat areas,
    where the wavelets' rounding noise decides)."""
    resize = lanczos_weights(size, out)
    if hash_type == 'phash':
        resize = low_dct_rows(out, hash_size) @ resize
    elif hash_type == 'whash':
        resize = resize.reshape(hash_size, out // hash_size, size).mean(axis=1)
    return read_only(resize)


def fast_hashes(grey: Image.Image, hash_types, hash_size: int) -> dict:
    """The fast path's hashes of one (shrunk) grey image, {hash type: boolean matrix}: the same
    steps as compute_hashes, each resize (and pHash's DCT) a product of cached matrices
    (fast_operator) instead of a Pillow resize per hash, without Pillow's rounding of its first
    pass to 8 bits (a tenth of a bit to a quarter from Pillow's hashes on average, measured in
    the README's Speed section)."""
    pixels = np.asarray(grey, dtype=np.float64)
    height, width = pixels.shape
    found = {}
    for name in hash_types:
        if name == 'phash':
            outs = (4 * hash_size,) * 2
        elif name == 'whash':  # as compute_hashes: a square of the largest power of two, at most fast_side
            outs = (max(min(2 ** int(np.log2(min(height, width))), fast_side(hash_size)), hash_size),) * 2
        else:
            outs = (hash_size, hash_size + (name == 'dhash'))
        small = fast_operator(height, name, hash_size, outs[0]) @ pixels @ fast_operator(width, name, hash_size, outs[1]).T
        if name in ('ahash', 'dhash'):  # compared pixel with pixel: as Pillow's 8-bit pixels, so that
            small = np.clip(np.rint(small), 0, 255)  # a flat background's neighbours tie as in ImageHash
        else:  # a flat image's frequencies (or block means) are equal but for the products' rounding:
            small = np.round(small, 6)  # equal they stay, as in ImageHash, not bits of noise
        if name == 'ahash':
            found[name] = small > small.mean()
        elif name == 'dhash':
            found[name] = small[:, 1:] > small[:, :-1]
        else:
            found[name] = small > row_medians(small.reshape(1, -1)).reshape(())
    return found


def read_only(array: np.ndarray) -> np.ndarray:
    """A cached operator is shared by every caller: none may change it."""
    array.setflags(write=False)
    return array


def fast_side(hash_size: int) -> int:
    """The fast path's smallest decoded side: twice pHash's input (8 * hash_size pixels)."""
    return 8 * hash_size


def compute_hashes(grey: Image.Image, hash_types, hash_size: int, exact: bool = True) -> dict:
    """Every requested hash of one decoded image, as {hash type: boolean matrix}: ImageHash's
    steps bit for bit, or with exact=False the fast path's (fast_hashes)."""
    if not exact:
        return fast_hashes(grey, hash_types, hash_size)
    return {name: HASH_FUNCTIONS[name](grey, hash_size) for name in hash_types}


def bits_to_hex(bits: np.ndarray) -> str:
    """Hex text of a hash, most significant bit first: the same text as str(imagehash.ImageHash)."""
    flat = np.asarray(bits, dtype=bool).ravel()
    leading = np.zeros(-flat.size % 8, dtype=bool)  # zeros in front fill the first byte; they add no value
    return np.packbits(np.concatenate([leading, flat])).tobytes().hex()[-((flat.size + 3) // 4):]


def hex_to_bits(text: str) -> np.ndarray:
    """The 0/1 values of a hex hash (4 bits per hex digit), as uint8."""
    nbits = len(text) * 4
    value = int(text, 16)
    return np.array([(value >> (nbits - 1 - i)) & 1 for i in range(nbits)], dtype=np.uint8)
