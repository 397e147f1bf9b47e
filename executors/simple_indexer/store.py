"""The indexer's durable state: one SQLite database in WAL mode.

One row per indexed image with its metadata and its packed hashes (one BLOB column per hash
type). Each batch is one transaction with synchronous=FULL, so an acknowledged batch survives
a kill or a power cut, and a crash mid-batch leaves the previous state intact.

An image's identity is its uri; an image sent without a uri is identified by its content
digest. Indexing the same image again updates its row instead of adding one.
"""
import hashlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from executors.documents import HASH_TYPES
from executors.match import Evidence
from executors.uris import ARCHIVE_SEPARATOR

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS images (
    key INTEGER PRIMARY KEY,      -- what the in-memory Hamming indexes hold
    id TEXT NOT NULL UNIQUE,      -- derived from the uri (or the digest): stable across runs
    uri TEXT,
    digest TEXT NOT NULL,
    width INTEGER,
    height INTEGER,
    byte_size INTEGER,
    mtime REAL,
    indexed_at REAL NOT NULL,
    hash_size INTEGER NOT NULL,
    {', '.join(f'{name} BLOB' for name in HASH_TYPES)}
);
CREATE INDEX IF NOT EXISTS images_by_digest ON images (digest);
CREATE INDEX IF NOT EXISTS images_by_uri ON images (uri);
CREATE TABLE IF NOT EXISTS views (  -- hashes of views of an image (image_hasher/views.py)
    key INTEGER NOT NULL,         -- the image's key in `images`
    hash_type TEXT NOT NULL,
    view TEXT NOT NULL,
    hash_size INTEGER NOT NULL,
    codes BLOB NOT NULL,          -- the view's hashes end to end, each padded to whole 64-bit words
    PRIMARY KEY (hash_type, hash_size, view, key)
);
CREATE INDEX IF NOT EXISTS views_by_key ON views (key);
CREATE TABLE IF NOT EXISTS evidence (  -- what the match decision reads (executors/match.py)
    key INTEGER PRIMARY KEY,      -- the image's key in `images`
    codes BLOB NOT NULL,          -- packed 256-bit pHashes of the image and its views
    information REAL NOT NULL,
    colour_rg REAL,               -- mean chroma of the centre; NULL for a grey image
    colour_yb REAL
);
CREATE TABLE IF NOT EXISTS provenance (  -- what the keep policy reads (image_hasher/provenance.py)
    key INTEGER PRIMARY KEY,      -- the image's key in `images`
    facts TEXT NOT NULL           -- JSON: jpeg_quality, border, clipped, detail, chroma
);
CREATE TABLE IF NOT EXISTS archives (  -- archives and Parquet files read through (client/archives.py)
    path TEXT PRIMARY KEY,        -- the ARCHIVE of its members' ARCHIVE::MEMBER uris
    size INTEGER NOT NULL,        -- the archive file's size and modification time when it was read
    mtime REAL NOT NULL,
    hash_size INTEGER NOT NULL,
    views INTEGER NOT NULL        -- 1: its members were hashed with views
);
"""


IMAGE_COLUMNS = ('key', 'id', 'uri', 'digest', 'width', 'height', 'byte_size', 'mtime')
ROW_COLUMNS = IMAGE_COLUMNS + ('provenance',)  # provenance: a dict, {} for an image stored without it


@dataclass
class ImageRecord:
    uri: Optional[str]
    digest: str
    hash_size: int
    hashes: dict  # hash type -> hex text
    width: Optional[int] = None
    height: Optional[int] = None
    byte_size: Optional[int] = None
    mtime: Optional[float] = None
    views: dict = field(default_factory=dict)  # '<hash type>.<view>' -> the hex texts of its hashes
    evidence: Optional[Evidence] = None  # stage 2 of the match decision; None from older clients
    provenance: dict = field(default_factory=dict)  # for the keep policy; {} from older clients

    @property
    def id(self) -> str:
        return image_id(self.uri, self.digest)


def image_id(uri: Optional[str], digest: str) -> str:
    identity = f'uri:{uri}' if uri else f'digest:{digest}'
    return hashlib.sha256(identity.encode()).hexdigest()[:20]


def hex_to_blob(text: str) -> bytes:
    return bytes.fromhex(text if len(text) % 2 == 0 else '0' + text)


def views_blob(text: str, nbits: int) -> bytes:
    """The hex texts of a view's hashes, end to end, as packed hashes of whole 64-bit words each
    (what the in-memory indexes hold), so that a view of any hash size loads without parsing."""
    width, words = (nbits + 3) // 4, (nbits + 63) // 64
    return b''.join(hex_to_blob(text[start:start + width]).rjust(words * 8, b'\0')
                    for start in range(0, len(text), width))


def blob_to_hex(blob: bytes, nbits: int) -> str:
    return blob.hex()[-((nbits + 3) // 4):]


class ImageStore:
    def __init__(self, path: str):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute('PRAGMA journal_mode=WAL')
        self._db.execute('PRAGMA synchronous=FULL')
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def upsert(self, records: List[ImageRecord]) -> List[Tuple[int, bool]]:
        """Store a batch in one transaction; (key, is_new) for each record, in order."""
        now = time.time()
        results = []
        with self._lock:
            self._db.execute('BEGIN IMMEDIATE')
            try:
                for record in records:
                    values = (record.uri, record.digest, record.width, record.height, record.byte_size,
                              record.mtime, now, record.hash_size,
                              *(hex_to_blob(record.hashes[name]) if record.hashes.get(name) else None
                                for name in HASH_TYPES))
                    row = self._db.execute('SELECT key FROM images WHERE id = ?', (record.id,)).fetchone()
                    if row:
                        self._db.execute(f'UPDATE images SET uri=?, digest=?, width=?, height=?, byte_size=?, '
                                         f'mtime=?, indexed_at=?, hash_size=?, '
                                         f'{", ".join(f"{name}=?" for name in HASH_TYPES)} WHERE key=?',
                                         (*values, row[0]))
                        results.append((row[0], False))
                    else:
                        cursor = self._db.execute(
                            f'INSERT INTO images (id, uri, digest, width, height, byte_size, mtime, indexed_at, '
                            f'hash_size, {", ".join(HASH_TYPES)}) VALUES ({", ".join("?" * (9 + len(HASH_TYPES)))})',
                            (record.id, *values))
                        results.append((cursor.lastrowid, True))
                    key = results[-1][0]
                    self._db.execute('DELETE FROM views WHERE key = ?', (key,))
                    self._db.executemany('INSERT INTO views VALUES (?, ?, ?, ?, ?)', [
                        (key, *name.split('.', 1), record.hash_size, views_blob(text, record.hash_size ** 2))
                        for name, text in record.views.items()])
                    self._db.execute('DELETE FROM evidence WHERE key = ?', (key,))
                    if record.evidence is not None:
                        colour = record.evidence.colour or (None, None)
                        self._db.execute('INSERT INTO evidence VALUES (?, ?, ?, ?, ?)',
                                         (key, record.evidence.codes, record.evidence.information, *colour))
                    self._db.execute('DELETE FROM provenance WHERE key = ?', (key,))
                    if record.provenance:
                        self._db.execute('INSERT INTO provenance VALUES (?, ?)', (key, json.dumps(record.provenance)))
                self._db.execute('COMMIT')
            except BaseException:
                if self._db.in_transaction:  # SQLite has rolled back by itself after some errors (disk full)
                    self._db.execute('ROLLBACK')
                raise
        return results

    def hashes(self, hash_type: str, hash_size: int, page: int = 65536) -> Iterator[Tuple[int, bytes]]:
        """(key, packed hash) of every image that has this hash type at this size, by key."""
        if hash_type not in HASH_TYPES:
            raise ValueError(f'unknown hash type {hash_type!r}')
        return self._by_key(f'SELECT key, {hash_type} FROM images WHERE hash_size = ? AND {hash_type} IS NOT NULL',
                            (hash_size,), page)

    def view_codes(self, hash_type: str, hash_size: int, view: str, page: int = 65536) -> Iterator[Tuple[int, bytes]]:
        """(key, its hashes of this view as views_blob packs them) of every image with the view, by key."""
        return self._by_key('SELECT key, codes FROM views WHERE hash_type = ? AND hash_size = ? AND view = ?',
                            (hash_type, hash_size, view), page)

    def _by_key(self, select: str, arguments: tuple, page: int) -> Iterator[Tuple[int, bytes]]:
        """The (key, ...) rows of `select` by key, read a page at a time (the lock is not held between
        pages), so that loading 10^6 of them never holds 10^6 Python tuples at once."""
        last = -1
        while True:
            with self._lock:
                rows = self._db.execute(f'{select} AND key > ? ORDER BY key LIMIT ?', (*arguments, last, page)).fetchall()
            yield from rows
            if len(rows) < page:
                return
            last = rows[-1][0]

    def rows(self, keys: Iterable[int]) -> Dict[int, dict]:
        """key -> {key, id, uri, digest, width, height, byte_size, mtime, provenance} for the given keys."""
        keys = list(keys)
        found = {}
        with self._lock:
            for start in range(0, len(keys), 500):  # SQLite caps the number of ? in one statement
                chunk = keys[start:start + 500]
                cursor = self._db.execute(f'SELECT {", ".join(f"images.{name}" for name in IMAGE_COLUMNS)}, facts '
                                          f'FROM images LEFT JOIN provenance USING (key) '
                                          f'WHERE key IN ({",".join("?" * len(chunk))})', chunk)
                found.update((row[0], dict(zip(ROW_COLUMNS, (*row[:-1], json.loads(row[-1] or '{}'))))) for row in cursor)
        return found

    def evidence(self, keys: Iterable[int]) -> Dict[int, Evidence]:
        """key -> the stored evidence of the match decision, for those of `keys` that have it."""
        keys = list(keys)
        found = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                cursor = self._db.execute(f'SELECT key, codes, information, colour_rg, colour_yb FROM evidence '
                                          f'WHERE key IN ({",".join("?" * len(chunk))})', chunk)
                found.update((key, evidence_of(codes, information, rg, yb)) for key, codes, information, rg, yb in cursor)
        return found

    def digest_groups(self) -> List[List[int]]:
        """Keys of the images whose encoded bytes are identical, one list per shared digest."""
        with self._lock:
            rows = self._db.execute('SELECT GROUP_CONCAT(key) FROM images GROUP BY digest '
                                    'HAVING COUNT(*) > 1').fetchall()
        return [[int(key) for key in keys.split(',')] for keys, in rows]

    def delete(self, ids: Iterable[str] = (), uris: Iterable[str] = (), under: Sequence[str] = ()) -> List[int]:
        """Remove images by id, by uri, or by the folders or files their uri is `under`
        (see uris_under), in one transaction; the keys that were removed."""
        with self._lock:
            self._db.execute('BEGIN IMMEDIATE')
            try:
                keys = [row[0] for column, values in (('id', ids), ('uri', uris)) for value in values
                        for row in self._db.execute(f'SELECT key FROM images WHERE {column} = ?', (value,))]
                if under:
                    condition, arguments = _under_condition(under)
                    keys += [row[0] for row in self._db.execute(f'SELECT key FROM images WHERE {condition}', arguments)]
                # An archive that lost a member is no longer whole in the index: the next `index` reads it again.
                self._db.execute('DELETE FROM archives WHERE path IN (SELECT DISTINCT substr(uri, 1, instr(uri, ?) - 1) '
                                 'FROM images WHERE instr(uri, ?) > 0 AND key IN (SELECT value FROM json_each(?)))',
                                 (ARCHIVE_SEPARATOR, ARCHIVE_SEPARATOR, json.dumps(keys)))
                self._db.executemany('DELETE FROM images WHERE key = ?', [(key,) for key in keys])
                self._db.executemany('DELETE FROM views WHERE key = ?', [(key,) for key in keys])
                self._db.executemany('DELETE FROM evidence WHERE key = ?', [(key,) for key in keys])
                self._db.executemany('DELETE FROM provenance WHERE key = ?', [(key,) for key in keys])
                self._db.execute('COMMIT')
            except BaseException:
                if self._db.in_transaction:  # SQLite has rolled back by itself after some errors (disk full)
                    self._db.execute('ROLLBACK')
                raise
        return sorted(set(keys))

    def unchanged(self, files: Sequence[Tuple[str, int, float]], hash_size: int, with_views: bool) -> List[bool]:
        """For each (uri, size in bytes, modification time) whether its stored entry was made from
        that very file: same size and time, hashed at `hash_size`, and with views if `with_views`.
        One query for the whole batch (its uris as one JSON parameter), so that checking 10^5
        unchanged files costs a few SQL statements, not 10^5."""
        with self._lock:
            return _unchanged(self._db, files, hash_size, with_views)

    def record_archives(self, archives: Sequence[Tuple[str, int, float]], hash_size: int, with_views: bool) -> int:
        """Remember archives whose every image is stored, each as (path, size, modification time), so
        that `unchanged` answers for the archive as a whole; how many."""
        with self._lock:
            self._db.execute('BEGIN IMMEDIATE')
            self._db.executemany('INSERT OR REPLACE INTO archives (path, size, mtime, hash_size, views) '
                                 'VALUES (?, ?, ?, ?, ?)',
                                 [(path, size, mtime, hash_size, int(with_views)) for path, size, mtime in archives])
            self._db.execute('COMMIT')
            return len(archives)

    def uris_under(self, under: Sequence[str] = (), after: int = -1, page: int = 100_000) -> List[Tuple[int, str]]:
        """(key, uri) of the stored images with a uri, by key, the first `page` with a key above
        `after`; with `under`, only those whose uri is one of these normal paths or lies below
        one (a folder's files, an archive's members)."""
        condition, arguments = _under_condition(under) if under else ('uri IS NOT NULL', ())
        with self._lock:
            return self._db.execute(f'SELECT key, uri FROM images WHERE ({condition}) AND key > ? ORDER BY key LIMIT ?',
                                    (*arguments, after, page)).fetchall()

    def clear(self) -> int:
        with self._lock:
            self._db.execute('BEGIN IMMEDIATE')
            removed = self._db.execute('DELETE FROM images').rowcount
            self._db.execute('DELETE FROM views')
            self._db.execute('DELETE FROM evidence')
            self._db.execute('DELETE FROM provenance')
            self._db.execute('DELETE FROM archives')
            self._db.execute('COMMIT')
            return removed

    def count(self) -> int:
        with self._lock:
            return self._db.execute('SELECT COUNT(*) FROM images').fetchone()[0]

    def count_hashes(self) -> dict:
        """{'phash': {'64': n, ...}, ...}: how many images have each hash type at each size."""
        counts = {}
        with self._lock:
            for name in HASH_TYPES:
                rows = self._db.execute(f'SELECT hash_size, COUNT(*) FROM images WHERE {name} IS NOT NULL '
                                        f'GROUP BY hash_size').fetchall()
                counts[name] = {str(size * size): n for size, n in rows}
        return counts


def evidence_of(codes: bytes, information: float, rg: Optional[float], yb: Optional[float]) -> Evidence:
    return Evidence(bytes(codes), information, None if rg is None else (rg, yb))


def _unchanged(db: sqlite3.Connection, files: Sequence[Tuple[str, int, float]], hash_size: int,
               with_views: bool) -> List[bool]:
    uris = json.dumps([uri for uri, _, _ in files])
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'evidence'").fetchone():
        return [False] * len(files)  # indexed before the match decision's evidence: hash it all again
    # An entry without evidence (sent by an older client) is hashed again too: the match decision needs it.
    stored = {uri: (size, mtime, size_of_hash, has_views) for uri, size, mtime, size_of_hash, has_views in
              db.execute('SELECT uri, byte_size, mtime, hash_size, '
                         'EXISTS (SELECT 1 FROM views WHERE views.key = images.key) FROM images '
                         'WHERE uri IN (SELECT value FROM json_each(?)) '
                         'AND EXISTS (SELECT 1 FROM evidence WHERE evidence.key = images.key)', (uris,))}
    # An archive (or Parquet file) is asked about by its own path: it is unchanged when it was read
    # through at this size and time (record_archives). A workspace older than the table has none.
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'archives'").fetchone():
        stored.update((path, (size, mtime, size_of_hash, has_views)) for path, size, mtime, size_of_hash, has_views in
                      db.execute('SELECT path, size, mtime, hash_size, views FROM archives '
                                 'WHERE path IN (SELECT value FROM json_each(?))', (uris,)))
    return [uri in stored and stored[uri][:3] == (size, mtime, hash_size) and (stored[uri][3] or not with_views)
            for uri, size, mtime in files]


def unchanged_in(database_path: str, files: Sequence[Tuple[str, int, float]], hash_size: int,
                 with_views: bool) -> List[bool]:
    """ImageStore.unchanged on a database opened read-only, by a process that is not its indexer
    (the command line, before it starts a Flow that it may not need)."""
    db = sqlite3.connect(f'file:{os.path.abspath(database_path)}?mode=ro', uri=True, timeout=30)
    try:
        return _unchanged(db, files, hash_size, with_views)
    finally:
        db.close()


def _under_condition(paths: Sequence[str]) -> Tuple[str, tuple]:
    """SQL for "the uri is one of `paths` or lies below one": P itself, P/... and P::... as ranges
    of the uri index ('0' and ';' are the characters after '/' and ':'), not a scan with LIKE."""
    terms, arguments = [], []
    for path in paths:
        path = path.rstrip('/')  # '/' itself becomes '', whose ranges hold every absolute path
        terms.append('uri = ? OR (uri >= ? AND uri < ?) OR (uri >= ? AND uri < ?)')
        arguments += [path, path + '/', path + '0', path + '::', path + ':;']
    return ' OR '.join(f'({term})' for term in terms), tuple(arguments)


def stored_hashes(database_path: str, hash_type: str, views: Iterable[str] = ()) -> Iterator[dict]:
    """Rows of another index's database, opened read-only: {uri, digest, width, height, byte_size,
    mtime, hash_size, <hash_type>: hex, views: {'<hash_type>.<view>': hex}, and its evidence:
    verify_codes, information, colour} for every image that has that hash type, with those of
    `views` it has (one hash each, as queries need)."""
    if hash_type not in HASH_TYPES:
        raise ValueError(f'unknown hash type {hash_type!r}')
    db = sqlite3.connect(f'file:{os.path.abspath(database_path)}?mode=ro', uri=True)
    try:
        has_views = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'views'").fetchone()  # older workspaces
        has_evidence = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'evidence'").fetchone()
        columns = ('key', 'uri', 'digest', 'width', 'height', 'byte_size', 'mtime', 'hash_size')
        for row in db.execute(f'SELECT {", ".join(columns)}, {hash_type} FROM images WHERE {hash_type} IS NOT NULL'):
            found = dict(zip(columns, row[:-1]))
            key, nbits = found.pop('key'), found['hash_size'] ** 2
            found[hash_type] = blob_to_hex(row[-1], nbits)
            found['views'] = {}
            evidence = has_evidence and db.execute('SELECT codes, information, colour_rg, colour_yb FROM evidence '
                                                   'WHERE key = ?', (key,)).fetchone()
            if evidence:
                found.update(verify_codes=evidence[0], information=evidence[1],
                             colour=None if evidence[2] is None else [evidence[2], evidence[3]])
            if has_views and views:
                found['views'] = {f'{hash_type}.{view}': blob_to_hex(codes, nbits) for view, codes in db.execute(
                    f'SELECT view, codes FROM views WHERE key = ? AND hash_type = ? AND view IN '
                    f'({",".join("?" * len(views))})', (key, hash_type, *views))}
            yield found
    finally:
        db.close()
