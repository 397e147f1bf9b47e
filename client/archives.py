"""Images inside tar and zip archives and Parquet files: found, streamed, named, and read back.

Training sets past a few hundred thousand images are rarely loose files: they are WebDataset tar
shards (`shard-000123.tar` holding `key.jpg`, `key.json`, ...), zip files, or Parquet files with an
image column (Hugging Face datasets store `{"bytes": ..., "path": ...}` per row). Each image of one
has the uri `ARCHIVE::MEMBER` (executors/uris.py): the archive's absolute path, then

- for tar and zip, the member's name as the archive writes it: `/data/shard-000123.tar::key.jpg`;
- for Parquet, the row number in the file, from 0: `/data/train-00001.parquet::row=4711`, or
  `...::row=4711;column=NAME` when the images are not in the file's first image column.

An archive is read as a stream, in one pass, member after member, so that memory does not grow
with its size; a member that cannot be read is an error of its own and the rest go on (as for
files). The bytes travel to the hasher as the document's `blob`, with the uri as its label,
except to a local Flow from a plain tar: its hasher may read the user's files anyway, so it is
sent the uri and where the member's data starts (located_members; executors/tar_members.py),
and the bytes cross no gRPC hop. Only members with an image file extension count (a WebDataset
shard's .json and .cls files are its labels, not images).
"""
import io
import os
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

from executors.tar_members import tar_offsets
from executors.uris import ARCHIVE_SEPARATOR

TAR_SUFFIXES = ('.tar', '.tar.gz', '.tgz')
ZIP_SUFFIXES = ('.zip',)
PARQUET_SUFFIXES = ('.parquet',)
PARQUET_BATCH = 32  # rows decoded at a time: a few MB of images (a row group is still read whole)
READ_ERRORS = (OSError, EOFError, zlib.error, tarfile.TarError, zipfile.BadZipFile, NotImplementedError)
ROW = re.compile(r'row=(\d+)(?:;column=(.+))?$')


def archive_kind(path: str) -> Optional[str]:
    """'tar', 'zip' or 'parquet' for a file named like one, else None."""
    name = path.lower()
    for kind, suffixes in (('tar', TAR_SUFFIXES), ('zip', ZIP_SUFFIXES), ('parquet', PARQUET_SUFFIXES)):
        if name.endswith(suffixes):
            return kind
    return None


@dataclass(frozen=True)
class Archive:
    """An archive or Parquet file to read, as it was when found: its size and modification time are
    what incremental indexing compares (client/sync.py), and the mtime every member is stored with."""
    path: str  # absolute
    kind: str
    size: int
    mtime: float
    image_column: Optional[str] = None  # Parquet: --image-column, None for the first image column

    @classmethod
    def at(cls, path: str, image_column: Optional[str] = None) -> 'Archive':
        """The archive at `path` (raises OSError if it cannot be looked at)."""
        stat = os.stat(path)
        return cls(os.path.abspath(path), archive_kind(path), stat.st_size, stat.st_mtime, image_column)

    def uri(self, member: str) -> str:
        return self.path + ARCHIVE_SEPARATOR + member

    def described(self) -> list:
        """[path, size, mtime]: how /unchanged and /archived name it."""
        return [self.path, self.size, self.mtime]


@dataclass
class Member:
    """One image read from an archive: its bytes, or why they could not be read. `uri` is the
    archive's own path for an error that stops the whole archive (it cannot be opened, or is
    damaged past some member)."""
    uri: str
    data: Optional[bytes] = None
    error: Optional[str] = None
    offset: Optional[int] = None  # located_members: where the data starts in the archive, instead of `data`


def members(archive: Archive, is_image_name) -> Iterator[Member]:
    """Every image of `archive` in the archive's own order; `is_image_name(name)` picks tar and zip
    members (client/files.py's test, passed in to keep this module free of the file walk)."""
    if archive.kind == 'parquet':
        yield from parquet_members(archive)
    elif archive.kind == 'zip':
        yield from zip_members(archive, is_image_name)
    else:
        yield from tar_members(archive, is_image_name)


def tar_members(archive: Archive, is_image_name) -> Iterator[Member]:
    last = None
    try:
        # 'r|*': a forward-only stream (gzip too), never a seek back; tarfile keeps each header it
        # has read in `members` for random access we never use, so the list is emptied as we go.
        with tarfile.open(archive.path, 'r|*') as tar:
            while (info := tar.next()) is not None:
                tar.members.clear()
                if info.isfile() and is_image_name(info.name):
                    yield Member(archive.uri(info.name), tar.extractfile(info).read())
                last = info.name
    except READ_ERRORS as error:  # nothing after a damaged header can be found in a stream
        yield Member(archive.path, error=damaged(error, last))


