"""The dedup jobs: duplicate groups within the index, or leaks between the index and another set."""
import glob
import os
from typing import List, Tuple

from client.connection import Connection
from client.files import find_images
from client.jobs import send_files
from executors.documents import ImageDoc
from executors.simple_indexer.store import stored_hashes
from executors.view_pairs import QUERY_VIEWS
from reports.groups import group_of

MOST_MATCHES = 10_000  # the indexer's cap on matches per query


def duplicate_groups(connection: Connection, parameters: dict) -> List[dict]:
    """Groups as in groups.json, numbered from 1, exact groups first."""
    docs = connection.fetch('/duplicates', parameters)
    return [group_of(number, doc.status, doc, doc.matches) for number, doc in enumerate(docs, 1)]


def index_databases(workspace: str) -> List[str]:
    """The SQLite files of a workspace: WORKSPACE/SimpleIndexer/<shard>/index.db."""
    return sorted(glob.glob(os.path.join(workspace, '*', '*', 'index.db')))


def leak_groups(connection: Connection, against: str, parameters: dict,
                batch_size: int) -> Tuple[List[dict], List[Tuple[str, str]]]:
    """For each image of another set (a folder of images, or another workspace) that has copies in the
    index: a 'leak' group in which the other set's image is kept and the indexed copies are the duplicates.

    The two sets are never grouped together: only pairs across them count. Returns (groups, errors).
    """
    found, errors = {}, []
    databases = index_databases(against) if os.path.isdir(against) else []
    if databases:  # another workspace: its stored hashes are the queries, no image is decoded again
        stored = {}
        for database in databases:
            for row in stored_hashes(database, parameters['hash_type'], QUERY_VIEWS):
                stored[row['uri'] or row['digest']] = row
        labels, make_doc = list(stored), lambda label: ImageDoc(**stored[label])
    else:
        labels, problems = find_images([against])
        errors.extend(problems)
        make_doc = None

    def answered(label: str, doc: ImageDoc) -> None:
        if doc.error:
            errors.append((label, doc.error))
        else:
            found[label] = doc

    send_files(connection, '/search', labels, dict(parameters, limit=MOST_MATCHES), batch_size, answered,
               lambda label, reason: errors.append((label, reason)), 'checking', make_doc=make_doc)
    leaking = [found[label] for label in labels if label in found and found[label].matches]
    return [group_of(number, 'leak', doc, doc.matches) for number, doc in enumerate(leaking, 1)], errors
