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
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from executors.image_hasher.decode import shrink
from executors.image_hasher.hashes import perceptual_hashes_by_product
from executors.image_hasher.views import border_box, centre, cut_squares, oriented, view_plan
from executors.match import Evidence
from executors.view_pairs import verification_views

VERIFY_HASH_SIZE = 16  # 256-bit pHash
VERIFY_SIDE = 4 * VERIFY_HASH_SIZE  # pHash's DCT input: 64x64
VERIFY_TURNS = (-4, -2, 2, 4)  # degrees
VERIFY_CROPS = ((0.95, 3), (0.9, 5))  # (share of each side, positions per side)
BAND_SCALE = 0.75  # a band keeps three quarters of the image: a banner over the last fifth is cut away
COLOUR_SIDE = 32  # colour is averaged over a few hundred pixels: a small copy is plenty


def verification_plan(small: Image.Image, views: Sequence[str]) -> dict:
    """What to cut from the shrunk image for each of `views` (views.py says what each is), on
    the finer grid of view_pairs.VERIFY_HASHES_PER_VIEW, in verification_layout order (the
    orientations are made from the plain square)."""
    width, height = small.size
    plan = {'plain': [(0, 0, width, height)]}
    plan.update(view_plan(small, views, crops=VERIFY_CROPS, turns=VERIFY_TURNS))
    if 'bands' in views:
        kept_w, kept_h = round(width * BAND_SCALE), round(height * BAND_SCALE)
        plan['bands'] = [(0, 0, width, kept_h), (0, height - kept_h, width, height),
                         (0, 0, kept_w, height), (width - kept_w, 0, width, height)]
    return plan


def verification_squares(grey: Image.Image, views: Sequence[str]) -> np.ndarray:
    """(hashes, 64, 64) uint8: the squares of verification_plan, every one box-filtered from one
    shrunk copy of the image, so that views of one image and another image compare like for like."""
    small = shrink(grey, VERIFY_SIDE)
    squares = cut_squares(small, verification_plan(small, views), VERIFY_SIDE)
    if 'orientations' in views:  # placed where verification_layout expects them: before the bands
        bands = squares.pop('bands', None)
        squares['orientations'] = oriented(squares['plain'][0])
        if bands is not None:
            squares['bands'] = bands
    return np.concatenate(list(squares.values()))


def verification_hashes(squares: np.ndarray) -> np.ndarray:
    """(hashes, 32) packed 256-bit pHashes of verification squares."""
    return np.packbits(perceptual_hashes_by_product(squares, VERIFY_HASH_SIZE).reshape(len(squares), -1), axis=1)


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
    squares = verification_squares(grey, verification_views(views))
    return Evidence(verification_hashes(squares).tobytes(), round(information(squares[0]), 2),
                    colour_signature(image))
