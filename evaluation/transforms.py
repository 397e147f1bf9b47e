"""The alterations a copy of a photo goes through: one small function per transform.

Each transform takes an RGB or L PIL image and a seeded random.Random (only the crops use it)
and returns the altered image; TRANSFORMS pairs it with how the copy is saved (format and
quality), because re-encoding is part of what a real copy has been through. The suite follows
the benchmark of Thorn's `perception` library (https://github.com/thorn-oss/perception,
"Benchmarking" docs) and the Content Blockchain study of aHash, pHash, dHash and wHash
(https://content-blockchain.org/research/testing-different-image-hash-functions/), and adds
the flips and 90-degree turns that a dataset collected from the web also holds.
"""
import io
import random

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

JPEG, PNG, WEBP = 'JPEG', 'PNG', 'WEBP'
SAVE_QUALITY = 90  # what the geometric and tonal copies are saved with


def unchanged(image, rng):
    return image


def scaled(factor):
    def resize(image, rng):
        size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
        return image.resize(size, Image.Resampling.LANCZOS)
    return resize


def blurred(radius):
    def blur(image, rng):
        return image.filter(ImageFilter.GaussianBlur(radius))
    return blur


def gamma(value):
    """Output = 255 * (input/255) ** value: below 1 lifts the shadows, above 1 darkens them."""
    table = [round(255 * (level / 255) ** value) for level in range(256)]

    def adjust(image, rng):
        return image.point(table * len(image.getbands()))
    return adjust


def enhanced(enhancer, factor):
    def adjust(image, rng):
        return enhancer(image).enhance(factor)
    return adjust


def saturation(factor):
    def adjust(image, rng):
        return ImageEnhance.Color(image.convert('RGB')).enhance(factor)
    return adjust


def grey(image, rng):
    return ImageOps.grayscale(image)


def sharpen(image, rng):
    return image.filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=2))


def corner_text(image, text, font_size, margin):
    """`text` in the bottom right corner, white with a dark shadow, `margin` (right, bottom) pixels
    in: the small copyright line scraped images carry. Returns an RGB copy."""
    image = image.convert('RGB')
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x, y = image.width - (right - left) - margin[0], image.height - (bottom - top) - margin[1]
    draw.text((x + 1, y + 1), text, font=font, fill=(0, 0, 0))
    draw.text((x, y), text, font=font, fill=(255, 255, 255))
    return image


