"""ImageHasher: turns image documents into perceptual hashes (the hash embedding).

The endpoints only adapt documents; the pixel work is in decode.py and hashes.py.
"""
import os
import tarfile
from typing import Optional, Sequence

from docarray import DocList
from jina import Executor, requests

from executors import parameters as params
from executors.documents import HASH_TYPES, ImageDoc
from executors.image_hasher.decode import (
    DEFAULT_MAX_PIXELS,
    ImageError,
    blob_bytes,
    image_from_array,
    open_image,
    sha256_digest,
    flattened,
    shrink,
)
from executors.image_hasher.evidence import DECODE_SIDE, image_evidence
from executors.image_hasher.hashes import bits_to_hex, compute_hashes, fast_side
from executors.image_hasher.provenance import provenance
from executors.image_hasher.views import view_hashes
from executors.tar_members import locate
from executors.uris import ARCHIVE_SEPARATOR, file_uri
from executors.view_pairs import INDEX_VIEWS, QUERY_VIEWS

MAX_FILE_BYTES = 512 * 1024 * 1024


class PathPolicy:
    """Which local paths the hasher may read for a document's `uri`.

    A server must not read arbitrary files for remote clients, so paths are read only below
    the allowed roots, after resolving `..` and symbolic links. The local command line allows
    `/`: its user may hash anything they can read.
    """

    def __init__(self, allowed_roots: Sequence[str], max_bytes: int = MAX_FILE_BYTES):
        self.roots = [os.path.realpath(root) for root in allowed_roots]
        self.max_bytes = max_bytes

    def read(self, uri: str) -> tuple:
        """The bytes of the file named by uri and its modification time."""
        path, real = self.allowed(uri)
        try:
            stat = os.stat(real)
            if not os.path.isfile(real):
                raise ImageError(f'{path} is not a file')
            within_limit(path, stat.st_size, self.max_bytes)
            with open(real, 'rb') as file:
                return file.read(), stat.st_mtime
        except OSError as error:
            raise ImageError(f'cannot read {path}: {error.strerror or error}') from None

    def read_member(self, uri: str, offset: int) -> tuple:
        """The bytes of the member of a plain tar named by uri (ARCHIVE::MEMBER), whose data the
        client found at `offset` (checked: executors/tar_members.py), and the archive's
        modification time. The archive must be readable as a file would be: below the roots."""
        archive, _, name = uri.partition(ARCHIVE_SEPARATOR)
        path, real = self.allowed(archive)
        if not path.lower().endswith('.tar'):
            raise ImageError(f'{uri}: only a plain .tar is read by member_offset; send the image bytes in blob')
        try:
            if not os.path.isfile(real):  # not opened: a fifo would block
                raise ImageError(f'{path} is not a file')
            with open(real, 'rb') as file:
                stat = os.fstat(file.fileno())
                start, size = locate(file, real, name, offset, stat.st_size, stat.st_mtime)
                within_limit(uri, size, self.max_bytes)
                file.seek(start)
                data = file.read(size)
        except KeyError:
            raise ImageError(f'{path} holds no file {name}') from None
        except (OSError, tarfile.TarError) as error:
            raise ImageError(f'cannot read {path}: {getattr(error, "strerror", None) or error}') from None
        if len(data) != size:
            raise ImageError(f'cannot read {path}: it ends inside {name}')
        return data, stat.st_mtime

    def allowed(self, uri: str) -> tuple:
        """(the path uri names, its real path), if this server may read it (raises ImageError)."""
        path = uri[len('file://'):] if uri.startswith('file://') else uri
        if '://' in path:
            raise ImageError(f'only local file paths can be read, not {uri!r}; send the image bytes in blob')
        if not self.roots:
            raise ImageError('this server does not read paths; send the image bytes in blob '
                             '(or start the server with --allow-root DIR)')
        real = os.path.realpath(path)
        if not any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in self.roots):
            raise ImageError(f'{path} is outside the folders this server may read')
        return path, real


