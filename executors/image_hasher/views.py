"""Views of an image hashed besides the whole image: they find the copies one hash misses.

A copy that was letterboxed, cut at the edges, turned a little, flipped or turned by 90
degrees no longer lines up with its original, so its hash lands far away. Hashing a few views
and keeping the smallest distance over pairs of views (executors/view_pairs.py) undoes these
changes:

- trim: uniform borders cut away (the image itself if it has none), on both sides: letterboxes
  and pads.
- centre: the middle 70%, on both sides. A small turn blackens (or whitens) the corners; the
  centre keeps clear of them, and against the original's centre turned by 4 degrees either way
  ('turns') it finds copies turned by up to about 6 degrees.
- crops: the original at 90% of each side, in the 9 positions of a 3x3 grid: cut edges.
- orientations: the original flipped and turned by 90, 180 and 270 degrees (the 7 other
  elements of the square's symmetry group): searched only when asked for (`rotations`), as
  users of some datasets want a mirrored photo kept.

Views other than trim and centre exist on the index side only: they are hashed once per
stored image, and a query hashes three. Every extra view is another chance for two different
photos to look alike: `python app.py evaluate` measures exactly these views (it calls this
module) and the default thresholds with views come from it. The view sizes (70%, 4 degrees,
90%) were chosen on that benchmark.
"""
import math
from functools import lru_cache
from typing import Dict

import numpy as np
from PIL import Image

from executors.image_hasher.decode import shrink
from executors.image_hasher.hashes import RESAMPLE, compute_hashes, perceptual_hashes_by_product, row_medians
from executors.view_pairs import INDEX_VIEWS

BORDER_TOLERANCE = 12  # grey levels: JPEG ringing next to a flat border stays within this
MIN_KEPT_AREA = 0.25  # trimming that would leave less than this is not a border, keep the image
CENTRE_SCALE = 0.7
TURN_DEGREES = 4
CROP_SCALE = 0.9

ORIENTATIONS = (
    Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270, Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE,
)


def border_box(grey: Image.Image, tolerance: int = BORDER_TOLERANCE) -> tuple:
    """The box left when rows and columns at the edges that are all the border colour are cut
    away, like ImageMagick's `-trim` with a fuzz: the border colour is the median of the
    outermost pixels. The whole image when nothing (or too much) would be cut."""
    whole = (0, 0, grey.width, grey.height)
    pixels = np.asarray(grey)
    frame = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    border = float(row_medians(frame[None].astype(np.float64))[0, 0])
    # |pixel - border| > tolerance, in whole grey levels: no copy of the pixels in a wider type
    darkest, brightest = max(math.ceil(border - tolerance), 0), min(math.floor(border + tolerance), 255)
    differs = (pixels < darkest) | (pixels > brightest)
    rows, columns = np.flatnonzero(differs.any(axis=1)), np.flatnonzero(differs.any(axis=0))
    if rows.size == 0 or columns.size == 0:
        return whole
    box = (int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1)
    if (box[2] - box[0]) * (box[3] - box[1]) < MIN_KEPT_AREA * grey.width * grey.height:
        return whole
    return box


def trim_borders(grey: Image.Image, tolerance: int = BORDER_TOLERANCE) -> Image.Image:
    """The image inside its uniform borders (border_box); the image itself if it has none."""
    box = border_box(grey, tolerance)
    return grey if box == (0, 0, grey.width, grey.height) else grey.crop(box)


def crop_box(size: tuple, x: float, y: float, scale: float) -> tuple:
    """The box of `scale` of each side of an image of `size`, its top-left corner at fraction
    (x, y) of the room left over."""
    full_width, full_height = size
    width, height = max(1, round(full_width * scale)), max(1, round(full_height * scale))
    left, top = round((full_width - width) * x), round((full_height - height) * y)
    return left, top, left + width, top + height


def cropped_at(grey: Image.Image, x: float, y: float, scale: float) -> Image.Image:
    return grey.crop(crop_box(grey.size, x, y, scale))


def centre_box(size: tuple) -> tuple:
    return crop_box(size, 0.5, 0.5, CENTRE_SCALE)


def centre(grey: Image.Image) -> Image.Image:
    return grey.crop(centre_box(grey.size))


def turned_centre(grey: Image.Image, degrees: float) -> Image.Image:
    """The centre of the image turned by `degrees` counter-clockwise about its middle, black
    outside: `centre(grey.rotate(degrees))`, but only the centre's pixels are computed (half
    of them). Bilinear: a third of bicubic's time, and the view is shrunk to a few dozen pixels
    anyway."""
    left, top, right, bottom = centre_box(grey.size)
    # Image.rotate's own map from output to input pixels (its rounding of the sines included),
    # moved so that output pixel (0, 0) is the centre box's corner.
    angle = -math.radians(degrees)
    cos, sin = round(math.cos(angle), 15), round(math.sin(angle), 15)
    middle_x, middle_y = grey.width / 2, grey.height / 2
    shift_x = cos * -middle_x + sin * -middle_y + middle_x
    shift_y = -sin * -middle_x + cos * -middle_y + middle_y
    matrix = (cos, sin, shift_x + cos * left + sin * top, -sin, cos, shift_y - sin * left + cos * top)
    return grey.transform((right - left, bottom - top), Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR)