def located_members(archive: Archive, is_image_name) -> Iterator[Member]:
    """members(), for a Flow whose hasher reads the archive itself (a local one): a plain .tar's
    images as where their data starts (Member.offset, no data), its headers alone read, a seek
    over each member's data; the same members, uris and errors as members() in the same order
    (an empty member comes with its empty data, as members() gives it). Any other archive, and a
    file named .tar that is compressed (found at its first header), as members() gives them."""
    if archive.kind != 'tar' or not archive.path.lower().endswith('.tar'):
        yield from members(archive, is_image_name)
        return
    try:
        tar = tarfile.open(archive.path, 'r:')
    except READ_ERRORS:  # compressed after all, or damaged from its start: the stream says which
        yield from members(archive, is_image_name)
        return
    last = None
    try:
        with tar:
            size = os.fstat(tar.fileobj.fileno()).st_size
            while (info := tar.next()) is not None:
                tar.members.clear()
                if info.isfile() and is_image_name(info.name):
                    if info.issparse() or not info.size:  # no plain run of bytes to seek to
                        data = tar.extractfile(info).read()
                        yield Member(archive.uri(info.name), data)
                    elif info.offset_data + info.size > size:  # as the stream's read of its data says
                        raise tarfile.ReadError('unexpected end of data')
                    else:
                        yield Member(archive.uri(info.name), offset=info.offset_data)
                last = info.name
    except READ_ERRORS as error:  # a damaged header or data, found where the stream would find it
        yield Member(archive.path, error=damaged(error, last))


def zip_members(archive: Archive, is_image_name) -> Iterator[Member]:
    try:
        with zipfile.ZipFile(archive.path) as file:
            for info in zip_images(file, is_image_name):
                try:
                    yield Member(archive.uri(info.filename), file.read(info))
                except READ_ERRORS as error:  # a bad CRC, an unknown compression: this member only
                    yield Member(archive.uri(info.filename), error=f'cannot read from the zip: {error}')
    except READ_ERRORS as error:
        yield Member(archive.path, error=damaged(error, None))


def zip_images(file: zipfile.ZipFile, is_image_name) -> List[zipfile.ZipInfo]:
    """The zip's image members, in its own order. macOS's zip adds __MACOSX/._NAME resource forks,
    named like the images but no images."""
    return [info for info in file.infolist()
            if not info.is_dir() and not info.filename.startswith('__MACOSX/') and is_image_name(info.filename)]


def parquet_members(archive: Archive) -> Iterator[Member]:
    import pyarrow.parquet as pq  # 0.3 s to import: only when a Parquet file is read
    row = -1
    try:
        file = pq.ParquetFile(archive.path)
        column, default = image_column(file.schema_arrow, archive.image_column)
        suffix = '' if column == default else f';column={column}'
        for batch in file.iter_batches(batch_size=PARQUET_BATCH, columns=[column]):
            for value in image_bytes(batch.column(0)):
                row += 1
                uri = archive.uri(f'row={row}{suffix}')
                yield Member(uri, value) if value else Member(uri, error=f'no image bytes in column {column}')
    except NoImageColumn as error:  # said once, for the file
        yield Member(archive.path, error=str(error))
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid (not Parquet, damaged) is a ValueError
        yield Member(archive.path, error=damaged(error, None if row < 0 else f'row={row}'))


class NoImageColumn(ValueError):
    """A Parquet file without the column asked for, or without any that holds images."""


def damaged(error: Exception, last: Optional[str]) -> str:
    where = f' after {last}' if last else ''
    return f'cannot read the archive{where}: {error}'


def holds_images(field_type) -> bool:
    """A column of encoded images: binary, or the Hugging Face Image struct {bytes, path}."""
    import pyarrow as pa
    if pa.types.is_struct(field_type):
        index = field_type.get_field_index('bytes')
        return index >= 0 and holds_images(field_type.field(index).type)
    return pa.types.is_binary(field_type) or pa.types.is_large_binary(field_type)


