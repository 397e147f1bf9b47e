"""The store's answers for keeping an index current: unchanged files, uris under folders, and
deleting by folder; and the one spelling of a file's uri."""
import os

import pytest

from executors.match import Evidence
from executors.simple_indexer.image_index import ImageIndex
from executors.simple_indexer.store import ImageRecord, unchanged_in
from executors.uris import file_uri, local_path

URIS = ['/photos/a.jpg', '/photos/b/c.jpg', '/photos-2/d.jpg', '/photos/b.zip::e.jpg', '/photosb.jpg', '/other/f.jpg']


EVIDENCE = Evidence(bytes(32), 5.0)  # made up: only its presence counts here


def record(uri, byte_size=100, mtime=1.5, views=True, evidence=EVIDENCE):
    return ImageRecord(uri=uri, digest=f'digest-{uri}', hash_size=8, hashes={'phash': '0123456789abcdef'},
                       byte_size=byte_size, mtime=mtime, views={'phash.trim': 'fedcba9876543210'} if views else {},
                       evidence=evidence)


@pytest.fixture
def index(tmp_path):
    index = ImageIndex(str(tmp_path / 'index.db'))
    index.add([record(uri) for uri in URIS] + [record(None), record('/plain.jpg', views=False),
                                               record('/older.jpg', evidence=None)])
    yield index
    index.close()


def test_a_file_is_unchanged_only_with_its_size_time_hash_size_and_asked_for_views(index):
    files = [('/photos/a.jpg', 100, 1.5), ('/photos/a.jpg', 101, 1.5), ('/photos/a.jpg', 100, 1.25),
             ('/nowhere.jpg', 100, 1.5), ('/plain.jpg', 100, 1.5), ('/older.jpg', 100, 1.5)]
    # /older.jpg was stored without the match decision's evidence: it must be hashed again.
    assert index.store.unchanged(files, 8, with_views=True) == [True, False, False, False, False, False]
    assert index.store.unchanged(files, 8, with_views=False) == [True, False, False, False, True, False]
    assert index.store.unchanged(files, 16, with_views=False) == [False] * 6
    # The command line's read-only look at the database gives the same answers.
    assert unchanged_in(index.store.path, files, 8, True) == [True, False, False, False, False, False]


def test_under_a_folder_means_the_folder_its_files_below_and_an_archive_s_members(index):
    def under(*paths):
        return sorted(uri for _, uri in index.store.uris_under(paths))
    assert under('/photos') == ['/photos/a.jpg', '/photos/b.zip::e.jpg', '/photos/b/c.jpg']
    assert under('/photos/') == under('/photos')
    assert under('/photos/b') == ['/photos/b/c.jpg']  # not /photos/b.zip, a sibling
    assert under('/photos/b.zip') == ['/photos/b.zip::e.jpg']
    assert under('/photos/a.jpg', '/other') == ['/other/f.jpg', '/photos/a.jpg']
    assert under('/') == sorted(URIS + ['/plain.jpg', '/older.jpg'])
    assert sorted(uri for _, uri in index.store.uris_under()) == sorted(URIS + ['/plain.jpg', '/older.jpg'])  # not the uri-less one
    first = index.store.uris_under(page=3)
    assert len(first) == 3 and len(index.store.uris_under(after=first[-1][0])) == len(URIS) + 2 - 3


def test_deleting_under_a_folder_removes_its_entries_only(index):
    assert index.delete(under=['/photos']) == 3
    assert sorted(uri for _, uri in index.store.uris_under()) == ['/older.jpg', '/other/f.jpg', '/photos-2/d.jpg',
                                                                  '/photosb.jpg', '/plain.jpg']


def test_one_spelling_per_file_uri(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    here = str(tmp_path)
    assert file_uri('data/./query/../query/x.jpg') == os.path.join(here, 'data', 'query', 'x.jpg')
    assert file_uri('file:///a/./b.jpg') == '/a/b.jpg'
    assert file_uri('/a/b/../c.zip::inner/./x.jpg') == '/a/c.zip::inner/./x.jpg'  # the member is the archive's name
    assert file_uri('https://example.com/./x.jpg') == 'https://example.com/./x.jpg'
    assert file_uri(None) is None and file_uri('') == ''
    assert local_path('/a/c.zip::x.jpg') == '/a/c.zip' and local_path('https://example.com/x.jpg') is None
