"""Reading request `parameters`, the same way in both executors.

Values arrive from gRPC clients as Python values and from the HTTP gateway as JSON, where
every number is a float; a wrong value raises RequestError with a message naming the parameter,
which Jina returns to the client as the request's error.
"""
import logging

from executors.documents import HASH_TYPES


class RequestError(ValueError):
    """A request the client got wrong: the client is told the message and nothing else.

    Jina sends the client repr(error) and the formatted traceback of error.__traceback__, which
    would carry the server's stack and file paths; this error shows neither. (The traceback
    still exists for Python; only the attribute that Jina reads answers None.)
    """

    @property
    def __traceback__(self):
        return None

    @__traceback__.setter
    def __traceback__(self, value):
        pass

    def __repr__(self) -> str:
        return str(self)


# The parameters each endpoint accepts, whichever executor reads them (the hasher and the
# indexer both see /index and /search): a name not listed is refused, so that a misspelt
# "treshold" fails instead of being ignored. Add a new parameter here and read it where it is used.
_HASHING = ('hash_type', 'hash_types', 'hash_size', 'exact', 'views')
_DECISION = ('verify', 'verify_threshold')  # stage 2 of the match decision (executors/match.py)
_PAIRS = ('hash_type', 'hash_size', 'threshold', 'views', 'rotations', 'strict', 'keep', 'prefer') + _DECISION
KNOWN_PARAMETERS = {
    '/index': _HASHING,
    '/search': _HASHING + ('threshold', 'limit', 'rotations') + _DECISION,
    '/duplicates': _PAIRS,
    '/entries': _PAIRS + ('after', 'page'),
    '/pairs': _PAIRS,
    '/evidence': _PAIRS + ('keys',),
    '/unchanged': ('hash_type', 'hash_size', 'views'),  # hash_type: sent with /index's parameters, not read
    '/archived': ('archives', 'hash_size', 'views'),
    '/uris': ('under', 'after', 'page'),
    '/delete': ('ids', 'uris', 'under'),
    '/clear': (),
    '/status': (),
}


def check_known(parameters: dict, endpoint: str) -> None:
    """Refuse, by name, parameters that `endpoint` does not know (KNOWN_PARAMETERS).

    Jina's own keys pass: '__results__' and the like, and a per-executor block
    {"indexer": {...}} whose keys Jina has already merged into the rest.
    """
    known = KNOWN_PARAMETERS[endpoint]
    unknown = sorted(name for name, value in (parameters or {}).items()
                     if name not in known and not name.startswith('__') and not isinstance(value, dict))
    if unknown:
        accepted = ', '.join(known) if known else 'none'
        raise RequestError(f'unknown parameter{"s" * (len(unknown) > 1)} {", ".join(map(repr, unknown))} for '
                           f'{endpoint} (accepted: {accepted})')


LOG_FILE_COLUMNS = 240  # a refused request's line, whole, in a log file


