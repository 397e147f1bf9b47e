"""The dedup jobs: duplicate groups within the index, or leaks between the index and another set."""
import glob
import os
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np

from client.connection import Connection
from client.files import find_images
from client.jobs import Progress, send_files
from client.sync import is_missing
from executors.documents import ImageDoc
from executors.match import Evidence, evidence_of_doc
from executors.parameters import KNOWN_PARAMETERS
from executors.shard_merger.merge import entries_table, entry_key, group_entries
from executors.simple_indexer.executor import MAX_LIMIT, group_document
from executors.simple_indexer.store import stored_hashes
from executors.uris import file_uri
from executors.view_pairs import QUERY_VIEWS, view_pairs
from reports.groups import group_of

PAIRS_CHUNK = 20_000  # images sent to every shard per /pairs request: 10-20 MB
EVIDENCE_CHUNK = 5_000  # images asked for per /evidence request: 8 MB back


def duplicate_groups(connection: Connection, parameters: dict, shards: int = 1, images: int = 0) -> List[dict]:
    """Groups as in groups.json, numbered from 1, exact groups first. With several shards the
    shards search the pairs among themselves (groups_across_shards); with one, /duplicates."""
    if shards > 1:
        docs = [group_document(group) for group in groups_across_shards(connection, parameters, shards, images)]
    else:
        docs = connection.fetch('/duplicates', parameters)
    return [group_of(number, doc.status, doc, doc.matches) for number, doc in enumerate(docs, 1)]


def groups_across_shards(connection: Connection, parameters: dict, shards: int, images: int) -> List[dict]:
    """The broadcast join of executors/shard_merger/README.md: every stored image, a page at a
    time from all shards (/entries), goes back to every shard in chunks (/pairs), and each shard
    returns the pairs between the chunk and its own images that fall to it, so the pair search
    divides among the shards. Here: only the images' rows and hashes, the pairs, and the grouping
    (grouping.py, the same functions as one index's)."""
    entries, after = [], [-1] * shards
    progress = Progress('reading', images)
    while page := connection.fetch('/entries', dict(parameters, after=after)):  # the shards' own page size
        entries.extend(page)
        for doc in page:
            shard = int(doc.result.get('shard', 0))
            after[shard] = max(after[shard], int(doc.result['key']))
        progress.advance(len(page))
    if not entries:
        return []
    settings = dict(parameters, hash_size=entries[0].hash_size, hash_type=parameters.get('hash_type', 'phash'),
                    pairs=view_pairs(parameters.get('views', True), parameters.get('rotations', False)))
    table = entries_table(entries, settings)
    found = []
    searching = Progress('pairing', len(entries))
    for start in range(0, len(entries), PAIRS_CHUNK):
        chunk = entries[start:start + PAIRS_CHUNK]
        header, data = table.subset([entry_key(doc) for doc in chunk]).packed()
        for doc in connection.fetch('/pairs', parameters, docs=[ImageDoc(result=header, blob=data)]):
            found.append(np.frombuffer(doc.blob or b'', dtype='<i8').reshape(-1, 3))
        searching.advance(len(chunk))
    keys = np.concatenate(found) if found else np.empty((0, 3), dtype=np.int64)
    pairs = keys[:, 0].tolist(), keys[:, 1].tolist(), keys[:, 2].tolist()  # (key, key, stage-1 bits)
    evidence = pair_evidence(connection, parameters, set(pairs[0]) | set(pairs[1])) if settings.get('verify', True) else {}
    return group_entries(entries, settings, pairs=pairs, table=table, evidence=evidence)


def pair_evidence(connection: Connection, parameters: dict, keys) -> Dict[int, Evidence]:
    """The match decision's evidence of the images in the pairs found (only those: a few of the
    collection), from the shards that hold them (/evidence), by key across shards."""
    keys, evidence = sorted(keys), {}
    for start in range(0, len(keys), EVIDENCE_CHUNK):
        for doc in connection.fetch('/evidence', dict(parameters, keys=keys[start:start + EVIDENCE_CHUNK])):
            found = evidence_of_doc(doc)
            if found is not None:
                evidence[entry_key(doc)] = found
    return evidence


