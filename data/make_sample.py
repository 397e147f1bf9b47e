"""Regenerate the sample data in data/index and data/query from packaged photos.

Usage:  python data/make_sample.py [--search DIR ...]

Source paths are relative to a site-packages dir (PyPI wheels), "/" (installed
Debian packages) or a DIR given with --search (an unpacked wheel or .deb).
See data/LICENSES.md. Needs only Pillow; output is deterministic per Pillow build.
"""
import argparse
import os
import site
import sys

from PIL import Image, ImageEnhance, ImageFilter, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the repository, for the alterations shared with evaluate
from evaluation.transforms import corner_text  # noqa: E402
LONG_SIDE = 640  # originals are shrunk so that their long side is at most this

# NAME -> path inside its package (scikit-image 0.26.0, scikit-learn 1.9.1,
# Debian lomiri-wallpapers-16.04 / -20.04 20.04.0-2)
SOURCES = {
    "astronaut": "skimage/data/astronaut.png",
    "chelsea": "skimage/data/chelsea.png",
    "coffee": "skimage/data/coffee.png",
    "rocket": "skimage/data/rocket.jpg",
    "hubble": "skimage/data/hubble_deep_field.jpg",
    "camera": "skimage/data/camera.png",
    "china": "sklearn/datasets/images/china.jpg",
    "seeding": "usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg",
    "aitzgorri": "usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg",
    # no counterpart in data/index: these only go to data/query as NAME1.jpg
    "flower": "sklearn/datasets/images/flower.jpg",
    "picos": "usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg",
    "kleiber": "usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",
}
UNMATCHED = ["flower", "picos", "kleiber"]


# --- one function per alteration: Image -> (Image, file extension, quality) --
def half_size(im):
    return im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS), "jpg", 90

def low_quality(im):
    return im, "jpg", 40

def blur(im):
    return im.filter(ImageFilter.GaussianBlur(radius=1.5)), "jpg", 90

def sharpen(im):
    return im.filter(ImageFilter.UnsharpMask(radius=2, percent=120, threshold=2)), "jpg", 90

def brighter(im):
    im = ImageEnhance.Brightness(im).enhance(1.2)
    return ImageEnhance.Contrast(im).enhance(1.15), "jpg", 90

def grey(im):
    return ImageOps.grayscale(im), "jpg", 90

def as_png(im):
    return im, "png", None

def as_webp(im):
    return im, "webp", 80

def watermark(im):
    return corner_text(im, "(c) sample.example", max(12, im.height // 24), (8, 10)), "jpg", 90


# NAME -> alterations; the k-th one is written as data/query/NAME{k+2}.ext
COPIES = {
    "astronaut": [half_size, low_quality, watermark],
    "chelsea": [grey, as_webp, blur],
    "coffee": [brighter, as_png, sharpen],
    "rocket": [half_size, watermark, as_webp],
    "hubble": [low_quality, blur],
    "camera": [half_size, sharpen, as_png],
    "china": [grey, low_quality, blur],
    "seeding": [brighter, watermark, as_png],
    "aitzgorri": [as_webp, grey],
}


def find(rel, roots):
    for root in roots:
        path = os.path.join(root, rel)
        if os.path.isfile(path):
            return path
    sys.exit(f"not found: {rel} (install its package or pass --search DIR)")


def load(path):
    im = Image.open(path)
    im = im.convert("L" if im.mode == "L" else "RGB")
    if max(im.size) > LONG_SIDE:
        scale = LONG_SIDE / max(im.size)
        size = (round(im.width * scale), round(im.height * scale))
        im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return im


def save(im, path, quality=90):
    ext = path.rsplit(".", 1)[1]
    if ext == "jpg":
        im.save(path, "JPEG", quality=quality, optimize=True)
    elif ext == "webp":
        im.save(path, "WEBP", quality=quality, method=6)
    else:
        im.save(path, "PNG", optimize=True)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", action="append", default=[], metavar="DIR")
    args = parser.parse_args()
    roots = args.search + site.getsitepackages() + [site.getusersitepackages(), "/"]
    for sub in ("index", "query"):  # start from empty folders
        os.makedirs(os.path.join(HERE, sub), exist_ok=True)
        for old in os.listdir(os.path.join(HERE, sub)):
            os.remove(os.path.join(HERE, sub, old))
    for name, rel in SOURCES.items():
        im = load(find(rel, roots))
        sub = "query" if name in UNMATCHED else "index"
        print(save(im, os.path.join(HERE, sub, f"{name}1.jpg")))
        for k, alter in enumerate(COPIES.get(name, []), start=2):
            copy, ext, quality = alter(im)
            print(save(copy, os.path.join(HERE, "query", f"{name}{k}.{ext}"), quality))


if __name__ == "__main__":
    main()
