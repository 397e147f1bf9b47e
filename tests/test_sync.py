"""Keeping an index in step with a changing collection (README, "Keeping the index current"):
unchanged files are not read again, missing files are reported, pruned and forgotten, and one
file is one entry however its path is spelled; through app.py and through a served Flow."""
import base64
import json
import os
import re
import shutil
import sqlite3

import pytest

from tests.images import DATA, INDEX_IMAGES, QUERY_IMAGES
from tests.server import served
from tests.test_cli import app
from tests.test_flow import http_post


def stored_rows(workspace):
    """uri -> (byte_size, mtime) of every stored entry, over all shards."""
    rows = {}
    for shard in sorted(os.listdir(os.path.join(workspace, 'SimpleIndexer'))):
        db = sqlite3.connect(os.path.join(workspace, 'SimpleIndexer', shard, 'index.db'))
        rows.update((uri, (size, mtime)) for uri, size, mtime in db.execute('SELECT uri, byte_size, mtime FROM images'))
        db.close()
    return rows


def status(workspace, *options):
    return json.loads(app('status', '--workspace', workspace, *options, check_exit=0).stdout)


def summary_of(run):
    """The summary line, without the Flow's start time (which varies)."""
    return re.sub(r'; the Flow took [\d.]+ s to start', '', run.stderr.strip().splitlines()[-1])


def copy_photos(folder, paths):
    os.makedirs(folder, exist_ok=True)
    for path in paths:
        shutil.copy(path, folder)
    return sorted(os.path.join(folder, os.path.basename(path)) for path in paths)


def test_unchanged_files_are_skipped_changed_ones_read_again_and_rehash_reads_all(tmp_path):
    folder, workspace = str(tmp_path / 'photos'), str(tmp_path / 'ws')
    paths = copy_photos(folder, INDEX_IMAGES)
    app('index', folder, '--workspace', workspace, check_exit=0)
    run = app('index', folder, '--workspace', workspace, check_exit=0)
    assert summary_of(run) == f'indexed 0 new, 0 updated, {len(paths)} unchanged, 0 failed'

    # One file replaced by another picture, one touched only (same bytes, a new time), one added.
    changed, touched = paths[0], paths[1]
    shutil.copy(QUERY_IMAGES[-1], changed)
    os.utime(touched, (os.stat(touched).st_atime, os.stat(touched).st_mtime + 10))
    shutil.copy(QUERY_IMAGES[0], folder)
    run = app('index', folder, '--workspace', workspace, check_exit=0)
    assert summary_of(run).startswith(f'indexed 1 new, 2 updated, {len(paths) - 2} unchanged, 0 failed')
    # The store keeps each file's size on disk and its modification time, which the check compares.
    on_disk = {os.path.join(folder, name): os.stat(os.path.join(folder, name)) for name in os.listdir(folder)}
    assert stored_rows(workspace) == {path: (stat.st_size, stat.st_mtime) for path, stat in on_disk.items()}
    search = json.loads(app('search', QUERY_IMAGES[-1], '--workspace', workspace, '--format', 'json',
                            check_exit=0).stdout)
    assert (changed, 0) in [(match['uri'], match['distance']) for match in search[0]['matches']]

    run = app('index', folder, '--workspace', workspace, '--rehash', check_exit=0)
    assert summary_of(run).startswith(f'indexed 0 new, {len(paths) + 1} updated, 0 unchanged, 0 failed')
    # Indexed without views, a file is not "unchanged" for an index that wants them.
    other = str(tmp_path / 'ws-no-views')
    app('index', folder, '--workspace', other, '--no-views', check_exit=0)
    run = app('index', folder, '--workspace', other, check_exit=0)
    assert summary_of(run).startswith(f'indexed 0 new, {len(paths) + 1} updated, 0 unchanged')


