"""app.py dedup, undo and search --plot end to end, on copies of the sample photos."""
import csv
import hashlib
import json
import os
import shutil
import subprocess
import urllib.parse
from html.parser import HTMLParser

import pytest
from PIL import Image

from tests.images import DATA, INDEX_IMAGES, QUERY_IMAGES, original_of, photo_name
from tests.test_cli import app

STRANGERS = [p for p in QUERY_IMAGES if original_of(p) is None]


def sha256(path):
    with open(path, 'rb') as file:
        return hashlib.sha256(file.read()).hexdigest()


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    """data/index and data/query copied (dedup may move them) and indexed together."""
    root = tmp_path_factory.mktemp('dedup')
    shutil.copytree(os.path.join(DATA, 'index'), root / 'photos' / 'index')
    shutil.copytree(os.path.join(DATA, 'query'), root / 'photos' / 'query')
    app('index', str(root / 'photos'), '--workspace', str(root / 'ws'), check_exit=0)
    return root


def dedup(photos, out, *options, check_exit=0):
    return app('dedup', '--workspace', str(photos / 'ws'), '--output', str(out), *options, check_exit=check_exit)


class ReportData(HTMLParser):
    """The JSON that report.html embeds in <script id="data">."""

    def __init__(self):
        super().__init__()
        self.inside, self.text = False, ''

    def handle_starttag(self, tag, attrs):
        self.inside = tag == 'script' and ('id', 'data') in attrs

    def handle_data(self, data):
        if self.inside:
            self.text += data


def test_each_original_is_grouped_with_all_its_copies_and_strangers_are_left_alone(photos, tmp_path):
    run = dedup(photos, tmp_path)
    groups = json.load(open(tmp_path / 'groups.json'))
    by_name = {photo_name(g['keep']['uri']): g for g in groups}
    assert sorted(by_name) == sorted(photo_name(p) for p in INDEX_IMAGES)
    for name, group in by_name.items():
        members = {os.path.basename(m['uri']) for m in [group['keep']] + group['duplicates']}
        assert members == {os.path.basename(p) for p in INDEX_IMAGES + QUERY_IMAGES if photo_name(p) == name}
        assert all(d['distance'] <= 10 for d in group['duplicates'])
    grouped = {m['uri'] for g in groups for m in [g['keep']] + g['duplicates']}
    assert not any(os.path.basename(s) in map(os.path.basename, grouped) for s in STRANGERS)
    remove = open(tmp_path / 'remove.txt').read().splitlines()
    assert sorted(remove) == sorted(d['uri'] for g in groups for d in g['duplicates'])
    assert len(remove) == len(QUERY_IMAGES) - len(STRANGERS)
    assert f'{len(groups)} near-duplicate groups; {len(remove)} files to remove' in run.stderr
    assert 'dry run' in run.stderr and all(os.path.exists(p) for p in remove)


def test_the_default_policy_keeps_every_original_and_largest_keeps_todays_choice(photos, tmp_path):
    run = dedup(photos, tmp_path / 'original')
    kept = {os.path.basename(g['keep']['uri']) for g in json.load(open(tmp_path / 'original' / 'groups.json'))}
    assert kept == {os.path.basename(p) for p in INDEX_IMAGES}
    assert not any('/index/' in line for line in open(tmp_path / 'original' / 'remove.txt'))
    for keep in ('largest', 'best'):  # the rule before: most pixels, then the larger file
        dedup(photos, tmp_path / keep, '--keep', keep)
        kept = {os.path.basename(g['keep']['uri']) for g in json.load(open(tmp_path / keep / 'groups.json'))}
        assert {'camera4.png', 'coffee3.png', 'seeding4.png'} <= kept  # a PNG re-save has more bytes
    assert run.returncode == 0


def test_a_preferred_folder_wins_over_the_keep_policy(photos, tmp_path):
    # here the copies' folder: one of its files is kept in every group, never an original
    dedup(photos, tmp_path / 'query', '--prefer', str(photos / 'photos' / 'query'))
    kept = {os.path.basename(g['keep']['uri']) for g in json.load(open(tmp_path / 'query' / 'groups.json'))}
    assert not kept & {os.path.basename(p) for p in INDEX_IMAGES}
    dedup(photos, tmp_path, '--prefer', str(photos / 'photos' / 'index'))
    kept = {os.path.basename(g['keep']['uri']) for g in json.load(open(tmp_path / 'groups.json'))}
    assert kept == {os.path.basename(p) for p in INDEX_IMAGES}


