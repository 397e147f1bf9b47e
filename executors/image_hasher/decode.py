"""From encoded bytes (or a pixel array) to the greyscale image the hashes are computed on.

Every input goes through the same three steps so that one photo gets one hash whatever its
file format: decode the first frame, apply the EXIF orientation, then flatten transparency
on white and convert to 8-bit grey. Anything that cannot be used raises ImageError with a
sentence a user can act on.
"""
import base64
import binascii
import hashlib
import io
import re
import warnings

import numpy as np
from PIL import Image, ImageOps

BACKGROUND = (255, 255, 255)  # transparent pixels are hashed as if on white paper
DEFAULT_MAX_PIXELS = 200_000_000  # above any camera; below what would exhaust memory
_BASE64_TEXT = re.compile(rb'[A-Za-z0-9+/\s]+={0,2}\s*')
_PRINTABLE_TEXT = re.compile(rb'[\x20-\x7e\s]+')
_HEIF_BRANDS = {b'heic', b'heix', b'hevc', b'hevx', b'heim', b'heis', b'mif1', b'msf1'}  # AVIF says 'avif'


class ImageError(ValueError):
    """This input cannot be hashed; the message says why."""


def sha256_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blob_bytes(blob: bytes) -> bytes:
    """The encoded image in a blob, which JSON clients send as base64 text.

    A real image file always holds bytes outside the base64 alphabet, so a blob made only of
    base64 characters is base64 text and is decoded.
    """
    if not blob:
        raise ImageError('empty blob: no image bytes were sent')
    if _BASE64_TEXT.fullmatch(blob):
        try:
            return base64.b64decode(re.sub(rb'\s', b'', blob), validate=True)
        except binascii.Error as error:
            raise ImageError(f'blob is neither image bytes nor valid base64 text ({error})') from None
    if _PRINTABLE_TEXT.fullmatch(blob) and not _known_format(blob):
        # Text, but not base64: most likely a JSON client's mistake, not an image format.
        raise ImageError('blob is neither image bytes nor valid base64 text (characters outside the base64 '
                         'alphabet); over HTTP, send the base64 of the file')
    return blob


def _known_format(data: bytes) -> bool:
    """Whether Pillow recognises the bytes (a few image formats are text: plain PBM, XPM, XBM)."""
    try:
        with Image.open(io.BytesIO(data)):
            return True
    except Exception:
        return False


def unknown_format(data: bytes) -> str:
    """What to tell a user about bytes that no installed decoder recognises."""
    if data[4:8] == b'ftyp' and data[8:12] in _HEIF_BRANDS:  # ISO-BMFF: the brand names the codec
        return 'HEIC/HEIF: no decoder for it is installed; convert it to JPEG, PNG or AVIF'
    return 'unknown or unsupported format'


def open_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, reduce_to: int = 0) -> Image.Image:
    """Decode the first frame of an encoded image, refusing empty, broken and oversized files.

    reduce_to > 0 lets a JPEG decode at 1/2, 1/4 or 1/8 scale, in the DCT
    domain (libjpeg's scaled IDCT, via Pillow's draft), keeping at least reduce_to pixels on
    each side; image.info['full_size'] then keeps the stored size. Other formats decode whole.
    """
    if not data:
        raise ImageError('empty file (0 bytes)')
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise ImageError(f'too many pixels: {error}') from None
    except Image.UnidentifiedImageError:  # its own message only names the BytesIO object
        raise ImageError(f'not a readable image ({unknown_format(data)})') from None
    except Exception as error:  # Pillow raises many types for unreadable input
        raise ImageError(f'not a readable image ({type(error).__name__}: {error})') from None
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(f'{width}x{height} pixels is over the limit of {max_pixels:,} pixels')
    if reduce_to:
        image.draft(None, (reduce_to, reduce_to))  # scale only: colour is evidence too
        image.info['full_size'] = (width, height)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            image.load()
    except Exception as error:
        raise ImageError(f'corrupt or truncated image data ({type(error).__name__}: {error})') from None
    return image


def image_from_array(array: np.ndarray) -> Image.Image:
    """A PIL image from decoded pixels: H x W grey, or H x W x 3/4 RGB(A); uint8, or floats in 0..1."""
    array = np.asarray(array)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ImageError(f'tensor of shape {array.shape} is not an image (H x W, or H x W x 1/3/4)')
    if array.size == 0:
        raise ImageError('tensor is empty')
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and np.nanmax(array) <= 1.0:
            array = array * 255.0
        array = np.clip(np.nan_to_num(array), 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return Image.fromarray(array)


def _rescaled_to_8_bits(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit integer and float greys, stretched to 0..255 (Pillow would clip them)."""
    pixels = np.asarray(image, dtype=np.float64)
    if image.mode.startswith('I;16'):
        return Image.fromarray((pixels / 257.0).round().astype(np.uint8))
    low, high = float(np.nanmin(pixels)), float(np.nanmax(pixels))
    span = (high - low) or 1.0
    return Image.fromarray(((np.nan_to_num(pixels, nan=low) - low) * (255.0 / span)).round().astype(np.uint8))


def has_transparency(image: Image.Image) -> bool:
    return image.mode in ('RGBA', 'LA', 'PA', 'RGBa', 'La') or 'transparency' in image.info


def on_white(image: Image.Image) -> Image.Image:
    """RGB, with transparent pixels composited on the white background."""
    rgba = image.convert('RGBA')
    flat = Image.new('RGB', rgba.size, BACKGROUND)
    flat.paste(rgba, mask=rgba.getchannel('A'))
    return flat


def flattened(image: Image.Image) -> Image.Image:
    """Upright 8-bit RGB or grey: EXIF orientation applied, transparency flattened on white,
    palettes and other colour modes made RGB, deep greys stretched to 8 bits."""
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block should not cost the image; hash it as stored
        pass
    if image.mode.startswith('I') or image.mode == 'F':
        return _rescaled_to_8_bits(image)
    if has_transparency(image):
        return on_white(image)
    if image.mode not in ('L', 'RGB'):  # 1, P, CMYK, YCbCr, LAB, HSV ...
        return image.convert('RGB')
    return image


def to_grey(image: Image.Image) -> Image.Image:
    """Upright 8-bit grey: EXIF orientation applied, transparency flattened on white."""
    return flattened(image).convert('L')


def shrink(grey: Image.Image, side: int) -> Image.Image:
    """A box-filtered integer reduction keeping at least 2*side pixels on the shorter side.

    The fast path's stand-in for JPEG's DCT scaling in the other formats: the hashes shrink
    the image to at most 32x32 anyway, and resampling a few hundred pixels instead of a few
    thousand costs a fraction of the time.
    """
    factor = min(grey.size) // (2 * side)
    return grey.reduce(factor) if factor >= 2 else grey
