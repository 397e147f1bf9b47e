"""The merge functions without a Flow: shards' answers merged give one index's answer."""
import random

import numpy as np
import pytest

from executors.documents import ImageDoc, Match
from executors.shard_merger.merge import (is_table, merge_index, merge_results, merge_search, merge_unchanged,
                                          union_groups)
from executors.simple_indexer.executor import table_documents
from executors.simple_indexer.image_index import ImageIndex
from executors.simple_indexer.sharding import shard_of
from executors.simple_indexer.store import ImageRecord
from executors.view_pairs import HASHES_PER_VIEW, view_pairs


def _records(seed: int = 7):
    """Clusters of near copies (a few bits flipped), exact copies (same digest and hash, two
    paths), images without a uri, and strangers: every case the grouping distinguishes."""
    rng = random.Random(seed)
    records = []
    for cluster in range(40):
        base = rng.getrandbits(64)
        for copy in range(rng.randint(1, 4)):
            flipped = base
            for _ in range(rng.randint(0, 9)):
                flipped ^= 1 << rng.randrange(64)
            digest = f'{cluster:04d}-{copy}'
            uri = None if copy == 3 else f'/photos/{cluster:02d}/{copy}.jpg'
            records.append(ImageRecord(uri=uri, digest=digest, hash_size=8, hashes={'phash': f'{flipped:016x}'},
                                       width=rng.choice([640, 800]), height=480, byte_size=rng.randint(1000, 9000),
                                       mtime=rng.random()))
            if copy == 1:  # the same bytes again under another name
                records.append(ImageRecord(uri=f'/backup/{cluster:02d}.jpg', digest=digest, hash_size=8,
                                           hashes={'phash': f'{flipped:016x}'}, width=records[-1].width,
                                           height=480, byte_size=records[-1].byte_size, mtime=rng.random()))
    for record in records:  # views far from everything, but for one planted cropped copy below
        record.views = {f'phash.{view}': ''.join(f'{rng.getrandbits(64):016x}' for _ in range(HASHES_PER_VIEW[view]))
                        for view in ('crops', 'turns', 'centre', 'orientations')}
    crop = records[0].views['phash.crops'][16:32]
    records.append(ImageRecord(uri='/cropped/0.jpg', digest='cropped', hash_size=8, hashes={'phash': crop}, width=500,
                               height=400, byte_size=700, mtime=0.5, views={'phash.centre': f'{rng.getrandbits(64):016x}'}))
    for n in range(3):  # exact copies of an image near nothing else
        code = f'{rng.getrandbits(64):016x}'
        records += [ImageRecord(uri=f'/single/{n}-{k}.png', digest=f'single-{n}', hash_size=8, hashes={'phash': code},
                                width=100, height=100, byte_size=500, mtime=float(k)) for k in range(2)]
    return records


def _without_keys(groups):
    """Groups as they leave the indexer: the storage keys differ between one index and shards."""
    strip = lambda row: {name: value for name, value in row.items() if name != 'key'}
    return [dict(group, keep=strip(group['keep']), duplicates=[strip(row) for row in group['duplicates']])
            for group in groups]


@pytest.mark.parametrize('strict, keep, prefer, views', [(False, 'largest', [], False), (True, 'original', [], True),
                                                         (True, 'oldest', ['/backup'], False), (False, 'oldest', [], True)])
def test_union_of_shard_tables_groups_like_one_index(tmp_path, strict, keep, prefer, views):
    records = _records()
    whole = ImageIndex(str(tmp_path / 'whole.db'))
    whole.add(records)
    shards = [ImageIndex(str(tmp_path / f'shard{n}.db')) for n in range(3)]
    for n, shard in enumerate(shards):
        shard.add([record for record in records if shard_of(record.id, 3) == n])
    assert all(shard.store.count() for shard in shards)  # every shard holds a part
    pairs = view_pairs(views, rotations=views)
    # Made-up hashes carry no evidence for stage 2 (tests/test_dedup.py checks it across shards).
    expected = whole.duplicates('phash', 8, 12, strict=strict, keep=keep, prefer=prefer, pairs=pairs, verify=False)
    tables = [table_documents(shard, 'phash', 8, n, pairs, threshold=12, strict=strict, keep=keep, prefer=prefer,
                              verify=False)
              for n, shard in reversed(list(enumerate(shards)))]  # in any order
    assert all(is_table(table) for table in tables)
    merged = union_groups(tables)
    assert {group['kind'] for group in expected} == {'exact', 'near'}
    assert _without_keys(merged) == _without_keys(expected)
    cropped = [group for group in expected for row in group['duplicates'] + [group['keep']]
               if row['uri'] == '/cropped/0.jpg']
    # The cropped copy is grouped only when views count (strict grouping may leave it out: it is
    # near /photos/00/0.jpg, which need not be the kept file).
    assert len(cropped) == (views if not strict else len(cropped) and views)
    if cropped:
        assert {row['uri'] for row in cropped[0]['duplicates'] + [cropped[0]['keep']]} >= {'/photos/00/0.jpg'}


