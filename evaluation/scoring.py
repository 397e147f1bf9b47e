"""Precision and recall of a distance threshold, over labelled (query, indexed photo) pairs.

Every pair is a prediction at threshold t: "match" when its distance is t or less. A pair of a
copy and its own original is a positive; every other pair is a negative. So at threshold t

    precision = true matches / all matches,   recall = true matches / all positives,

counted over pairs, as in the benchmark of Thorn's `perception` library: a query that finds its
original and one stranger scores one true and one false match. The threshold reported for a
hash is the largest one whose precision is still at least the target (recall only grows with
the threshold, so this is the most recall that precision allows).
"""
from dataclasses import dataclass
from typing import Dict, List

import numpy as np

TARGET_PRECISION = 0.999


@dataclass
class Curve:
    """Counts and rates at every threshold 0..len-1."""
    true_matches: np.ndarray
    false_matches: np.ndarray
    positives: int

    @property
    def precision(self) -> np.ndarray:
        matches = self.true_matches + self.false_matches
        # no match at all makes no false claim: precision 1
        return np.where(matches > 0, self.true_matches / np.maximum(matches, 1), 1.0)

    @property
    def recall(self) -> np.ndarray:
        return self.true_matches / max(self.positives, 1)


def curve(distances: np.ndarray, labels: np.ndarray, max_distance: int) -> Curve:
    """True and false matches at each threshold 0..max_distance (pairs at distance <= t)."""
    distances, labels = np.asarray(distances), np.asarray(labels, dtype=bool)
    bins = max_distance + 1
    true = np.cumsum(np.bincount(distances[labels].ravel(), minlength=bins)[:bins])
    false = np.cumsum(np.bincount(distances[~labels].ravel(), minlength=bins)[:bins])
    return Curve(true, false, int(labels.sum()))


def threshold_at_precision(result: Curve, target: float = TARGET_PRECISION) -> int:
    """The largest threshold whose precision is at least `target` (0 if none is)."""
    good = np.flatnonzero(result.precision >= target)
    return int(good[-1]) if good.size else 0


def recall_by_group(distances: np.ndarray, labels: np.ndarray, groups: List[str], threshold: int) -> Dict[str, float]:
    """Recall at `threshold` of each group's positive pairs (groups: one name per query row)."""
    found: Dict[str, List[bool]] = {}
    for row, group in enumerate(groups):
        for column in np.flatnonzero(labels[row]):
            found.setdefault(group, []).append(bool(distances[row, column] <= threshold))
    return {group: sum(hits) / len(hits) for group, hits in found.items()}


def false_matches_by_group(distances: np.ndarray, labels: np.ndarray, groups: List[str],
                           threshold: int) -> Dict[str, int]:
    """Negative pairs within `threshold`, counted per group of the query row."""
    wrong = ((np.asarray(distances) <= threshold) & ~np.asarray(labels, dtype=bool)).sum(axis=1)
    counts: Dict[str, int] = {group: 0 for group in groups}
    for group, count in zip(groups, wrong):
        counts[group] += int(count)
    return counts


def nearest_negative(distances: np.ndarray, labels: np.ndarray) -> int:
    """The smallest distance between two different photos: how far the threshold could go."""
    negatives = np.asarray(distances)[~np.asarray(labels, dtype=bool)]
    return int(negatives.min()) if negatives.size else -1


@dataclass
class Result:
    """One method measured at its own threshold."""
    method: str
    max_distance: int
    threshold: int
    precision: float
    recall: float
    false_matches: int
    negatives: int
    nearest_negative: int
    recall_by_transform: Dict[str, float]
    false_matches_by_transform: Dict[str, int]
    curve: Curve


def measure(method: str, distances: np.ndarray, labels: np.ndarray, groups: List[str], max_distance: int,
            threshold: int = None, target: float = TARGET_PRECISION) -> Result:
    """Score one method; its threshold is chosen for `target` precision unless given."""
    result = curve(distances, labels, max_distance)
    if threshold is None:
        threshold = threshold_at_precision(result, target)
    return Result(method, max_distance, threshold, float(result.precision[threshold]),
                  float(result.recall[threshold]), int(result.false_matches[threshold]),
                  int((~np.asarray(labels, dtype=bool)).sum()), nearest_negative(distances, labels),
                  recall_by_group(distances, labels, groups, threshold),
                  false_matches_by_group(distances, labels, groups, threshold), result)
