"""app.py end to end on data/, each command a separate process as a user runs it."""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from executors.parameters import default_threshold
from tests.images import DATA, INDEX_IMAGES, QUERY_IMAGES, REPOSITORY, original_of
from tests.server import served


def app(*args, check_exit=None):
    run = subprocess.run([sys.executable, os.path.join(REPOSITORY, 'app.py'), *args],
                         capture_output=True, text=True, timeout=300)
    if check_exit is not None:
        assert run.returncode == check_exit, run.stderr
    return run


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    workspace = str(tmp_path_factory.mktemp('cli') / 'workspace')
    run = app('index', os.path.join(DATA, 'index'), '--workspace', workspace, check_exit=0)
    assert f'indexed {len(INDEX_IMAGES)} new, 0 updated, 0 unchanged, 0 failed' in run.stderr
    # The work's time and the Flow's start, which the work's time leaves out.
    assert re.search(rf'\({len(INDEX_IMAGES)} images hashed in [\d.]+ s, [\d.]+ images/s\); the Flow took [\d.]+ s to start$',
                     run.stderr.splitlines()[-1]), run.stderr
    return workspace


def search_json(workspace, *extra):
    run = app('search', os.path.join(DATA, 'query'), '--workspace', workspace, '--format', 'json', *extra,
              check_exit=0)
    assert run.stdout.endswith(']\n')  # text output ends its last line
    return json.loads(run.stdout)


def test_every_copy_finds_its_original_first_and_strangers_find_nothing(workspace):
    results = search_json(workspace)
    assert [r['query'] for r in results] == [os.path.join(DATA, 'query', os.path.basename(p)) for p in QUERY_IMAGES]
    for result in results:
        assert result['error'] is None
        original = original_of(result['query'])
        if original:
            assert result['matches'][0]['uri'] == original, result
            distances = [m['distance'] for m in result['matches']]
            assert distances == sorted(distances) and distances[-1] <= default_threshold('phash', 64)
        else:
            assert result['matches'] == [], result


def test_indexing_again_updates_instead_of_adding(workspace):
    run = app('index', os.path.join(DATA, 'index'), '--workspace', workspace, '--rehash', check_exit=0)
    assert f'indexed 0 new, {len(INDEX_IMAGES)} updated, 0 unchanged, 0 failed' in run.stderr
    status = json.loads(app('status', '--workspace', workspace, check_exit=0).stdout)
    assert status['images'] == len(INDEX_IMAGES)


def test_csv_output_to_a_file_with_threshold_and_limit(workspace, tmp_path):
    out = tmp_path / 'results.csv'
    app('search', os.path.join(DATA, 'query'), '--workspace', workspace, '--format', 'csv', '--output', str(out),
        '--threshold', '64', '--limit', '2', '--no-verify', check_exit=0)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 2 * len(QUERY_IMAGES)  # stage 1 alone: threshold 64 admits everything, limit keeps two
    assert set(rows[0]) == {'query', 'match_uri', 'match_id', 'distance', 'error'}
    # The match decision confirms only each copy's original, whatever stage 1 lets through.
    app('search', os.path.join(DATA, 'query'), '--workspace', workspace, '--format', 'csv', '--output', str(out),
        '--threshold', '64', '--limit', '2', check_exit=0)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == len(QUERY_IMAGES)
    for row in rows:
        original = original_of(row['query'])
        assert row['match_uri'] == (original or ''), row


def test_table_output_names_the_match(workspace):
    run = app('search', QUERY_IMAGES[0], '--workspace', workspace, check_exit=0)
    assert os.path.basename(original_of(QUERY_IMAGES[0])) in run.stdout
    assert 'searched 1 image: 1 with matches, 0 without, 0 failed' in run.stderr


def test_broken_and_missing_files_are_reported_and_the_rest_indexed(tmp_path):
    folder = tmp_path / 'mixed'
    folder.mkdir()
    shutil.copy(INDEX_IMAGES[0], folder / 'good.jpg')
    (folder / 'broken.jpg').write_bytes(open(INDEX_IMAGES[1], 'rb').read()[:2000])
    (folder / 'empty.png').write_bytes(b'')
    run = app('index', str(folder), str(tmp_path / 'missing'), '--workspace', str(tmp_path / 'ws'), check_exit=3)
    assert 'indexed 1 new, 0 updated, 0 unchanged, 2 failed' in run.stderr
    assert f'error: {folder / "broken.jpg"}: corrupt or truncated' in run.stderr
    assert f'error: {folder / "empty.png"}: empty file' in run.stderr
    assert f'error: {tmp_path / "missing"}: no such file or folder' in run.stderr
    assert app('index', str(tmp_path / 'missing'), '--workspace', str(tmp_path / 'ws')).returncode == 1


def test_wrong_usage_exits_2_with_a_message():
    run = app('search', 'x.jpg', '--format', 'xml')
    assert run.returncode == 2 and 'invalid choice' in run.stderr


def test_a_served_flow_answers_remote_clients_like_the_local_one_and_stops_whole(workspace, tmp_path):
    with served(workspace) as (server, grpc_port, _):
        remote = search_json(workspace, '--host', f'127.0.0.1:{grpc_port}')
        assert remote == search_json(workspace)
        # A request the Flow refuses (a threshold the client cannot check: the remote hash size is
        # unknown to it) is one line with the Flow's reason, not the client's traceback.
        refused = app('dedup', '--workspace', workspace, '--host', f'127.0.0.1:{grpc_port}', '--threshold', '100',
                      '--output', str(tmp_path / 'out'), check_exit=1)
        assert refused.stderr == 'error: the Flow refused the request: threshold must be between 0 and 64, not 100\n'
        server.terminate()  # SIGTERM, as `kill` and service managers stop a server
        server.wait(timeout=60)
        deadline = time.monotonic() + 30
        while group_alive(server.pid):  # the executors must not outlive the gateway
            assert time.monotonic() < deadline, 'executor processes outlived `serve` after SIGTERM'
            time.sleep(0.2)


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
