"""Datasets as ML training sets store them, built from image files: a WebDataset tar shard, a zip,
a Parquet file in the Hugging Face image layout. Used by the tests and by bench/archives.py."""
import io
import json
import os
import tarfile
import zipfile
from typing import Sequence


def webdataset_tar(path: str, images: Sequence[str], keys: Sequence[str] = ()) -> str:
    """A WebDataset shard: per sample KEY.EXT (the image's bytes as they are) and KEY.json (its
    label), in sample order. Keys default to the images' names without extension. A name ending
    in .gz makes a gzipped shard."""
    keys = keys or [os.path.splitext(os.path.basename(image))[0] for image in images]
    with tarfile.open(path, 'w:gz' if path.endswith('.gz') else 'w') as tar:
        for key, image in zip(keys, images):
            tar.add(image, arcname=key + os.path.splitext(image)[1])
            add_bytes(tar, key + '.json', json.dumps({'key': key, 'source': os.path.basename(image)}).encode())
    return path


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def image_zip(path: str, images: Sequence[str], folder: str = 'photos') -> str:
    """A zip with the images under FOLDER/ and a README.txt that is no image."""
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('README.txt', 'photos for a test\n')
        for image in images:
            archive.write(image, f'{folder}/{os.path.basename(image)}')
    return path


def hugging_face_parquet(path: str, images: Sequence[str], row_group_size: int = 4, thumbnails: bool = False) -> str:
    """A Parquet file as `datasets` writes an Image feature: a `label` column first (text, no
    image), then `image` as a struct {bytes, path}; small row groups, so that rows span several.
    thumbnails=True adds a second image column, `thumbnail`, of plain binary (the same bytes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    contents = [open(image, 'rb').read() for image in images]
    columns = {'label': [os.path.splitext(os.path.basename(image))[0] for image in images],
               'image': pa.array([{'bytes': data, 'path': os.path.basename(image)} for data, image in zip(contents, images)],
                                 type=pa.struct([('bytes', pa.binary()), ('path', pa.string())]))}
    if thumbnails:
        columns['thumbnail'] = pa.array(contents, type=pa.binary())
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path
