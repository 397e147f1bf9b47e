"""One member of a plain (uncompressed) tar, found by a seek: where its data lies, checked.

A local Flow's hasher reads the images of a tar shard itself, as it reads files: the client
lists the shard's headers (client/archives.py, located_members) and sends each image as its
`ARCHIVE::MEMBER` uri and `member_offset`, where the member's data starts, instead of its bytes;
the bytes then cross no gRPC hop. The offset is not taken on trust: the member's own header, the
512 bytes before its data, must name it as a regular file. Where it does not (a long name kept in
a pax or GNU header before it, an archive rewritten since it was listed), the tar's index of
headers is read once per version of the file and the member looked up there.
"""
import functools
import tarfile
from typing import BinaryIO, Optional, Tuple

BLOCK = tarfile.BLOCKSIZE  # 512


@functools.lru_cache(maxsize=8)
def tar_offsets(path: str, size: int, mtime: float) -> dict:
    """name -> (offset of its data, its size) of a plain tar's files; cached per version of the file."""
    with tarfile.open(path, 'r:') as tar:
        return {info.name: (info.offset_data, info.size) for info in tar.getmembers() if info.isfile()}


def locate(file: BinaryIO, path: str, name: str, offset: Optional[int], size: int, mtime: float) -> Tuple[int, int]:
    """(offset of its data, its size) of member `name` of the tar open as `file` (at `path`, of
    `size` bytes and modification time `mtime`), checking `offset` first (raises KeyError if the
    tar has no such file, tarfile.TarError if it cannot be read)."""
    if offset is not None and BLOCK <= offset <= size and offset % BLOCK == 0:
        file.seek(offset - BLOCK)
        header = file.read(BLOCK)
        try:
            info = tarfile.TarInfo.frombuf(header, tarfile.ENCODING, 'surrogateescape')
        except tarfile.HeaderError:
            info = None
        if info is not None and info.name == name and info.isfile() and not info.issparse():
            return offset, info.size
    found = tar_offsets(path, size, mtime).get(name)
    if found is None:
        raise KeyError(name)
    return found
