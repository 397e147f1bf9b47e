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


# Provisional defaults in bits per 64 bits of hash, set from the sample data's distances; the
# evaluation command is where they are to be measured properly.
_DEFAULT_THRESHOLD_PER_64_BITS = {'ahash': 10, 'phash': 10, 'dhash': 10, 'whash': 10}


def default_threshold(hash_type: str, nbits: int) -> int:
    return round(_DEFAULT_THRESHOLD_PER_64_BITS[hash_type] * nbits / 64)


def threshold(parameters: dict, hash_type: str, nbits: int) -> int:
    return whole_number(parameters, 'threshold', default_threshold(hash_type, nbits), 0, nbits)
