"""What is measured: one hash type and size, alone or with extra views of the images.

A method's distance between a query and an indexed photo is the smallest Hamming distance over
its pairs of views (query view, indexed view): the plain hash compares (plain, plain); `trim`
adds (trimmed, trimmed) for pads and letterboxes; `rotations` adds the plain query against the
7 other orientations of the indexed photo (flips and 90-degree turns); `crops` adds it against
9 crops of the indexed photo (cut edges). Extra views sit on the index side, where they are
computed once per photo, except the trim, which both sides need.
"""
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np

from evaluation.benchmark import Benchmark, hamming, hash_matrix
from evaluation.views import CROP_VIEWS, ORIENTATIONS, oriented, trim_borders

PLAIN, TRIM = 'plain', 'trim'
INDEX_VIEWS = {PLAIN: None, TRIM: trim_borders}
INDEX_VIEWS.update({f'orientation-{k}': oriented(m) for k, m in enumerate(ORIENTATIONS, start=1)})
INDEX_VIEWS.update({f'crop-{k}': view for k, view in enumerate(CROP_VIEWS, start=1)})
QUERY_VIEWS = {PLAIN: None, TRIM: trim_borders}


@dataclass(frozen=True)
class Method:
    hash_type: str
    hash_size: int
    trim: bool = False
    rotations: bool = False
    crops: bool = False

    @property
    def name(self) -> str:
        extras = [name for name, used in (('trim', self.trim), ('rotations', self.rotations), ('crops', self.crops))
                  if used]
        return '+'.join([f'{self.hash_type}{self.hash_size}'] + extras)

    @property
    def bits(self) -> int:
        return self.hash_size * self.hash_size

    def view_pairs(self) -> List[Tuple[str, str]]:
        pairs = [(PLAIN, PLAIN)]
        if self.trim:
            pairs.append((TRIM, TRIM))
        if self.rotations:
            pairs += [(PLAIN, f'orientation-{k}') for k in range(1, len(ORIENTATIONS) + 1)]
        if self.crops:
            pairs += [(PLAIN, f'crop-{k}') for k in range(1, len(CROP_VIEWS) + 1)]
        return pairs


class Hashes:
    """Hash matrices of a benchmark's views, each computed once and kept."""

    def __init__(self, benchmark: Benchmark):
        self.benchmark = benchmark
        self.cache: Dict[tuple, np.ndarray] = {}

    def matrix(self, side: str, view: str, hash_type: str, hash_size: int) -> np.ndarray:
        key = (side, view, hash_type, hash_size)
        if key not in self.cache:
            greys = self.benchmark.query_greys if side == 'query' else self.benchmark.index_greys
            prepare = (QUERY_VIEWS if side == 'query' else INDEX_VIEWS)[view]
            self.cache[key] = hash_matrix(greys, hash_type, hash_size, prepare)
        return self.cache[key]

    def distances(self, method: Method) -> np.ndarray:
        """(queries x index) distances of `method`: the smallest over its view pairs."""
        result = None
        for query_view, index_view in method.view_pairs():
            pair = hamming(self.matrix('query', query_view, method.hash_type, method.hash_size),
                           self.matrix('index', index_view, method.hash_type, method.hash_size))
            result = pair if result is None else np.minimum(result, pair)
        return result
