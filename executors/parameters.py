"""Reading request `parameters`, the same way in both executors.

Values arrive from gRPC clients as Python values and from the HTTP gateway as JSON, where
every number is a float; a wrong value raises ValueError with a message naming the parameter,
which Jina returns to the client as the request's error.
"""
from executors.documents import HASH_TYPES


def hash_type(parameters: dict, default: str, name: str = 'hash_type') -> str:
    value = parameters.get(name, default)
    if value not in HASH_TYPES:
        raise ValueError(f'unknown {name} {value!r}: choose one of {", ".join(HASH_TYPES)}')
    return value


def hash_types(parameters: dict, default) -> tuple:
    value = parameters.get('hash_types', default)
    if isinstance(value, str):
        value = value.split(',')
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f'hash_types must be a non-empty list of {", ".join(HASH_TYPES)}')
    return tuple(hash_type({'hash_types': item.strip()}, default='', name='hash_types') for item in value)


def whole_number(parameters: dict, name: str, default: int, low: int, high: int) -> int:
    """An integer parameter within [low, high]; 8.0 from JSON counts as 8, 8.5 does not."""
    value = parameters.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        raise ValueError(f'{name} must be a whole number, not {value!r}')
    if not low <= value <= high:
        raise ValueError(f'{name} must be between {low} and {high}, not {value!r}')
    return int(value)


# Default thresholds in bits, {hash type: {hash bits: threshold}}: the largest distance at which
# precision stays at 99.9% or more on the labelled benchmark of `python app.py evaluate` (data/eval,
# 54 photos, 29 transforms; its thresholds.json, key "single"). aHash and wHash at 64 bits put some
# different photos 1 to 2 bits apart, so their thresholds are that low.
_DEFAULT_THRESHOLDS = {
    'ahash': {64: 0, 256: 12},
    'phash': {64: 15, 256: 81},
    'dhash': {64: 3, 256: 47},
    'whash': {64: 1, 256: 9},
}


# The same with the views of executors/view_pairs.py compared too (thresholds.json, "with_views"),
# {(views, rotations): {hash type: {hash bits: threshold}}}: more views, more chances for two
# different photos to come close, so lower thresholds.
_DEFAULT_THRESHOLDS_WITH_VIEWS = {
    (True, False): {'ahash': {64: 0, 256: 8}, 'phash': {64: 13, 256: 81}, 'dhash': {64: 2, 256: 40},
                    'whash': {64: 0, 256: 7}},
    (True, True): {'ahash': {64: 0, 256: 8}, 'phash': {64: 13, 256: 81}, 'dhash': {64: 2, 256: 40},
                   'whash': {64: 0, 256: 7}},
    (False, True): {'ahash': {64: 0, 256: 12}, 'phash': {64: 13, 256: 81}, 'dhash': {64: 2, 256: 42},
                    'whash': {64: 0, 256: 9}},
}


def default_threshold(hash_type: str, nbits: int, views: bool = False, rotations: bool = False) -> int:
    """The measured threshold; for an unmeasured size, the nearest measured one scaled to nbits."""
    table = _DEFAULT_THRESHOLDS_WITH_VIEWS[views, rotations] if views or rotations else _DEFAULT_THRESHOLDS
    measured = table[hash_type]
    nearest = min(measured, key=lambda bits: abs(bits - nbits))
    return round(measured[nearest] * nbits / nearest)


def threshold(parameters: dict, hash_type: str, nbits: int, views: bool = False, rotations: bool = False) -> int:
    return whole_number(parameters, 'threshold', default_threshold(hash_type, nbits, views, rotations), 0, nbits)


def verification(parameters: dict) -> tuple:
    """(verify, verify_threshold): whether stage 2 of the match decision runs (executors/match.py;
    false: stage 1's candidates are the answer, as before it existed), and its 256-bit threshold."""
    return flag(parameters, 'verify', True), whole_number(parameters, 'verify_threshold', VERIFY_THRESHOLD, 0, 256)


def flag(parameters: dict, name: str, default: bool) -> bool:
    value = parameters.get(name, default)
    if not isinstance(value, bool):
        raise ValueError(f'{name} must be true or false, not {value!r}')
    return value


# Stage 2 of the match decision (executors/match.py), measured with bench/precision.py on
# ../shared/datasets/clothing-small (3,781 real photos, 7,146,088 pairs of different photos: many
# garments on the same few sheets and floors, the hardest case we have) and on evaluate's copies
# of data/eval (54 photos x 29 transforms).
# - VERIFY_THRESHOLD: 256-bit pHash over the views. The nearest different photos are 40 bits
#   apart (3 pairs; 42 and more for the rest); crops and turned copies of data/eval reach 36 at
#   their 98th percentile. 36 keeps 4 bits under the nearest stranger, and colour adds more.
VERIFY_THRESHOLD = 36
# - MIN_INFORMATION: mean grey step between neighbouring pixels of the 64x64 square. A blank or
#   one-colour image scores under 0.2 (JPEG noise included); the flattest photo of clothing-small
#   (a white shirt on white) 1.8, and the flattest copy of data/eval (gamma 0.5 of a dark photo) 1.1.
MIN_INFORMATION = 0.5
# - Colour: compared when both centres have a mean chroma of MIN_COLOUR_CHROMA grey levels or
#   more (below it the direction is noise). Copies of data/eval (saturation +80%, gamma, banners,
#   crops...) stay within 43 degrees (99% within 12); of clothing-small's 15 nearest different
#   pairs, 8 point 59 to 159 degrees apart.
MIN_COLOUR_CHROMA = 6.0
MAX_COLOUR_DEGREES = 45.0
