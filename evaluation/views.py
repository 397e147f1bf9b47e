"""Other views of a grey image, hashed besides the image itself to find copies one hash misses.

A copy that was letterboxed, flipped, turned or cropped no longer lines up with its original,
so its hash is far away. Hashing a few views of one side and keeping the smallest distance
undoes these geometric changes: trimming uniform borders (pads), the 8 orientations of the
dihedral group (flips and 90-degree turns), and crops (cut edges). Each extra view is another
chance for two different photos to look alike too, which the evaluation measures.
"""
import numpy as np
from PIL import Image

BORDER_TOLERANCE = 12  # grey levels: JPEG ringing next to a flat border stays within this
MIN_KEPT_AREA = 0.25  # trimming that would leave less than this is not a border, keep the image
CROP_SCALE = 0.9  # crop views: 90% of each side, at the 9 positions of a 3 x 3 grid

ORIENTATIONS = [  # the 7 non-identity elements of the dihedral group of the square
    Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270, Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE,
]


def trim_borders(grey: Image.Image, tolerance: int = BORDER_TOLERANCE) -> Image.Image:
    """Cut away rows and columns at the edges that are all the border colour, like ImageMagick's
    `-trim` with a fuzz: the border colour is the median of the outermost pixels."""
    pixels = np.asarray(grey, dtype=np.int16)
    frame = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    differs = np.abs(pixels - np.median(frame)) > tolerance
    rows, columns = np.flatnonzero(differs.any(axis=1)), np.flatnonzero(differs.any(axis=0))
    if rows.size == 0 or columns.size == 0:
        return grey
    box = (int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1)
    if (box[2] - box[0]) * (box[3] - box[1]) < MIN_KEPT_AREA * grey.width * grey.height:
        return grey
    return grey.crop(box)


def oriented(method):
    def orient(grey: Image.Image) -> Image.Image:
        return grey.transpose(method)
    return orient


def cropped_at(x: float, y: float, scale: float = CROP_SCALE):
    """The view `scale` of each side, its top-left corner at fraction (x, y) of the slack."""
    def crop(grey: Image.Image) -> Image.Image:
        width, height = round(grey.width * scale), round(grey.height * scale)
        left, top = round((grey.width - width) * x), round((grey.height - height) * y)
        return grey.crop((left, top, left + width, top + height))
    return crop


CROP_VIEWS = [cropped_at(x, y) for y in (0, 0.5, 1) for x in (0, 0.5, 1)]
