"""The evidence stored with every image for the match decision (executors/match.py decides).

The 64-bit hashes and their views only propose candidates: on real collections of objects on
plain backgrounds two different photos are often 6 to 13 bits apart. Each image therefore also
carries, computed once when it is hashed:

- verification hashes: 256-bit pHashes (hash size 16) of the image and of the same views the
  candidates were found with (views.py), on a finer grid, every one made the same way from one
  shrunk copy (view_frequencies.py: a box filter to 64x64 and the DCT as matrix products), so
  that a view of one image and the plain image of its copy compare like for like. 256 bits keep frequencies that 64 bits drop: a copy stays near, two different
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
from executors.image_hasher.view_frequencies import WHOLE, bits_of, centre_cut, grid_crops, view_frequencies
from executors.image_hasher.views import CENTRE_SCALE, border_box, centre
from executors.match import Evidence
from executors.view_pairs import verification_layout, verification_views

VERIFY_HASH_SIZE = 16  # 256-bit pHash
VERIFY_SIDE = 4 * VERIFY_HASH_SIZE  # pHash's DCT input: 64x64
DECODE_SIDE = 2 * VERIFY_SIDE  # a JPEG decodes at 1/2, 1/4 or 1/8 scale keeping this many pixels a side
VERIFY_TURNS = (-4, -2, 2, 4)  # degrees
VERIFY_CROPS = ((0.95, 3), (0.9, 5))  # (share of each side, positions per side)
BAND_SCALE = 0.75  # a band keeps three quarters of the image: a banner over the last fifth is cut away
COLOUR_SIDE = 32  # colour is averaged over a few hundred pixels: a small copy is plenty
MAX_SIDE = 1024  # a longer side (a panorama, a strip) is reduced to this: the operators grow with it
BOX = Image.Resampling.BOX


@lru_cache(maxsize=8)  # per set of views: made once, not per image
def verification_cuts(views: Sequence[str]) -> tuple:
    """The cuts (view_frequencies.Cut) of the verification views, in verification_layout order."""
    kept, whole = BAND_SCALE, (0.0, 1.0)
    cuts = {'plain': [WHOLE], 'trim': ['trim'], 'centre': [centre_cut(CENTRE_SCALE)],
            'turns': [float(degrees) for degrees in VERIFY_TURNS], 'orientations': ['oriented'],
            'crops': [crop for scale, steps in VERIFY_CROPS for crop in grid_crops(scale, steps)],
            'bands': [((0.0, kept), whole), ((1 - kept, 1.0), whole), (whole, (0.0, kept)), (whole, (1 - kept, 1.0))]}
    return tuple(cut for view, _, _ in verification_layout(views) for cut in cuts[view])


def verification_frequencies(small: Image.Image, views: Sequence[str]) -> np.ndarray:
    """(hashes, 16, 16): the low DCT frequencies of every verification view of `small` (the grey
    image shrunk, decode.shrink), in verification_layout order."""
    return view_frequencies(small, verification_cuts(views), VERIFY_HASH_SIZE, CENTRE_SCALE, border_box)


def verification_hashes(low: np.ndarray) -> np.ndarray:
    """(hashes, 32) packed 256-bit pHashes from their low frequencies."""
    return np.packbits(bits_of(low), axis=1)


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


def within_max_side(small: Image.Image) -> Image.Image:
    """The image with each side over MAX_SIDE box-reduced by a whole factor to MAX_SIDE or less."""
    factors = tuple(-(-side // MAX_SIDE) for side in small.size)
    return small if factors == (1, 1) else small.reduce(factors)


def image_evidence(image: Image.Image, grey: Image.Image, views: Sequence[str]) -> Evidence:
    """All of one image's evidence: `image` upright and flattened (colour or not), `grey` its grey."""
    small = within_max_side(shrink(grey, VERIFY_SIDE))
    square = np.asarray(small.resize((VERIFY_SIDE, VERIFY_SIDE), BOX))
    return Evidence(verification_hashes(verification_frequencies(small, verification_views(views))).tobytes(),
                    round(information(square), 2), colour_signature(image))
