"""The evidence stored with every image for the match decision (executors/match.py decides).

The 64-bit hashes and their views only propose candidates: on real collections of objects on
plain backgrounds two different photos are often 6 to 13 bits apart. Each image therefore also
carries, computed once when it is hashed:

- verification hashes: 256-bit pHashes (hash size 16) of the image and of the same views the
  candidates were found with (views.py), every one made the same way (one shrink, one box filter
  to 64x64, one DCT), so that a view of one image and the plain image of its copy compare like
  for like. 256 bits keep frequencies that 64 bits drop: a copy stays near, two different
  garments on the same sheet do not.
- information: the mean grey-level step between neighbouring pixels of the 64x64 square. A flat
  or nearly empty image (a blank sheet, one colour) has a hash made of noise that lands near
  other such images; the decision does not trust it (PDQ's quality score plays this part).
- colour: the mean chroma of the image's trimmed centre in two opponent channels (red-green,
  yellow-blue), or None for a grey image. Two photos with the same shapes in other colours (a
  blue and a red t-shirt of one cut) are told apart by it; a grey copy of a colour photo has no
  colour, so the check is skipped for it.
"""
from functools import lru_cache
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from executors.image_hasher.decode import shrink
from executors.image_hasher.hashes import low_dct_rows
from executors.image_hasher.views import CENTRE_SCALE, border_box, centre
from executors.match import Evidence
from executors.view_pairs import VERIFY_HASHES_PER_VIEW, verification_layout, verification_views

VERIFY_HASH_SIZE = 16  # 256-bit pHash
VERIFY_SIDE = 4 * VERIFY_HASH_SIZE  # pHash's DCT input: 64x64
DECODE_SIDE = 2 * VERIFY_SIDE  # a JPEG decodes at 1/2, 1/4 or 1/8 scale keeping this many pixels a side
VERIFY_TURNS = (-4, -2, 2, 4)  # degrees
VERIFY_CROPS = ((0.95, 3), (0.9, 5))  # (share of each side, positions per side)
BAND_SCALE = 0.75  # a band keeps three quarters of the image: a banner over the last fifth is cut away
COLOUR_SIDE = 32  # colour is averaged over a few hundred pixels: a small copy is plenty
BOX = Image.Resampling.BOX
# A turned centre is sampled on a 96x96 grid and squeezed to 64x64 by the box filter: sampled at
# 64 it lost copies turned by 5 degrees (on data/eval), on its own pixels it cost 4 times as much.
TURN_GRID = 96


def box_weights(start: float, stop: float, size: int, side: int = VERIFY_SIDE) -> np.ndarray:
    """(side, size): averages of `side` equal runs of [start, stop) of a line of `size` pixels,
    each pixel weighted by how much of it the run covers (a box filter at fractional edges, as
    Pillow's BOX resize of that crop)."""
    edges = start + (stop - start) * np.arange(side + 1) / side
    pixels = np.arange(size)
    covered = np.clip(np.minimum(edges[1:, None], pixels + 1) - np.maximum(edges[:-1, None], pixels), 0, None)
    return covered / covered.sum(axis=1, keepdims=True)


@lru_cache(maxsize=4096)
def low_frequencies(size: int, start: float, stop: float) -> np.ndarray:
    """(16, size) float32: the 16 lowest DCT frequencies of [start, stop) of a line of `size`
    pixels squeezed to 64 by a box filter. A view's 256-bit pHash reads `rows @ image @ columns.T`:
    Pillow's box resize of the view to 64x64 and pHash's DCT, as two matrix products."""
    return (low_dct_rows(VERIFY_SIDE, VERIFY_HASH_SIZE) @ box_weights(start, stop, size)).astype(np.float32)


def fixed_views(views: Sequence[str]) -> list:
    """[(view, (top, bottom), (left, right)), ...] in verification_layout order: the share of the
    image's height and width each view keeps, for the views cut in the same place from every
    image; trim and turns (which depend on the image) and orientations (made from the plain
    view) are marked by their name alone."""
    whole = (0.0, 1.0)
    margin = (1 - CENTRE_SCALE) / 2
    cuts = {'plain': [(whole, whole)], 'trim': ['trim'], 'centre': [((margin, 1 - margin),) * 2],
            'turns': ['turns'] * len(VERIFY_TURNS), 'orientations': ['orientations'] * 7}
    cuts['crops'] = [((y * (1 - scale), y * (1 - scale) + scale), (x * (1 - scale), x * (1 - scale) + scale))
                     for scale, steps in VERIFY_CROPS for y in np.linspace(0, 1, steps) for x in np.linspace(0, 1, steps)]
    kept = BAND_SCALE
    cuts['bands'] = [((0.0, kept), whole), ((1 - kept, 1.0), whole), (whole, (0.0, kept)), (whole, (1 - kept, 1.0))]
    plan = []
    for view, _, rows in verification_layout(views):
        assert len(cuts[view]) == rows == VERIFY_HASHES_PER_VIEW[view]
        plan += [(view, *cut) if isinstance(cut, tuple) else (view, cut, cut) for cut in cuts[view]]
    return plan


@lru_cache(maxsize=256)
def fixed_operators(views: tuple, height: int, width: int) -> tuple:
    """low_frequencies of the fixed_views of an image of this size, the row ranges stacked once
    each (crops in one row of the grid share theirs): (rows (16 * ranges, height), each view's
    range (n,), columns (n, 16, width), each view's place in the layout (n,))."""
    plan = [(place, rows, columns) for place, (view, rows, columns) in enumerate(fixed_views(views))
            if isinstance(rows, tuple)]
    ranges = list(dict.fromkeys(rows for _, rows, _ in plan))
    return (np.concatenate([low_frequencies(height, top * height, bottom * height) for top, bottom in ranges]),
            np.array([ranges.index(rows) for _, rows, _ in plan]),
            np.stack([low_frequencies(width, left * width, right * width) for _, _, (left, right) in plan]),
            np.array([place for place, _, _ in plan]))


