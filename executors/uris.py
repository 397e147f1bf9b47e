"""One spelling per file: the uri under which an image is stored, looked up and deleted.

An image's id is derived from its uri (store.image_id), so `data/./a.jpg`, `data/a.jpg` and
`/abs/data/a.jpg` would be three entries of one file unless every uri is spelled the same way
wherever it enters: the command line, gRPC and HTTP. The spelling is the command line's,
os.path.abspath: absolute, `.` and `..` resolved, symbolic links kept (a link is a name the user
chose, and resolving it would make the stored uri differ from the path they typed).
"""
import os
from typing import Optional

ARCHIVE_SEPARATOR = '::'  # ARCHIVE::MEMBER names an image inside an archive or a Parquet file
FILE_SCHEME = 'file://'


def file_uri(uri: Optional[str]) -> Optional[str]:
    """The normal form of a uri that names a file; any other uri (none, http://...) as it is.

    A relative path is taken from the working directory of the process that reads it, which
    is the directory the hasher would have read it from. Of ARCHIVE::MEMBER only the archive's
    path is a path on disk: the member's name is the archive's own and is kept as it is.
    """
    if not uri:
        return uri
    path = uri[len(FILE_SCHEME):] if uri.startswith(FILE_SCHEME) else uri
    if '://' in path:  # another scheme: not a file of this machine
        return uri
    archive, separator, member = path.partition(ARCHIVE_SEPARATOR)
    if not archive:
        return uri
    return os.path.abspath(archive) + separator + member


def local_path(uri: Optional[str]) -> Optional[str]:
    """The file on disk that a stored uri depends on (the archive of ARCHIVE::MEMBER), or None
    for a uri that names no local file."""
    if not uri or '://' in uri:
        return None
    path = uri.partition(ARCHIVE_SEPARATOR)[0]
    return path if os.path.isabs(path) else None

