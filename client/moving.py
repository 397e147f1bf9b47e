"""Moving the files a dedup run would remove, and putting them back. Nothing is ever deleted.

Files move into a folder the user names, under their path relative to the folder they share,
and every move is appended to a manifest (JSON lines, flushed and synced before the next move),
so that `undo MANIFEST` can put back everything that moved, even after a crash half-way.
A move never overwrites a file; across file systems it copies, checks the copy byte for byte,
and only then removes the original.
"""
import errno
import filecmp
import json
import os
import shutil
import time
from typing import List, Tuple

MANIFEST_NAME = 'manifest-{stamp}.jsonl'


def _move(source: str, target: str) -> None:
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, 'a file is already there, not overwritten', target)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        os.rename(source, target)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        shutil.copy2(source, target)
        if not filecmp.cmp(source, target, shallow=False):
            os.remove(target)
            raise OSError(errno.EIO, 'the copy differs from the original; original kept', target)
        os.remove(source)


def _append(manifest, entry: dict) -> None:
    manifest.write(json.dumps(entry) + '\n')
    manifest.flush()
    os.fsync(manifest.fileno())


def move_files(paths: List[str], destination: str) -> Tuple[str, List[str], List[Tuple[str, str]]]:
    """Move `paths` under `destination`; (manifest path, moved paths, [(path, reason)] not moved)."""
    paths = [os.path.abspath(path) for path in paths]
    destination = os.path.abspath(destination)
    root = os.path.commonpath([os.path.dirname(path) for path in paths]) if paths else '/'
    os.makedirs(destination, exist_ok=True)
    manifest_path = os.path.join(destination, MANIFEST_NAME.format(stamp=time.strftime('%Y%m%d-%H%M%S')))
    moved, failed = [], []
    with open(manifest_path, 'x') as manifest:
        _append(manifest, {'manifest': 1, 'created': time.time(), 'root': root, 'destination': destination})
        for path in paths:
            target = os.path.join(destination, os.path.relpath(path, root))
            try:
                size = os.path.getsize(path)
                _move(path, target)
            except OSError as error:
                failed.append((path, f'not moved: {error.strerror or error}'))
                continue
            _append(manifest, {'from': path, 'to': target, 'bytes': size})
            moved.append(path)
    return manifest_path, moved, failed


def already_back(entry: dict) -> bool:
    """The move was undone before: nothing at its destination, a file of its size at its origin."""
    return (not os.path.lexists(entry['to']) and os.path.isfile(entry['from'])
            and os.path.getsize(entry['from']) == entry['bytes'])


def undo(manifest_path: str) -> Tuple[List[str], List[str], List[Tuple[str, str]]]:
    """Put back every file a manifest records; (restored paths, paths already back from an earlier
    undo, [(path, reason)] not restored)."""
    with open(manifest_path) as manifest:
        entries = [json.loads(line) for line in manifest if line.strip()]
    if not entries or entries[0].get('manifest') != 1:
        raise ValueError(f'{manifest_path} is not a manifest written by dedup --move-to')
    restored, already, failed = [], [], []
    for entry in reversed(entries[1:]):
        if already_back(entry):
            already.append(entry['from'])
            continue
        try:
            _move(entry['to'], entry['from'])
        except OSError as error:
            failed.append((entry['from'], f'not restored from {entry["to"]}: {error.strerror or error}'))
            continue
        restored.append(entry['from'])
    return restored, already, failed
