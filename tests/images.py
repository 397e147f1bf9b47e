"""Paths of the sample photos in data/, shared by the tests."""
import glob
import os
import re

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPOSITORY, 'data')
INDEX_IMAGES = sorted(glob.glob(os.path.join(DATA, 'index', '*')))
QUERY_IMAGES = sorted(glob.glob(os.path.join(DATA, 'query', '*')))


def photo_name(path: str) -> str:
    """'chelsea' for data/query/chelsea3.webp: the photo a file shows, as the data/ names say."""
    return re.fullmatch(r'([a-z]+)\d+', os.path.splitext(os.path.basename(path))[0]).group(1)


def original_of(query_path: str):
    """data/index/NAME1.* for a query NAMEk, or None for a photo with no counterpart."""
    name = photo_name(query_path)
    return next((p for p in INDEX_IMAGES if photo_name(p) == name), None)
