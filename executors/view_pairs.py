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
