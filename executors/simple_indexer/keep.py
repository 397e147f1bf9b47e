"""Which file of a duplicate group to keep: the policies of `dedup --keep`.

A policy orders the rows of a group (dicts with key, id, uri, width, height, byte_size, mtime
and the image's provenance, image_hasher/provenance.py), the file to keep first. Files under a
`prefer` folder come before all others, whatever the policy.

- original (the default): the unedited original, by original_order's evidence;
- largest: most pixels, then the larger file, then the shorter path (the default before;
  `best` is accepted for it);
- oldest: the earliest file time; first: the first indexed.
"""
import os
import statistics
from typing import Callable, Iterable, List, Sequence

KEEP_POLICIES = ('original', 'largest', 'oldest', 'first')
ALIASES = {'best': 'largest'}  # the name `largest` had until the default became `original`
DEFAULT_POLICY = 'original'

# original_order's margins: what one edit moves, well above what a re-encode moves (measured on
# the benchmark of evaluation/keep.py; README "Which file to keep").
BORDER_MARGIN = 0.1  # share of the picture: a 10% letterbox adds 17%; a photo's own dark edge moves less
PIXEL_SHARE = 0.97  # a crop of 5% of the width and height keeps 90% of the pixels; a re-save keeps all
GREY_CHROMA = 2.0  # mean distance from grey, in levels: 0 for grey pictures stored as RGB
QUALITY_DROP = 10  # JPEG quality points: a re-encode for size, not a re-save at the editor's default
CLIP_MARGIN, CLIP_FACTOR = 0.02, 1.5  # share of pixels at 0 or 255, over the group's least
DETAIL_MARGIN = 0.05  # detail (provenance.detail) away from the group's median: a re-encode moves it 0.01


def policy_name(policy: str) -> str:
    """The policy a name stands for; ValueError for an unknown one."""
    policy = ALIASES.get(policy, policy)
    if policy not in KEEP_POLICIES:
        names = KEEP_POLICIES + tuple(ALIASES)
        raise ValueError(f'unknown keep policy {policy!r}: choose one of {", ".join(names)}')
    return policy


def _under(path: str, folders: Iterable[str]) -> bool:
    return any(path == folder or path.startswith(folder.rstrip(os.sep) + os.sep) for folder in folders)


def _pixels(row: dict) -> int:
    return (row.get('width') or 0) * (row.get('height') or 0)


def _tie_break(row: dict) -> tuple:
    uri = row.get('uri') or ''
    return len(uri), uri, row.get('id') or ''  # the id: images sent without a uri must not tie either


def _facts(row: dict) -> dict:
    return row.get('provenance') or {}


