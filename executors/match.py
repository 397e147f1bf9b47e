"""The match decision: whether two images are the same picture. The one place it is made.

Two stages. Stage 1 (the indexer's multi-index search over 64-bit hashes and their views)
only proposes candidates, loose enough for recall. Stage 2, here, decides each candidate from
the evidence both images carry since they were hashed (image_hasher/evidence.py):

1. information: an image flatter than MIN_INFORMATION (a blank sheet, one colour) has a hash
   made of noise; it matches nothing but its exact copies (same bytes, found by digest).
2. colour: when both images have colour, the mean chroma of their centres must point the same
   way (within MAX_COLOUR_DEGREES); a grey copy of a colour photo has none and skips this.
3. 256-bit pHash over the same pairs of views as stage 1 (view_pairs.py), on a finer grid of
   crops and turns, and a trimmed view against the image as it is: at most VERIFY_THRESHOLD bits
   apart; or one band (the image without a quarter at one edge) against the same band of the
   other within BANDS_THRESHOLD. A pair whose 64-bit pHash views (stage 1) are within a few
   bits gets up to NEAR_64_ALLOWANCE bits more (fewer for each bit at 64): a photo whose
   highlights a brightening clipped keeps its coarse shape while its fine detail moves.

The thresholds and where they were measured are in executors/parameters.py. Every verdict
carries its evidence, so a reviewer sees why two images matched (or did not).
"""
import functools
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from executors.parameters import (BANDS_THRESHOLD, MAX_COLOUR_DEGREES, MIN_COLOUR_CHROMA, MIN_INFORMATION,
                                  NEAR_64_ALLOWANCE, NEAR_64_STEP, VERIFY_THRESHOLD)
from executors.view_pairs import ALIGNED_VIEWS, layout_of, verification_pairs

BATCH = 2048  # candidate pairs compared in one matrix operation: a few MB
VERIFY_BYTES = 32  # one 256-bit pHash (hash size 16)
VERIFY_WORDS = 4  # the same as 64-bit words


@dataclass(frozen=True)
class Evidence:
    """What stage 2 knows of one image: its packed 256-bit view hashes, information and colour."""
    codes: bytes  # 32 bytes per hash, in view_pairs.verification_layout order
    information: float
    colour: Optional[Tuple[float, float]] = None

    def words(self) -> np.ndarray:
        return np.frombuffer(self.codes, dtype='>u8').reshape(-1, VERIFY_WORDS)

    @property
    def rows(self) -> int:
        """How many 256-bit hashes: which views they are follows (view_pairs.layout_of)."""
        return len(self.codes) // VERIFY_BYTES


@dataclass(frozen=True)
class Verdict:
    same: bool
    bits256: Optional[int]  # the smallest 256-bit distance over the pairs of views; None if not compared
    views: str  # the pair of views it was found at, 'plain~crops' say (first image's view first)
    colour_degrees: Optional[float]  # how far apart the two colours point; None when not compared
    reason: str  # '' when the same picture, else why not: 'flat', 'colour' or 'far'
    allowance: int = 0  # bits granted beyond the comparison's threshold for a pair near at 64 bits (stage 1)

    def evidence(self, bits: Optional[int] = None) -> dict:
        """The verdict as JSON for search results, groups.json and report.html."""
        found = {'bits': bits, 'bits256': self.bits256, 'views': self.views, 'colour_degrees': self.colour_degrees,
                 'verified': self.same}
        if self.allowance:
            found['allowance'] = self.allowance  # a reviewer sees why 40 bits passed where 36 is the rule
        if self.reason:
            found['rejected'] = self.reason
        return {name: value for name, value in found.items() if value is not None}


def evidence_of_doc(doc) -> Optional[Evidence]:
    """The evidence an ImageDoc carries (verify_codes as bytes, information, colour), or None."""
    if not doc.verify_codes or doc.information is None:
        return None
    return Evidence(bytes(doc.verify_codes), float(doc.information), tuple(doc.colour) if doc.colour else None)


