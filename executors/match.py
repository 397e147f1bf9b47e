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
   other within BANDS_THRESHOLD.

The thresholds and where they were measured are in executors/parameters.py. Every verdict
carries its evidence, so a reviewer sees why two images matched (or did not).
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from executors.parameters import (BANDS_THRESHOLD, MAX_COLOUR_DEGREES, MIN_COLOUR_CHROMA, MIN_INFORMATION,
                                  VERIFY_THRESHOLD)
from executors.view_pairs import ALIGNED_VIEWS, layout_of, verification_pairs

VERIFY_BYTES = 32  # one 256-bit pHash (hash size 16)
VERIFY_WORDS = 4  # the same as 64-bit words


@dataclass(frozen=True)
class Evidence:
    """What stage 2 knows of one image: its packed 256-bit view hashes, information and colour."""
    codes: bytes  # 32 bytes per hash, in view_pairs.verification_layout order
    information: float
    colour: Optional[Tuple[float, float]] = None

    def words(self) -> np.ndarray:
        return np.frombuffer(self.codes, dtype='>u8').astype(np.uint64).reshape(-1, VERIFY_WORDS)


@dataclass(frozen=True)
class Verdict:
    same: bool
    bits256: Optional[int]  # the smallest 256-bit distance over the pairs of views; None if not compared
    views: str  # the pair of views it was found at, 'plain~crops' say (first image's view first)
    colour_degrees: Optional[float]  # how far apart the two colours point; None when not compared
    reason: str  # '' when the same picture, else why not: 'flat', 'colour' or 'far'

    def evidence(self, bits: Optional[int] = None) -> dict:
        """The verdict as JSON for search results, groups.json and report.html."""
        found = {'bits': bits, 'bits256': self.bits256, 'views': self.views, 'colour_degrees': self.colour_degrees,
                 'verified': self.same}
        if self.reason:
            found['rejected'] = self.reason
        return {name: value for name, value in found.items() if value is not None}


def evidence_of_doc(doc) -> Optional[Evidence]:
    """The evidence an ImageDoc carries (verify_codes as bytes, information, colour), or None."""
    if not doc.verify_codes or doc.information is None:
        return None
    return Evidence(bytes(doc.verify_codes), float(doc.information), tuple(doc.colour) if doc.colour else None)


def colour_degrees(a: Optional[Tuple[float, float]], b: Optional[Tuple[float, float]]) -> Optional[float]:
    """The angle between two mean chromas, or None unless both have colour (MIN_COLOUR_CHROMA)."""
    if a is None or b is None or np.hypot(*a) < MIN_COLOUR_CHROMA or np.hypot(*b) < MIN_COLOUR_CHROMA:
        return None
    cosine = np.dot(a, b) / (np.hypot(*a) * np.hypot(*b))
    return round(float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))), 1)


def view_distance(first: Evidence, second: Evidence, pairs: Sequence[Tuple[str, str]], both_ways: bool,
                  threshold: int = VERIFY_THRESHOLD) -> Tuple[Optional[int], str, int]:
    """(256-bit distance, 'view~view', that pair's threshold) at the pair of views nearest to (or
    furthest within) its threshold, over the verification pairs of stage 1's `pairs`
    (view_pairs.verification_pairs) of (first's view, second's view), and with both_ways the pairs
    the other way round too (dedup: both images play both parts). The bands, being many chances
    of a near miss, are held to BANDS_THRESHOLD."""
    codes = first.words(), second.words()
    layouts = [{view: slice(start, start + rows) for view, start, rows in layout_of(len(c))} for c in codes]
    best, where, limit = None, '', threshold
    for view_a, view_b in verification_pairs(pairs):
        for (x, view_x), (y, view_y) in (((0, view_a), (1, view_b)), ((1, view_a), (0, view_b)))[:1 + both_ways]:
            if view_x not in layouts[x] or view_y not in layouts[y]:
                continue
            rows_x, rows_y = codes[x][layouts[x][view_x]], codes[y][layouts[y][view_y]]
            if view_x == view_y and view_x in ALIGNED_VIEWS:  # each row with its counterpart only
                distance = int(np.bitwise_count(rows_x ^ rows_y).sum(axis=1).min())
            else:
                distance = int(np.bitwise_count(rows_x[:, None, :] ^ rows_y[None, :, :]).sum(axis=2).min())
            allowed = min(threshold, BANDS_THRESHOLD) if view_x in ALIGNED_VIEWS else threshold
            if best is None or distance - allowed < best - limit:
                best, limit = distance, allowed
                where = f'{view_x}~{view_y}' if x == 0 else f'{view_y}~{view_x}'
    return best, where, limit


def verify(first: Evidence, second: Evidence, pairs: Sequence[Tuple[str, str]], both_ways: bool = True,
           threshold: int = VERIFY_THRESHOLD) -> Verdict:
    """Stage 2 for one candidate pair; `pairs` are the pairs of views stage 1 compared."""
    degrees = colour_degrees(first.colour, second.colour)
    bits, views, limit = view_distance(first, second, pairs, both_ways, threshold)
    if min(first.information, second.information) < MIN_INFORMATION:
        reason = 'flat'
    elif degrees is not None and degrees > MAX_COLOUR_DEGREES:
        reason = 'colour'
    elif bits is None or bits > limit:
        reason = 'far'
    else:
        reason = ''
    return Verdict(not reason, bits, views, degrees, reason)


NO_EVIDENCE = Verdict(False, None, '', None, 'no evidence: hashed by an older version, index it again')


class Judge:
    """Stage 2 over the images of one index: `evidence` key -> Evidence, `pairs` the pairs of
    views stage 1 compared. Called on two keys, the verdict for them (both play both parts)."""

    def __init__(self, evidence: Dict[int, Evidence], pairs: Sequence[Tuple[str, str]],
                 threshold: int = VERIFY_THRESHOLD):
        self.evidence, self.pairs, self.threshold = evidence, pairs, threshold

    def __call__(self, a: int, b: int) -> Verdict:
        if a not in self.evidence or b not in self.evidence:
            return NO_EVIDENCE
        return verify(self.evidence[a], self.evidence[b], self.pairs, both_ways=True, threshold=self.threshold)

    def verified(self, keys_a: Sequence[int], keys_b: Sequence[int]) -> Tuple[List[int], List[int]]:
        """The candidate pairs (keys_a[i], keys_b[i]) that stage 2 confirms."""
        kept = [(a, b) for a, b in zip(keys_a, keys_b) if self(a, b).same]
        return [a for a, _ in kept], [b for _, b in kept]
