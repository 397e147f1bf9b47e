import base64
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from executors.image_hasher.decode import ImageError, blob_bytes, image_from_array, open_image, to_grey
from executors.image_hasher.hashes import bits_to_hex, perceptual_hash
from tests.images import INDEX_IMAGES

PHOTO = INDEX_IMAGES[0]


def photo() -> Image.Image:
    return Image.open(PHOTO).convert('RGB')


def encoded(image: Image.Image, format='PNG', **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def phash_of(data: bytes) -> str:
    return bits_to_hex(perceptual_hash(to_grey(open_image(data))))


@pytest.mark.parametrize('mode', ['1', 'L', 'LA', 'P', 'RGB', 'RGBA', 'CMYK', 'I', 'I;16', 'F', 'YCbCr'])
def test_every_mode_becomes_upright_8_bit_grey_of_the_same_size(mode):
    image = photo().convert(mode) if mode != 'I;16' else Image.fromarray(
        np.asarray(photo().convert('L'), dtype=np.uint16) * 257)
    grey = to_grey(image)
    assert grey.mode == 'L' and grey.size == image.size
    assert 40 < np.asarray(grey).mean() < 215  # neither clipped to white nor black


def test_16_bit_grey_hashes_like_its_8_bit_original():
    grey8 = photo().convert('L')
    grey16 = Image.fromarray(np.asarray(grey8, dtype=np.uint16) * 257)
    assert phash_of(encoded(grey16)) == phash_of(encoded(grey8))


def test_opaque_alpha_changes_nothing_and_transparency_is_white():
    rgb = photo()
    rgba = rgb.copy()
    rgba.putalpha(255)
    assert phash_of(encoded(rgba)) == phash_of(encoded(rgb))
    rgba.putalpha(0)
    assert np.asarray(to_grey(open_image(encoded(rgba)))).min() == 255


def test_palette_transparency_is_flattened_on_white():
    palette = photo().convert('P')
    palette.info['transparency'] = 0
    grey = np.asarray(to_grey(palette))
    index_zero = np.asarray(palette) == 0
    assert index_zero.any() and (grey[index_zero] == 255).all()


def test_exif_orientation_is_applied():
    upright = photo()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    data = encoded(stored, exif=exif)
    assert to_grey(open_image(data)).size == upright.size
    assert phash_of(data) == phash_of(encoded(upright))
    assert phash_of(encoded(stored)) != phash_of(encoded(upright))


def test_first_frame_of_an_animated_gif():
    frames = [photo().convert('P'), Image.new('P', photo().size, 0)]
    data = encoded(frames[0], 'GIF', save_all=True, append_images=frames[1:])
    assert phash_of(data) == phash_of(encoded(frames[0], 'GIF'))


@pytest.mark.parametrize('data, message', [
    (b'', 'empty'),
    (b'\x00\x01 this is not an image \xff' * 20, 'not a readable image'),
    (b'just some text in a .jpg file\n', 'not a readable image'),
])
def test_unusable_bytes_raise_a_clear_error(data, message):
    with pytest.raises(ImageError, match=message):
        open_image(data)


def test_truncated_jpeg_and_png_are_refused():
    for data in (encoded(photo(), 'JPEG'), encoded(photo(), 'PNG')):
        with pytest.raises(ImageError, match='corrupt or truncated|not a readable'):
            open_image(data[:len(data) // 2])


def png_header_claiming(width: int, height: int) -> bytes:
    def chunk(kind, body):
        return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(b'\x00' * 100)) + chunk(b'IEND', b''))


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImageError, match='pixels'):
        open_image(png_header_claiming(50000, 50000))


def test_base64_blobs_are_decoded_and_raw_bytes_kept():
    data = encoded(photo(), 'JPEG')
    assert blob_bytes(data) == data
    assert blob_bytes(base64.b64encode(data)) == data
    with pytest.raises(ImageError, match='base64'):
        blob_bytes(b'QUJ')  # base64 alphabet, missing padding


def test_tensors_of_any_common_shape_and_type():
    pixels = np.asarray(photo())
    assert image_from_array(pixels).size == photo().size
    assert image_from_array(pixels / 255.0).mode == 'RGB'
    assert image_from_array(pixels[:, :, :1]).mode == 'L'
    with pytest.raises(ImageError, match='shape'):
        image_from_array(np.zeros((2, 3, 5, 7)))
