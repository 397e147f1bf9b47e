"""Views on real photos: each hashed as view_pairs.py says, and each bringing its kind of copy
back within reach of its original."""
import glob
import io
import os

import numpy as np
from docarray import DocList
from PIL import Image, ImageOps

from executors.documents import ImageDoc
from executors.image_hasher.executor import ImageHasher
from executors.image_hasher.hashes import perceptual_hash
from executors.image_hasher.views import trim_borders, view_hashes
from executors.view_pairs import HASHES_PER_VIEW, INDEX_VIEWS, QUERY_VIEWS, view_pairs

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PHOTOS = sorted(glob.glob(os.path.join(REPOSITORY, 'data', 'eval', '*.jpg')))[:6]


def grey(path) -> Image.Image:
    return Image.open(path).convert('L')


def hashes(image: Image.Image) -> dict:
    found = view_hashes(image, 'phash', 8)
    found['plain'] = perceptual_hash(image, 8).ravel()[None, :]
    return found


def distance(query: dict, stored: dict, pairs) -> int:
    """The smallest distance over `pairs`, as the indexer computes it."""
    return min(int((q != s).sum()) for mine, theirs in pairs for q in query.get(mine, ()) for s in stored[theirs])


def test_every_view_has_its_number_of_hashes_and_trim_leaves_a_borderless_photo_alone():
    photo = grey(PHOTOS[0])
    found = view_hashes(photo, 'phash', 8)
    assert set(found) == set(INDEX_VIEWS)
    assert all(found[name].shape == (HASHES_PER_VIEW[name], 64) for name in found)
    assert (found['trim'][0] == perceptual_hash(photo, 8).ravel()).all()
    boxed = ImageOps.expand(photo, border=(0, photo.height // 5), fill=0)
    assert abs(trim_borders(boxed).height - photo.height) <= 1


def test_views_bring_padded_cropped_turned_and_flipped_copies_back_and_keep_strangers_away():
    plain_only, default, with_rotations = view_pairs(False), view_pairs(), view_pairs(rotations=True)
    for path in PHOTOS:
        photo = grey(path)
        stored = hashes(photo)
        width, height = photo.size
        copies = {
            'padded': ImageOps.expand(photo, border=(width // 10, height // 5), fill=0),
            'cropped': photo.crop((width // 10, 0, width, height - height // 10)),
            'turned 5 degrees': photo.rotate(5, resample=Image.Resampling.BICUBIC),
        }
        for name, copy in copies.items():
            query = {view: rows for view, rows in hashes(copy).items() if view in QUERY_VIEWS + ('plain',)}
            assert distance(query, stored, default) <= 13, (path, name)
            if name != 'turned 5 degrees':  # some photos survive a small turn without views
                assert distance(query, stored, plain_only) > 13, (path, name)
        flipped = {'plain': hashes(photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT))['plain']}
        assert distance(flipped, stored, plain_only) > 13
        assert distance(flipped, stored, with_rotations) <= 2
    strangers = [hashes(grey(path)) for path in PHOTOS]
    for a in range(len(strangers)):
        for b in range(a + 1, len(strangers)):
            assert distance(strangers[a], strangers[b], with_rotations) > 13, (PHOTOS[a], PHOTOS[b])


def test_the_hasher_hashes_all_views_to_index_a_few_to_search_and_none_when_told():
    data = open(PHOTOS[0], 'rb').read()
    hasher = ImageHasher()

    def views_of(endpoint, **parameters):
        doc, = endpoint(DocList[ImageDoc]([ImageDoc(blob=data)]), parameters)
        assert doc.error is None
        return {name: len(text) // 16 for name, text in doc.views.items()}

    assert views_of(hasher.hash_for_index) == {f'phash.{name}': HASHES_PER_VIEW[name] for name in INDEX_VIEWS}
    assert views_of(hasher.hash_for_search) == {f'phash.{name}': 1 for name in QUERY_VIEWS}
    assert views_of(hasher.hash_for_index, hash_type='dhash') == {f'dhash.{name}': HASHES_PER_VIEW[name]
                                                                  for name in INDEX_VIEWS}
    assert views_of(hasher.hash_for_index, views=False) == {}