def colour_degrees(a: Optional[Tuple[float, float]], b: Optional[Tuple[float, float]]) -> Optional[float]:
    """The angle between two mean chromas, or None unless both have colour (MIN_COLOUR_CHROMA).
    Plain floats, not numpy scalars: dedup asks this once per candidate pair."""
    if a is None or b is None:
        return None
    length_a, length_b = math.hypot(*a), math.hypot(*b)
    if length_a < MIN_COLOUR_CHROMA or length_b < MIN_COLOUR_CHROMA:
        return None
    cosine = (a[0] * b[0] + a[1] * b[1]) / (length_a * length_b)
    return round(math.degrees(math.acos(min(1.0, max(-1.0, cosine)))), 1)


def near_64_allowance(stage1_bits):
    """The extra 256-bit bits a pair gets for its 64-bit pHash views being `stage1_bits` apart
    (a distance, or an array of them: dedup asks for millions at once): NEAR_64_ALLOWANCE at 0
    bits, NEAR_64_STEP fewer for each bit."""
    return np.maximum(0, NEAR_64_ALLOWANCE - NEAR_64_STEP * np.asarray(stage1_bits, dtype=np.int64))


def allows_near_64(hash_type: str, hash_size: int) -> bool:
    """Whether stage 1's distances are those the allowance was measured on: 64-bit pHash."""
    return (hash_type, hash_size) == ('phash', 8)


@functools.lru_cache(maxsize=None)
def comparisons(rows_first: int, rows_second: int, pairs: Tuple[Tuple[str, str], ...], both_ways: bool,
                threshold: int) -> tuple:
    """Every (row of the first image, row of the second) that stage 2 compares for images with
    these numbers of verification hashes: (rows_x, rows_y, each one's threshold, each one's
    'view~view' name, first image's view first, whether each may take the near-64 allowance).
    The bands, being many chances of a near miss, are held to BANDS_THRESHOLD and get no
    allowance; aligned views compare a row with its counterpart only."""
    layouts = [{view: (start, rows) for view, start, rows in layout_of(count)} for count in (rows_first, rows_second)]
    xs, ys, limits, names, regular = [], [], [], [], []
    for view_a, view_b in verification_pairs(pairs):
        for x_is_first, view_x, view_y in ((True, view_a, view_b), (False, view_a, view_b))[:1 + both_ways]:
            here, there = (layouts[0], layouts[1]) if x_is_first else (layouts[1], layouts[0])
            if view_x not in here or view_y not in there:
                continue
            (start_x, count_x), (start_y, count_y) = here[view_x], there[view_y]
            if view_x == view_y and view_x in ALIGNED_VIEWS:
                combos = [(start_x + k, start_y + k) for k in range(min(count_x, count_y))]
            else:
                combos = [(start_x + i, start_y + j) for i in range(count_x) for j in range(count_y)]
            aligned = view_x in ALIGNED_VIEWS
            limit = min(threshold, BANDS_THRESHOLD) if aligned else threshold
            name = f'{view_x}~{view_y}' if x_is_first else f'{view_y}~{view_x}'
            for row_x, row_y in combos:
                xs.append(row_x if x_is_first else row_y)
                ys.append(row_y if x_is_first else row_x)
                limits.append(limit)
                names.append(name)
                regular.append(not aligned)
    return (np.array(xs, dtype=np.intp), np.array(ys, dtype=np.intp), np.array(limits), names,
            np.array(regular, dtype=bool))


Nearest = Tuple[Optional[int], str, int, int]  # (256-bit bits, 'view~view', that comparison's threshold, allowance)


