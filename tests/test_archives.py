"""Datasets in archives and Parquet files (README, "Datasets in archives and Parquet"): a WebDataset
tar, a zip and a Hugging Face Parquet file built from data/index are indexed and searched as the
folder is, their images named ARCHIVE::MEMBER, and dedup reports and leaks name them the same way."""
import csv
import hashlib
import io
import json
import os
import re
import shutil
import tarfile

import pytest

from client.archives import Archive, located_members, members, read_member
from client.files import find_images, is_image_name
from client.jobs import documents
from tests.datasets import hugging_face_parquet, image_zip, webdataset_tar
from tests.images import DATA, INDEX_IMAGES, QUERY_IMAGES
from tests.server import served
from tests.test_cli import app, search_json

BUILDERS = {'tar': lambda folder: webdataset_tar(os.path.join(folder, 'shard-000000.tar'), INDEX_IMAGES),
            'tar.gz': lambda folder: webdataset_tar(os.path.join(folder, 'shard-000000.tar.gz'), INDEX_IMAGES),
            'zip': lambda folder: image_zip(os.path.join(folder, 'photos.zip'), INDEX_IMAGES),
            'parquet': lambda folder: hugging_face_parquet(os.path.join(folder, 'train-00000.parquet'), INDEX_IMAGES)}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_of(uri: str) -> str:
    """The digest of the image a uri names: a file's, or an archive member's bytes."""
    if '::' in uri:
        return sha(read_member(uri))
    with open(uri, 'rb') as file:
        return sha(file.read())


def matched_contents(results) -> dict:
    """query name -> the images it matched, by content, nearest first (ties by content)."""
    return {os.path.basename(r['query']): sorted((m['distance'], content_of(m['uri'])) for m in r['matches'])
            for r in results}


@pytest.fixture(scope='module')
def datasets(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp('datasets'))
    return {kind: build(folder) for kind, build in BUILDERS.items()}


@pytest.fixture(scope='module')
def folder_matches(tmp_path_factory):
    workspace = str(tmp_path_factory.mktemp('folder') / 'workspace')
    app('index', os.path.join(DATA, 'index'), '--workspace', workspace, check_exit=0)
    return matched_contents(search_json(workspace))


def test_every_member_uri_names_its_image_and_reads_back_its_bytes(datasets):
    originals = {sha(open(image, 'rb').read()) for image in INDEX_IMAGES}
    expected = {'tar': r'shard-000000\.tar::[a-z]+1\.jpg', 'tar.gz': r'shard-000000\.tar\.gz::[a-z]+1\.jpg',
                'zip': r'photos\.zip::photos/[a-z]+1\.jpg', 'parquet': r'train-00000\.parquet::row=\d'}
    for kind, path in datasets.items():
        found = list(members(Archive.at(path), is_image_name))
        assert [member.error for member in found] == [None] * len(INDEX_IMAGES), kind  # no .json, README, label
        assert all(re.fullmatch(re.escape(os.path.dirname(path)) + '/' + expected[kind], m.uri) for m in found), kind
        assert {sha(member.data) for member in found} == originals, kind
        assert all(read_member(member.uri) == member.data for member in found), kind  # the uri round-trips
    rows = [member.uri.rsplit('=', 1)[1] for member in members(Archive.at(datasets['parquet']), is_image_name)]
    assert rows == [str(row) for row in range(len(INDEX_IMAGES))]  # rows in file order, across row groups of 4


@pytest.mark.parametrize('kind', ['tar', 'zip', 'parquet'])
def test_an_archive_indexed_finds_the_same_matches_as_the_folder(kind, datasets, folder_matches, tmp_path):
    workspace = str(tmp_path / 'workspace')
    run = app('index', datasets[kind], '--workspace', workspace, check_exit=0)
    assert f'indexed {len(INDEX_IMAGES)} new, 0 updated, 0 unchanged, 0 failed' in run.stderr
    results = search_json(workspace)
    assert all(m['uri'].startswith(datasets[kind] + '::') for r in results for m in r['matches'])
    assert matched_contents(results) == folder_matches
    assert sum(1 for matches in folder_matches.values() if matches) == len(QUERY_IMAGES) - 3  # 3 have no original


def test_an_unchanged_archive_is_not_read_again_and_a_changed_one_is(datasets, tmp_path):
    shard = shutil.copy(datasets['tar'], tmp_path / 'shard.tar')
    workspace = str(tmp_path / 'workspace')
    app('index', shard, '--workspace', workspace, check_exit=0)
    again = app('index', shard, '--workspace', workspace, check_exit=0)
    assert again.stderr.splitlines()[-1] == 'indexed 0 new, 0 updated, 1 unchanged, 0 failed'  # no Flow started
    os.utime(shard, (1e9, 1e9))  # rewritten, as far as size and time tell
    touched = app('index', shard, '--workspace', workspace, check_exit=0)
    assert f'indexed 0 new, {len(INDEX_IMAGES)} updated, 0 unchanged' in touched.stderr
    forgotten = app('forget', shard, '--workspace', workspace, check_exit=0)
    assert f'forgot {len(INDEX_IMAGES)} indexed images' in forgotten.stderr
    back = app('index', shard, '--workspace', workspace, check_exit=0)  # forgotten: read again, not "unchanged"
    assert f'indexed {len(INDEX_IMAGES)} new, 0 updated, 0 unchanged' in back.stderr


