"""The match decision (executors/match.py) on real photos and their copies, without a Flow."""
import csv
import io
import os

from PIL import Image

from evaluation.decision import hashed
from evaluation.transforms import altered_copy
from executors.image_hasher.decode import open_image
from executors.match import evidence_of_doc, verify
from executors.view_pairs import INDEX_VIEWS, QUERY_VIEWS, view_pairs
from tests.images import DATA

PHOTO = os.path.join(DATA, 'eval', 'mate-garden.jpg')


def read(path):
    with open(path, 'rb') as file:
        return file.read()


def evidence(data, views=INDEX_VIEWS):
    return evidence_of_doc(hashed(data, views))


def copy_of(path, transform):
    colour = open_image(read(path)).convert('RGB')
    return altered_copy(colour, transform, seed='test')


def test_a_banner_copy_is_confirmed_by_a_band_and_a_padded_one_by_its_trimmed_view():
    """Photos whose copies no other view confirms: a banner over a foggy landscape, and a black
    pad around a photo whose own dark edges its trimmed view cuts away."""
    fog, butterfly = (os.path.join(DATA, 'eval', name) for name in ('lxqt-fog.jpg', 'lxqt-butterfly.jpg'))
    banner = verify(evidence(copy_of(fog, 'banner'), QUERY_VIEWS), evidence(read(fog)), view_pairs(), both_ways=False)
    assert banner.same and banner.views == 'bands~bands', banner
    padded = verify(evidence(copy_of(butterfly, 'pad-10%'), QUERY_VIEWS), evidence(read(butterfly)), view_pairs(),
                    both_ways=False)
    assert padded.same and padded.views == 'trim~plain', padded


def test_a_grey_copy_skips_the_colour_check_and_a_recoloured_photo_fails_it():
    original = evidence(read(PHOTO))
    grey = verify(evidence(copy_of(PHOTO, 'grey'), QUERY_VIEWS), original, view_pairs(), both_ways=False)
    assert grey.same and grey.colour_degrees is None
    image = open_image(read(PHOTO)).convert('RGB')
    swapped = Image.merge('RGB', image.split()[::-1])  # the same shapes, red and blue exchanged
    encoded = io.BytesIO()
    swapped.save(encoded, 'JPEG', quality=90)
    verdict = verify(evidence(encoded.getvalue(), QUERY_VIEWS), original, view_pairs(), both_ways=False)
    assert not verdict.same and verdict.reason == 'colour', verdict


def test_a_flat_image_matches_nothing_not_even_another_flat_one():
    def blank(value):
        encoded = io.BytesIO()
        Image.new('RGB', (300, 200), (value, value, value)).save(encoded, 'JPEG')
        return encoded.getvalue()
    verdict = verify(evidence(blank(250)), evidence(blank(240)), view_pairs())
    assert not verdict.same and verdict.reason == 'flat'


def test_different_garments_on_the_same_floor_are_told_apart():
    with open(os.path.join(DATA, 'hard', 'labels.csv'), newline='') as file:
        rows = list(csv.DictReader(file))
    for row in rows:
        first, second = (evidence(read(os.path.join(DATA, 'hard', row[name]))) for name in ('a', 'b'))
        verdict = verify(first, second, view_pairs())
        if row['label'] == 'different':
            assert not verdict.same, (row, verdict)
        elif row['label'] == 'copy':
            assert verdict.same and verdict.bits256 == 0