def view_distances(firsts: Sequence[Evidence], seconds: Sequence[Evidence], pairs: Sequence[Tuple[str, str]],
                   both_ways: bool, threshold: int = VERIFY_THRESHOLD,
                   stage1_bits: Optional[Sequence[int]] = None) -> List[Nearest]:
    """For each pair (firsts[i], seconds[i]): (256-bit distance, 'view~view', that comparison's
    threshold, the allowance it may take) at the comparison nearest to (or furthest within) its
    threshold plus allowance, over the verification pairs of stage 1's `pairs`
    (view_pairs.verification_pairs), and with both_ways the other way round too (dedup: both
    images play both parts). `stage1_bits[i]`: the pair's 64-bit pHash distance over the views,
    for the allowance (near_64_allowance); None: no allowance. One matrix operation per set of
    pairs of the same layouts, a few thousand pairs at a time."""
    found: List[Nearest] = [(None, '', threshold, 0)] * len(firsts)
    allowances = np.zeros(len(firsts), dtype=np.int64) if stage1_bits is None else near_64_allowance(stage1_bits)
    by_layout: Dict[Tuple[int, int], List[int]] = {}
    for i, (first, second) in enumerate(zip(firsts, seconds)):
        by_layout.setdefault((first.rows, second.rows), []).append(i)
    for (rows_first, rows_second), members in by_layout.items():
        xs, ys, limits, names, regular = comparisons(rows_first, rows_second, tuple(map(tuple, pairs)), both_ways,
                                                     threshold)
        if not len(xs):
            continue
        limits_of = limits.tolist()
        for start in range(0, len(members), BATCH):
            chunk = members[start:start + BATCH]
            a = _stacked(firsts, chunk, rows_first)[:, xs]  # (pairs, comparisons, words)
            b = _stacked(seconds, chunk, rows_second)[:, ys]
            distances = np.bitwise_count(a ^ b).sum(axis=2, dtype=np.int64)
            rows = np.arange(len(chunk))
            margins = distances - limits
            best = np.argmin(margins, axis=1)
            # The allowance only for a pair that no comparison confirms on its own: one a band
            # confirms keeps the band as its evidence.
            granted = allowances[chunk][:, None] * regular  # (pairs, comparisons)
            helped = np.argmin(margins - granted, axis=1)
            needs = margins[rows, best] > 0
            best = np.where(needs, helped, best)
            extra = np.where(needs, granted[rows, helped], 0)
            for i, column, bits, more in zip(chunk, best.tolist(), distances[rows, best].tolist(), extra.tolist()):
                found[i] = (bits, names[column], limits_of[column], more)
    return found


def _stacked(evidence: Sequence[Evidence], chunk: List[int], rows: int) -> np.ndarray:
    """The hashes of evidence[i] for i in chunk as one (len(chunk), rows, words) array, from one
    join of their bytes (not an array per image). Native words: a distance counts the same bits."""
    return np.frombuffer(b''.join([evidence[i].codes for i in chunk]), dtype=np.uint64).reshape(
        len(chunk), rows, VERIFY_WORDS)


def verify(first: Evidence, second: Evidence, pairs: Sequence[Tuple[str, str]], both_ways: bool = True,
           threshold: int = VERIFY_THRESHOLD, stage1_bits: Optional[int] = None) -> Verdict:
    """Stage 2 for one candidate pair; `pairs` are the pairs of views stage 1 compared, and
    `stage1_bits` its 64-bit pHash distance there (None: not known, or another hash)."""
    return verify_all([first], [second], pairs, both_ways, threshold, None if stage1_bits is None else [stage1_bits])[0]


def verify_all(firsts: Sequence[Evidence], seconds: Sequence[Evidence], pairs: Sequence[Tuple[str, str]],
               both_ways: bool = True, threshold: int = VERIFY_THRESHOLD,
               stage1_bits: Optional[Sequence[int]] = None) -> List[Verdict]:
    """Stage 2 for many candidate pairs (firsts[i], seconds[i]) at once, stage 1 found stage1_bits[i]
    apart (None: no allowance for any)."""
    return [decide(first, second, *found) for first, second, found in
            zip(firsts, seconds, view_distances(firsts, seconds, pairs, both_ways, threshold, stage1_bits))]


