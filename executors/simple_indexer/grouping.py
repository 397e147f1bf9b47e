"""Duplicate groups from near pairs, and which file of a group to keep.

Groups are made of the pairs the match decision confirmed (executors/match.py), so a chain of
candidates that only stage 1 saw never joins two strangers. Two ways to group:
- strict (the default): greedy by keep preference. The best remaining image keeps, and its
  neighbours that are not yet grouped join it; so every member is a confirmed match of its
  group's kept file, and a chain splits (A keeps with B; C may keep a group of its own).
- connected: the connected components of the "within threshold" graph. A chain A~B~C ends up
  in one group even when A and C are far apart; nothing near anything else is left out. A member
  not confirmed against the kept file says so in its evidence ('verified': false).
Both run in O(pairs * alpha(n)) / O(pairs + n log n) time.
"""
import os
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from executors.match import Judge
from executors.simple_indexer.view_join import ViewTable

KEEP_POLICIES = ('best', 'oldest', 'first')


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
    """Groups in which every member is a neighbour of the first (the kept file).

    Files under a --prefer folder keep first (keep_rank puts them first in its key); then the
    image with the most neighbours, then the best ranked. In a group of an original and its
    edited copies each copy is one edit from the original and two from the others, so the
    original is the hub of the confirmed pairs: keeping it first groups every copy, where a
    better ranked copy keeping first would leave out the copies it does not match itself."""
    neighbours: Dict[int, List[int]] = {}
    for a, b in zip(keys_a, keys_b):
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    grouped = set()
    groups = []
    for key in sorted(neighbours, key=lambda key: (rank(key)[0], -len(neighbours[key]), rank(key))):
        if key in grouped:
            continue
        members = [key] + sorted({n for n in neighbours[key] if n not in grouped}, key=rank)
        grouped.update(members)
        if len(members) > 1:
            groups.append(members)
    return groups


def _under(path: str, folders: Iterable[str]) -> bool:
    return any(path == folder or path.startswith(folder.rstrip(os.sep) + os.sep) for folder in folders)


def keep_rank(policy: str, prefer: Sequence[str] = ()) -> Callable[[dict], tuple]:
    """A sort key over image rows (dicts with key, uri, width, height, byte_size, mtime): best first.

    best: most pixels, then the larger file, then the shorter path; oldest: earliest file time;
    first: first indexed. Files under a `prefer` folder beat all others, whatever the policy.
    The uri breaks any remaining tie, so the choice never depends on the order of the input.
    """
    if policy not in KEEP_POLICIES:
        raise ValueError(f'unknown keep policy {policy!r}: choose one of {", ".join(KEEP_POLICIES)}')
    prefer = [os.path.normpath(folder) for folder in prefer]  # compared with uris as stored

    def best(row: dict) -> tuple:
        uri = row.get('uri') or ''
        return (-(row.get('width') or 0) * (row.get('height') or 0), -(row.get('byte_size') or 0), len(uri), uri,
                row.get('id') or '')  # the id: images sent without a uri must not tie either

    def rank(row: dict) -> tuple:
        preferred = 0 if prefer and _under(row.get('uri') or '', prefer) else 1
        if policy == 'oldest':
            mtime = row.get('mtime')
            return (preferred, mtime if mtime is not None else float('inf'), *best(row))
        if policy == 'first':
            return (preferred, row['key'])
        return (preferred, *best(row))

    return rank


# The whole /duplicates computation over a table of (key, packed code, row). One shard's
# ImageIndex and the shard merger (the union of every shard's table) both call these, so a
# sharded index finds the same groups as one index by construction.

def identical_copies(keys: Sequence[int], digests: Sequence[str]) -> Dict[int, List[int]]:
    """Representative (smallest key) -> all keys that share a digest, for digests held by two or more."""
    by_digest: Dict[str, List[int]] = {}
    for key, digest in zip(keys, digests):
        by_digest.setdefault(digest, []).append(int(key))
    return {min(members): sorted(members) for members in by_digest.values() if len(members) > 1}


def near_pairs(table: ViewTable, copies: Dict[int, List[int]], threshold: int) -> Tuple[List[int], List[int], set]:
    """Stage 1's candidates: pairs of keys within `threshold` bits, one representative per set of
    identical copies entering the all-pairs search (copies have identical hashes); and every key
    a group may hold."""
    others = [key for members in copies.values() for key in members[1:]]
    keys_a, keys_b, _ = table.pairs_within(threshold, leave_out=others)
    keys_a, keys_b = keys_a.tolist(), keys_b.tolist()
    return keys_a, keys_b, set(keys_a) | set(keys_b) | set(others) | set(copies)


def groups_from_pairs(keys_a: List[int], keys_b: List[int], copies: Dict[int, List[int]], rows: Dict[int, dict],
                      table: ViewTable, strict: bool, rank_row: Callable[[dict], tuple],
                      judge: Optional[Judge] = None) -> List[dict]:
    """Groups {'kind': 'exact'|'near', 'keep': row, 'duplicates': [row + 'distance' to the kept file
    + its 'evidence']}, exact groups first, then by the kept file's uri and id. rows: key -> row for
    every involved key. The pairs are those the match decision confirmed (match.py; `judge`, which
    also gives each member's evidence against the kept file), or stage 1's alone when judge is None."""
    def members_of(representative: int) -> List[int]:
        return copies.get(representative, [representative])

    def rank(representative: int) -> tuple:
        return min(rank_row(rows[key]) for key in members_of(representative))

    def best_first(keys) -> List[int]:
        return sorted(keys, key=lambda key: rank_row(rows[key]))

    if strict:  # the kept file is one of the first member's identical copies: the others are its neighbours
        groups = [best_first(members_of(group[0])) + best_first(k for rep in group[1:] for k in members_of(rep))
                  for group in strict_groups(keys_a, keys_b, rank)]
    else:
        groups = [best_first(k for rep in group for k in members_of(rep)) for group in connected_groups(keys_a, keys_b)]
    grouped = {key for group in groups for key in group}
    groups += [best_first(members_of(representative)) for representative in copies if representative not in grouped]
    return sorted((_describe_group(group, rows, table, judge) for group in groups),
                  key=lambda g: (g['kind'] != 'exact', g['keep']['uri'] or '', g['keep']['id']))


def _describe_group(members, rows, table: ViewTable, judge: Optional[Judge]) -> dict:
    """members: the kept file first."""
    keep = members[0]
    distances = table.distances(keep, members[1:])
    digests = {rows[key]['digest'] for key in members}

    def evidence(key: int, distance: int) -> dict:
        if rows[key]['digest'] == rows[keep]['digest']:
            return {'bits': 0, 'exact': True, 'verified': True}
        return judge(keep, key).evidence(bits=distance) if judge else {'bits': distance}

    return {'kind': 'exact' if len(digests) == 1 else 'near', 'keep': rows[keep],
            'duplicates': [dict(rows[key], distance=d, evidence=evidence(key, d)) for key, d in zip(members[1:], distances)]}
