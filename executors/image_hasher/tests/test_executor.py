import os
import shutil

import imagehash
import pytest
from docarray import DocList
from PIL import Image

from executors.documents import ImageDoc
from executors.image_hasher import ImageHasher
from executors.tar_members import tar_offsets
from tests.images import INDEX_IMAGES


@pytest.fixture
def served_folder(tmp_path):
    """A folder a server may read, with a photo inside, a photo outside, and links out of it."""
    root = tmp_path / 'allowed'
    root.mkdir()
    shutil.copy(INDEX_IMAGES[0], root / 'inside.jpg')
    shutil.copy(INDEX_IMAGES[1], tmp_path / 'outside.jpg')
    os.symlink(tmp_path / 'outside.jpg', root / 'link-out.jpg')
    return root


def hashed(hasher, *docs, **parameters):
    return hasher.hash_for_index(DocList[ImageDoc](list(docs)), parameters)


def test_a_request_hashes_good_images_and_marks_bad_ones(served_folder):
    hasher = ImageHasher(allowed_roots=[str(served_folder)], exact=True)  # ImageHash's pixels, bit for bit
    with open(INDEX_IMAGES[2], 'rb') as file:
        blob = file.read()
    docs = hashed(hasher, ImageDoc(uri=str(served_folder / 'inside.jpg')), ImageDoc(blob=b'not an image'),
                  ImageDoc(blob=blob), ImageDoc())
    good, bad, sent, empty = docs
    image = Image.open(INDEX_IMAGES[0])
    assert good.error is None and good.phash == str(imagehash.phash(image))
    assert good.dhash == str(imagehash.dhash(image)) and good.whash == str(imagehash.whash(image))
    assert (good.width, good.height) == image.size and good.hash_size == 8
    assert good.embedding.tolist() == [int(c) for c in bin(int(good.phash, 16))[2:].zfill(64)]
    assert len(good.digest) == 64 and good.byte_size == os.path.getsize(INDEX_IMAGES[0])
    assert 'neither image bytes nor valid base64' in bad.error and bad.phash is None
    assert sent.error is None and sent.phash == str(imagehash.phash(Image.open(INDEX_IMAGES[2])))
    assert sent.blob is None  # the bytes are not carried on to the indexer
    assert 'no uri, blob or tensor' in empty.error


def test_paths_outside_the_allowed_folders_are_not_read(served_folder):
    hasher = ImageHasher(allowed_roots=[str(served_folder)])
    outside, escaped, linked, missing, remote = hashed(
        hasher, ImageDoc(uri=str(served_folder.parent / 'outside.jpg')),
        ImageDoc(uri=str(served_folder / '..' / 'outside.jpg')), ImageDoc(uri=str(served_folder / 'link-out.jpg')),
        ImageDoc(uri=str(served_folder / 'missing.jpg')), ImageDoc(uri='http://example.com/a.jpg'))
    for doc in (outside, escaped, linked):
        assert 'outside the folders this server may read' in doc.error and doc.phash is None
    assert 'No such file' in missing.error
    assert 'only local file paths' in remote.error


def test_a_server_without_allowed_folders_reads_no_path(served_folder):
    doc, = hashed(ImageHasher(), ImageDoc(uri=str(served_folder / 'inside.jpg')))
    assert 'does not read paths' in doc.error


def test_parameters_choose_the_hashes_and_their_size(served_folder):
    hasher = ImageHasher(allowed_roots=[str(served_folder)])
    doc, = hashed(hasher, ImageDoc(uri=str(served_folder / 'inside.jpg')),
                  hash_type='dhash', hash_types=['dhash'], hash_size=16.0, exact=True)  # JSON numbers are floats
    assert doc.phash is None and doc.dhash == str(imagehash.dhash(Image.open(INDEX_IMAGES[0]), 16))
    assert doc.embedding.size == 256


@pytest.mark.parametrize('parameters, message', [
    ({'hash_type': 'md5'}, 'unknown hash_type'),
    ({'hash_types': []}, 'hash_types'),
    ({'hash_size': 8.5}, 'whole number'),
    ({'hash_size': 1000}, 'between'),
    ({'hash_size': 6}, 'power-of-two'),
])
def test_wrong_parameters_fail_the_request_with_a_clear_message(parameters, message):
    with pytest.raises(ValueError, match=message):
        hashed(ImageHasher(), ImageDoc(blob=b'x'), **parameters)