def decide(first: Evidence, second: Evidence, bits: Optional[int], views: str, limit: int,
           allowance: int = 0) -> Verdict:
    """The verdict on two images from their evidence and their nearest comparison (view_distances)."""
    degrees = colour_degrees(first.colour, second.colour)
    if min(first.information, second.information) < MIN_INFORMATION:
        reason = 'flat'
    elif degrees is not None and degrees > MAX_COLOUR_DEGREES:
        reason = 'colour'
    elif bits is None or bits > limit + allowance:
        reason = 'far'
    else:
        reason = ''
    needed = allowance if not reason and bits > limit else 0
    return Verdict(not reason, bits, views, degrees, reason, needed)


NO_EVIDENCE = Verdict(False, None, '', None, 'no evidence: hashed by an older version, index it again')


class Judge:
    """Stage 2 over the images of one index: `evidence` key -> Evidence, `pairs` the pairs of
    views stage 1 compared, `near_64`: whether stage 1's distances, given with the pairs, are
    64-bit pHash ones that earn the allowance (allows_near_64). Called on two keys (and their
    stage-1 distance), the verdict for them (both play both parts)."""

    def __init__(self, evidence: Dict[int, Evidence], pairs: Sequence[Tuple[str, str]],
                 threshold: int = VERIFY_THRESHOLD, near_64: bool = False):
        self.evidence, self.pairs, self.threshold, self.near_64 = evidence, pairs, threshold, near_64

    def __call__(self, a: int, b: int, stage1_bits: Optional[int] = None) -> Verdict:
        return self.verdicts([a], [b], None if stage1_bits is None else [stage1_bits])[0]

    def verdicts(self, keys_a: Sequence[int], keys_b: Sequence[int],
                 stage1_bits: Optional[Sequence[int]] = None) -> List[Verdict]:
        """The verdict on each pair (keys_a[i], keys_b[i]), stage 1 found stage1_bits[i] apart, all
        computed together."""
        known = [i for i, (a, b) in enumerate(zip(keys_a, keys_b)) if a in self.evidence and b in self.evidence]
        found = [NO_EVIDENCE] * len(keys_a)
        bits = [stage1_bits[i] for i in known] if stage1_bits is not None and self.near_64 else None
        decided = verify_all([self.evidence[keys_a[i]] for i in known], [self.evidence[keys_b[i]] for i in known],
                             self.pairs, both_ways=True, threshold=self.threshold, stage1_bits=bits)
        for i, verdict in zip(known, decided):
            found[i] = verdict
        return found

    def verified(self, keys_a: Sequence[int], keys_b: Sequence[int],
                 stage1_bits: Optional[Sequence[int]] = None) -> Tuple[List[int], List[int]]:
        """The candidate pairs (keys_a[i], keys_b[i]), found stage1_bits[i] apart, that stage 2
        confirms (lists or arrays), a chunk at a time: a verdict is about 150 bytes, and 10^6
        images may propose 10^8 pairs."""
        kept_a, kept_b = [], []
        for start in range(0, len(keys_a), VERIFIED_CHUNK):
            chunk_a, chunk_b = (_listed(keys[start:start + VERIFIED_CHUNK]) for keys in (keys_a, keys_b))
            chunk_bits = None if stage1_bits is None else _listed(stage1_bits[start:start + VERIFIED_CHUNK])
            for a, b, verdict in zip(chunk_a, chunk_b, self.verdicts(chunk_a, chunk_b, chunk_bits)):
                if verdict.same:
                    kept_a.append(a)
                    kept_b.append(b)
        return kept_a, kept_b


VERIFIED_CHUNK = 1 << 16  # candidate pairs judged at a time by Judge.verified: some 10 MB of verdicts


def _listed(keys) -> List[int]:
    """Python ints, from a list or a numpy array of keys."""
    return keys.tolist() if isinstance(keys, np.ndarray) else list(keys)
