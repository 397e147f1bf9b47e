import sqlite3

import pytest

from executors.simple_indexer.image_index import ImageIndex
from executors.simple_indexer.store import ImageRecord

BASE = 0x0123456789ABCDEF


def flipped(bits: int) -> str:
    """The phash hex of BASE with the lowest `bits` bits flipped: exactly `bits` away from BASE."""
    return format(BASE ^ ((1 << bits) - 1), '016x')


def record(uri, distance, digest=None, hash_size=8):
    return ImageRecord(uri=uri, digest=digest or f'digest-{uri}', hash_size=hash_size,
                       hashes={'phash': flipped(distance), 'dhash': flipped(0)}, width=10, height=10)


@pytest.fixture
def index(tmp_path):
    index = ImageIndex(str(tmp_path / 'index.db'))
    yield index
    index.close()


def search(index, threshold=64, limit=100, query=flipped(0)):
    return [(hit['uri'], hit['distance']) for hit in index.search('phash', query, 8, threshold, limit, verify=False)]


def test_results_are_ordered_by_distance_then_id_within_the_threshold(index):
    index.add([record(f'/img/{name}.jpg', d) for name, d in [('a', 5), ('b', 0), ('c', 12), ('d', 5), ('e', 3)]])
    hits = index.search('phash', flipped(0), 8, threshold=5, limit=10, verify=False)
    assert [hit['distance'] for hit in hits] == [0, 3, 5, 5]
    tied = [hit['id'] for hit in hits if hit['distance'] == 5]
    assert tied == sorted(tied)
    assert search(index, threshold=0) == [('/img/b.jpg', 0)]
    assert search(index, limit=2) == [('/img/b.jpg', 0), ('/img/e.jpg', 3)]


def test_indexing_the_same_uri_again_updates_one_entry(index):
    assert index.add([record('/img/a.jpg', 7), record('/img/b.jpg', 9)]) == [True, True]
    assert index.add([record('/img/a.jpg', 1)]) == [False]
    assert index.store.count() == 2
    assert search(index) == [('/img/a.jpg', 1), ('/img/b.jpg', 9)]


def test_images_without_uri_are_identified_by_their_digest(index):
    assert index.add([record(None, 4, digest='same'), record(None, 4, digest='same')]) == [True, False]
    assert index.add([record(None, 4, digest='other')]) == [True]
    assert index.store.count() == 2


def test_everything_is_there_after_reopening(tmp_path):
    path = str(tmp_path / 'index.db')
    first = ImageIndex(path)
    first.add([record(f'/img/{i}.jpg', i) for i in range(20)])
    before = search(first, threshold=10)
    first.close()
    second = ImageIndex(path)
    assert search(second, threshold=10) == before and len(before) == 11
    assert second.add([record('/img/3.jpg', 3)]) == [False]
    assert second.store.count() == 20
    second.close()
    check = sqlite3.connect(path)
    assert check.execute('PRAGMA integrity_check').fetchone() == ('ok',)
    assert check.execute('PRAGMA journal_mode').fetchone() == ('wal',)


def test_an_index_loaded_before_changes_stays_in_step(index):
    index.add([record('/img/a.jpg', 2)])
    assert search(index) == [('/img/a.jpg', 2)]  # loads the in-memory index
    index.add([record('/img/b.jpg', 1), record('/img/a.jpg', 6)])
    assert search(index) == [('/img/b.jpg', 1), ('/img/a.jpg', 6)]
    assert index.delete(uris=['/img/b.jpg']) == 1
    assert search(index) == [('/img/a.jpg', 6)]


def test_delete_by_id_and_clear(index):
    index.add([record(f'/img/{i}.jpg', i) for i in range(5)])
    first_id = index.search('phash', flipped(0), 8, 0, 1, verify=False)[0]['id']
    assert index.delete(ids=[first_id, 'no-such-id']) == 1
    assert [uri for uri, _ in search(index)] == [f'/img/{i}.jpg' for i in range(1, 5)]
    assert index.clear() == 4
    assert search(index) == [] and index.store.count() == 0


def test_hash_types_and_sizes_are_kept_apart(index):
    index.add([record('/img/small.jpg', 0),
               ImageRecord(uri='/img/big.jpg', digest='big', hash_size=16, hashes={'phash': '0' * 64})])
    assert search(index) == [('/img/small.jpg', 0)]
    assert [hit['uri'] for hit in index.search('phash', 'f' * 64, 16, 256, 10, verify=False)] == ['/img/big.jpg']
    assert [hit['uri'] for hit in index.search('dhash', flipped(0), 8, 0, 10, verify=False)] == ['/img/small.jpg']
    assert index.search('whash', flipped(0), 8, 64, 10, verify=False) == []
    status = index.status()
    assert status['images'] == 2 and status['hashes']['phash'] == {'64': 1, '256': 1}