def test_a_document_sent_with_its_hash_and_no_image_is_passed_through():
    doc, = hashed(ImageHasher(), ImageDoc(uri='/not/read.jpg', phash='0123456789abcdef', hash_size=8, digest='d'))
    assert doc.error is None and doc.phash == '0123456789abcdef'


def test_a_tar_member_is_read_where_its_offset_says_and_only_below_the_allowed_folders(served_folder):
    """A local client sends a plain tar's members as ARCHIVE::MEMBER and member_offset (where the
    data starts): the hasher reads them there, after checking the member's header names them, or
    finds them in the tar's index when the offset is wrong; archives outside the allowed folders,
    compressed ones and missing members are errors, as a path's are."""
    import tarfile
    from tests.datasets import add_bytes, webdataset_tar
    long_name = 'a' * 120 + '.jpg'  # past ustar's 100 characters: the name is in a pax header before
    inside = webdataset_tar(str(served_folder / 'shard.tar'), INDEX_IMAGES[:2])
    with tarfile.open(inside, 'a') as tar:
        add_bytes(tar, long_name, open(INDEX_IMAGES[2], 'rb').read())
    outside = webdataset_tar(str(served_folder.parent / 'outside.tar'), INDEX_IMAGES[:1])
    os.symlink(outside, served_folder / 'link-out.tar')
    gzipped = webdataset_tar(str(served_folder / 'shard.tar.gz'), INDEX_IMAGES[:1])
    offsets = {info.name: info.offset_data for info in tarfile.open(inside).getmembers()}
    first, second = (os.path.basename(image) for image in INDEX_IMAGES[:2])
    hasher = ImageHasher(allowed_roots=[str(served_folder)])
    docs = hashed(hasher, ImageDoc(uri=f'{inside}::{first}', member_offset=offsets[first]),
                  ImageDoc(uri=f'{inside}::{second}', member_offset=offsets[first]),  # another member's offset
                  ImageDoc(uri=f'{inside}::{long_name}', member_offset=offsets[long_name]),
                  ImageDoc(uri=f'{inside}::{second}', member_offset=7),
                  ImageDoc(uri=f'{inside}::missing.jpg', member_offset=offsets[first]),
                  ImageDoc(uri=f'{outside}::{first}', member_offset=offsets[first]),
                  ImageDoc(uri=f'{served_folder}/link-out.tar::{first}', member_offset=offsets[first]),
                  ImageDoc(uri=f'{gzipped}::{first}', member_offset=512))
    by_blob = hashed(hasher, *(ImageDoc(blob=open(image, 'rb').read()) for image in INDEX_IMAGES[:3]))
    read, wrong_offset, long, not_a_header, missing, out, linked, compressed = docs
    expected = {'read': by_blob[0], 'wrong_offset': by_blob[1], 'long': by_blob[2], 'not_a_header': by_blob[1]}
    for name, doc in zip(expected, (read, wrong_offset, long, not_a_header)):
        assert doc.error is None, (name, doc.error)
        assert (doc.digest, doc.phash, doc.views) == (expected[name].digest, expected[name].phash,
                                                      expected[name].views), name
        assert doc.member_offset is None and doc.mtime == os.path.getmtime(inside), name  # not carried on
    assert read.byte_size == os.path.getsize(INDEX_IMAGES[0])
    assert missing.error == f'{inside} holds no file missing.jpg' and missing.phash is None
    for doc in (out, linked):
        assert 'outside the folders this server may read' in doc.error and doc.phash is None
    assert 'only a plain .tar is read by member_offset' in compressed.error
    os.mkfifo(served_folder / 'fifo.tar')  # opening it would block the hasher
    doc, = hashed(hasher, ImageDoc(uri=f'{served_folder}/fifo.tar::{first}', member_offset=512))
    assert doc.error == f'{served_folder}/fifo.tar is not a file'
    doc, = hashed(ImageHasher(), ImageDoc(uri=f'{inside}::{first}', member_offset=offsets[first]))
    assert 'does not read paths' in doc.error

    # The right offset is a seek and the header's check: the tar's index is not read for it.
    tar_offsets.cache_clear()
    doc, = hashed(hasher, ImageDoc(uri=f'{inside}::{first}', member_offset=offsets[first]))
    assert doc.digest == read.digest and tar_offsets.cache_info().misses == 0
    doc, = hashed(hasher, ImageDoc(uri=f'{inside}::{long_name}', member_offset=offsets[long_name]))
    assert doc.digest == long.digest and tar_offsets.cache_info().misses == 1  # its header holds 100 characters
