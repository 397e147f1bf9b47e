"""Finding what to send for the paths a user names: image files, and archives to read through."""
import os
from typing import Iterable, List, Optional, Tuple, Union

from client.archives import Archive, archive_kind

IMAGE_SUFFIXES = frozenset({
    '.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.bmp', '.dib', '.tif', '.tiff',
    '.ppm', '.pgm', '.pbm', '.pnm', '.tga', '.ico', '.jp2', '.j2k', '.heic', '.heif', '.avif',
})
NOT_A_FILE = 'not a regular file or folder (a dangling or looping link, a pipe or a device)'


def is_image_name(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_SUFFIXES


Source = Union[str, Archive]  # an image file's path, or an archive whose images are read in one pass


def find_images(paths: Iterable[str], image_column: Optional[str] = None) -> Tuple[List[Source], List[Tuple[str, str]]]:
    """What to send for `paths` (files, or folders searched recursively), and the problems met.

    A file named explicitly is an archive when its name says so (.tar, .tar.gz, .tgz, .zip,
    .parquet: client/archives.py, with `image_column` for Parquet), else taken as an image
    whatever its extension. Folders are searched for images only: an archive found in a folder
    is not opened (it may be a backup of the very images beside it); name archives, or list them
    with --files-from. Inside folders only image
    extensions count, and an image name that is not a regular file (a dangling link, say)
    is reported as a problem. Symbolic links to folders are not followed, so a link loop
    cannot trap the walk. Each folder's files come in name order, so runs are repeatable.
    Returns (files and archives, [(path, reason)]).
    """
    files, problems = [], []
    for path in paths:
        if os.path.isfile(path) and archive_kind(path):
            try:
                files.append(Archive.at(path, image_column))
            except OSError as error:
                problems.append((path, f'cannot read: {error.strerror or error}'))
        elif os.path.isfile(path):
            files.append(path)
        elif os.path.isdir(path):
            def report(error, root=path):
                problems.append((error.filename or root, f'cannot list folder: {error.strerror}'))
            for folder, subfolders, names in os.walk(path, onerror=report):
                subfolders.sort()
                for name in filter(is_image_name, sorted(names)):
                    found = os.path.join(folder, name)
                    if os.path.isfile(found):
                        files.append(found)
                    else:  # never skipped in silence: a dangling or looping link, a pipe, a device
                        problems.append((found, NOT_A_FILE))
        elif os.path.lexists(path):
            problems.append((path, NOT_A_FILE))
        else:
            problems.append((path, 'no such file or folder'))
    return files, problems