def original_order(rows: List[dict]) -> List[dict]:
    """The rows of one group, the unedited original first. Each piece of evidence is consulted
    only where the ones before it tie; each says "this member was made from another one":

    1. a uniform border more than a tenth of the picture wider than another member's: a padded
       copy (its extra pixels are border);
    2. fewer pixels than 97% of the most of a member without such a border: downscaled or
       cropped;
    3. grey in a group with colour: a grey copy of a colour photo (the other way round is rare);
    4. another format than JPEG in a group with a JPEG: a PNG or WebP re-save of the JPEG (same
       pixels, more bytes or a second loss). An original PNG with JPEG copies loses here: the
       JPEG's 8x8 grid left in a re-save's pixels would tell them apart, but measured on the
       sample's re-saves its strength is 0.99 to 1.23 (1.0: no grid), too weak to rely on;
    5. a JPEG quality more than 10 below the group's best: a re-encode for size; and among
       the rest the lower quality, as the smaller file was before it: a re-save at the editor's
       default (90 and up) of a photo published at 75 to 85 adds bytes, not picture;
    6. more pixels at 0 or 255 than the group's least (by 2 points and half as many again):
       brightened, contrast or saturation raised, turned with black corners;
    7. in a group of three or more, detail more than 0.05 from the group's median: blurred or
       sharpened, where the other copies (re-saves, smaller copies) keep the original's detail.
       In a pair nothing tells blurring the original from sharpening it;
    8. the smaller file; then the uri and the id, so that the choice never depends on the input's
       order.

    Measured by `python app.py evaluate` (evaluation/keep.py: the 54 photos of data/eval, each
    with its confirmed copies under the benchmark's transforms): the original is kept in 100% of
    the groups of one copy, of two copies and of all copies (`largest`: 34.0%, 10.7%, 0%). Every
    copy there is saved at quality 90 from originals at 85, so step 5 decides most of them: with
    every JPEG taken as quality 90 the original is kept in 82.4%, 73.3% and 5.6%, and with the
    originals re-saved at 90 first in 76.3%, 62.4% and 0% (a re-save at the same quality, and in
    a pair a blurred or darkened copy, are smaller and nothing else tells them apart). On data/
    (originals and copies all at 90) steps 1-4, 6 and 7 keep the nine originals. The medoid of
    the group's 256-bit distances is not used: it keeps the original in 16 of 54 groups of all
    copies, because a copy that keeps the pixels (re-save, recolour, grey) is as central as its
    original. Rows stored without provenance (indexed before it existed) tie on steps 1 and 3-7.
    """
    if len(rows) < 2:
        return list(rows)
    facts = {row['key']: _facts(row) for row in rows}

    least_border = min(f.get('border', 0.0) for f in facts.values())

    def padded(row: dict) -> bool:
        return facts[row['key']].get('border', 0.0) > least_border + BORDER_MARGIN

    most_pixels = max(_pixels(row) for row in rows if not padded(row))
    colour = any(f.get('chroma', 0.0) >= GREY_CHROMA for f in facts.values())
    qualities = [f['jpeg_quality'] for f in facts.values() if f.get('jpeg_quality')]
    best_quality = max(qualities, default=0)
    least_clipped = min((f.get('clipped', 0.0) for f in facts.values() if f), default=0.0)

    def clipped(f: dict) -> bool:
        return bool(f) and f.get('clipped', 0.0) > max(least_clipped + CLIP_MARGIN, least_clipped * CLIP_FACTOR)

    details = [f['detail'] for f in facts.values() if 'detail' in f]
    typical = statistics.median(details) if len(details) >= 3 else None

    def unlike_the_others(f: dict) -> bool:
        return typical is not None and 'detail' in f and abs(f['detail'] - typical) > DETAIL_MARGIN

    def evidence(row: dict) -> tuple:
        f = facts[row['key']]
        quality = f.get('jpeg_quality')
        return (padded(row),
                _pixels(row) < PIXEL_SHARE * most_pixels,
                bool(f) and colour and f.get('chroma', 0.0) < GREY_CHROMA,
                bool(f) and bool(qualities) and quality is None,
                bool(quality) and quality < best_quality - QUALITY_DROP, quality or 0,
                clipped(f),
                unlike_the_others(f),
                row.get('byte_size') or 0, *_tie_break(row))

    return sorted(rows, key=evidence)


def _largest(row: dict) -> tuple:
    return -_pixels(row), -(row.get('byte_size') or 0), *_tie_break(row)


def _oldest(row: dict) -> tuple:
    mtime = row.get('mtime')
    return (mtime if mtime is not None else float('inf'), *_largest(row))


def _first(row: dict) -> tuple:
    return (row['key'],)


ROW_RANKS = {'largest': _largest, 'oldest': _oldest, 'first': _first}


def keep_order(policy: str, prefer: Sequence[str] = ()) -> Callable[[List[dict]], List[dict]]:
    """The ordering of a group's rows under `policy` (a name or alias; ValueError for an unknown
    one), files under a `prefer` folder first. Called on the rows of a connected set of
    confirmed matches; grouping.py says how strict groups follow it."""
    policy = policy_name(policy)
    prefer = [os.path.normpath(folder) for folder in prefer]  # compared with uris as stored

    def preferred(row: dict) -> bool:
        return not (prefer and _under(row.get('uri') or '', prefer))

    def order(rows: List[dict]) -> List[dict]:
        ordered = original_order(rows) if policy == 'original' else sorted(rows, key=ROW_RANKS[policy])
        return sorted(ordered, key=preferred)  # stable: within and outside `prefer`, the policy's order

    order.policy = policy
    return order
