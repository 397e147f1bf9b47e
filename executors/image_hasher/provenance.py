"""Provenance: per-image signs of having been made from another image, for dedup's keep policy.

Computed once when an image is hashed (hash_document), from what the decoder already holds
(the JPEG decoded at reduced scale on the fast path):

- jpeg_quality: the IJG quality (1-100) that the file's luminance quantisation table is nearest
  to (Pillow reads the tables with the header, at no cost), or None for another format. A copy
  re-encoded at a much lower quality than another member's is not the original.
- border: the share of the image that trimming its uniform borders cuts away (views.border_box):
  a padded copy has one, its original not.
- clipped: the share of pixels with a channel at 0 or 255: brightening, raising contrast or
  saturation push pixels against the ends.
- detail: the median over a 4x4 grid of cells of the mean grey-level step between neighbouring
  pixels at 128x128, over the same at 64x64: blurring lowers it everywhere; an overlay in one
  corner or band does not move the median.
- chroma: the mean distance of a pixel from grey (|R-G| + |(R+G)/2-B|): 0 for a grey picture,
  whether stored as grey or as RGB.
"""
from dataclasses import asdict, dataclass
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from executors.image_hasher.views import border_box

# The IJG (libjpeg) luminance table at quality 50, in natural order; quality q scales it.
IJG_LUMINANCE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99])
DETAIL_SIDE = 128
CELLS = 4
SAMPLE_SIDE = 128  # border, clipping and chroma are read on a copy about this size: 10^4 to 10^5 pixels


@dataclass(frozen=True)
class Provenance:
    jpeg_quality: Optional[int] = None
    border: float = 0.0
    clipped: float = 0.0
    detail: float = 0.0
    chroma: float = 0.0

    def as_dict(self) -> dict:
        """The facts that are known (no jpeg_quality for another format), as stored."""
        return {name: value for name, value in asdict(self).items() if value is not None}


def ijg_table(quality: int) -> np.ndarray:
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return np.clip((IJG_LUMINANCE * scale + 50) // 100, 1, 255)


# Qualities 1-100 (row q-1), each table's values sorted, so that the table's order in the file
# (natural or zigzag) does not matter.
SORTED_TABLES = np.sort(np.array([ijg_table(quality) for quality in range(1, 101)]), axis=1)


def jpeg_quality(image: Image.Image) -> Optional[int]:
    """The IJG quality whose luminance table is nearest the file's, or None for an image
    without tables."""
    tables = getattr(image, 'quantization', None)
    if not tables or 0 not in tables or len(tables[0]) != IJG_LUMINANCE.size:
        return None
    errors = np.abs(SORTED_TABLES - np.sort(np.asarray(tables[0]))).sum(axis=1)
    return int(np.argmin(errors)) + 1


def _steps(grey: Image.Image, side: int) -> np.ndarray:
    """The mean grey-level step between neighbours in each cell of a CELLS x CELLS grid of the
    image resized to side x side."""
    pixels = np.asarray(grey.resize((side, side), Image.Resampling.BOX), dtype=np.float32)
    steps = np.abs(np.diff(pixels, axis=0))[:, :-1] + np.abs(np.diff(pixels, axis=1))[:-1, :]
    cell = (side - 1) // CELLS
    return steps[:cell * CELLS, :cell * CELLS].reshape(CELLS, cell, CELLS, cell).mean(axis=(1, 3))


def detail(grey: Image.Image) -> float:
    return float(np.median(_steps(grey, DETAIL_SIDE) / np.maximum(_steps(grey, DETAIL_SIDE // 2), 1e-3)))


def chroma(channels: Sequence[np.ndarray]) -> float:
    if len(channels) != 3:
        return 0.0
    red, green, blue = (channel.astype(np.float32) for channel in channels)
    return float((np.abs(red - green) + np.abs((red + green) / 2 - blue)).mean())


def clipped(channels: Sequence[np.ndarray]) -> float:
    """The share of pixels with a channel at 0 or 255."""
    at_an_end = np.zeros(channels[0].shape, dtype=bool)
    for channel in channels:  # one plane at a time: numpy is slow across the channels of a pixel
        at_an_end |= (channel == 0) | (channel == 255)
    return float(at_an_end.mean())


def provenance(decoded: Image.Image, upright: Image.Image, grey: Image.Image) -> Provenance:
    """`decoded` as the decoder returned it (its format and tables), `upright` flattened (RGB or
    L), `grey` its grey."""
    sample = upright.reduce(max(1, round(min(upright.size) / SAMPLE_SIDE)))
    small_grey = grey.reduce(max(1, round(min(grey.size) / SAMPLE_SIDE)))
    left, top, right, bottom = border_box(small_grey)
    border = 1 - (right - left) * (bottom - top) / (small_grey.width * small_grey.height)
    channels = [np.asarray(band) for band in sample.split()]
    return Provenance(jpeg_quality=jpeg_quality(decoded) if decoded.format in ('JPEG', 'MPO') else None,
                      border=round(float(border), 4), clipped=round(clipped(channels), 4),
                      detail=round(detail(grey), 3), chroma=round(chroma(channels), 2))
