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
from typing import Dict, List

import numpy as np
from PIL import Image

from executors.image_hasher.decode import shrink
from executors.image_hasher.hashes import RESAMPLE, compute_hashes, perceptual_hashes
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
CROP_POSITIONS = tuple((x, y) for y in (0, 0.5, 1) for x in (0, 0.5, 1))


def border_box(grey: Image.Image, tolerance: int = BORDER_TOLERANCE) -> tuple:
    """The box left when rows and columns at the edges that are all the border colour are cut
    away, like ImageMagick's `-trim` with a fuzz: the border colour is the median of the
    outermost pixels. The whole image when nothing (or too much) would be cut."""
    whole = (0, 0, grey.width, grey.height)
    pixels = np.asarray(grey, dtype=np.int16)
    frame = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    differs = np.abs(pixels - np.median(frame)) > tolerance
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


def cropped_at(grey: Image.Image, x: float, y: float, scale: float) -> Image.Image:
    """`scale` of each side, the top-left corner at fraction (x, y) of the room left over."""
    width, height = max(1, round(grey.width * scale)), max(1, round(grey.height * scale))
    left, top = round((grey.width - width) * x), round((grey.height - height) * y)
    return grey.crop((left, top, left + width, top + height))


def centre(grey: Image.Image) -> Image.Image:
    return cropped_at(grey, 0.5, 0.5, CENTRE_SCALE)


def turned_centre(grey: Image.Image, degrees: float) -> Image.Image:
    # Bilinear: a third of bicubic's time, and the view is shrunk to a few dozen pixels anyway.
    return centre(grey.rotate(degrees, resample=Image.Resampling.BILINEAR))


def view_images(grey: Image.Image, names=INDEX_VIEWS, square: Image.Image = None) -> Dict[str, List[Image.Image]]:
    """The images of each named view. Without a border to trim, 'trim' is the image itself, kept all
    the same: a padded copy's trimmed view must meet its unpadded original there."""
    views = {}
    if 'trim' in names:
        views['trim'] = [trim_borders(grey)]
    if 'centre' in names:
        views['centre'] = [centre(grey)]
    if 'turns' in names:
        views['turns'] = [turned_centre(grey, degrees) for degrees in (-TURN_DEGREES, TURN_DEGREES)]
    if 'crops' in names:
        views['crops'] = [cropped_at(grey, x, y, CROP_SCALE) for x, y in CROP_POSITIONS]
    if 'orientations' in names:
        views['orientations'] = [(square or grey).transpose(method) for method in ORIENTATIONS]
    return views


def view_hashes(grey: Image.Image, hash_type: str, hash_size: int, names=INDEX_VIEWS) -> Dict[str, np.ndarray]:
    """{view: (hashes, bits) booleans}, one row per image of the view, hashed as the fast path does.

    Twenty views cost twenty resizes, so they are cut from a copy of the image shrunk to about
    twice the side pHash resizes to (4 * hash_size), and each is squeezed to that side's square
    by a box filter (a quarter of the time of the hashes' Lanczos, which then has nothing left to
    do for pHash). The orientations are turns of the whole image's square: a turned square is the
    square of the turned image.
    """
    side = 4 * hash_size
    small = shrink(grey, side)
    square = small.resize((side, side), RESAMPLE) if 'orientations' in names else None  # not for queries
    views = view_images(small, names, square)
    squares = [image.resize((side, side), Image.Resampling.BOX) for images in views.values() for image in images]
    if hash_type == 'phash':  # the default: all views' DCTs in one call
        bits = perceptual_hashes(np.array([np.asarray(image) for image in squares]), hash_size)
    else:
        bits = [compute_hashes(image, [hash_type], hash_size, exact=False)[hash_type] for image in squares]
    rows = iter(np.asarray(bits).reshape(len(squares), -1))
    return {name: np.array([next(rows) for _ in images]) for name, images in views.items()}
