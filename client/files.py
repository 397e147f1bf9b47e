"""Finding the image files under the paths a user names."""
import os
from typing import Iterable, List, Tuple

IMAGE_SUFFIXES = frozenset({
    '.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.bmp', '.dib', '.tif', '.tiff',
    '.ppm', '.pgm', '.pbm', '.pnm', '.tga', '.ico', '.jp2', '.j2k', '.heic', '.heif', '.avif',
})


def is_image_name(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_SUFFIXES


def find_images(paths: Iterable[str]) -> Tuple[List[str], List[Tuple[str, str]]]:
    """Image files named by `paths` (files, or folders searched recursively) and the problems met.

    A file named explicitly is taken whatever its extension; inside folders only image
    extensions count. Symbolic links to folders are not followed, so a link loop cannot
    trap the walk. Each folder's files come in name order, so runs are repeatable.
    Returns (files, [(path, reason)]).
    """
    files, problems = [], []
    for path in paths:
        if os.path.isfile(path):
            files.append(path)
        elif os.path.isdir(path):
            def report(error, root=path):
                problems.append((error.filename or root, f'cannot list folder: {error.strerror}'))
            for folder, subfolders, names in os.walk(path, onerror=report):
                subfolders.sort()
                files.extend(os.path.join(folder, name) for name in sorted(names)
                             if is_image_name(name) and os.path.isfile(os.path.join(folder, name)))
        elif os.path.lexists(path):
            problems.append((path, 'not a regular file or folder (or a broken link)'))
        else:
            problems.append((path, 'no such file or folder'))
    return files, problems