def test_every_output_is_well_formed(photos, tmp_path):
    dedup(photos, tmp_path)
    groups = json.load(open(tmp_path / 'groups.json'))
    with open(tmp_path / 'duplicates.csv', newline='') as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ['group', 'uri', 'role', 'distance', 'width', 'height', 'bytes']
    assert len(rows) == sum(1 + len(g['duplicates']) for g in groups)
    assert sum(row['role'] == 'keep' for row in rows) == len(groups)
    assert all(int(row['width']) > 0 and int(row['bytes']) == os.path.getsize(row['uri']) for row in rows)
    sheets = sorted(os.listdir(tmp_path / 'groups'))
    assert len(sheets) == len(groups)
    for sheet in sheets:
        with Image.open(tmp_path / 'groups' / sheet) as picture:
            assert picture.format == 'PNG' and picture.width > 300
    parser = ReportData()
    parser.feed(open(tmp_path / 'report.html', encoding='utf-8').read())
    embedded = json.loads(parser.text)
    assert embedded['groups'] == groups
    members = {m['uri'] for g in groups for m in [g['keep']] + g['duplicates']}
    assert set(embedded['thumbnails']) == members
    assert all(uri.startswith('data:image/jpeg;base64,') for uri in embedded['thumbnails'].values())
    # Each file is linked (and shown full size on a click): a file:// URL that names the file itself.
    assert set(embedded['links']) == members
    assert all(urllib.parse.unquote(urllib.parse.urlparse(link).path) == uri and os.path.isfile(uri)
               for uri, link in embedded['links'].items())


