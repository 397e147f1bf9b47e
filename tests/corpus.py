"""Generated test images: the broken and unusual files of a scraped dataset, and many small ones.

Each corpus Case says what must happen to its file: either it is hashed, and its pHash is
that of a reference picture (within `tolerance` bits for lossy formats), or it fails with an
error containing `error`. Every file is made here from the sample photos, so nothing binary
is checked in.
"""
import io
import os
import struct
from dataclasses import dataclass
from typing import List, Optional

import numpy as np
from PIL import Image

from executors.image_hasher.tests.test_decode import png_header_claiming
from tests.images import INDEX_IMAGES

UNREADABLE = 'not a readable image'
NOT_A_FILE = 'not a regular file'


@dataclass
class Case:
    name: str  # file name inside the corpus folder
    data: bytes
    reference: Optional[Image.Image] = None  # what a hashed file should look like (upright, opaque)
    tolerance: int = 0  # bits of pHash a lossy encoding may shift
    error: Optional[str] = None  # the text its error must contain, for a file that cannot be hashed


def encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def photo(index: int = 0, width: int = 320) -> Image.Image:
    """A sample photo, made smaller so that the corpus stays quick to hash."""
    image = Image.open(INDEX_IMAGES[index]).convert('RGB')
    return image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)


def on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert('RGBA')
    flat = Image.new('RGB', rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel('A'))
    return flat


def fake_heic() -> bytes:
    """The start of a HEIC file (an ISO-BMFF 'ftyp' box with the heic brand) and HEVC-like noise."""
    ftyp = b'ftyp' + b'heic' + struct.pack('>I', 0) + b'mif1heic'
    return struct.pack('>I', 4 + len(ftyp)) + ftyp + np.random.default_rng(7).bytes(4000)


def bad_cases() -> List[Case]:
    jpeg, png = encoded(photo(1), 'JPEG', quality=90), encoded(photo(1), 'PNG')
    return [
        Case('truncated.jpg', jpeg[:len(jpeg) // 2], error='corrupt or truncated'),
        Case('truncated.png', png[:len(png) // 2], error='corrupt or truncated'),
        Case('empty.png', b'', error='empty file (0 bytes)'),
        Case('random-bytes.jpg', np.random.default_rng(1).bytes(5000), error=UNREADABLE),
        Case('text-file.jpg', b'This is a text file with an image name, not a picture.\n' * 20, error=UNREADABLE),
        Case('vector.svg', b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" '
                           b'height="8"/></svg>\n', error=UNREADABLE),
        Case('phone.heic', fake_heic(), error=UNREADABLE),
        Case('bomb.png', png_header_claiming(50000, 50000), error='pixels'),
    ]


def good_cases() -> List[Case]:
    picture = photo(2)
    first, second = picture.convert('P'), photo(3).convert('P')
    grey = picture.convert('L')
    palette = picture.convert('P')
    palette.info['transparency'] = int(np.asarray(palette)[0, 0])  # the corner's colour turns transparent
    grey_alpha = grey.convert('LA')
    alpha = Image.linear_gradient('L').resize(picture.size)
    grey_alpha.putalpha(alpha)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned a quarter anticlockwise: "rotate 90 degrees clockwise to display"
    one_pixel = Image.new('RGB', (1, 1), (200, 40, 90))
    return [
        Case('one-pixel.png', encoded(one_pixel, 'PNG'), reference=one_pixel),
        Case('animated.gif', encoded(first, 'GIF', save_all=True, append_images=[second], duration=100),
             reference=Image.open(io.BytesIO(encoded(first, 'GIF'))).convert('RGB')),
        Case('grey-16-bit.png', encoded(Image.fromarray(np.asarray(grey, dtype=np.uint16) * 257), 'PNG'),
             reference=grey),
        Case('cmyk.jpg', encoded(picture.convert('CMYK'), 'JPEG', quality=95), reference=picture, tolerance=4),
        Case('palette-transparent.png', encoded(palette, 'PNG'), reference=on_white(palette)),
        Case('grey-alpha.png', encoded(grey_alpha, 'PNG'), reference=on_white(grey_alpha)),
        Case('exif-rotated.jpg', encoded(picture.transpose(Image.Transpose.ROTATE_90), 'JPEG', quality=95, exif=exif),
             reference=picture, tolerance=4),
        Case('photo.webp', encoded(picture, 'WEBP', quality=90), reference=picture, tolerance=4),
        Case('photo.avif', encoded(picture, 'AVIF', quality=90), reference=picture, tolerance=4),
        Case('name with spaces é 写真.png', encoded(photo(4), 'PNG'), reference=photo(4)),
    ]


def write_corpus(folder: str) -> List[Case]:
    """Every bad and good case as a file in `folder`; the cases, in that order."""
    os.makedirs(folder, exist_ok=True)
    cases = bad_cases() + good_cases()
    for case in cases:
        with open(os.path.join(folder, case.name), 'wb') as file:
            file.write(case.data)
    return cases


def write_link_traps(folder: str) -> List[str]:
    """A link to the folder itself, two links pointing at each other and a dangling one.

    Returns the image-named links, which can never be read.
    """
    os.symlink('.', os.path.join(folder, 'loop'))
    os.symlink('loop-b.jpg', os.path.join(folder, 'loop-a.jpg'))
    os.symlink('loop-a.jpg', os.path.join(folder, 'loop-b.jpg'))
    os.symlink('nowhere.png', os.path.join(folder, 'dangling.png'))
    return [os.path.join(folder, name) for name in ('dangling.png', 'loop-a.jpg', 'loop-b.jpg')]


def noise_image(rng: np.random.Generator, size: int) -> Image.Image:
    """Blocky colour noise: every image different, and cheap to hash."""
    blocks = rng.integers(0, 256, (max(size // 8, 1), max(size // 8, 1), 3), dtype=np.uint8)
    return Image.fromarray(blocks).resize((size, size), Image.Resampling.BILINEAR)


def write_many(folder: str, count: int, size: int = 64, seed: int = 0) -> List[str]:
    """`count` distinct small images, PNG and JPEG in turn; their paths, sorted."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for number in range(count):
        path = os.path.join(folder, f'{number:05d}.{"png" if number % 2 else "jpg"}')
        noise_image(rng, size).save(path)
        paths.append(path)
    return paths
