"""The benchmark photos: 2,000 JPEGs of 1 to 3 megapixels cut from package-shipped photographs.

Sources are the high-resolution CC0 / CC-BY photographs of Debian's lomiri-wallpapers-16.04 and
lomiri-wallpapers-20.04 packages (licences in /usr/share/doc/<package>/copyright):

    apt-get install lomiri-wallpapers-16.04 lomiri-wallpapers-20.04

Each file is a crop (50-100% of each side) of one source, scaled to 1-3 megapixels and saved
at JPEG quality 70-95, all drawn from a seeded generator: the same files on every machine with
the same Pillow. Generated outside the repository; never commit them.

    python bench/photos.py [--count 2000] [--out /tmp/bench-photos]
"""
import argparse
import glob
import os
import random
import sys

from PIL import Image

SOURCE_GLOBS = [
    '/usr/share/backgrounds/*_by_*.jpg',                            # the installed packages
    '/tmp/deb/x/lomiri-wallpapers-*/usr/share/backgrounds/*_by_*.jpg',  # or unpacked .debs
]
DEFAULT_OUT = '/tmp/bench-photos'


def source_photos():
    """The distinct source photographs (by file name), large enough for 1-3 MP crops."""
    found = {}
    for pattern in SOURCE_GLOBS:
        for path in sorted(glob.glob(pattern)):
            found.setdefault(os.path.basename(path), path)
    photos = [path for _, path in sorted(found.items())]
    if not photos:
        sys.exit('no source photos: apt-get install lomiri-wallpapers-16.04 lomiri-wallpapers-20.04')
    return photos


def make(count: int = 2000, out: str = DEFAULT_OUT, seed: int = 4) -> list:
    """The paths of `count` benchmark JPEGs in `out`, made now unless they are there already."""
    os.makedirs(out, exist_ok=True)
    paths = [os.path.join(out, f'photo{i:05d}.jpg') for i in range(count)]
    if all(os.path.exists(path) for path in paths):
        return paths
    sources = source_photos()
    for s, source in enumerate(sources):
        with Image.open(source) as opened:
            photo = opened.convert('RGB')
        for i in range(s, count, len(sources)):
            if os.path.exists(paths[i]):
                continue
            rng = random.Random(seed * 1_000_003 + i)
            width, height = photo.size
            cw, ch = int(width * rng.uniform(0.5, 1.0)), int(height * rng.uniform(0.5, 1.0))
            left, top = rng.randrange(width - cw + 1), rng.randrange(height - ch + 1)
            scale = (rng.uniform(1.0e6, 3.0e6) / (cw * ch)) ** 0.5
            crop = photo.crop((left, top, left + cw, top + ch))
            crop = crop.resize((max(1, round(cw * scale)), max(1, round(ch * scale))), Image.Resampling.BICUBIC)
            crop.save(paths[i] + '.part', 'JPEG', quality=rng.randrange(70, 96))
            os.replace(paths[i] + '.part', paths[i])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--count', type=int, default=2000)
    parser.add_argument('--out', default=DEFAULT_OUT)
    args = parser.parse_args()
    paths = make(args.count, args.out)
    megapixels = []
    for path in paths:
        with Image.open(path) as image:
            megapixels.append(image.width * image.height / 1e6)
    print(f'{len(paths)} JPEGs in {args.out}: {min(megapixels):.2f}-{max(megapixels):.2f} MP, '
          f'{sum(os.path.getsize(p) for p in paths) / 2**20:.0f} MiB, from {len(source_photos())} photos')


if __name__ == '__main__':
    main()