def text_watermark(image, rng):
    return corner_text(image, '(c) photo.example', max(10, image.height // 20), (6, 8))


def banner(image, rng):
    """A stock-photo banner: a 60% opaque dark band over the lower fifth, with large text."""
    image = image.convert('RGB')
    band_top = round(image.height * 0.75)
    band = Image.new('RGB', (image.width, round(image.height * 0.2)), (20, 20, 20))
    region = (0, band_top, image.width, band_top + band.height)
    image.paste(Image.blend(image.crop(region), band, 0.6), region)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, round(band.height * 0.6)))
    draw.text((image.width // 2, band_top + band.height // 2), 'SAMPLE', font=font, fill=(255, 255, 255), anchor='mm')
    return image


def cropped(fraction):
    """Cut `fraction` of the width and of the height, split at random between the two sides."""
    def crop(image, rng):
        cut_x, cut_y = round(image.width * fraction), round(image.height * fraction)
        left, top = rng.randint(0, cut_x), rng.randint(0, cut_y)
        return image.crop((left, top, image.width - (cut_x - left), image.height - (cut_y - top)))
    return crop


def padded(fraction):
    """Letterbox: a black border adding `fraction` of the width and of the height, half each side."""
    def pad(image, rng):
        pad_x, pad_y = round(image.width * fraction), round(image.height * fraction)
        canvas = Image.new(image.mode, (image.width + pad_x, image.height + pad_y), 0)
        canvas.paste(image, (pad_x // 2, pad_y // 2))
        return canvas
    return pad


def rotated(degrees):
    """Turned about the centre, same size, the uncovered corners black."""
    def rotate(image, rng):
        return image.rotate(degrees, resample=Image.Resampling.BICUBIC)
    return rotate


def transposed(method):
    def transpose(image, rng):
        return image.transpose(method)
    return transpose


# name -> (family, function, format, quality). Families group the transforms in the report.
TRANSFORMS = {
    'jpeg-q90': ('format', unchanged, JPEG, 90),
    'jpeg-q50': ('format', unchanged, JPEG, 50),
    'jpeg-q20': ('format', unchanged, JPEG, 20),
    'png': ('format', unchanged, PNG, None),
    'webp': ('format', unchanged, WEBP, 80),
    'resize-0.5': ('resize', scaled(0.5), JPEG, SAVE_QUALITY),
    'resize-0.25': ('resize', scaled(0.25), JPEG, SAVE_QUALITY),
    'blur-r1': ('photometric', blurred(1), JPEG, SAVE_QUALITY),
    'blur-r3': ('photometric', blurred(3), JPEG, SAVE_QUALITY),
    'gamma-0.5': ('photometric', gamma(0.5), JPEG, SAVE_QUALITY),
    'gamma-1.5': ('photometric', gamma(1.5), JPEG, SAVE_QUALITY),
    'brightness+30%': ('photometric', enhanced(ImageEnhance.Brightness, 1.3), JPEG, SAVE_QUALITY),
    'brightness-30%': ('photometric', enhanced(ImageEnhance.Brightness, 0.7), JPEG, SAVE_QUALITY),
    'contrast+30%': ('photometric', enhanced(ImageEnhance.Contrast, 1.3), JPEG, SAVE_QUALITY),
    'contrast-30%': ('photometric', enhanced(ImageEnhance.Contrast, 0.7), JPEG, SAVE_QUALITY),
    'saturation+80%': ('photometric', saturation(1.8), JPEG, SAVE_QUALITY),
    'grey': ('photometric', grey, JPEG, SAVE_QUALITY),
    'sharpen': ('photometric', sharpen, JPEG, SAVE_QUALITY),
    'text-watermark': ('overlay', text_watermark, JPEG, SAVE_QUALITY),
    'banner': ('overlay', banner, JPEG, SAVE_QUALITY),
    'crop-5%': ('crop/pad', cropped(0.05), JPEG, SAVE_QUALITY),
    'crop-10%': ('crop/pad', cropped(0.10), JPEG, SAVE_QUALITY),
    'pad-10%': ('crop/pad', padded(0.10), JPEG, SAVE_QUALITY),
    'pad-20%': ('crop/pad', padded(0.20), JPEG, SAVE_QUALITY),
    'rotate-2': ('rotation', rotated(2), JPEG, SAVE_QUALITY),
    'rotate-5': ('rotation', rotated(5), JPEG, SAVE_QUALITY),
    'flip-horizontal': ('flip/turn', transposed(Image.Transpose.FLIP_LEFT_RIGHT), JPEG, SAVE_QUALITY),
    'flip-vertical': ('flip/turn', transposed(Image.Transpose.FLIP_TOP_BOTTOM), JPEG, SAVE_QUALITY),
    'rotate-90': ('flip/turn', transposed(Image.Transpose.ROTATE_90), JPEG, SAVE_QUALITY),
}


def encode(image: Image.Image, fmt: str, quality) -> bytes:
    """The file a copy would be saved as."""
    buffer = io.BytesIO()
    if fmt == PNG:
        image.save(buffer, PNG)
    else:
        image.save(buffer, fmt, quality=quality)
    return buffer.getvalue()


def altered_copy(image: Image.Image, transform: str, seed: str) -> bytes:
    """The encoded copy of `image` after `transform`; `seed` (the photo's name) fixes the crops."""
    family, function, fmt, quality = TRANSFORMS[transform]
    return encode(function(image, random.Random(f'{seed}/{transform}')), fmt, quality)
