"""Regenerate data/eval, the distinct photos `python app.py evaluate` builds its benchmark from.

Usage:  python data/make_eval.py [--search DIR ...]

Each photo is shrunk so that its long side is LONG_SIDE pixels and saved as JPEG quality 85.
Source paths are relative to a site-packages dir (PyPI wheels), "/" (installed Debian
packages) or a DIR given with --search (an unpacked wheel or .deb, e.g. `dpkg -x PKG.deb DIR`).
See data/eval/LICENSES.md. None of these photos is in data/index or data/query. Needs only
Pillow; output is deterministic per Pillow build.
"""
import argparse
import os
import site

from PIL import Image

from make_sample import find  # the same search of packages and --search folders

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'eval')
LONG_SIDE = 320
QUALITY = 85

SKIMAGE = 'skimage/data/'  # scikit-image 0.26.0 wheel
LOMIRI = 'usr/share/backgrounds/'  # Debian lomiri-wallpapers-16.04 20.04.0-2
MATE = 'usr/share/backgrounds/mate/nature/'  # Debian mate-backgrounds 1.26.0-1
PALAPELI = 'usr/share/palapeli/collection/'  # Debian palapeli-data 4:22.12.3-1
PLASMA = 'usr/share/wallpapers/'  # Debian plasma-workspace-wallpapers 4:5.27.5-2
LXQT = 'usr/share/lxqt/wallpapers/'  # Debian lxqt-themes 1.2.0-1

# output name -> path inside its package
SOURCES = {
    'sk-brick': SKIMAGE + 'brick.png',
    'sk-cell': SKIMAGE + 'cell.png',
    'sk-clock': SKIMAGE + 'clock_motion.png',
    'sk-coins': SKIMAGE + 'coins.png',
    'sk-grass': SKIMAGE + 'grass.png',
    'sk-gravel': SKIMAGE + 'gravel.png',
    'sk-ihc': SKIMAGE + 'ihc.png',
    'sk-retina': SKIMAGE + 'retina.jpg',
    'sk-text': SKIMAGE + 'text.png',
    'lomiri-bridge': LOMIRI + 'Bridge_by_Sander_Klootwijk.jpg',
    'lomiri-dragonfly': LOMIRI + 'Dragonfly_by_Bolly.jpg',
    'lomiri-fig': LOMIRI + 'Picture_0B_by_freespace.jpg',
    'lomiri-brushes': LOMIRI + 'Picture_1A_by_freespace.jpg',
    'lomiri-wine': LOMIRI + 'Wine_by_Jakkub_Mede.jpg',
    'lomiri-free': LOMIRI + 'free_by_Peter_Nerlich.jpg',
    'lomiri-friends': LOMIRI + 'friends_by_Aitzol_Berasategi.jpg',
    'lomiri-greentock': LOMIRI + 'greentock_by_Peter_Nerlich.jpg',
    'lomiri-life': LOMIRI + 'life_by_Aitzol_Berasategi.jpg',
    'lomiri-sunset': LOMIRI + 'sunset_by_Aitzol_Berasategi.jpg',
    'mate-aqua': MATE + 'Aqua.jpg',
    'mate-blinds': MATE + 'Blinds.jpg',
    'mate-dune': MATE + 'Dune.jpg',
    'mate-freshflower': MATE + 'FreshFlower.jpg',
    'mate-garden': MATE + 'Garden.jpg',
    'mate-greenmeadow': MATE + 'GreenMeadow.jpg',
    'mate-ladybird': MATE + 'LadyBird.jpg',
    'mate-raindrops': MATE + 'RainDrops.jpg',
    'mate-storm': MATE + 'Storm.jpg',
    'mate-twowings': MATE + 'TwoWings.jpg',
    'mate-wood': MATE + 'Wood.jpg',
    'mate-yellowflower': MATE + 'YellowFlower.jpg',
    'palapeli-castle': PALAPELI + 'castle-maintenon.jpg',
    'palapeli-bridge': PALAPELI + 'cincinnati-bridge.jpg',
    'palapeli-citrus': PALAPELI + 'citrus-fruits.jpg',
    'palapeli-bee': PALAPELI + 'european-honey-bee.jpg',
    'palapeli-chameleon': PALAPELI + 'panther-chameleon-female.jpg',
    'plasma-bythewater': PLASMA + 'BytheWater/contents/images/2560x1600.jpg',
    'plasma-coldripple': PLASMA + 'ColdRipple/contents/images/2560x1600.jpg',
    'plasma-colorfulcups': PLASMA + 'ColorfulCups/contents/images/2560x1600.jpg',
    'plasma-darkesthour': PLASMA + 'DarkestHour/contents/images/2560x1600.jpg',
    'plasma-eveningglow': PLASMA + 'EveningGlow/contents/images/2560x1600.jpg',
    'plasma-fallenleaf': PLASMA + 'FallenLeaf/contents/images/2560x1600.jpg',
    'plasma-grey': PLASMA + 'Grey/contents/images/2560x1600.jpg',
    'plasma-kite': PLASMA + 'Kite/contents/images/2560x1600.jpg',
    'plasma-onestandsout': PLASMA + 'OneStandsOut/contents/images/2560x1600.jpg',
    'plasma-path': PLASMA + 'Path/contents/images/2560x1600.jpg',
    'lxqt-afterrain': LXQT + 'after-the-rain.jpg',
    'lxqt-fog': LXQT + 'fog.jpg',
    'lxqt-notwindows': LXQT + 'this-is-not-windows.jpg',
    'lxqt-flowers': LXQT + 'flowers.png',
    'lxqt-appleflower': LXQT + 'appleflower.png',
    'lxqt-butterfly': LXQT + 'butterfly.png',
    'lxqt-drop': LXQT + 'drop.png',
    'lxqt-beam': LXQT + 'beam.png',
}


def shrink(path):
    image = Image.open(path)
    image.draft('RGB', (LONG_SIDE * 2, LONG_SIDE * 2))  # JPEG: decode at reduced scale, then resample
    image = image.convert('L' if image.mode in ('L', 'I;16', 'I') else 'RGB')
    scale = LONG_SIDE / max(image.size)
    size = (round(image.width * scale), round(image.height * scale))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--search', action='append', default=[], metavar='DIR')
    args = parser.parse_args()
    roots = args.search + site.getsitepackages() + [site.getusersitepackages(), '/']
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):  # start from an empty set of photos
        if old.endswith('.jpg'):
            os.remove(os.path.join(OUT, old))
    for name, rel in SOURCES.items():
        path = os.path.join(OUT, f'{name}.jpg')
        shrink(find(rel, roots)).save(path, 'JPEG', quality=QUALITY, optimize=True)
        print(path)


if __name__ == '__main__':
    main()
