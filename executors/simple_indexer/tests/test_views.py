"""Views in the index: stored with their image, searched and joined by the pairs of view_pairs.py,
kept in step with updates and deletes, and the all-pairs join exact against brute force."""
import random

import numpy as np
import pytest

from executors.simple_indexer import multi_index
from executors.simple_indexer.image_index import ImageIndex
from executors.simple_indexer.store import ImageRecord
from executors.simple_indexer.view_join import ViewTable
from executors.view_pairs import HASHES_PER_VIEW, view_pairs

RNG = random.Random(3)


def random_hex() -> str:
    return f'{RNG.getrandbits(64):016x}'


def near(text: str, bits: int) -> str:
    return f'{int(text, 16) ^ ((1 << bits) - 1):016x}'


def stored(uri: str, plain: str, **views) -> ImageRecord:
    """An image whose views are random (far from everything) except those given."""
    texts = {name: ''.join(random_hex() for _ in range(HASHES_PER_VIEW[name])) for name in HASHES_PER_VIEW
             if name != 'plain'}
    texts.update(views)
    return ImageRecord(uri=uri, digest=f'digest-{uri}', hash_size=8, hashes={'phash': plain},
                       views={f'phash.{name}': text for name, text in texts.items()})


@pytest.fixture
def index(tmp_path):
    index = ImageIndex(str(tmp_path / 'index.db'))
    yield index
    index.close()


def found(index, query, pairs, threshold=5):
    return [(hit['uri'], hit['distance']) for hit in index.search('phash', query, 8, threshold, 10, pairs, verify=False)]


def test_a_query_meets_a_stored_image_only_through_the_pairs_asked_for(index, tmp_path):
    crop, flip, centre = random_hex(), random_hex(), random_hex()
    index.add([stored('/a.jpg', random_hex(), crops=random_hex() * 4 + crop + random_hex() * 4),
               stored('/b.jpg', random_hex(), orientations=random_hex() * 6 + flip),
               stored('/c.jpg', random_hex(), turns=random_hex() + centre)])
    assert found(index, near(crop, 2), view_pairs(views=False)) == []
    assert found(index, near(crop, 2), view_pairs()) == [('/a.jpg', 2)]
    assert found(index, near(flip, 1), view_pairs()) == []
    assert found(index, near(flip, 1), view_pairs(rotations=True)) == [('/b.jpg', 1)]
    # A centre view meets centres and turned centres, never the plain hash or crops.
    assert found(index, {'plain': random_hex(), 'centre': near(centre, 3)}, view_pairs()) == [('/c.jpg', 3)]
    assert found(index, near(centre, 3), view_pairs()) == []
    reopened = ImageIndex(str(tmp_path / 'index.db'))  # the views were stored, not only held in memory
    assert found(reopened, near(crop, 2), view_pairs()) == [('/a.jpg', 2)]
    reopened.close()


def test_updating_and_deleting_an_image_replace_and_remove_its_views(index):
    crop = random_hex()
    index.add([stored('/a.jpg', random_hex(), crops=crop * 9)])
    assert found(index, crop, view_pairs()) == [('/a.jpg', 0)]  # loads the views into memory
    index.add([stored('/a.jpg', random_hex())])  # the same uri again, other pixels
    assert found(index, crop, view_pairs()) == []
    index.add([stored('/b.jpg', random_hex(), crops=crop * 9)])
    assert found(index, crop, view_pairs()) == [('/b.jpg', 0)]
    index.delete(uris=['/b.jpg'])
    assert found(index, crop, view_pairs()) == []
    assert index.store._db.execute('SELECT COUNT(*) FROM views').fetchone()[0] == 5  # /a.jpg's five views