def without_missing_files(groups: List[dict]) -> List[dict]:
    """The groups without the members whose files are no longer on this disk (deleted or moved
    since they were indexed), renumbered, with a note on stderr: reports must not offer to remove
    a file that is gone. A group whose kept file is gone is left out whole, since its duplicates
    may be the last copies of the picture; pruning the index and running dedup again groups them
    anew. Leak groups keep the other set's image in any case (it may live on another machine)."""
    missing, dropped, present = set(), 0, []
    for group in groups:
        gone = [m['uri'] for m in [group['keep']] + group['duplicates'] if is_missing(m['uri'])]
        missing.update(gone)
        if group['kind'] != 'leak' and group['keep']['uri'] in gone:
            dropped += 1
            continue
        duplicates = [m for m in group['duplicates'] if m['uri'] not in gone]
        if duplicates:
            present.append(dict(group, group=len(present) + 1, duplicates=duplicates))
    if missing:
        left_out = f'; {dropped} group{"s" * (dropped != 1)} whose kept file is missing left out' if dropped else ''
        print(f'note: {len(missing)} indexed file{"s are" if len(missing) != 1 else " is"} missing (e.g. '
              f'{min(missing)}) and not in the reports{left_out}; `python app.py index FOLDER --prune` '
              f'removes their entries', file=sys.stderr)
    return present


def index_databases(workspace: str) -> List[str]:
    """The SQLite files of a workspace: WORKSPACE/SimpleIndexer/<shard>/index.db."""
    return sorted(glob.glob(os.path.join(workspace, '*', '*', 'index.db')))


class NothingToCheck(Exception):
    """dedup --against names a folder with nothing in it to check."""


def leak_groups(connection: Connection, against: str, parameters: dict, batch_size: int,
                image_column: Optional[str] = None) -> Tuple[List[dict], List[Tuple[str, str]], List[str]]:
    """For each image of another set (a folder of images, an archive or Parquet file, or another
    workspace) that has copies in the
    index: a 'leak' group in which the other set's image is kept and the indexed copies are the duplicates.

    The two sets are never grouped together: only pairs across them count. A file that is in both
    sets (the same path) is no copy of itself, and is no duplicate to remove either: removing it
    would take it from both sets. Returns (groups, errors, the files in both sets).
    """
    found, errors = {}, []
    databases = index_databases(against) if os.path.isdir(against) else []
    if databases:  # another workspace: its stored hashes are the queries, no image is decoded again
        stored = {}
        for database in databases:
            for row in stored_hashes(database, parameters['hash_type'], QUERY_VIEWS):
                stored[row['uri'] or row['digest']] = row
        sources, make_doc = list(stored), lambda label: ImageDoc(**stored[label])
    else:
        sources, problems = find_images([against], image_column)
        errors.extend(problems)
        if not sources:  # a check of nothing must not pass as "no leak"
            raise NothingToCheck(f'{against} is no workspace and holds no image files')
        make_doc = None
    labels = []  # the other set's images as they are sent: an archive's are known only once read

    def answered(label: str, doc: ImageDoc) -> None:
        if doc.error:
            errors.append((label, doc.error))
        else:
            found[label] = doc

    search_parameters = {name: value for name, value in parameters.items() if name in KNOWN_PARAMETERS['/search']}
    send_files(connection, '/search', sources, dict(search_parameters, limit=MAX_LIMIT), batch_size, answered,
               lambda label, reason: errors.append((label, reason)), 'checking', make_doc=make_doc,
               on_taken=labels.append)
    other_set = {file_uri(label) for label in labels} - {None}  # as the index spells them (stored uris already are)
    in_both = sorted({match.uri for doc in found.values() for match in doc.matches if match.uri in other_set})
    groups = []
    for label in labels:
        copies = [match for match in found[label].matches if match.uri not in other_set] if label in found else []
        if copies:
            groups.append(group_of(len(groups) + 1, 'leak', found[label], copies))
    return groups, errors, in_both
