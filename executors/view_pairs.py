"""Which views of an image exist and which are compared: shared by the ImageHasher, which hashes
them (image_hasher/views.py says what each view is), and the SimpleIndexer, which compares them.

The distance between a query and a stored image is the smallest over VIEW_PAIRS (plus
ROTATION_PAIRS with `rotations`) of the distance between a hash of the query's view and a hash
of the stored image's view; 'plain' is the image itself. In /duplicates both images play both
parts. `python app.py evaluate` measures exactly these pairs.
"""
QUERY_VIEWS = ('trim', 'centre')
INDEX_VIEWS = ('trim', 'centre', 'turns', 'crops', 'orientations')
HASHES_PER_VIEW = {'plain': 1, 'trim': 1, 'centre': 1, 'turns': 2, 'crops': 9, 'orientations': 7}

VIEW_PAIRS = (('plain', 'plain'), ('plain', 'crops'), ('trim', 'trim'), ('centre', 'centre'), ('centre', 'turns'))
ROTATION_PAIRS = (('plain', 'orientations'),)


def view_pairs(views: bool = True, rotations: bool = False) -> tuple:
    """The pairs compared: the image alone without views; flips and 90-degree turns on request."""
    pairs = VIEW_PAIRS if views else (('plain', 'plain'),)
    return pairs + (ROTATION_PAIRS if rotations else ())


def views_needed(pairs) -> list:
    """The stored views (besides 'plain') that `pairs` compare, in a stable order."""
    return sorted({view for pair in pairs for view in pair} - {'plain'})


# Stage 2 (executors/match.py) compares 256-bit hashes of the same views, which forgive far less
# misalignment than 64 bits do: a crop 2.5% off the nearest crop view, or a turn 2 degrees off the
# nearest turned view, moves a 256-bit pHash as far as a different photo. So the verification
# hashes of an indexed image cut its views on a finer grid: turns of -4, -2, 2 and 4 degrees, and
# crops at 95% (3x3 positions) and 90% (5x5 positions). Both sides also hash 'bands': the image
# without a quarter at one edge (top, bottom, left, right kept at 75%), compared band with the
# same band only, which sees past a banner or a caption strip along one edge.
VERIFY_HASHES_PER_VIEW = {'plain': 1, 'trim': 1, 'centre': 1, 'turns': 4, 'crops': 9 + 25, 'orientations': 7,
                          'bands': 4}
VERIFY_VIEW_ORDER = INDEX_VIEWS + ('bands',)
ALIGNED_VIEWS = ('bands',)  # compared row with row: the top band with the top band, and so on
# Stage 2 compares these pairs besides stage 1's, when views are compared at all: a padded copy's
# trimmed view against its original as it is (whose own trim may have cut dark edges away), and
# the bands.
VERIFY_EXTRA_PAIRS = (('trim', 'plain'), ('bands', 'bands'))


def verification_views(views) -> tuple:
    """The views stage 2 hashes for an image whose stage-1 `views` are these: the bands too."""
    return tuple(views) + ('bands',) if views else ()


def verification_pairs(pairs) -> tuple:
    """The pairs of views stage 2 compares for stage 1's `pairs`."""
    return tuple(pairs) + (VERIFY_EXTRA_PAIRS if len(pairs) > 1 else ())


def verification_layout(views) -> list:
    """(view, first row, rows) of an image's verification hashes (image_hasher/evidence.py): the
    image itself ('plain') first, then each of `views` in VERIFY_VIEW_ORDER."""
    layout, row = [('plain', 0, 1)], 1
    for view in VERIFY_VIEW_ORDER:
        if view in views:
            layout.append((view, row, VERIFY_HASHES_PER_VIEW[view]))
            row += VERIFY_HASHES_PER_VIEW[view]
    return layout


def layout_of(rows: int) -> list:
    """The layout of an image's verification hashes from their number: the image alone, a
    query's views, or an indexed image's views."""
    for views in ((), QUERY_VIEWS, INDEX_VIEWS):
        layout = verification_layout(verification_views(views))
        if layout[-1][1] + layout[-1][2] == rows:
            return layout
    raise ValueError(f'{rows} verification hashes match no known set of views')
