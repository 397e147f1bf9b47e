"""Document types exchanged by the clients, the ImageHasher and the SimpleIndexer.

One schema serves every endpoint so that gRPC clients, the HTTP gateway and both executors
agree on field names. Over HTTP (JSON), `blob` is the base64 text of the encoded image.
"""
import functools
from typing import Any, Dict, List, Optional

from docarray import BaseDoc
from docarray.base_doc.mixins.io import _type_to_protobuf  # docarray is pinned (0.41): its own field encoder
from docarray.proto import DocProto
from docarray.typing import NdArray

HASH_TYPES = ('ahash', 'phash', 'dhash', 'whash')


class WireDoc(BaseDoc):
    """A BaseDoc whose protobuf form costs less to read, for documents with many unset fields.

    Every document is decoded at each hop (hasher, indexer, client), and docarray 0.41 spends
    most of that on per-field overhead, not on the data. The three overrides below give the same
    documents for a fraction of the work.
    """

    def to_protobuf(self) -> DocProto:
        # docarray writes every field, unset ones included, and each reader pays for each; an
        # absent field reads back as its default, which is None for every field left out here.
        return DocProto(data={name: _type_to_protobuf(value) for name, value in self if value is not None})

    @classmethod
    def _get_field_annotation(cls, field: str) -> type:
        # docarray recomputes this (typing introspection) for every field of every document read.
        return _field_annotation(cls, field)

    @classmethod
    def _get_content_from_node_proto(cls, value, field_name: Optional[str] = None, field_type=None) -> Any:
        if field_name == 'id':  # docarray builds a pydantic TypeAdapter per document for this
            return value.text    # string; the document's own validation makes it an ID all the same
        return super()._get_content_from_node_proto(value, field_name, field_type)


@functools.lru_cache(maxsize=None)
def _field_annotation(cls, field: str) -> type:
    return super(WireDoc, cls)._get_field_annotation(field)


class Match(WireDoc):
    """One indexed image found near a query (or near a group's kept file): `distance` in bits."""

    uri: Optional[str] = None
    distance: int = 0
    # Filled by /duplicates, for reports that compare the members of a group.
    digest: Optional[str] = None
    width: Optional[int] = None
    height: Optional[int] = None
    byte_size: Optional[int] = None
    mtime: Optional[float] = None
    # Why this is a match: stage 1's bits, stage 2's 256-bit distance, the views and the colour
    # (match.Verdict.evidence). Not Optional, for the reason given at ImageDoc.matches.
    evidence: Dict[str, Any] = {}


class ImageDoc(WireDoc):
    # Input: one of these three. A client that shares the server's disk sends `uri` alone;
    # any other client sends `blob` (and may keep `uri` as a label, which is then not read).
    uri: Optional[str] = None
    blob: Optional[bytes] = None
    tensor: Optional[NdArray] = None  # decoded pixels: accepted, but slow over the wire
    mtime: Optional[float] = None  # file modification time, when the client knows it
    # With a uri ARCHIVE::MEMBER of a plain .tar (and no blob): where the member's data starts, so
    # that a hasher allowed to read the archive reads the member there (executors/tar_members.py)
    # instead of being sent its bytes. A local Flow is sent this; the hasher clears it.
    member_offset: Optional[int] = None

    # Filled by the ImageHasher.
    embedding: Optional[NdArray] = None  # bits of the primary hash as 0/1 values
    ahash: Optional[str] = None  # hex, the same text as str(imagehash.average_hash(...))
    phash: Optional[str] = None
    dhash: Optional[str] = None
    whash: Optional[str] = None
    hash_size: Optional[int] = None  # 8 -> 64-bit hashes, 16 -> 256-bit
    digest: Optional[str] = None  # sha256 of the encoded bytes: finds exact duplicates
    width: Optional[int] = None
    height: Optional[int] = None
    byte_size: Optional[int] = None
    error: Optional[str] = None  # why this image could not be used; the rest go on
    # Hashes of views of the image (image_hasher/views.py): {'<hash type>.<view>': the hex texts of
    # the view's hashes, end to end}. Not Optional, for the reason given at `matches`.
    views: Dict[str, str] = {}
    # The evidence of the match decision (image_hasher/evidence.py, match.py): the packed 256-bit
    # pHashes of the image and its views, its information score and its mean colour (none: grey).
    verify_codes: Optional[bytes] = None
    information: Optional[float] = None
    colour: Optional[List[float]] = None
    # Signs of having been made from another image (image_hasher/provenance.py), for the keep
    # policy: {'jpeg_quality', 'border', 'clipped', 'detail', 'chroma'}. Not Optional,
    # for the reason given at `matches`.
    provenance: Dict[str, Any] = {}

    # Filled by the SimpleIndexer.
    status: Optional[str] = None  # /index: 'indexed' or 'updated'; /duplicates: 'exact' or 'near' group
    # /search: by distance, then id; /duplicates: the group's other members. Not Optional:
    # docarray 0.41 cannot rebuild an Optional nested list in the gateway (the anyOf keeps a
    # dangling $ref), so an empty list it is.
    matches: List[Match] = []
    # /status, /delete, /clear: the answer as one document (a dict returned by an endpoint would
    # reach the client from one shard only). Not Optional, for the same reason as matches.
    result: Dict[str, Any] = {}