def test_missing_files_are_counted_left_out_of_dedup_pruned_and_forgotten(tmp_path):
    folder, workspace = str(tmp_path / 'photos'), str(tmp_path / 'ws')
    copy_photos(os.path.join(folder, 'index'), INDEX_IMAGES)
    copy_photos(os.path.join(folder, 'query'), QUERY_IMAGES)
    app('index', folder, '--workspace', workspace, check_exit=0)
    total = len(INDEX_IMAGES) + len(QUERY_IMAGES)
    assert status(workspace)['missing_files'] == 0

    app('dedup', '--workspace', workspace, '--output', str(tmp_path / 'before'), check_exit=0)
    groups = json.load(open(tmp_path / 'before' / 'groups.json'))
    # Gone since indexing: the kept file of the largest group, and one duplicate of another group.
    largest = max(groups, key=lambda group: len(group['duplicates']))
    other = next(group for group in groups if group is not largest)
    gone = [largest['keep']['uri'], other['duplicates'][0]['uri']]
    for path in gone:
        os.remove(path)
    run = app('status', '--workspace', workspace, check_exit=0)
    assert json.loads(run.stdout)['images'] == total and json.loads(run.stdout)['missing_files'] == 2
    assert '2 indexed files are missing' in run.stderr

    run = app('dedup', '--workspace', workspace, '--output', str(tmp_path / 'after'), check_exit=0)
    assert 'note: 2 indexed files are missing' in run.stderr
    assert '1 group whose kept file is missing left out' in run.stderr
    remove = open(tmp_path / 'after' / 'remove.txt').read().split()
    assert remove and not set(remove) & set(gone) and all(os.path.exists(path) for path in remove)
    after = json.load(open(tmp_path / 'after' / 'groups.json'))
    assert [group['group'] for group in after] == list(range(1, len(after) + 1))
    assert largest['keep']['uri'] not in {m['uri'] for g in after for m in [g['keep']] + g['duplicates']}

    # A re-index without --prune keeps the entries; with it, only the missing ones under PATH go.
    run = app('index', os.path.join(folder, 'query'), '--workspace', workspace, '--prune', check_exit=0)
    pruned_in_query = sum(os.path.dirname(path) == os.path.join(folder, 'query') for path in gone)
    assert f'{len(QUERY_IMAGES) - pruned_in_query} unchanged, 0 failed, {pruned_in_query} pruned' in summary_of(run)
    run = app('index', folder, '--workspace', workspace, '--prune', check_exit=0)
    assert f'0 failed, {2 - pruned_in_query} pruned' in summary_of(run)
    assert status(workspace)['images'] == total - 2 and set(stored_rows(workspace)).isdisjoint(gone)

    # forget: the entries of a file and of a folder go, the files stay.
    kept = os.path.join(folder, 'index', os.path.basename(INDEX_IMAGES[-1]))
    run = app('forget', kept, os.path.join(folder, 'query') + '/', '--workspace', workspace, check_exit=0)
    in_query = len(QUERY_IMAGES) - pruned_in_query
    assert f'forgot {in_query + (kept not in gone)} indexed images' in run.stderr
    assert os.path.exists(kept) and len(os.listdir(os.path.join(folder, 'query'))) == in_query
    assert all(os.path.dirname(uri) == os.path.join(folder, 'index') for uri in stored_rows(workspace))
    assert app('forget', kept, '--workspace', workspace).returncode == 1


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    """A served Flow with two indexer shards (so the shard merger answers) that may read data/."""
    workspace = str(tmp_path_factory.mktemp('served') / 'ws')
    with served(workspace, '--shards', '2', '--allow-root', DATA) as (process, grpc_port, http_port):
        yield workspace, f'127.0.0.1:{grpc_port}', http_port


def test_a_served_flow_skips_unchanged_files_counts_prunes_and_forgets_missing_ones(server, tmp_path):
    workspace, host, _ = server
    folder = str(tmp_path / 'photos')
    paths = copy_photos(folder, INDEX_IMAGES)
    remote = ('--workspace', workspace, '--host', host)
    app('index', folder, *remote, check_exit=0)  # the client sends the bytes, with each file's time
    run = app('index', folder, *remote, check_exit=0)
    assert summary_of(run).startswith(f'indexed 0 new, 0 updated, {len(paths)} unchanged, 0 failed')
    os.remove(paths[0])
    assert status(workspace, '--host', host)['missing_files'] == 1
    run = app('index', folder, *remote, '--prune', check_exit=0)
    assert f'{len(paths) - 1} unchanged, 0 failed, 1 pruned' in summary_of(run)
    assert status(workspace, '--host', host)['missing_files'] == 0
    run = app('forget', folder, *remote, check_exit=0)
    assert f'forgot {len(paths) - 1} indexed images' in run.stderr


