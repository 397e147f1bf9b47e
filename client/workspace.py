"""Checking a workspace before a Flow starts on it.

An indexer that cannot open its database fails inside an executor process, and Jina only
reports that the Flow did not start. Trying the database here first turns a read-only
folder, a full disk without room for a new database, or a damaged file into a sentence
naming the workspace and the reason.
"""
import glob
import os
import sqlite3

# Where Jina puts the SimpleIndexer's workspace: WORKSPACE/<executor class>/<shard>/.
INDEX_DB = os.path.join('SimpleIndexer', '0', 'index.db')


class WorkspaceError(Exception):
    """The workspace cannot be used; the message says which and why."""


class WrongShards(WorkspaceError):
    """The workspace was indexed with another number of shards: a usage error (exit 2)."""


def workspace_exists(workspace: str) -> bool:
    """Whether `workspace` holds an index: a database of at least one shard."""
    return bool(glob.glob(os.path.join(os.path.abspath(workspace), 'SimpleIndexer', '*', 'index.db')))


def check_workspace_exists(workspace: str) -> None:
    """For the commands that only read an index (search, dedup, status): a mistyped --workspace
    must not become a new, empty index that answers "no match"."""
    if not workspace_exists(workspace):
        raise WorkspaceError(f'there is no index in {workspace} (a mistyped --workspace?); '
                             f'`python app.py index PATH --workspace {workspace}` makes one')


def check_workspace(workspace: str) -> None:
    """Raise WorkspaceError unless the index database in `workspace` can be created or opened for writing.

    Nothing is changed: taking the write lock and letting it go writes no page.
    """
    path = os.path.join(os.path.abspath(workspace), INDEX_DB)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        db = sqlite3.connect(path, timeout=30)
        try:
            db.execute('BEGIN IMMEDIATE')  # the write lock: refused on a read-only file or folder
            db.execute('SELECT COUNT(*) FROM sqlite_master').fetchone()  # reads the header: a damaged file says so
            db.execute('ROLLBACK')
        finally:
            db.close()
    except (OSError, sqlite3.Error) as error:
        folder = os.path.dirname(path)
        why = '' if not os.path.isdir(folder) or os.access(folder, os.W_OK) else ' (its folder is read-only)'
        raise WorkspaceError(f'cannot use the workspace {workspace}: {error}{why}') from None
