"""The pHashes of many views of one image as a few matrix products.

A view's pHash (Krawetz's DCT hash, as ImageHash computes it) squeezes the view to a 4h x 4h
square and reads the h x h lowest frequencies of its DCT. Both steps are linear and act on rows
and columns apart, so for a view that keeps rows [top, bottom) and columns [left, right) of the
image, its frequencies are `R @ image @ C.T`, R and C being (h x pixels) matrices: an
area-weighted box filter at the view's fractional edges (Pillow's BOX resize of a crop is the
same at whole-pixel edges, then rounds each pixel to 8 bits) followed by the DCT's first h rows.
Views that keep the same rows (a row
of a grid of crops) share `R @ image`; a turned view is sampled on a grid, then squeezed the same
way; flips and quarter turns are sign changes and transposes of the plain view's frequencies.
The hash is then one bit per frequency above their median, as pHash.

A view is described by a Cut: a pair of (start, stop) shares of the image's height and width, or
'trim' (the box inside uniform borders, views.border_box), or a number of degrees (the centre
turned by that much), or 'oriented' (the 7 flips and quarter turns of the plain view, which must
come first).
"""
from functools import lru_cache
from typing import Sequence, Tuple, Union

import numpy as np
from PIL import Image

from executors.image_hasher.hashes import low_dct_rows, read_only, row_medians

Cut = Union[Tuple[Tuple[float, float], Tuple[float, float]], str, float]
WHOLE = ((0.0, 1.0), (0.0, 1.0))
MAX_TURN_STEP = 1.5  # a turned centre is sampled at a point per 1.5 pixels or closer: a long side must not alias


def centre_cut(scale: float) -> Cut:
    """The middle `scale` of each side."""
    margin = (1 - scale) / 2
    return ((margin, 1 - margin),) * 2


def grid_crops(scale: float, steps: int) -> list:
    """`scale` of each side, at the steps x steps positions of a grid, row by row."""
    positions = [step * (1 - scale) for step in np.linspace(0, 1, steps)]
    return [((top, top + scale), (left, left + scale)) for top in positions for left in positions]


def covered_before(starts: np.ndarray, stops: np.ndarray, size: int, side: int) -> np.ndarray:
    """(ranges, side + 1, size): for each range [start, stop) of a line of `size` pixels, how
    much of each pixel lies before each edge of `side` equal runs of the range: the weights of
    the line's running integral at the edges. A box filter at fractional edges (each pixel
    weighted by how much of it a run covers) is the integral's rise over each run divided by the
    run's length: `np.diff` of these over it."""
    edges = starts[:, None] + (stops - starts)[:, None] / side * np.arange(side + 1.0)
    covered = edges[:, :, None] - np.arange(size, dtype=np.float64)
    return np.clip(covered, 0.0, 1.0, out=covered)


@lru_cache(maxsize=8)
def box_dct(hash_size: int) -> np.ndarray:
    """(hash_size, 4 * hash_size + 1): the DCT of each run's rise moved onto the run edges, so that
    `low_dct_rows @ diff(covered_before) / length` is `box_dct @ covered_before / length`,
    without the difference."""
    dct = low_dct_rows(4 * hash_size, hash_size)
    return read_only(np.concatenate([-dct[:, :1], dct[:, :-1] - dct[:, 1:], dct[:, -1:]], axis=1))


@lru_cache(maxsize=1024)
def low_frequencies(size: int, start: float, stop: float, hash_size: int) -> np.ndarray:
    """(hash_size, size) float32: the hash_size lowest DCT frequencies of [start, stop) of a line
    of `size` pixels squeezed to 4 * hash_size by a box filter. Built for every new image size
    (and trimmed box): the cheap way, box_dct."""
    return read_only(ranges_low_frequencies(size, ((start, stop),), hash_size)[0])


def ranges_low_frequencies(size: int, ranges, hash_size: int) -> np.ndarray:
    """(len(ranges), hash_size, size) float32: low_frequencies of each (start, stop) of `ranges`,
    in one pass: a photo collection's every image has a size of its own, and a dozen ranges
    built one by one cost their numpy calls a dozen times."""
    side = 4 * hash_size
    starts, stops = np.asarray(ranges, dtype=np.float64).T
    weights = box_dct(hash_size) @ covered_before(starts, stops, size, side)
    return (weights / ((stops - starts) / side)[:, None, None]).astype(np.float32)


@lru_cache(maxsize=32)  # datasets come in a few sizes; an entry is 41 x 16 x width floats
def fixed_operators(cuts: tuple, height: int, width: int, hash_size: int) -> tuple:
    """low_frequencies of the boxed cuts (shares of the image) for an image of this size, each
    range of rows stacked once: (rows (hash_size * ranges, height), each cut's range (n,),
    columns (n, hash_size, width), each cut's place among `cuts` (n,)). At least one cut is boxed."""
    boxed = [(place, cut) for place, cut in enumerate(cuts) if isinstance(cut, tuple)]
    row_ranges = list(dict.fromkeys(rows for _, (rows, _) in boxed))
    column_ranges = list(dict.fromkeys(columns for _, (_, columns) in boxed))
    down = ranges_low_frequencies(height, [(top * height, bottom * height) for top, bottom in row_ranges], hash_size)
    across = ranges_low_frequencies(width, [(left * width, right * width) for left, right in column_ranges], hash_size)
    return tuple(read_only(array) for array in (
        down.reshape(-1, height),
        np.array([row_ranges.index(rows) for _, (rows, _) in boxed]),
        across[[column_ranges.index(columns) for _, (_, columns) in boxed]],
        np.array([place for place, _ in boxed])))