def within_limit(what: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise ImageError(f'{what} is {size:,} bytes, over the limit of {max_bytes:,}')


def hash_document(doc: ImageDoc, hash_types, hash_size: int, primary: str, paths: PathPolicy,
                  max_pixels: int = DEFAULT_MAX_PIXELS, exact: bool = True, views=()) -> None:
    """Fill doc's hashes, digest, size and embedding in place, or its `error`; the primary hash
    of each of `views` (views.py) in doc.views, as {'<hash type>.<view>': hex of its hashes}; and
    the evidence of the match decision (evidence.py) of the image and the same views; and its
    provenance (provenance.py), for dedup's keep policy.

    exact=False is the fast path: a JPEG is decoded at reduced scale, other images are shrunk
    by a box filter before hashing (a bit or two from ImageHash; see the README's Speed).
    """
    reduce_to = 0 if exact else fast_side(hash_size)
    decode_to = 0 if exact else max(reduce_to, DECODE_SIDE)  # the evidence wants twice its 64x64 squares
    try:
        if doc.blob is not None:
            data = blob_bytes(doc.blob)
            within_limit('blob', len(data), paths.max_bytes)
            image = open_image(data, max_pixels, decode_to)
        elif doc.tensor is not None:
            image = image_from_array(doc.tensor)
            data = image.tobytes()
        elif doc.uri and doc.member_offset is not None:  # a plain tar's member, read where the client found it
            data, doc.mtime = paths.read_member(doc.uri, doc.member_offset)
            image = open_image(data, max_pixels, decode_to)
        elif doc.uri:
            data, doc.mtime = paths.read(doc.uri)
            image = open_image(data, max_pixels, decode_to)
        else:
            raise ImageError('no image: the document has no uri, blob or tensor')
        upright = flattened(image)
        grey = upright.convert('L')
        bits = compute_hashes(shrink(grey, reduce_to) if reduce_to else grey, hash_types, hash_size, exact)
        # Views have no ImageHash function to agree with: always hashed the fast way, which is cheap.
        extra = view_hashes(grey, primary, hash_size, views) if views else {}
        evidence = image_evidence(upright, grey, views)
        origin = provenance(image, upright, grey)
    except ImageError as error:
        doc.error = str(error)
        return
    except Exception as error:  # a decoder bug on one file must not fail the whole request
        doc.error = f'could not hash this image ({type(error).__name__}: {error})'
        return
    finally:  # the bytes have done their job, or failed: carry them neither on to the indexer nor back
        doc.blob = None
        doc.tensor = None
        doc.member_offset = None
    for name, value in bits.items():
        setattr(doc, name, bits_to_hex(value))
    doc.views = {f'{primary}.{name}': ''.join(bits_to_hex(row) for row in rows) for name, rows in extra.items()}
    doc.embedding = bits[primary].ravel().astype('uint8')
    doc.verify_codes, doc.information = evidence.codes, evidence.information
    doc.colour = list(evidence.colour) if evidence.colour else None
    doc.provenance = origin.as_dict()
    doc.hash_size = hash_size
    doc.digest = sha256_digest(data)
    doc.width, doc.height = image.info.get('full_size', image.size)
    doc.byte_size = len(data)


def hashed_already(doc: ImageDoc, primary: str) -> bool:
    """A document sent with its hash and no image (read from another index, say) is searched as it is."""
    return doc.blob is None and doc.tensor is None and bool(getattr(doc, primary)) and bool(doc.hash_size)


class ImageHasher(Executor):
    """Computes aHash, pHash, dHash and wHash for /index and /search documents.

    Request parameters override the configuration: `hash_type` (the primary hash, whose bits
    become the embedding), `hash_types` (which hashes to compute), `hash_size` (8 = 64 bits),
    `exact` (true: ImageHash's pixels bit for bit; false, the default: the fast decode path),
    `views` (true, the default: also hash the views of views.py that find cropped, padded and
    turned copies; an index hashes all of them, a query only its own few).
    """

    def __init__(self, hash_types: Sequence[str] = HASH_TYPES, hash_size: int = 8,
                 hash_type: str = 'phash', allowed_roots: Sequence[str] = (),
                 max_pixels: int = DEFAULT_MAX_PIXELS, max_bytes: int = MAX_FILE_BYTES,
                 exact: bool = False, views: bool = True, **kwargs):
        super().__init__(**kwargs)
        params.log_request_errors_in_one_line(getattr(self.runtime_args, 'name', None))
        self.hash_types = params.hash_types({}, hash_types)
        self.hash_size = params.whole_number({}, 'hash_size', hash_size, 2, 32)
        self.hash_type = params.hash_type({}, hash_type)
        self.paths = PathPolicy(allowed_roots, max_bytes)
        self.max_pixels = max_pixels
        self.exact = params.flag({}, 'exact', exact)
        self.views = params.flag({}, 'views', views)

    @requests(on='/index')
    def hash_for_index(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        params.check_known(parameters, '/index')
        return self.hash(docs, parameters or {}, INDEX_VIEWS)

    @requests(on='/search')
    def hash_for_search(self, docs: DocList[ImageDoc], parameters: Optional[dict] = None, **kwargs) -> DocList[ImageDoc]:
        params.check_known(parameters, '/search')
        return self.hash(docs, parameters or {}, QUERY_VIEWS)

    def hash(self, docs: DocList[ImageDoc], parameters: dict, views) -> DocList[ImageDoc]:
        primary = params.hash_type(parameters, self.hash_type)
        hash_types = params.hash_types(parameters, self.hash_types)
        if primary not in hash_types:
            hash_types += (primary,)
        hash_size = params.whole_number(parameters, 'hash_size', self.hash_size, 2, 32)
        if 'whash' in hash_types and hash_size & (hash_size - 1):
            raise params.RequestError(f'whash needs a power-of-two hash_size (4, 8, 16, 32), not {hash_size}')
        exact = params.flag(parameters, 'exact', self.exact)
        views = views if params.flag(parameters, 'views', self.views) else ()
        for doc in docs:
            doc.uri = file_uri(doc.uri)  # read, and answered, under the name the indexer stores (uris.py)
            if hashed_already(doc, primary):
                continue
            hash_document(doc, hash_types, hash_size, primary, self.paths, self.max_pixels, exact, views)
        return docs