def test_over_http_one_file_is_one_entry_however_its_path_is_spelled(server):
    _, _, http_port = server
    path = os.path.join(DATA, 'query', 'seeding2.jpg')
    relative = os.path.relpath(path)  # the server runs in this process's working directory
    spellings = [relative, relative.replace(os.sep + 'query' + os.sep, os.sep + '.' + os.sep + 'query' + os.sep),
                 os.path.join(DATA, 'index', '..', 'query', '.', 'seeding2.jpg'), 'file://' + path]
    assert len(set(spellings)) == 4 and all(os.path.samefile(spelling.replace('file://', ''), path)
                                            for spelling in spellings)

    def images():
        code, answer = http_post(http_port, '/status', {'data': [], 'parameters': {}})
        return answer['data'][0]['result']['images']

    before = images()
    for spelling in spellings:
        code, answer = http_post(http_port, '/index', {'data': [{'uri': spelling}]})
        assert code == 200 and answer['data'][0]['uri'] == path and answer['data'][0]['error'] is None, answer
    assert images() == before + 1
    stat = os.stat(path)
    files = [[spelling.replace('file://', ''), stat.st_size, stat.st_mtime] for spelling in spellings[:3]]
    files.append([path, stat.st_size + 1, stat.st_mtime])  # another size: changed
    request = {'blob': base64.b64encode(json.dumps(files).encode()).decode()}
    code, answer = http_post(http_port, '/unchanged', {'data': [request]})
    assert code == 200 and answer['data'][0]['blob'] == '1110', answer  # ASCII: the same text in JSON
    code, answer = http_post(http_port, '/delete', {'data': [], 'parameters': {'uris': [path]}})
    assert code == 200 and answer['data'][0]['result']['deleted'] == 1
    assert images() == before


def test_with_shards_the_command_line_finds_unchanged_files_in_each_shards_database(tmp_path):
    folder, workspace = str(tmp_path / 'photos'), str(tmp_path / 'ws')
    paths = copy_photos(folder, INDEX_IMAGES + QUERY_IMAGES[:3])
    app('index', folder, '--workspace', workspace, '--shards', '2', check_exit=0)
    assert len(os.listdir(os.path.join(workspace, 'SimpleIndexer'))) == 2
    os.utime(paths[0], (os.stat(paths[0]).st_atime, os.stat(paths[0]).st_mtime + 10))
    run = app('index', folder, '--workspace', workspace, '--shards', '2', check_exit=0)
    assert summary_of(run).startswith(f'indexed 0 new, 1 updated, {len(paths) - 1} unchanged, 0 failed')
    assert stored_rows(workspace)[paths[0]] == (os.stat(paths[0]).st_size, os.stat(paths[0]).st_mtime)


def test_prune_empties_the_entries_of_a_folder_whose_images_are_all_gone(tmp_path):
    folder, workspace = str(tmp_path / 'photos'), str(tmp_path / 'ws')
    copy_photos(os.path.join(folder, 'gone'), INDEX_IMAGES[:3])
    copy_photos(folder, INDEX_IMAGES[3:5])
    app('index', folder, '--workspace', workspace, check_exit=0)
    shutil.rmtree(os.path.join(folder, 'gone'))
    os.mkdir(os.path.join(folder, 'gone'))  # emptied: no image to index there, three entries to prune
    run = app('index', os.path.join(folder, 'gone'), '--workspace', workspace, '--prune', check_exit=0)
    assert summary_of(run) == 'indexed 0 new, 0 updated, 0 unchanged, 0 failed, 3 pruned'
    assert sorted(stored_rows(workspace)) == [os.path.join(folder, os.path.basename(p)) for p in INDEX_IMAGES[3:5]]
