"""Duplicate groups from near pairs, and which file of a group to keep.

Groups are made of the pairs the match decision confirmed (executors/match.py), so a chain of
candidates that only stage 1 saw never joins two strangers. Two ways to group:
- strict (the default): greedy by keep preference. The best remaining image keeps, and its
  neighbours that are not yet grouped join it; so every member is a confirmed match of its
  group's kept file, and a chain splits (A keeps with B; C may keep a group of its own). The
  preference is the keep policy's order (keep.py) of each connected set of matches as a whole,
  so that the policy weighs an original against all its copies before any group exists.
- connected: the connected components of the "within threshold" graph. A chain A~B~C ends up
  in one group even when A and C are far apart; nothing near anything else is left out. A member
  not confirmed against the kept file says so in its evidence ('verified': false).
Both run in O(pairs * alpha(n)) / O(pairs + n log n) time.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from executors.match import Judge
from executors.simple_indexer.view_join import ViewTable

Order = Callable[[List[dict]], List[dict]]  # keep.keep_order: a group's rows, the file to keep first


def connected_groups(keys_a: Sequence[int], keys_b: Sequence[int]) -> List[List[int]]:
    """Connected components with two or more members (union-find with path halving)."""
    parent: Dict[int, int] = {}

    def root(key: int) -> int:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for a, b in zip(keys_a, keys_b):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    components: Dict[int, List[int]] = {}
    for key in parent:
        components.setdefault(root(key), []).append(key)
    return [members for members in components.values() if len(members) > 1]


def strict_groups(keys_a: Sequence[int], keys_b: Sequence[int], rank: Callable[[int], tuple]) -> List[List[int]]:
    """Groups in which every member is a neighbour of the first (the kept file): the best ranked
    image not yet grouped keeps, with its neighbours not yet grouped."""
    neighbours: Dict[int, List[int]] = {}
    for a, b in zip(keys_a, keys_b):
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    grouped = set()
    groups = []
    for key in sorted(neighbours, key=rank):
        if key in grouped:
            continue
        members = [key] + sorted({n for n in neighbours[key] if n not in grouped}, key=rank)
        grouped.update(members)
        if len(members) > 1:
            groups.append(members)
    return groups


# The whole /duplicates computation over a table of (key, packed code, row). One shard's
# ImageIndex and the shard merger (the union of every shard's table) both call these, so a
# sharded index finds the same groups as one index by construction.

def identical_copies(keys: Sequence[int], digests: Sequence[str]) -> Dict[int, List[int]]:
    """Representative (smallest key) -> all keys that share a digest, for digests held by two or more."""
    by_digest: Dict[str, List[int]] = {}
    for key, digest in zip(keys, digests):
        by_digest.setdefault(digest, []).append(int(key))
    return {min(members): sorted(members) for members in by_digest.values() if len(members) > 1}


def near_pairs(table: ViewTable, copies: Dict[int, List[int]],
               threshold: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray, set]:
    """Stage 1's candidates: pairs of keys within `threshold` bits, one representative per set of
    identical copies entering the all-pairs search (copies have identical hashes), as arrays of
    keys, keys and their distances (10^6 images may propose 10^8 pairs: as Python lists, 7 GB);
    and every key a group may hold."""
    others = [key for members in copies.values() for key in members[1:]]
    keys_a, keys_b, bits = table.pairs_within(threshold, leave_out=others)
    keys_a, keys_b = keys_a.astype(np.int64, copy=False), keys_b.astype(np.int64, copy=False)
    return keys_a, keys_b, bits, set(np.union1d(keys_a, keys_b).tolist()) | set(others) | set(copies)


def groups_from_pairs(keys_a: List[int], keys_b: List[int], copies: Dict[int, List[int]], rows: Dict[int, dict],
                      table: ViewTable, strict: bool, order: Order, judge: Optional[Judge] = None) -> List[dict]:
    """Groups {'kind': 'exact'|'near', 'keep': row, 'duplicates': [row + 'distance' to the kept file
    + its 'evidence']}, exact groups first, then by the kept file's uri and id. rows: key -> row for
    every involved key. The pairs are those the match decision confirmed (match.py; `judge`, which
    also gives each member's evidence against the kept file), or stage 1's alone when judge is None.
    `order` ranks each connected set of pairs (with its identical copies) as a whole; strict groups
    are then cut from it (strict_groups), so a strict group keeps its set's best file not yet grouped."""
    def members_of(representative: int) -> List[int]:
        return copies.get(representative, [representative])

    if isinstance(keys_a, np.ndarray):  # near_pairs' arrays, unverified
        keys_a, keys_b = keys_a.tolist(), keys_b.tolist()

    connected = connected_groups(keys_a, keys_b)
    linked = {key for group in connected for key in group}
    connected += [[representative] for representative in copies if representative not in linked]
    position = {row['key']: place for group in connected
                for place, row in enumerate(order([rows[key] for rep in group for key in members_of(rep)]))}

    def rank(representative: int) -> int:
        return min(position[key] for key in members_of(representative))

    groups = strict_groups(keys_a, keys_b, rank) if strict else connected
    if strict:
        grouped = {key for group in groups for key in group}
        groups += [[representative] for representative in copies if representative not in grouped]
    return sorted((_describe_group([k for rep in group for k in members_of(rep)], rows, position, table, judge)
                   for group in groups),
                  key=lambda g: (g['kind'] != 'exact', g['keep']['uri'] or '', g['keep']['id']))


def _describe_group(members, rows, position: Dict[int, int], table: ViewTable, judge: Optional[Judge]) -> dict:
    members = sorted(members, key=position.__getitem__)
    keep = members[0]
    distances = table.distances(keep, members[1:])
    digests = {rows[key]['digest'] for key in members}

    def evidence(key: int, distance: int) -> dict:
        if rows[key]['digest'] == rows[keep]['digest']:
            return {'bits': 0, 'exact': True, 'verified': True}
        return judge(keep, key, distance).evidence(bits=distance) if judge else {'bits': distance}

    return {'kind': 'exact' if len(digests) == 1 else 'near', 'keep': rows[keep],
            'duplicates': [dict(rows[key], distance=d, evidence=evidence(key, d)) for key, d in zip(members[1:], distances)]}
