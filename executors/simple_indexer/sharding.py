"""Which shard stores an image, and whether a workspace was indexed with the same number of shards.

With `shards: N` and `polling: ALL` every shard receives every /index request and keeps only
the images whose id falls to it. Ids are derived from the uri (store.image_id), so indexing the
same file again always lands on the shard that holds it: the partition is stable by id.
"""
import os
import sqlite3
from typing import List, Optional


def shard_of(image_id: str, shards: int) -> int:
    """The shard that stores an image: its hex id modulo the number of shards (ids are sha256
    prefixes, so the shards fill evenly)."""
    return int(image_id, 16) % shards


SHARD_SPACE = 1024  # an image's key across shards: its key on its shard * SHARD_SPACE + the shard


def global_key(key: int, shard: int) -> int:
    """An image's key across shards, ordered as (key on its shard, shard): what keep='first' ranks
    by, indexing order within a shard, the shards interleaved."""
    return int(key) * SHARD_SPACE + int(shard)


def _stored_ids(database: str) -> List[str]:
    db = sqlite3.connect(f'file:{os.path.abspath(database)}?mode=ro', uri=True, timeout=30)
    try:
        return [row[0] for row in db.execute('SELECT id FROM images')]
    except sqlite3.OperationalError:  # created but never written: no table yet
        return []
    finally:
        db.close()


def partition_problem(folder: str, shards: int, only: Optional[int] = None) -> Optional[str]:
    """Why the shard databases under `folder` (FOLDER/<shard>/index.db, Jina's layout) cannot be
    served by `shards` shards, or None. `only`: check that shard's database alone (a shard
    checking itself at start). Reads every stored id once: about a second per 10^7 images.

    Served with another number of shards, an index would search all of its images but put a
    re-indexed file on a second shard (two entries for one uri), so this is refused, not guessed.
    """
    names = sorted(name for name in os.listdir(folder) if name.isdigit()) if os.path.isdir(folder) else []
    for name in names:
        number = int(name)
        if only is not None and number != only or shards == 1 and number == 0:  # one shard holds anything
            continue
        database = os.path.join(folder, name, 'index.db')
        if not os.path.exists(database):
            continue
        ids = _stored_ids(database)
        if number >= shards and ids:
            return (f'{folder} has a shard {number} with {len(ids)} images: it was indexed with more than '
                    f'{shards} shard(s); use that number of shards (--shards) or index into a new workspace')
        misplaced = sum(shard_of(image_id, shards) != number for image_id in ids)
        if misplaced:
            return (f'{database} holds {misplaced} images that belong to other shards when there are {shards}: '
                    f'the workspace was indexed with another number of shards (--shards); use that number '
                    f'or index into a new workspace')
    return None