def test_a_member_that_is_no_image_fails_alone_and_keeps_its_archive_to_be_read_again(tmp_path):
    shard = str(tmp_path / 'broken.tar')
    webdataset_tar(shard, INDEX_IMAGES[:3])
    with tarfile.open(shard, 'a') as tar:
        info = tarfile.TarInfo('zzz-broken.jpg')
        garbage = b'not a jpeg at all' * 10
        info.size = len(garbage)
        tar.addfile(info, io.BytesIO(garbage))
    workspace = str(tmp_path / 'workspace')
    run = app('index', shard, '--workspace', workspace, '--errors', str(tmp_path / 'errors.json'), check_exit=3)
    assert re.search(rf'^error: {re.escape(shard)}::zzz-broken\.jpg: ', run.stderr, re.M), run.stderr
    assert 'indexed 3 new, 0 updated, 0 unchanged, 1 failed' in run.stderr
    assert [e['path'] for e in json.load(open(tmp_path / 'errors.json'))] == [shard + '::zzz-broken.jpg']
    again = app('index', shard, '--workspace', workspace, check_exit=3)  # not read through: not skipped
    assert 'indexed 0 new, 3 updated, 0 unchanged, 1 failed' in again.stderr


def test_a_truncated_archive_and_a_parquet_file_without_images_are_said_in_words(datasets, tmp_path):
    truncated = tmp_path / 'cut.tar'
    truncated.write_bytes(open(datasets['tar'], 'rb').read()[:200_000])  # cut inside the third image
    found = list(members(Archive.at(str(truncated)), is_image_name))
    assert [m.error for m in found[:-1]] == [None] * (len(found) - 1) and len(found) >= 2
    assert found[-1].uri == str(truncated) and found[-1].error.startswith('cannot read the archive after ')

    import pyarrow as pa
    import pyarrow.parquet as pq
    labels = str(tmp_path / 'labels.parquet')
    pq.write_table(pa.table({'label': ['a', 'b']}), labels)
    [member] = members(Archive.at(labels), is_image_name)
    assert member.uri == labels and 'no column holds image bytes (columns: label (string))' in member.error
    [member] = members(Archive.at(datasets['parquet'], 'label'), is_image_name)
    assert member.error == 'column label is string, not image bytes (binary, or a struct with a binary "bytes" field)'


def test_a_local_flow_is_sent_a_plain_tars_members_by_offset_with_the_streams_uris_and_errors(datasets, tmp_path):
    """located_members lists a plain tar's headers alone and gives where each image's data starts;
    what it finds, and what it says of a damaged tar, is what the one-pass stream finds and says,
    wherever the tar is cut (in a header, in an image, in a label, in the padding)."""
    whole = open(datasets['tar'], 'rb').read()
    cut = tmp_path / 'cut.tar'
    headers = [info.offset for info in tarfile.open(datasets['tar']).getmembers()]
    points = sorted({len(whole)} | set(range(0, len(whole), 4099))
                    | {at + delta for at in headers for delta in (0, 1, 511, 512, 513, 1024, 1536, 2048)})
    for point in points:
        cut.write_bytes(whole[:point])
        streamed = list(members(Archive.at(str(cut)), is_image_name))
        located = list(located_members(Archive.at(str(cut)), is_image_name))
        assert [(m.uri, m.error) for m in located] == [(m.uri, m.error) for m in streamed], point
        for found, read in zip(located, streamed):
            if read.error is None:
                assert found.data is None and found.offset % 512 == 0, point
                assert whole[found.offset:found.offset + len(read.data)] == read.data, point
    whole_tar = list(located_members(Archive.at(datasets['tar']), is_image_name))
    assert len(whole_tar) == len(INDEX_IMAGES) and all(m.error is None and m.offset for m in whole_tar)

    # Compressed archives cannot be read by a seek: their bytes are read and sent, as a remote Flow's.
    gzipped_as_tar = shutil.copy(datasets['tar.gz'], tmp_path / 'gzipped.tar')
    for path in (datasets['tar.gz'], datasets['zip'], datasets['parquet'], gzipped_as_tar):
        located = list(located_members(Archive.at(str(path)), is_image_name))
        assert [m.data for m in located] == [m.data for m in members(Archive.at(str(path)), is_image_name)], path
        assert len(located) == len(INDEX_IMAGES) and all(m.offset is None and m.data for m in located), path

    # documents(): offsets to a local Flow, bytes to a remote one; the same uris and archive mtime.
    [archive] = find_images([datasets['tar']])[0]
    local = [doc for _, doc, _ in documents([archive], None, remote=False)]
    remote = [doc for _, doc, _ in documents([archive], None, remote=True)]
    assert [d.uri for d in local] == [d.uri for d in remote] and len(local) == len(INDEX_IMAGES)
    assert all(d.blob is None and d.member_offset and d.mtime == archive.mtime for d in local)
    assert all(d.blob and d.member_offset is None and d.mtime == archive.mtime for d in remote)