def test_the_report_script_is_valid_javascript(photos, tmp_path):
    node = shutil.which('node')
    if not node:
        pytest.skip('no node to check the script with')
    dedup(photos, tmp_path)
    page = open(tmp_path / 'report.html', encoding='utf-8').read()
    script = page.rsplit('<script>', 1)[1].split('</script>')[0]
    (tmp_path / 'report.js').write_text(script)
    checked = subprocess.run([node, '--check', str(tmp_path / 'report.js')], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_a_members_evidence_goes_into_groups_json_and_the_report_and_none_is_made_up(tmp_path):
    from types import SimpleNamespace
    from reports.groups import group_of
    from reports.html import write_report
    kept = SimpleNamespace(uri=INDEX_IMAGES[0], id='a', width=1, height=1, byte_size=1)
    copy = SimpleNamespace(uri=QUERY_IMAGES[0], id='b', width=1, height=1, byte_size=1, distance=3,
                           evidence={'bits': 3, 'views': 'plain~crops'})
    plain = SimpleNamespace(uri=QUERY_IMAGES[1], id='c', width=1, height=1, byte_size=1, distance=4)
    group = group_of(1, 'near', kept, [copy, plain])
    assert [m.get('evidence') for m in group['duplicates']] == [{'bits': 3, 'views': 'plain~crops'}, None]
    assert 'evidence' not in group['keep']
    parser = ReportData()
    parser.feed(open(write_report([group], 'summary', str(tmp_path / 'report.html')), encoding='utf-8').read())
    assert json.loads(parser.text)['groups'][0]['duplicates'][0]['evidence'] == {'bits': 3, 'views': 'plain~crops'}


def test_contact_sheets_name_files_by_their_shortest_distinguishing_path(tmp_path):
    from reports.sheets import distinguishing_names
    copy = str(tmp_path / 'elsewhere' / os.path.basename(INDEX_IMAGES[0]))
    names = distinguishing_names([INDEX_IMAGES[0], copy, INDEX_IMAGES[1], QUERY_IMAGES[0]])
    assert names[INDEX_IMAGES[0]] == os.path.join('index', os.path.basename(INDEX_IMAGES[0]))
    assert names[copy] == os.path.join('elsewhere', os.path.basename(INDEX_IMAGES[0]))
    assert names[INDEX_IMAGES[1]] == os.path.basename(INDEX_IMAGES[1])  # a name of its own: the name alone
    assert names[QUERY_IMAGES[0]] == os.path.basename(QUERY_IMAGES[0])
    same_folder_name = [str(tmp_path / 'a' / 'set' / 'x.jpg'), str(tmp_path / 'b' / 'set' / 'x.jpg')]
    assert sorted(distinguishing_names(same_folder_name).values()) == [os.path.join('a', 'set', 'x.jpg'),
                                                                         os.path.join('b', 'set', 'x.jpg')]


def test_an_exact_copy_is_an_exact_group_and_a_preferred_folder_wins(tmp_path):
    folder = tmp_path / 'set'
    (folder / 'curated').mkdir(parents=True)
    (folder / 'scraped').mkdir()
    shutil.copy(INDEX_IMAGES[0], folder / 'scraped' / 'a.jpg')
    shutil.copy(INDEX_IMAGES[0], folder / 'curated' / 'a-copy.jpg')
    app('index', str(folder), '--workspace', str(tmp_path / 'ws'), check_exit=0)
    run = app('dedup', '--workspace', str(tmp_path / 'ws'), '--output', str(tmp_path / 'out'),
              '--prefer', str(folder / 'curated'), check_exit=0)
    group, = json.load(open(tmp_path / 'out' / 'groups.json'))
    assert group['kind'] == 'exact' and group['keep']['uri'] == str(folder / 'curated' / 'a-copy.jpg')
    assert '2 images: 1 exact duplicate group, 0 near-duplicate groups; 1 file to remove' in run.stderr


def test_against_a_folder_and_against_a_workspace_list_the_leaks(tmp_path):
    app('index', os.path.join(DATA, 'index'), '--workspace', str(tmp_path / 'train'), check_exit=0)
    app('index', os.path.join(DATA, 'query'), '--workspace', str(tmp_path / 'test'), check_exit=0)
    for against in (os.path.join(DATA, 'query'), str(tmp_path / 'test')):
        out = tmp_path / os.path.basename(against)
        app('dedup', '--workspace', str(tmp_path / 'train'), '--output', str(out), '--against', against, check_exit=0)
        groups = json.load(open(out / 'groups.json'))
        assert {os.path.basename(g['keep']['uri']) for g in groups} == {
            os.path.basename(p) for p in QUERY_IMAGES if original_of(p)}
        for group in groups:
            assert group['kind'] == 'leak'
            assert [d['uri'] for d in group['duplicates']] == [original_of(group['keep']['uri'])]
        assert sorted(open(out / 'remove.txt').read().splitlines()) == INDEX_IMAGES


def test_against_an_overlapping_set_lists_no_file_as_its_own_copy_and_removes_none_of_the_overlap(photos, tmp_path):
    query = photos / 'photos' / 'query'  # indexed too: every file of it is in both sets
    run = dedup(photos, tmp_path, '--against', str(query))
    groups = json.load(open(tmp_path / 'groups.json'))
    assert groups and all(d['uri'] != g['keep']['uri'] for g in groups for d in g['duplicates'])
    assert all(not d['uri'].startswith(str(query)) for g in groups for d in g['duplicates'])
    in_both = sorted(str(query / os.path.basename(p)) for p in QUERY_IMAGES)
    assert open(tmp_path / 'in-both.txt').read().splitlines() == in_both
    assert sorted(open(tmp_path / 'remove.txt').read().splitlines()) == sorted(
        str(photos / 'photos' / 'index' / os.path.basename(p)) for p in INDEX_IMAGES)
    assert f'{len(QUERY_IMAGES)} files in both sets, left out of remove.txt (in-both.txt)' in run.stderr


def test_against_a_folder_without_images_is_no_passed_check(photos, tmp_path):
    empty = tmp_path / 'test-set'
    empty.mkdir()
    run = dedup(photos, tmp_path / 'out', '--against', str(empty), check_exit=1)
    assert run.stderr.splitlines()[-1] == f'error: {empty} is no workspace and holds no image files'


def test_move_to_then_undo_restores_every_file_byte_for_byte(tmp_path):
    photos = tmp_path / 'photos'
    shutil.copytree(os.path.join(DATA, 'query'), photos / 'query')
    shutil.copytree(os.path.join(DATA, 'index'), photos / 'index')
    before = {str(p): sha256(p) for p in photos.rglob('*') if p.is_file()}
    app('index', str(photos), '--workspace', str(tmp_path / 'ws'), check_exit=0)
    run = app('dedup', '--workspace', str(tmp_path / 'ws'), '--output', str(tmp_path / 'out'),
              '--move-to', str(tmp_path / 'moved'), check_exit=0)
    remove = open(tmp_path / 'out' / 'remove.txt').read().splitlines()
    assert remove and not any(os.path.exists(p) for p in remove)
    shared = os.path.commonpath(remove)  # data/query: the originals of data/index are kept
    for path in remove:  # moved under their path relative to the folder they share
        moved = tmp_path / 'moved' / os.path.relpath(path, shared)
        assert sha256(moved) == before[path]
    status = json.loads(app('status', '--workspace', str(tmp_path / 'ws'), check_exit=0).stdout)
    assert status['images'] == len(before) - len(remove)
    manifest = run.stderr.split('app.py undo ')[1].split('`')[0]
    app('undo', manifest, check_exit=0)
    assert {str(p): sha256(p) for p in photos.rglob('*') if p.is_file()} == before
    again = app('undo', manifest, check_exit=0)  # nothing left to put back, and that is no failure
    assert again.stderr.strip() == (f'already undone: every file of {manifest} is back in place '
                                    f'({len(remove)} files)')


def test_search_plot_draws_each_query_that_has_matches(tmp_path):
    app('index', os.path.join(DATA, 'index'), '--workspace', str(tmp_path / 'ws'), check_exit=0)
    app('search', *QUERY_IMAGES[:4], STRANGERS[0], '--workspace', str(tmp_path / 'ws'),
        '--plot', str(tmp_path / 'plots'), check_exit=0)
    pictures = sorted(os.listdir(tmp_path / 'plots'))
    assert pictures == [f'{n:04d}-{os.path.basename(p)}.png' for n, p in enumerate(QUERY_IMAGES[:4], 1)]
    for picture in pictures:
        with Image.open(tmp_path / 'plots' / picture) as image:
            assert image.format == 'PNG'



def test_views_group_padded_and_cropped_copies_and_rotations_add_flipped_ones(tmp_path):
    photos = tmp_path / 'photos'
    photos.mkdir()
    for path in INDEX_IMAGES[:4]:
        shutil.copy(path, photos)
    original = INDEX_IMAGES[0]
    image = Image.open(original).convert('RGB')
    width, height = image.size
    padded = Image.new('RGB', (width, height + height // 2))  # letterboxed in black
    padded.paste(image, (0, height // 4))
    padded.save(photos / 'padded.jpg', quality=90)
    image.crop((width // 10, height // 10, width, height)).save(photos / 'cropped.jpg', quality=90)
    image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(photos / 'flipped.jpg', quality=90)
    workspace = str(tmp_path / 'ws')
    app('index', str(photos), '--workspace', workspace, check_exit=0)

    def grouped_with_original(*options):
        app('dedup', '--workspace', workspace, '--output', str(tmp_path / 'out'), *options, check_exit=0)
        groups = json.load(open(tmp_path / 'out' / 'groups.json'))
        mine = [g for g in groups if os.path.basename(original) in
                {os.path.basename(m['uri']) for m in [g['keep']] + g['duplicates']}]
        return {os.path.basename(m['uri']) for g in mine for m in [g['keep']] + g['duplicates']} - \
            {os.path.basename(original)}

    assert grouped_with_original('--no-views') == set()
    assert grouped_with_original() == {'padded.jpg', 'cropped.jpg'}
    assert grouped_with_original('--rotations') == {'padded.jpg', 'cropped.jpg', 'flipped.jpg'}
    found = app('search', str(photos / 'flipped.jpg'), '--workspace', workspace, '--rotations', '--format', 'json',
                check_exit=0)
    matches = json.loads(found.stdout)[0]['matches']
    assert {os.path.basename(m['uri']) for m in matches[:2]} == {'flipped.jpg', os.path.basename(original)}
    assert matches[1]['distance'] <= 2


def test_dedup_compares_views_up_to_its_limit_unless_told_and_says_when_it_does_not(capsys):
    from app import VIEWS_AUTO_LIMIT, views_for_all_pairs
    assert views_for_all_pairs(None, VIEWS_AUTO_LIMIT) is True
    assert capsys.readouterr().err == ''
    assert views_for_all_pairs(None, VIEWS_AUTO_LIMIT + 1) is False
    assert 'comparing the images alone' in capsys.readouterr().err
    assert views_for_all_pairs(True, 10 ** 7) is True and views_for_all_pairs(False, 5) is False