def oriented(square: np.ndarray) -> np.ndarray:
    """The 7 ORIENTATIONS of a square's pixels, as Image.transpose gives them, stacked."""
    turned = [np.rot90(square, quarter) for quarter in (1, 2, 3)]  # counter-clockwise, as ROTATE_90
    return np.stack([square[:, ::-1], square[::-1]] + turned + [square.T, turned[1].T])


@lru_cache(maxsize=None)
def grid(steps: int) -> tuple:
    """`steps` evenly spaced fractions from 0 to 1, as np.linspace gives them."""
    return tuple(np.linspace(0, 1, steps))


def view_plan(grey: Image.Image, names=INDEX_VIEWS, crops=((CROP_SCALE, 3),), turns=(-TURN_DEGREES, TURN_DEGREES)):
    """{view: [what to cut, ...]}: a box (left, top, right, bottom) of the image, or the degrees
    of a turned centre, in the order of the view's hashes (orientations are made from the plain
    square, not cut). `crops`: (share of each side, positions per side) of each grid of crops.
    Without a border to trim, 'trim' is the image itself, kept all the same: a padded copy's
    trimmed view must meet its unpadded original there."""
    plan = {}
    if 'trim' in names:
        plan['trim'] = [border_box(grey)]
    if 'centre' in names:
        plan['centre'] = [centre_box(grey.size)]
    if 'turns' in names:
        plan['turns'] = list(turns)
    if 'crops' in names:
        plan['crops'] = [crop_box(grey.size, x, y, scale) for scale, steps in crops
                         for y in grid(steps) for x in grid(steps)]
    return plan


def box_squares(grey: Image.Image, boxes: list, side: int) -> list:
    """Each (left, top, right, bottom) box of the image squeezed to side x side by Pillow's box
    filter: the pixels of `grey.crop(box).resize((side, side), BOX)`, bit for bit.

    Pillow resizes in two passes, each rounded to 8 bits; a box no taller than 2 * width - side
    gets the horizontal pass first (measured on Pillow 13 over 3,000 random sizes; the tests
    compare with Pillow on real photos). Boxes of one size at several left edges, a grid of
    crops, then share that pass: each left edge's column of the image is squeezed across once
    over its full height, and each box only adds the vertical pass over its own rows (the 3 x 3
    crops share 3 passes instead of 9). Other boxes are resized one by one.
    """
    def resized(box) -> np.ndarray:  # the straightforward way: crop (resize's own `box` argument
        # places edges in floating point, which now and then moves a pixel from one run to the next)
        return np.asarray(grey.crop(box).resize((side, side), Image.Resampling.BOX))

    squares = [None] * len(boxes)
    by_size = {}
    for number, (left, top, right, bottom) in enumerate(boxes):
        by_size.setdefault((right - left, bottom - top), []).append((number, left, top))
    for (width, height), group in by_size.items():
        if len(group) == 1 or height + side > 2 * width:
            for number, left, top in group:
                squares[number] = resized(boxes[number])
            continue
        strips = {left: grey.crop((left, 0, left + width, grey.height)).resize((side, grey.height), Image.Resampling.BOX)
                  for left in {left for _, left, _ in group}}
        for number, left, top in group:
            rows = strips[left].crop((0, top, side, top + height))
            squares[number] = np.asarray(rows.resize((side, side), Image.Resampling.BOX))
    return squares


def cut_squares(grey: Image.Image, plan: Dict[str, list], side: int) -> Dict[str, np.ndarray]:
    """{view: (n, side, side) uint8}: each box of `plan` squeezed to side x side by a box filter
    (box_squares), each turned centre turned and squeezed the same way, bit for bit as Pillow
    squeezes one cropped view at a time. (The 64-bit views stay bit for bit Pillow's, as stored
    indexes hold them; the evidence's 256-bit views are matrix products: view_frequencies.py.)
    """
    boxes = [what for cuts in plan.values() for what in cuts if isinstance(what, tuple)]
    squared = iter(box_squares(grey, boxes, side))

    def square(what) -> np.ndarray:
        if isinstance(what, tuple):
            return next(squared)
        return np.asarray(turned_centre(grey, what).resize((side, side), Image.Resampling.BOX))

    return {name: np.array([square(what) for what in cuts]) for name, cuts in plan.items()}


def view_hashes(grey: Image.Image, hash_type: str, hash_size: int, names=INDEX_VIEWS) -> Dict[str, np.ndarray]:
    """{view: (hashes, bits) booleans}, one row per image of the view, hashed as the fast path does.

    The views are cut from a copy of the image shrunk to about twice the side pHash resizes to
    (4 * hash_size), and each is squeezed to that side's square by a box filter, all at once
    (cut_squares). The orientations are turns of the whole image's Lanczos square: a turned
    square is the square of the turned image. pHash's DCTs run as one matrix product for all.
    """
    side = 4 * hash_size
    small = shrink(grey, side)
    squares = cut_squares(small, view_plan(small, names), side)
    if 'orientations' in names:  # not for queries
        squares['orientations'] = oriented(np.asarray(small.resize((side, side), RESAMPLE)))
    stack = np.concatenate(list(squares.values()))
    if hash_type == 'phash':  # the default
        bits = perceptual_hashes_by_product(stack, hash_size)
    else:
        bits = [compute_hashes(Image.fromarray(square), [hash_type], hash_size, exact=False)[hash_type]
                for square in stack]
    rows = iter(np.asarray(bits).reshape(len(stack), -1))
    return {name: np.array([next(rows) for _ in found]) for name, found in squares.items()}