def image_column(schema, name: Optional[str]) -> Tuple[str, Optional[str]]:
    """(the column to read, the file's first image column): `name`, or by default the first
    column that holds images. NoImageColumn says which columns there are when neither will do."""
    default = next((field.name for field in schema if holds_images(field.type)), None)
    columns = ', '.join(f'{field.name} ({field.type})' for field in schema)
    if name is None:
        if default is None:
            raise NoImageColumn(f'no column holds image bytes (columns: {columns}); name one with --image-column')
        return default, default
    if name not in schema.names:
        raise NoImageColumn(f'no column {name} (columns: {columns})')
    if not holds_images(schema.field(name).type):
        raise NoImageColumn(f'column {name} is {schema.field(name).type}, not image bytes '
                         f'(binary, or a struct with a binary "bytes" field)')
    return name, default


def image_bytes(values) -> List[Optional[bytes]]:
    """The encoded images of a column chunk, None where a row has none."""
    import pyarrow as pa
    if pa.types.is_struct(values.type):
        values = values.field('bytes')  # a null struct's fields read as null: None below
    return values.to_pylist()


def image_count(archive: Archive, is_image_name) -> Optional[int]:
    """How many rows or image members, where the file says so without being read (a Parquet
    footer, a zip's central directory); None for tar, which would take a pass of its own."""
    try:
        if archive.kind == 'parquet':
            import pyarrow.parquet as pq
            return pq.ParquetFile(archive.path).metadata.num_rows
        if archive.kind == 'zip':
            with zipfile.ZipFile(archive.path) as file:
                return len(zip_images(file, is_image_name))
    except (OSError, ValueError, zipfile.BadZipFile):  # reading it will say what is wrong
        return None
    return None


# Reading one member back, for report.html and the contact sheets.

def is_member_uri(uri: Optional[str]) -> bool:
    return bool(uri) and ARCHIVE_SEPARATOR in uri and '://' not in uri


def read_member(uri: str) -> bytes:
    """The encoded bytes of the image ARCHIVE::MEMBER names (raises OSError, KeyError or ValueError).
    A plain tar is indexed once and each member read with a seek; a compressed one has no such
    shortcut and is decompressed up to the member."""
    path, _, name = uri.partition(ARCHIVE_SEPARATOR)
    kind = archive_kind(path)
    if kind == 'zip':
        with zipfile.ZipFile(path) as file:
            return file.read(name)
    if kind == 'parquet':
        return parquet_row(path, name)
    if kind == 'tar' and path.lower().endswith('.tar'):
        stat = os.stat(path)
        offset, size = tar_offsets(path, stat.st_size, stat.st_mtime)[name]
        with open(path, 'rb') as file:  # a file of its own: report.html reads from several threads
            file.seek(offset)
            return file.read(size)
    if kind == 'tar':
        with tarfile.open(path, 'r|*') as tar:
            for info in tar:
                if info.name == name:
                    return tar.extractfile(info).read()
        raise KeyError(f'no member {name} in {path}')
    raise ValueError(f'{path} is no tar, zip or Parquet file')


def parquet_row(path: str, name: str) -> bytes:
    import pyarrow.parquet as pq
    found = ROW.match(name)
    if not found:
        raise KeyError(f'{name} names no row (row=N)')
    row, column = int(found.group(1)), found.group(2)
    file = pq.ParquetFile(path)
    column, _ = image_column(file.schema_arrow, column)
    for group in range(file.metadata.num_row_groups):  # the row group that holds the row, read alone
        rows = file.metadata.row_group(group).num_rows
        if row < rows:
            value = image_bytes(file.read_row_group(group, columns=[column]).column(0).slice(row, 1).combine_chunks())[0]
            if value is None:
                raise KeyError(f'row {found.group(1)} of {path} has no image')
            return value
        row -= rows
    raise KeyError(f'{path} has no row {found.group(1)}')


def image_file(uri: str):
    """What PIL's Image.open takes for a uri: the path of a file, or the bytes of an archive member."""
    return io.BytesIO(read_member(uri)) if is_member_uri(uri) else uri


def files_from(list_file: str) -> List[str]:
    """The paths listed in `list_file` ('-': standard input), one per line, blank lines skipped.
    Relative paths are taken from the working directory, as on the command line."""
    import sys
    if list_file == '-':
        lines = sys.stdin.read().splitlines()
    else:
        with open(list_file, encoding='utf-8') as file:
            lines = file.read().splitlines()
    return [line for line in lines if line.strip()]