def turned_centre(grey: Image.Image, degrees: float, scale: float, points: tuple) -> np.ndarray:
    """(rows, columns) float32, points = (columns, rows): the middle `scale` of each side of the
    image turned by `degrees` counter-clockwise about its middle (black outside), sampled
    bilinearly on a grid of points over that box: only the pixels a hash reads. Image.rotate's
    matrix, scaled to the grid."""
    width, height = grey.size
    angle = -np.radians(degrees)
    cos, sin = np.cos(angle), np.sin(angle)
    left, top = (1 - scale) / 2 * width, (1 - scale) / 2 * height
    middle_x, middle_y = width / 2, height / 2
    step_x, step_y = scale * width / points[0], scale * height / points[1]
    # Output point (x, y) is the point (left + step_x * x, top + step_y * y) before the turn.
    matrix = (cos * step_x, sin * step_y, middle_x + cos * (left - middle_x) + sin * (top - middle_y),
              -sin * step_x, cos * step_y, middle_y - sin * (left - middle_x) + cos * (top - middle_y))
    square = grey.transform(points, Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR)
    return np.asarray(square, dtype=np.float32)


def oriented_frequencies(low: np.ndarray) -> np.ndarray:
    """(7, h, h): the low DCT frequencies of the 7 flips and quarter turns of a square (in
    views.ORIENTATIONS order) from the square's own. Mirroring a line of a DCT's input changes the
    sign of its odd frequencies, and transposing the square transposes them: no pixel is touched."""
    odd = np.where(np.arange(len(low)) % 2, -1.0, 1.0).astype(low.dtype)
    mirrored = low * odd  # left-right
    flipped = odd[:, None] * low  # top-bottom
    half_turn = odd[:, None] * mirrored
    return np.stack([mirrored, flipped, odd[:, None] * low.T, half_turn, low.T * odd, low.T, half_turn.T])


def turn_source(grey: Image.Image, scale: float, hash_size: int) -> Image.Image:
    """The image a turned centre is sampled from: box-reduced by the whole factor that leaves its
    centre's shorter side still at least one pixel per point of the square (4 * hash_size) the
    view is squeezed to. Bilinear sampling costs per point, and a point per pixel of a reduced
    copy reads every pixel of the image (averaged two by two on clothing-small), where as many
    points over the full image would skip pixels and alias."""
    factor = int(scale * min(grey.size) // (4 * hash_size))
    return grey.reduce(factor) if factor >= 2 else grey


def turn_grid(grey: Image.Image, scale: float, hash_size: int) -> tuple:
    """(columns, rows) of the grid a turned centre of `grey` (turn_source) is sampled on: the
    square's side, or more along a side long enough to alias."""
    return tuple(max(4 * hash_size, int(np.ceil(scale * side / MAX_TURN_STEP))) for side in grey.size)


def view_frequencies(grey: Image.Image, cuts: Sequence[Cut], hash_size: int, centre_scale: float,
                     border_box=None) -> np.ndarray:
    """(len(cuts), hash_size, hash_size), 6 more with 'oriented': the low DCT frequencies of each
    cut of the grey image, in order; the first cut must be WHOLE. `centre_scale`: the share of
    each side a turned centre keeps; `border_box(grey)`: the box of a 'trim' cut."""
    cuts = tuple(cuts)
    if not cuts or cuts[0] != WHOLE:
        raise ValueError('the first cut must be the whole image')
    unknown = [cut for cut in cuts if not isinstance(cut, (tuple, int, float)) and cut not in ('trim', 'oriented')]
    if unknown or cuts.count('trim') > 1 or cuts.count('oriented') > 1:
        raise ValueError(f'cuts must be boxes, degrees, one trim and one oriented, not {cuts}')
    pixels = np.asarray(grey, dtype=np.float32)
    height, width = pixels.shape
    low = np.empty((len(cuts), hash_size, hash_size), dtype=np.float32)
    rows, row_range, columns, places = fixed_operators(cuts, height, width, hash_size)
    reduced = (rows @ pixels).reshape(-1, hash_size, width)  # each range of rows' frequencies down
    low[places] = reduced[row_range] @ columns.transpose(0, 2, 1)
    turns = [(place, cut) for place, cut in enumerate(cuts) if isinstance(cut, (int, float))]
    if turns:
        source = turn_source(grey, centre_scale, hash_size)
        points = turn_grid(source, centre_scale, hash_size)
        squares = np.stack([turned_centre(source, degrees, centre_scale, points) for _, degrees in turns])
        down, across = (low_frequencies(count, 0, count, hash_size) for count in (points[1], points[0]))
        low[[place for place, _ in turns]] = down @ squares @ across.T
    if 'trim' in cuts:
        left, top, right, bottom = border_box(grey)
        low[cuts.index('trim')] = (low_frequencies(height, top, bottom, hash_size) @ pixels
                                   @ low_frequencies(width, left, right, hash_size).T)
    if 'oriented' in cuts:
        place = cuts.index('oriented')
        low = np.concatenate([low[:place], oriented_frequencies(low[0]), low[place + 1:]])
    return low


def bits_of(low: np.ndarray) -> np.ndarray:
    """(n, h * h) booleans: pHash's bits, each frequency above the median of its view's."""
    flat = low.reshape(len(low), -1)
    return flat > row_medians(flat)
