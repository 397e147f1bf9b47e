"""The labelled benchmark: which query is a copy of which indexed photo.

From a folder of distinct photos, four in five are indexed (each is the original of its own
copies and a distractor for every other query); every fifth is held out as an unrelated photo.
The queries are every transformed copy of every photo (TRANSFORMS) plus the held-out photos
themselves: a copy of an indexed photo has exactly one right answer, a held-out photo and its
copies have none. Every image goes through the project's own decode path (open_image,
to_grey), so the measurement is of what `index` and `search` compute.
"""
import os
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
from PIL import Image

from evaluation.transforms import TRANSFORMS, altered_copy
from executors.documents import HASH_TYPES
from executors.image_hasher.decode import open_image, to_grey
from executors.image_hasher.hashes import compute_hashes

HASH_SIZES = (8, 16)
HASH_VARIANTS = [(hash_type, size) for size in HASH_SIZES for hash_type in HASH_TYPES]
HELD_OUT_EVERY = 5  # every fifth photo (in name order) is an unrelated query, not indexed
PHOTO_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.webp')
UNALTERED = 'unaltered'  # the transform name of a held-out photo queried as it is


@dataclass(frozen=True)
class Query:
    photo: str  # the photo the query was made from
    transform: str
    original: Optional[str]  # the indexed photo it must find; None for an unrelated photo


@dataclass
class Benchmark:
    index: List[str]  # names of the indexed photos
    queries: List[Query]
    index_greys: List[Image.Image] = field(repr=False)
    query_greys: List[Image.Image] = field(repr=False)

    def labels(self) -> np.ndarray:
        """(queries x index) booleans: True where the query is a copy of that indexed photo."""
        position = {name: column for column, name in enumerate(self.index)}
        labels = np.zeros((len(self.queries), len(self.index)), dtype=bool)
        for row, query in enumerate(self.queries):
            if query.original is not None:
                labels[row, position[query.original]] = True
        return labels

    def transforms(self) -> List[str]:
        return [query.transform for query in self.queries]


def photo_paths(folder: str) -> List[str]:
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(PHOTO_EXTENSIONS))
    return [os.path.join(folder, name) for name in names]


def decoded(data: bytes) -> Image.Image:
    return to_grey(open_image(data))


def split(names: List[str]):
    """(indexed, held out): every HELD_OUT_EVERY-th name is held out."""
    held_out = names[HELD_OUT_EVERY - 1::HELD_OUT_EVERY]
    return [n for n in names if n not in held_out], held_out


def build(folder: str, transforms=tuple(TRANSFORMS)) -> Benchmark:
    paths = photo_paths(folder)
    names = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    if len(set(names)) != len(names):
        raise ValueError(f'{folder} holds two photos with the same name and different extensions')
    indexed, held_out = split(names)
    benchmark = Benchmark(index=[], queries=[], index_greys=[], query_greys=[])
    for name, path in zip(names, paths):
        with open(path, 'rb') as file:
            data = file.read()
        colour = open_image(data)
        colour = colour.convert('L' if colour.mode == 'L' else 'RGB')
        original = name if name in indexed else None
        if original:
            benchmark.index.append(name)
            benchmark.index_greys.append(decoded(data))
        else:
            benchmark.queries.append(Query(name, UNALTERED, None))
            benchmark.query_greys.append(decoded(data))
        for transform in transforms:
            benchmark.queries.append(Query(name, transform, original))
            benchmark.query_greys.append(decoded(altered_copy(colour, transform, seed=name)))
    return benchmark


def hash_matrix(greys, hash_type: str, hash_size: int, prepare=None) -> np.ndarray:
    """(images x bits) booleans: one hash per image, after `prepare` (grey -> grey) if given."""
    rows = [compute_hashes(prepare(g) if prepare else g, [hash_type], hash_size)[hash_type].ravel() for g in greys]
    return np.array(rows, dtype=bool)


def hamming(queries: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(queries x index) differing bits between two sets of hashes, as a matrix product."""
    q, i = queries.astype(np.float32), index.astype(np.float32)
    return np.rint(q @ (1 - i).T + (1 - q) @ i.T).astype(np.int32)
