"""Looking inside a workspace's SQLite database the way an operator would, with sqlite3 itself."""
import os
import sqlite3
from collections import Counter

from client.workspace import INDEX_DB


def database(workspace: str) -> str:
    return os.path.join(workspace, INDEX_DB)


def integrity(workspace: str) -> str:
    """'ok', or SQLite's list of what is damaged."""
    db = sqlite3.connect(database(workspace))
    try:
        return '; '.join(row[0] for row in db.execute('PRAGMA integrity_check'))
    finally:
        db.close()


def stored(workspace: str, columns: str = 'uri') -> list:
    """Every row of the images table, as tuples of `columns`."""
    db = sqlite3.connect(database(workspace))
    try:
        return db.execute(f'SELECT {columns} FROM images').fetchall()
    finally:
        db.close()


def stored_uris(workspace: str) -> Counter:
    """How many rows each uri has: a sound index has one each."""
    return Counter(uri for uri, in stored(workspace))
