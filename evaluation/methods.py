"""What is measured: one hash type and size, alone or with the views that `search` and `dedup`
compare (executors/view_pairs.py, hashed by executors/image_hasher/views.py, the very code the
hasher runs).

A method's distance between a query and an indexed photo is the smallest over its pairs of
views (query view, indexed view) of the distance between their hashes, as the indexer computes
it; a view a photo does not have (hashed without views) takes no part.
"""
from dataclasses import dataclass
from typing import Dict, List

import numpy as np

from evaluation.benchmark import Benchmark, hamming, hash_matrix
from executors.image_hasher.views import view_hashes
from executors.view_pairs import HASHES_PER_VIEW, INDEX_VIEWS, QUERY_VIEWS, view_pairs

FAR = 1 << 20  # the distance of a view a photo does not have: never within a threshold


@dataclass(frozen=True)
class Method:
    hash_type: str
    hash_size: int
    views: bool = False
    rotations: bool = False

    @property
    def name(self) -> str:
        extras = [name for name, used in (('views', self.views), ('rotations', self.rotations)) if used]
        return '+'.join([f'{self.hash_type}{self.hash_size}'] + extras)

    @property
    def bits(self) -> int:
        return self.hash_size * self.hash_size


class Hashes:
    """Hash matrices of a benchmark's views, each computed once and kept."""

    def __init__(self, benchmark: Benchmark):
        self.benchmark = benchmark
        self.plain: Dict[tuple, np.ndarray] = {}
        self.views: Dict[tuple, Dict[str, List[np.ndarray]]] = {}

    def matrix(self, side: str, hash_type: str, hash_size: int) -> np.ndarray:
        """(images x bits) booleans: the plain hash of every image of one side."""
        key = (side, hash_type, hash_size)
        if key not in self.plain:
            self.plain[key] = hash_matrix(self._greys(side), hash_type, hash_size)
        return self.plain[key]

    def view_matrices(self, side: str, view: str, hash_type: str, hash_size: int) -> List[tuple]:
        """One (images x bits, present) pair per hash of the view: `present` marks the images
        that have the view; the plain hash is a view of one hash that every image has."""
        if view == 'plain':
            matrix = self.matrix(side, hash_type, hash_size)
            return [(matrix, np.ones(len(matrix), dtype=bool))]
        key = (side, hash_type, hash_size)
        if key not in self.views:
            names = INDEX_VIEWS if side == 'index' else QUERY_VIEWS
            self.views[key] = [view_hashes(grey, hash_type, hash_size, names) for grey in self._greys(side)]
        per_image = self.views[key]
        present = np.array([view in hashes for hashes in per_image])
        blank = np.zeros((HASHES_PER_VIEW[view], hash_size * hash_size), dtype=bool)
        stacked = np.array([hashes.get(view, blank) for hashes in per_image])  # images x hashes x bits
        return [(stacked[:, k], present) for k in range(HASHES_PER_VIEW[view])]

    def _greys(self, side: str):
        return self.benchmark.query_greys if side == 'query' else self.benchmark.index_greys

    def distances(self, method: Method) -> np.ndarray:
        """(queries x index) distances of `method`: the smallest over its view pairs."""
        result = None
        for query_view, index_view in view_pairs(method.views, method.rotations):
            for queries, query_present in self.view_matrices('query', query_view, method.hash_type, method.hash_size):
                for index, index_present in self.view_matrices('index', index_view, method.hash_type, method.hash_size):
                    pair = hamming(queries, index)
                    pair[~query_present, :] = FAR
                    pair[:, ~index_present] = FAR
                    result = pair if result is None else np.minimum(result, pair)
        return result