def test_image_column_and_files_from(tmp_path):
    parquet = hugging_face_parquet(str(tmp_path / 'two-columns.parquet'), INDEX_IMAGES[:2], thumbnails=True)
    found = list(members(Archive.at(parquet, 'thumbnail'), is_image_name))
    assert [m.uri for m in found] == [parquet + '::row=0;column=thumbnail', parquet + '::row=1;column=thumbnail']
    assert [read_member(m.uri) for m in found] == [open(image, 'rb').read() for image in INDEX_IMAGES[:2]]

    listing = tmp_path / 'list.txt'
    listing.write_text(f'{parquet}\n\n{INDEX_IMAGES[2]}\n')
    workspace = str(tmp_path / 'workspace')
    run = app('index', '--files-from', str(listing), '--image-column', 'thumbnail', '--workspace', workspace,
              check_exit=0)
    assert 'indexed 3 new, 0 updated, 0 unchanged, 0 failed' in run.stderr
    assert app('index', '--workspace', workspace, check_exit=2).stderr.startswith(
        'app.py index: error: name the images: PATH..., or --files-from FILE')
    sources, problems = find_images([parquet, INDEX_IMAGES[0]])
    assert isinstance(sources[0], Archive) and sources[1] == INDEX_IMAGES[0] and not problems


def test_dedup_against_a_folder_finds_the_leaks_into_a_tar_and_moves_none_of_them(datasets, tmp_path):
    shard = datasets['tar']
    before = open(shard, 'rb').read()
    workspace, output = str(tmp_path / 'workspace'), str(tmp_path / 'out')
    app('index', shard, '--workspace', workspace, check_exit=0)
    run = app('dedup', '--workspace', workspace, '--against', os.path.join(DATA, 'query'), '--output', output,
              '--move-to', str(tmp_path / 'moved'), check_exit=0)
    groups = json.load(open(os.path.join(output, 'groups.json')))
    leaked = {os.path.basename(g['keep']['uri']): [d['uri'] for d in g['duplicates']] for g in groups}
    originals = {os.path.basename(p): p for p in INDEX_IMAGES}
    assert len(leaked) == len(QUERY_IMAGES) - 3  # every copy in the test set, nothing for the 3 strangers
    for query, copies in leaked.items():  # each test image leaked as its original, inside the shard
        original = re.sub(r'\d+\..*$', '1.jpg', query)
        assert copies == [f'{shard}::{original}'] and original in originals
    removed = open(os.path.join(output, 'remove.txt')).read().splitlines()
    assert sorted(removed) == sorted({copy for copies in leaked.values() for copy in copies})
    rows = list(csv.DictReader(open(os.path.join(output, 'duplicates.csv'))))
    assert {row['uri'] for row in rows if row['role'] == 'duplicate'} == set(removed)
    # The thumbnails of report.html and the contact sheets are the members' own pictures.
    page = open(os.path.join(output, 'report.html')).read()
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
                      .group(1).replace('<\\/', '</'))
    assert all(data['thumbnails'][uri].startswith('data:image/jpeg;base64,') for uri in removed)
    assert len(os.listdir(os.path.join(output, 'groups'))) == len(groups)
    # --move-to: nothing is rewritten inside an archive, and the line says so.
    assert re.search(rf'^not moved: {len(removed)} images inside archives or Parquet files \(e\.g\. ', run.stderr, re.M)
    assert open(shard, 'rb').read() == before and not os.path.exists(tmp_path / 'moved')


def test_a_served_flow_with_two_shards_is_sent_the_members_and_skips_the_unchanged_archive(datasets, tmp_path):
    """With --host the bytes go over gRPC, the check is /unchanged and the record /archived,
    which every shard keeps (each answers for its share of the archive's images)."""
    workspace = str(tmp_path / 'workspace')
    with served(workspace, '--shards', '2') as (_, grpc_port, _):
        host = f'127.0.0.1:{grpc_port}'
        first = app('index', datasets['zip'], '--host', host, check_exit=0)
        assert f'indexed {len(INDEX_IMAGES)} new, 0 updated, 0 unchanged, 0 failed' in first.stderr
        # A plain tar's members go as bytes too: this server reads no path (no --allow-root), so a
        # member sent by its offset, as to a local Flow, would fail.
        shard = app('index', datasets['tar'], '--host', host, check_exit=0)
        assert f'indexed {len(INDEX_IMAGES)} new, 0 updated, 0 unchanged, 0 failed' in shard.stderr
        again = app('index', datasets['zip'], '--host', host, check_exit=0)
        assert 'indexed 0 new, 0 updated, 1 unchanged, 0 failed' in again.stderr
        found = json.loads(app('search', INDEX_IMAGES[0], '--host', host, '--format', 'json', check_exit=0).stdout)
        name = os.path.basename(INDEX_IMAGES[0])
        assert {m['uri'] for m in found[0]['matches'] if m['distance'] == 0} == {
            f'{datasets["zip"]}::photos/{name}', f'{datasets["tar"]}::{name}'}