def turned_centre(small: Image.Image, degrees: float) -> np.ndarray:
    """(64, 64) float32: the centre of the image turned by `degrees` counter-clockwise about its
    middle (black outside), sampled bilinearly on a 64x64 grid over the centre's box: only the
    pixels the hash reads, an eighth of turning the centre's own pixels. Image.rotate's matrix,
    scaled to that grid."""
    width, height = small.size
    angle = -np.radians(degrees)
    cos, sin = np.cos(angle), np.sin(angle)
    left, top = (1 - CENTRE_SCALE) / 2 * width, (1 - CENTRE_SCALE) / 2 * height
    middle_x, middle_y = width / 2, height / 2
    step_x, step_y = CENTRE_SCALE * width / TURN_GRID, CENTRE_SCALE * height / TURN_GRID
    # Output pixel (x, y) is the point (left + step_x * x, top + step_y * y) of the image before the turn.
    matrix = (cos * step_x, sin * step_y, middle_x + cos * (left - middle_x) + sin * (top - middle_y),
              -sin * step_x, cos * step_y, middle_y - sin * (left - middle_x) + cos * (top - middle_y))
    square = small.transform((TURN_GRID, TURN_GRID), Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR)
    return np.asarray(square, dtype=np.float32)


def oriented_frequencies(low: np.ndarray) -> np.ndarray:
    """(7, 16, 16): the low DCT frequencies of the 7 flips and quarter turns of a square (in
    views.ORIENTATIONS order) from the square's own. Mirroring a line of a DCT's input changes the
    sign of its odd frequencies, and transposing the square transposes them: no pixel is touched."""
    odd = np.where(np.arange(len(low)) % 2, -1.0, 1.0).astype(low.dtype)
    mirrored = low * odd  # left-right
    flipped = odd[:, None] * low  # top-bottom
    half_turn = odd[:, None] * mirrored
    return np.stack([mirrored, flipped, odd[:, None] * low.T, half_turn, low.T * odd, low.T, half_turn.T])


def verification_frequencies(small: Image.Image, views: Sequence[str]) -> np.ndarray:
    """(hashes, 16, 16): the low DCT frequencies of every verification view of `small` (the grey
    image shrunk, decode.shrink), in verification_layout order."""
    pixels = np.asarray(small, dtype=np.float32)
    height, width = pixels.shape
    views = tuple(views)
    plan = fixed_views(views)
    names = [view for view, _, _ in plan]
    low = np.empty((len(plan), VERIFY_HASH_SIZE, VERIFY_HASH_SIZE), dtype=np.float32)
    rows, row_range, columns, places = fixed_operators(views, height, width)
    reduced = (rows @ pixels).reshape(-1, VERIFY_HASH_SIZE, width)  # each row range's 16 frequencies down
    low[places] = reduced[row_range] @ columns.transpose(0, 2, 1)
    if 'trim' in views:
        left, top, right, bottom = border_box(small)
        low[names.index('trim')] = (low_frequencies(height, top, bottom) @ pixels
                                    @ low_frequencies(width, left, right).T)
    if 'turns' in views:
        first = names.index('turns')
        turns = np.stack([turned_centre(small, degrees) for degrees in VERIFY_TURNS])
        squeeze = low_frequencies(TURN_GRID, 0, TURN_GRID)
        low[first:first + len(VERIFY_TURNS)] = squeeze @ turns @ squeeze.T
    if 'orientations' in views:
        first = names.index('orientations')
        low[first:first + 7] = oriented_frequencies(low[0])
    return low


def verification_hashes(low: np.ndarray) -> np.ndarray:
    """(hashes, 32) packed 256-bit pHashes from their low frequencies: a bit per frequency above their median."""
    flat = low.reshape(len(low), -1)
    return np.packbits(flat > np.median(flat, axis=1, keepdims=True), axis=1)


def information(square: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels of the image's 64x64 square, in grey levels."""
    pixels = square.astype(np.float32)
    return float((np.abs(np.diff(pixels, axis=0)).mean() + np.abs(np.diff(pixels, axis=1)).mean()) / 2)


def colour_signature(image: Image.Image) -> Optional[tuple]:
    """Mean (R-G, (R+G)/2-B) over the centre of the image inside its borders, or None for a grey
    image. `image`: upright and flattened (decode.flattened), in any mode."""
    if image.mode != 'RGB':
        return None
    rgb = image.reduce(max(1, min(image.size) // (2 * COLOUR_SIDE)))
    content = centre(rgb.crop(border_box(rgb.convert('L'))))
    pixels = np.asarray(content, dtype=np.float32)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return round(float((red - green).mean()), 1), round(float(((red + green) / 2 - blue).mean()), 1)


def image_evidence(image: Image.Image, grey: Image.Image, views: Sequence[str]) -> Evidence:
    """All of one image's evidence: `image` upright and flattened (colour or not), `grey` its grey."""
    small = shrink(grey, DECODE_SIDE // 2)
    square = np.asarray(small.resize((VERIFY_SIDE, VERIFY_SIDE), BOX))
    return Evidence(verification_hashes(verification_frequencies(small, verification_views(views))).tobytes(),
                    round(information(square), 2), colour_signature(image))
