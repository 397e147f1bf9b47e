"""Scaling out: shards and replicas change nothing in the answers; the cluster exports are valid.

The same photos indexed with 1 shard and with 3 give the same search results and the same
duplicate groups (as the command line writes them); 2 hasher replicas store the same hashes
as 1; deploy/export.py runs `jina export` for Kubernetes and Docker Compose and writes YAML
naming every executor.
"""
import glob
import json
import os
import sqlite3
import subprocess
import sys

import pytest
import yaml

from executors.simple_indexer.sharding import shard_of
from tests.images import DATA, INDEX_IMAGES, QUERY_IMAGES, REPOSITORY

ALL_IMAGES = INDEX_IMAGES + QUERY_IMAGES


def app(*args):
    run = subprocess.run([sys.executable, os.path.join(REPOSITORY, 'app.py'), *args],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return run


def stored(workspace: str) -> dict:
    """uri -> (shard folder, its four hashes) over every shard database of a workspace."""
    rows = {}
    for database in glob.glob(os.path.join(workspace, 'SimpleIndexer', '*', 'index.db')):
        db = sqlite3.connect(database)
        for uri, *hashes in db.execute('SELECT uri, ahash, phash, dhash, whash FROM images'):
            rows[uri] = (int(os.path.basename(os.path.dirname(database))), tuple(hashes))
        db.close()
    return rows


@pytest.fixture(scope='module')
def workspaces(tmp_path_factory):
    """{(shards, replicas): workspace} with data/index and data/query indexed."""
    made = {}
    for shards, replicas in [(1, 1), (3, 1), (1, 2)]:
        workspace = str(tmp_path_factory.mktemp(f'shards{shards}-replicas{replicas}') / 'workspace')
        run = app('index', os.path.join(DATA, 'index'), os.path.join(DATA, 'query'), '--workspace', workspace,
                  '--shards', str(shards), '--replicas', str(replicas))
        assert f'indexed {len(ALL_IMAGES)} new, 0 updated, 0 unchanged, 0 failed' in run.stderr
        made[shards, replicas] = workspace
    return made


def test_three_shards_split_the_images_by_id_and_search_like_one(workspaces):
    rows = stored(workspaces[3, 1])
    assert sorted(rows) == sorted(os.path.abspath(path) for path in ALL_IMAGES)
    assert {shard for shard, _ in rows.values()} == {0, 1, 2}
    from executors.simple_indexer.store import image_id
    assert all(shard == shard_of(image_id(uri, None), 3) for uri, (shard, _) in rows.items())
    answers = [app('search', os.path.join(DATA, 'query'), '--workspace', workspaces[shards, 1], '--shards', str(shards),
                   '--format', 'json', '--threshold', '28', '--limit', '4').stdout for shards in (1, 3)]
    results = json.loads(answers[0])
    assert sum(len(result['matches']) for result in results) > len(QUERY_IMAGES)  # strangers too: a real merge
    assert answers[0] == answers[1]


@pytest.mark.parametrize('options', [[], ['--rotations', '--strict'],
                                     ['--no-views', '--strict', '--threshold', '24', '--prefer', os.path.join(DATA, 'index')]])
def test_three_shards_find_the_same_duplicate_groups_as_one(workspaces, tmp_path, options):
    groups = []
    for shards in (1, 3):
        out = str(tmp_path / f'dedup{shards}')
        app('dedup', '--workspace', workspaces[shards, 1], '--shards', str(shards), '--output', out,
            '--max-sheets', '0', *options)
        with open(os.path.join(out, 'groups.json')) as file:
            groups.append(json.load(file))
    assert len(groups[0]) >= 8 and all(group['duplicates'] for group in groups[0])
    assert groups[0] == groups[1]


def test_status_sums_the_shards(workspaces):
    status = json.loads(app('status', '--workspace', workspaces[3, 1], '--shards', '3').stdout)
    assert status['images'] == len(ALL_IMAGES) and status['shards'] == 3
    assert status['hashes']['phash'] == {'64': len(ALL_IMAGES)}


def test_a_workspace_is_refused_with_another_number_of_shards(workspaces):
    run = subprocess.run([sys.executable, os.path.join(REPOSITORY, 'app.py'), 'status', '--workspace',
                          workspaces[3, 1], '--shards', '2'], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and 'another number of shards' in run.stderr  # wrong usage: the Flow never starts


def test_two_hasher_replicas_store_the_same_hashes_as_one(workspaces):
    one, two = stored(workspaces[1, 1]), stored(workspaces[1, 2])
    assert len(one) == len(ALL_IMAGES) and one == two


def _documents(path):
    with open(path) as file:
        return [doc for doc in yaml.safe_load_all(file) if doc]


def test_kubernetes_export_names_every_executor_and_gives_each_shard_a_volume(tmp_path):
    out = str(tmp_path / 'k8s')
    subprocess.run([sys.executable, os.path.join(REPOSITORY, 'deploy', 'export.py'), 'kubernetes', out],
                   check=True, capture_output=True, timeout=300)
    documents = {os.path.relpath(path, out): _documents(path) for path in glob.glob(os.path.join(out, '*', '*.yml'))}
    deployments = {doc['metadata']['name']: doc for docs in documents.values() for doc in docs
                   if doc['kind'] == 'Deployment'}
    assert set(deployments) == {'gateway', 'hasher', 'indexer-head', 'indexer-0', 'indexer-1', 'indexer-2'}
    images = {name: [c['image'] for c in doc['spec']['template']['spec']['containers']]
              for name, doc in deployments.items()}
    assert images['hasher'] == ['neardup-hasher:latest']
    assert 'neardup-merger:latest' in images['indexer-head']  # the shard merger runs beside the head
    claims = {doc['metadata']['name'] for docs in documents.values() for doc in docs
              if doc['kind'] == 'PersistentVolumeClaim'}
    assert claims == {'indexer-0-workspace', 'indexer-1-workspace', 'indexer-2-workspace'}
    for shard in range(3):
        assert images[f'indexer-{shard}'] == ['neardup-indexer:latest']
        pod = deployments[f'indexer-{shard}']['spec']['template']['spec']
        assert pod['volumes'] == [{'name': 'workspace', 'persistentVolumeClaim': {'claimName': f'indexer-{shard}-workspace'}}]


def test_docker_compose_export_names_every_executor_and_gives_each_shard_a_volume(tmp_path):
    out = str(tmp_path / 'docker-compose.yml')
    subprocess.run([sys.executable, os.path.join(REPOSITORY, 'deploy', 'export.py'), 'docker-compose', out],
                   check=True, capture_output=True, timeout=300)
    services = _documents(out)[0]['services']
    assert set(services) == {'gateway', 'hasher-rep-0', 'hasher-rep-1', 'indexer-head', 'indexer-uses-after',
                             'indexer-0', 'indexer-1', 'indexer-2'}
    assert services['indexer-uses-after']['image'] == 'neardup-merger:latest'
    assert [services[f'indexer-{n}']['volumes'] for n in range(3)] == [[f'indexer-{n}-workspace:/workspace']
                                                                       for n in range(3)]