def test_search_answers_merge_by_distance_then_id_up_to_the_limit():
    found = [Match(id=f'{n:02d}', uri=f'/p/{n}', distance=distance)
             for n, distance in enumerate([5, 0, 3, 3, 9, 0, 7, 3])]
    answers = [[ImageDoc(id='q', matches=found[n::3])] for n in range(3)]
    merged = merge_search(answers, limit=5)
    expected = sorted(found, key=lambda match: (match.distance, match.id))[:5]
    assert [(m.id, m.distance) for m in merged[0].matches] == [(m.id, m.distance) for m in expected]


def test_index_answers_take_the_status_of_the_shard_that_stored_each_image():
    answers = [[ImageDoc(id='a', status='indexed'), ImageDoc(id='b'), ImageDoc(id='c', error='broken')],
               [ImageDoc(id='a'), ImageDoc(id='b', status='updated'), ImageDoc(id='c', error='broken')]]
    merged = merge_index(answers)
    assert [(doc.status, doc.error) for doc in merged] == [('indexed', None), ('updated', None), (None, 'broken')]


def test_summaries_add_up_counts_and_list_what_differs():
    results = [{'images': 3.0, 'hashes': {'phash': {'64': 3.0}}, 'workspace': '/w/0', 'shards': 2},
               {'images': 4.0, 'hashes': {'phash': {'64': 4.0}, 'ahash': {'64': 1.0}}, 'workspace': '/w/1', 'shards': 2}]
    merged = merge_results(results)
    assert merged['images'] == 7 and isinstance(merged['images'], int)
    assert merged['hashes'] == {'phash': {'64': 7}, 'ahash': {'64': 1}}
    assert merged['workspace'] == ['/w/0', '/w/1']


@pytest.mark.parametrize('views', [False, True])
def test_shards_pairing_broadcast_chunks_find_the_groups_of_one_index(tmp_path, views):
    """The broadcast join: pages of every shard's images (/entries) sent in chunks to every shard,
    each keeping the pairs that fall to it (/pairs), give one index's groups: no pair lost, none twice."""
    from executors.shard_merger.merge import entries_table, entry_key, group_entries, merge_entries
    from executors.simple_indexer.executor import entry_documents
    from executors.simple_indexer.sharding import SHARD_SPACE
    from executors.simple_indexer.view_join import ViewTable
    records, pairs = _records(), view_pairs(views)
    whole = ImageIndex(str(tmp_path / 'whole.db'))
    whole.add(records)
    shards = [ImageIndex(str(tmp_path / f'shard{n}.db')) for n in range(3)]
    for n, shard in enumerate(shards):
        shard.add([record for record in records if shard_of(record.id, 3) == n])
    entries, after = [], [-1, -1, -1]
    while page := merge_entries([entry_documents(shard, 'phash', 8, n, pairs, after[n], 7)
                                 for n, shard in enumerate(shards)]):
        entries += page
        for doc in page:
            after[doc.result['shard']] = max(after[doc.result['shard']], doc.result['key'])
    assert len(entries) == len(records)
    settings = {'hash_type': 'phash', 'hash_size': 8, 'pairs': pairs, 'strict': False, 'keep': 'original', 'prefer': [],
                'verify': False}
    table, found = entries_table(entries, settings), []
    for start in range(0, len(entries), 40):  # as the client sends them: a chunk packed in one document
        sent = ViewTable.unpacked(*table.subset([entry_key(d) for d in entries[start:start + 40]]).packed())
        for n, shard in enumerate(shards):
            own = shard.table('phash', 8, pairs)
            found.append(sent.pairs_across(own, 12, own.keys * SHARD_SPACE + n))
    a, b, bits = (np.concatenate(values).tolist() for values in zip(*found))
    assert len(set(zip(a, b))) == len(a), 'a pair was found twice'
    assert _without_keys(group_entries(entries, settings, pairs=(a, b, bits))) == \
        _without_keys(whole.duplicates('phash', 8, 12, pairs=pairs, strict=False, verify=False))


def test_a_file_is_unchanged_when_the_shard_that_holds_it_says_so():
    answers = [[ImageDoc(id='q', blob=b'1000')], [ImageDoc(id='q', blob=b'0010')], [ImageDoc(id='q', blob=b'0000')]]
    assert [doc.blob for doc in merge_unchanged(answers)] == [b'1010']
    assert [doc.blob for doc in merge_unchanged(answers[1:2])] == [b'0010']
