"""Duplicate groups: exact copies, chains, and which file each keep policy keeps."""
import pytest

from executors.simple_indexer.image_index import ImageIndex
from executors.simple_indexer.store import ImageRecord

BASE = 0x0123456789ABCDEF


def flipped(bits: int) -> str:
    """BASE with its lowest `bits` bits flipped: flipped(a) and flipped(b) are |a - b| bits apart."""
    return format(BASE ^ ((1 << bits) - 1), '016x')


def image(uri, bits, digest=None, size=(100, 100), byte_size=1000, mtime=0.0):
    return ImageRecord(uri=uri, digest=digest or f'digest-{uri}', hash_size=8, hashes={'phash': flipped(bits)},
                       width=size[0], height=size[1], byte_size=byte_size, mtime=mtime)


@pytest.fixture
def index(tmp_path):
    index = ImageIndex(str(tmp_path / 'index.db'))
    yield index
    index.close()


def groups(index, threshold=8, **options):
    """Stage 1's grouping: these hashes are made up, so they carry no evidence for stage 2."""
    options = dict({'verify': False, 'strict': False}, **options)
    return [(g['kind'], g['keep']['uri'], sorted((d['uri'], d['distance']) for d in g['duplicates']))
            for g in index.duplicates('phash', 8, threshold, **options)]


def test_exact_copies_form_an_exact_group_and_strangers_none(index):
    index.add([image('/a/x.jpg', 0, digest='same'), image('/b/x.jpg', 0, digest='same'),
               image('/c/y.jpg', 40), image('/c/z.jpg', 60)])
    assert groups(index) == [('exact', '/a/x.jpg', [('/b/x.jpg', 0)])]


def test_identical_hashes_with_different_bytes_are_a_near_group(index):
    index.add([image('/a.png', 0), image('/a.jpg', 0)])
    assert [kind for kind, _, _ in groups(index)] == ['near']


def test_a_chain_is_one_group_when_connected_and_splits_when_strict(index):
    # a ~6~ b ~6~ c, but a and c are 12 bits apart; a is the largest, so a is kept.
    index.add([image('/a.jpg', 0, size=(300, 300)), image('/b.jpg', 6), image('/c.jpg', 12)])
    assert groups(index) == [('near', '/a.jpg', [('/b.jpg', 6), ('/c.jpg', 12)])]
    # Strict: every member a match of the kept file, so c, which matches only b, is left out.
    assert groups(index, strict=True) == [('near', '/a.jpg', [('/b.jpg', 6)])]


def test_strict_groups_keep_every_member_within_the_threshold_of_the_kept_file(index):
    index.add([image(f'/chain/{i:02d}.jpg', 3 * i, size=(100 + i, 100)) for i in range(12)])
    for _, _, members in groups(index, strict=True):
        assert all(distance <= 8 for _, distance in members)
    assert len(groups(index)) == 1


def test_exact_copies_stay_together_and_near_their_neighbours(index):
    index.add([image('/big.jpg', 0, size=(500, 500)), image('/copy1.jpg', 5, digest='dup'),
               image('/copy2.jpg', 5, digest='dup'), image('/far.jpg', 30, digest='dup2'),
               image('/far-copy.jpg', 30, digest='dup2')])
    for strict in (False, True):
        assert groups(index, strict=strict) == [
            ('exact', '/far.jpg', [('/far-copy.jpg', 0)]),  # same size: the shorter path is kept
            ('near', '/big.jpg', [('/copy1.jpg', 5), ('/copy2.jpg', 5)])]


@pytest.mark.parametrize('keep, expected', [
    ('original', '/c/largest.jpg'),  # the others have fewer pixels: downscaled (keep.py)
    ('largest', '/c/largest.jpg'),   # most pixels
    ('best', '/c/largest.jpg'),      # the name largest had
    ('oldest', '/b/oldest.jpg'),  # earliest file time
    ('first', '/a/first.jpg'),    # indexed first
])
def test_keep_policies(index, keep, expected):
    index.add([image('/a/first.jpg', 0, mtime=200.0)])
    index.add([image('/b/oldest.jpg', 1, mtime=100.0), image('/c/largest.jpg', 2, size=(900, 900), mtime=300.0)])
    (_, kept, members), = groups(index, keep=keep)
    assert kept == expected and len(members) == 2


def test_largest_breaks_ties_by_file_size_then_shorter_path(index):
    index.add([image('/long/path/x.jpg', 0), image('/x.jpg', 1), image('/y/bigger.jpg', 2, byte_size=5000)])
    assert groups(index, keep='largest')[0][1] == '/y/bigger.jpg'
    assert groups(index)[0][1] == '/x.jpg'  # original: of the same pixels, the smaller file
    index.delete(uris=['/y/bigger.jpg'])
    assert groups(index, keep='largest')[0][1] == '/x.jpg'


def test_preferred_folder_always_wins(index):
    index.add([image('/scraped/huge.jpg', 0, size=(4000, 3000)), image('/curated/small.jpg', 3, size=(64, 64))])
    assert groups(index)[0][1] == '/scraped/huge.jpg'
    assert groups(index, prefer=['/curated'])[0][1] == '/curated/small.jpg'
    assert groups(index, keep='oldest', prefer=['/curated/'])[0][1] == '/curated/small.jpg'


def test_unknown_keep_policy_is_refused(index):
    with pytest.raises(ValueError, match='keep policy'):
        index.duplicates('phash', 8, 8, keep='newest')
