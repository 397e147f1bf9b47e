"""The broken and unusual files of a scraped dataset, through `app.py index` end to end.

Every file of the corpus (tests/corpus.py) is either hashed correctly or named on stderr and
in the --errors list with its reason, and the rest of the run goes on. Exit codes: 0 all
done, 1 nothing could be done, 3 some files failed.
"""
import json
import os
import shutil
import tempfile
from contextlib import contextmanager

import imagehash
import pytest
from docarray import DocList
from PIL import Image

from client.files import find_images
from client.jobs import document_for
from executors.documents import ImageDoc
from executors.image_hasher import ImageHasher
from tests.corpus import NOT_A_FILE, bad_cases, encoded, photo, write_corpus, write_link_traps, write_many
from tests.store_check import integrity, stored, stored_uris
from tests.test_cli import app

NOBODY = 65534


def bits_apart(hex_a: str, hex_b: str) -> int:
    return bin(int(hex_a, 16) ^ int(hex_b, 16)).count('1')


def error_lines(stderr: str) -> list:
    return [line for line in stderr.splitlines() if line.startswith('error: ')]


@contextmanager
def as_nobody():
    """Run the block without root's power to read every file (a no-op for other users)."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)


@pytest.fixture(scope='module')
def indexed_corpus(tmp_path_factory):
    """`app.py index` run once over the whole corpus: (cases, folder, workspace, run, error list)."""
    base = tmp_path_factory.mktemp('corpus')
    folder = str(base / 'scraped')
    cases = write_corpus(folder)
    traps = write_link_traps(folder)
    locked = os.path.join(folder, 'locked.png')
    with open(locked, 'wb') as file:
        file.write(encoded(photo(5), 'PNG'))
    os.chmod(locked, 0)
    workspace, error_list = str(base / 'workspace'), str(base / 'errors.json')
    # vector.svg has no image extension, so a folder walk passes it by; named, it is tried.
    run = app('index', folder, os.path.join(folder, 'vector.svg'), '--workspace', workspace,
              '--errors', error_list)
    with open(error_list, encoding='utf-8') as file:
        errors = json.load(file)
    return cases, traps, locked, folder, workspace, run, errors


def test_every_bad_file_is_named_with_its_reason_and_the_rest_is_indexed(indexed_corpus):
    cases, traps, locked, folder, workspace, run, errors = indexed_corpus
    reasons = {entry['path']: entry['error'] for entry in errors}
    assert len(reasons) == len(errors), 'a file is listed twice'
    bad = {os.path.join(folder, case.name): case.error for case in cases if case.error}
    bad.update((trap, NOT_A_FILE) for trap in traps)
    if os.geteuid() != 0:  # root reads any file; the unreadable case is then tested with as_nobody() below
        bad[locked] = 'Permission denied'
    assert set(reasons) - {locked} == set(bad) - {locked}
    for path, expected in bad.items():
        assert expected in reasons[path], (path, reasons[path])
    assert 'HEIC' in reasons[os.path.join(folder, 'phone.heic')]
    assert sorted(error_lines(run.stderr)) == sorted(f'error: {path}: {reason}' for path, reason in reasons.items())
    good = [case for case in cases if case.reference is not None]
    indexed = len(good) + (locked not in reasons)
    assert (f'indexed {indexed} new, 0 updated, 0 unchanged, {len(reasons) - len(traps)} failed' in run.stderr
            and f'; {len(traps)} more paths could not be used (listed above)' in run.stderr)
    assert run.returncode == 3, run.stderr


def test_every_good_file_is_stored_once_with_the_hash_of_what_it_shows(indexed_corpus):
    cases, _, locked, folder, workspace, _, errors = indexed_corpus
    rows = {uri: (phash.hex(), width, height) for uri, phash, width, height
            in stored(workspace, 'uri, phash, width, height')}
    assert integrity(workspace) == 'ok' and max(stored_uris(workspace).values()) == 1
    failed = {entry['path'] for entry in errors}
    assert set(rows) == {os.path.join(folder, c.name) for c in cases if c.reference is not None} | (
        set() if locked in failed else {locked})
    for case in cases:
        if case.reference is None:
            continue
        phash, width, height = rows[os.path.join(folder, case.name)]
        assert (width, height) == case.reference.size, case.name
        assert bits_apart(phash, str(imagehash.phash(case.reference))) <= case.tolerance, case.name
    rotated = next(c for c in cases if c.name == 'exif-rotated.jpg')
    as_stored = rotated.reference.transpose(Image.Transpose.ROTATE_90)  # what ignoring EXIF would hash
    assert bits_apart(rows[os.path.join(folder, rotated.name)][0], str(imagehash.phash(as_stored))) > 10


@pytest.fixture
def open_folder():
    """A folder anyone may enter (pytest's own are private to their owner), removed afterwards."""
    root = tempfile.mkdtemp(prefix='unreadable-')
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root)


def test_unreadable_files_and_folders_are_reported_not_skipped(open_folder):
    root = open_folder
    locked_file, locked_folder = os.path.join(root, 'locked.png'), os.path.join(root, 'private')
    with open(locked_file, 'wb') as file:
        file.write(encoded(photo(), 'PNG'))
    os.chmod(locked_file, 0)
    os.mkdir(locked_folder, 0)
    hasher = ImageHasher(allowed_roots=[root])
    with as_nobody():
        files, problems = find_images([root])
        with pytest.raises(PermissionError):
            document_for(locked_file, remote=True)  # a client sending bytes to a server reads the file itself
        doc, = hasher.hash_for_index(DocList[ImageDoc]([ImageDoc(uri=locked_file)]), {})
    assert files == [locked_file]  # listed: the read fails later, with its own message
    assert problems == [(locked_folder, 'cannot list folder: Permission denied')]
    assert doc.error == f'cannot read {locked_file}: Permission denied' and doc.phash is None


def test_exit_code_1_when_nothing_could_be_done(tmp_path):
    bad = tmp_path / 'bad'
    bad.mkdir()
    for case in bad_cases()[:3]:
        (bad / case.name).write_bytes(case.data)
    errors = tmp_path / 'errors.json'
    run = app('index', str(bad), '--workspace', str(tmp_path / 'ws'), '--errors', str(errors))
    assert run.returncode == 1 and 'indexed 0 new, 0 updated, 0 unchanged, 3 failed' in run.stderr
    assert sorted(entry['path'] for entry in json.loads(errors.read_text())) == sorted(str(p) for p in bad.iterdir())
    assert stored_uris(str(tmp_path / 'ws')) == {}
    run = app('index', str(tmp_path / 'nothing-here'), '--workspace', str(tmp_path / 'ws'), '--errors', str(errors))
    assert run.returncode == 1 and 'error: no image files found' in run.stderr
    assert json.loads(errors.read_text()) == [{'path': str(tmp_path / 'nothing-here'), 'error': 'no such file or folder'}]


def test_a_folder_of_10000_small_files_is_indexed_whole_with_exit_code_0(tmp_path):
    paths = write_many(str(tmp_path / 'many'), 10_000, size=16)
    errors = tmp_path / 'errors.json'
    run = app('index', str(tmp_path / 'many'), '--workspace', str(tmp_path / 'ws'), '--batch-size', '128',
              '--errors', str(errors))
    assert run.returncode == 0, run.stderr
    assert 'indexed 10000 new, 0 updated, 0 unchanged, 0 failed' in run.stderr and json.loads(errors.read_text()) == []
    assert stored_uris(str(tmp_path / 'ws')) == {path: 1 for path in paths}