class _OneLineForRequestErrors(logging.Filter):
    """Jina logs every failed request with its traceback and a hint about --quiet-error (which
    would silence real faults too). A RequestError is the client's mistake: one line says it."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, RequestError):
            record.msg, record.args, record.exc_info, record.exc_text = f'refused a request: {error}', (), None, None
            record.levelno, record.levelname = logging.WARNING, 'WARNING'
        return True


def log_request_errors_in_one_line(runtime_name) -> None:
    """Install the filter on the loggers of the worker that runs an executor: Jina names them
    after the runtime ('hasher/rep-0', 'hasher/rep-0/AsyncNewLoopRuntime') and creates them
    before the executor. No name: not run by Jina, nothing to do."""
    if not runtime_name:
        return
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if (name == runtime_name or name.startswith(f'{runtime_name}/')) and isinstance(logger, logging.Logger) \
                and not any(isinstance(f, _OneLineForRequestErrors) for f in logger.filters):
            logger.addFilter(_OneLineForRequestErrors())
            for handler in logger.handlers:  # Jina's rich handler wraps at 80 columns in a log file
                console = getattr(handler, 'console', None)
                if console is not None and not console.is_terminal:
                    console.width = LOG_FILE_COLUMNS


def hash_type(parameters: dict, default: str, name: str = 'hash_type') -> str:
    value = parameters.get(name, default)
    if value not in HASH_TYPES:
        raise RequestError(f'unknown {name} {value!r}: choose one of {", ".join(HASH_TYPES)}')
    return value


def hash_types(parameters: dict, default) -> tuple:
    value = parameters.get('hash_types', default)
    if isinstance(value, str):
        value = value.split(',')
    if not isinstance(value, (list, tuple)) or not value:
        raise RequestError(f'hash_types must be a non-empty list of {", ".join(HASH_TYPES)}')
    return tuple(hash_type({'hash_types': item.strip()}, default='', name='hash_types') for item in value)


def whole_number(parameters: dict, name: str, default: int, low: int, high: int) -> int:
    """An integer parameter within [low, high]; 8.0 from JSON counts as 8, 8.5 does not."""
    value = parameters.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        raise RequestError(f'{name} must be a whole number, not {value!r}')
    if not low <= value <= high:  # -1.0 from JSON is said as the -1 the client wrote
        raise RequestError(f'{name} must be between {low} and {high}, not {int(value)}')
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
    (False, True): {'ahash': {64: 0, 256: 12}, 'phash': {64: 13, 256: 81}, 'dhash': {64: 2, 256: 44},
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
        raise RequestError(f'{name} must be true or false, not {value!r}')
    return value


# Stage 2 of the match decision (executors/match.py), measured with `python app.py evaluate
# --negatives ../shared/datasets/clothing-small --labels .../labels.csv` on clothing-small (3,781
# real photos, 7,146,088 pairs of different photos: many garments on the same few sheets and
# floors, the hardest case we have) and on evaluate's copies of data/eval (54 photos x 29
# transforms), with the evidence as evidence.py computes it since 2026-12-01 (matrix products,
# no rounding of the squares to 8 bits).
# - VERIFY_THRESHOLD: 256-bit pHash over the views. The nearest different photos are 36 bits
#   apart (2 pairs of t-shirts of one cut in other colours, which the colour check tells apart),
#   then 38 (2 pairs, one of them grey: two pairs of jeans on one hanger) and 40 or more for the
#   rest; crops and turned copies of data/eval reach 36 at their 98th percentile (38 at most).
#   36 keeps 2 bits under the nearest stranger that colour lets through; 34 would lose 1 in 15
#   of the copies cropped by 5-10%. (The evidence before 2026-12-01, squares rounded to 8 bits,
#   kept strangers from 40 bits but left more copies out: 9 of data/eval's 1,273 stage-1 copies
#   beyond 36 bits, against 4 now.)
VERIFY_THRESHOLD = 36
# - BANDS_THRESHOLD: the same for a band against the same band (view_pairs.py). Banner and
#   watermark copies of data/eval are 0 to 6 bits from their originals there; different garments
#   of clothing-small come as near as 42 (the bands are 4 more chances each), so 16.
BANDS_THRESHOLD = 16
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
# - NEAR_64_ALLOWANCE, NEAR_64_STEP: a pair whose 64-bit pHash views (stage 1) are 0 bits apart
#   may be 10 bits further at 256 bits (any comparison but the bands), 3 fewer for each bit at
#   64: 40 at 2 bits, 37 at 3, none from 4. A brightening that clips a pale photo's highlights
#   (brightness +30% of sk-clock) keeps the coarse shape, 2 bits at 64, while the detail moves 40
#   bits at 256. Measured on the 23,298 different pairs stage 1 proposes on clothing-small: those
#   within 3 bits at 64 (5 pairs, all at 2) are 52 bits or more apart at 256, 12 beyond the 40
#   the allowance lets through at 2 bits (two of them are in data/hard). A pair that another
#   comparison (a band, say) confirms on its own takes no allowance, so its evidence stays that
#   comparison. Only 64-bit pHash distances earn it (match.allows_near_64).
NEAR_64_ALLOWANCE = 10
NEAR_64_STEP = 3
