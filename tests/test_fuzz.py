"""Property-based fuzzing of the hasher with hypothesis: random bytes, and real image files of
every supported format with bits flipped, bytes overwritten, ends cut off, headers given
absurd sizes and files spliced together.

Whatever comes in, ImageHasher.hash returns: each document gets either its hashes or an
error text, never an exception out of the executor, never a hang, and the same bytes
always give the same answer.
"""
import signal
import struct
from contextlib import contextmanager

import pytest
from docarray import DocList
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from executors.documents import ImageDoc
from executors.image_hasher import ImageHasher
from tests.corpus import encoded, photo

HANG_SECONDS = 60  # far above any real decode of these small files: only a hang gets there
FORMATS = [('PNG', {}), ('JPEG', {'quality': 80}), ('GIF', {}), ('WEBP', {'quality': 80}), ('BMP', {}),
           ('TIFF', {}), ('AVIF', {'quality': 60}), ('PNG', {'bits': 4, 'optimize': True})]


def seed_files() -> list:
    """Small real files of every format the hasher reads, the raw material of the mutations."""
    picture = photo(0, width=48)
    seeds = [encoded(picture.convert('P') if name in ('GIF',) or 'bits' in options else picture, name, **options)
             for name, options in FORMATS]
    seeds.append(encoded(picture.convert('LA'), 'PNG'))
    seeds.append(encoded(picture.convert('CMYK'), 'JPEG'))
    return seeds


SEEDS = seed_files()
HASHER = ImageHasher()


class Hang(BaseException):
    """Not an Exception, so that the executor's own catch-all cannot swallow it."""


@contextmanager
def hang_guard(seconds: int = HANG_SECONDS):
    def expire(*_):
        raise Hang(f'hashing took over {seconds} s')
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(['flip', 'overwrite', 'truncate', 'splice', 'size', 'insert']))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == 'flip' and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == 'overwrite':
            data[at:at + 8] = draw(st.binary(min_size=1, max_size=8))
        elif kind == 'truncate':
            del data[at:]
        elif kind == 'splice':
            other = draw(st.sampled_from(SEEDS))
            data[at:] = other[draw(st.integers(0, len(other) - 1)):]
        elif kind == 'size':  # a big width or height where the headers keep them (PNG, GIF, BMP, JPEG)
            value = draw(st.sampled_from([0, 1, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 50000]))
            data[at:at + 4] = struct.pack('>I', value)
        elif kind == 'insert':
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
    return bytes(data)


def hash_once(data: bytes) -> ImageDoc:
    with hang_guard():
        doc, = HASHER.hash_for_index(DocList[ImageDoc]([ImageDoc(blob=data)]), {})
    return doc


def check(data: bytes) -> None:
    doc = hash_once(data)
    if doc.error is None:
        assert all(len(getattr(doc, name)) == 16 for name in ('ahash', 'phash', 'dhash', 'whash'))
        assert doc.width > 0 and doc.height > 0 and doc.byte_size > 0 and len(doc.digest) == 64
    else:
        assert isinstance(doc.error, str) and doc.error and doc.phash is None
    again = hash_once(data)
    assert (again.error, again.phash, again.dhash) == (doc.error, doc.phash, doc.dhash)


# No deadline: timing is not the property here (a real hang trips hang_guard instead).
FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize('seed', range(len(SEEDS)))
def test_every_seed_file_hashes(seed):
    """The mutations start from files that work, so a refusal below is the mutation's doing."""
    assert hash_once(SEEDS[seed]).error is None


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_never_escape_the_hasher(data):
    check(data)


@FUZZ
@given(mutated())
def test_mutated_images_never_escape_the_hasher(data):
    check(data)