def test_duplicates_group_a_cropped_copy_with_views_and_not_without(index):
    original = stored('/original.jpg', random_hex())
    crop = original.views['phash.crops'][32:48]
    index.add([original, stored('/cropped.jpg', near(crop, 3)), stored('/stranger.jpg', random_hex())])
    assert index.duplicates('phash', 8, 5, pairs=view_pairs(views=False), verify=False) == []
    group, = index.duplicates('phash', 8, 5, pairs=view_pairs(), verify=False)
    assert {group['keep']['uri']} | {row['uri'] for row in group['duplicates']} == {'/original.jpg', '/cropped.jpg'}
    assert [row['distance'] for row in group['duplicates']] == [3]


@pytest.mark.parametrize('multi_index_join', [False, True])
def test_the_view_join_finds_exactly_the_pairs_brute_force_finds(monkeypatch, multi_index_join):
    monkeypatch.setattr(multi_index, 'join_is_cheaper', lambda *args: multi_index_join)
    monkeypatch.setattr(multi_index, 'cross_join_is_cheaper', lambda *args: multi_index_join)
    rng = np.random.default_rng(5)
    images, nbits, threshold = 300, 64, 6
    views = {}
    base = rng.integers(0, 2 ** 63, size=images, dtype=np.int64).astype(np.uint64)
    for name, count in (('plain', 1), ('crops', 9), ('centre', 1), ('turns', 2)):
        keys = np.repeat(np.arange(images), count)
        codes = rng.integers(0, 2 ** 63, size=images * count, dtype=np.int64).astype(np.uint64)
        if name == 'plain':
            codes = base.copy()
        else:  # plant near pairs: some views close to another image's plain hash or view
            planted = rng.choice(len(codes), size=60, replace=False)
            codes[planted] = base[rng.integers(0, images, size=60)] ^ np.uint64(rng.integers(0, 2 ** 5))
        views[name] = (keys, codes.reshape(-1, 1))
    pairs = view_pairs()
    table = ViewTable(nbits, views, pairs)
    a, b, distance = table.pairs_within(threshold)
    expected = {}
    for first, second in [pair for pair in pairs if set(pair) <= set(views)]:  # no trim views here
        for x, cx in zip(*views[first]):
            for y, cy in zip(*views[second]):
                if x != y:
                    d = int(np.bitwise_count(cx ^ cy).sum())
                    if d <= threshold:
                        key = (min(x, y), max(x, y))
                        expected[key] = min(d, expected.get(key, d))
    assert len(expected) > 20
    assert dict(zip(zip(a.tolist(), b.tolist()), distance.tolist())) == expected


def test_views_a_client_made_up_get_a_clear_error_on_their_document():
    from executors.documents import ImageDoc
    from executors.simple_indexer.executor import view_problem

    def problem(**views):
        return view_problem(ImageDoc(hash_size=8, digest='d', phash=random_hex(), views=views))

    assert problem() is None
    assert problem(**{'phash.crops': random_hex() * 9, 'phash.trim': random_hex()}) is None
    assert 'unknown view' in problem(**{'phash.mirror': random_hex()})
    assert 'unknown view' in problem(**{'sha.trim': random_hex()})
    assert 'must be 9 hashes of 16 hex digits' in problem(**{'phash.crops': random_hex() * 8})
    assert 'must be 1 hash of 16 hex digits' in problem(**{'phash.trim': 'zz' * 8})


def test_another_workspace_is_read_with_the_views_its_images_can_be_queried_by(tmp_path):
    from executors.simple_indexer.store import stored_hashes
    image = stored('/a.jpg', random_hex())
    index = ImageIndex(str(tmp_path / 'index.db'))
    index.add([image])
    index.close()
    row, = stored_hashes(str(tmp_path / 'index.db'), 'phash', ('trim', 'centre'))
    assert row['uri'] == '/a.jpg' and row['phash'] == image.hashes['phash']
    assert row['views'] == {f'phash.{view}': image.views[f'phash.{view}'] for view in ('trim', 'centre')}
    row, = stored_hashes(str(tmp_path / 'index.db'), 'phash')
    assert row['views'] == {}
