"""Moving files and putting them back never overwrites anything and always leaves a record."""
import json
import os

from client.moving import move_files, undo


def make(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as file:
        file.write(text)


def test_moves_keep_relative_paths_and_never_overwrite(tmp_path):
    make(tmp_path / 'set' / 'a' / 'x.jpg', 'x')
    make(tmp_path / 'set' / 'b' / 'y.jpg', 'y')
    make(tmp_path / 'moved' / 'b' / 'y.jpg', 'already here')
    manifest, moved, failed = move_files([tmp_path / 'set' / 'a' / 'x.jpg', tmp_path / 'set' / 'b' / 'y.jpg'],
                                         tmp_path / 'moved')
    assert moved == [str(tmp_path / 'set' / 'a' / 'x.jpg')]
    assert failed[0][0] == str(tmp_path / 'set' / 'b' / 'y.jpg') and 'not overwritten' in failed[0][1]
    assert (tmp_path / 'moved' / 'a' / 'x.jpg').read_text() == 'x'
    assert (tmp_path / 'moved' / 'b' / 'y.jpg').read_text() == 'already here'
    assert (tmp_path / 'set' / 'b' / 'y.jpg').read_text() == 'y'
    lines = [json.loads(line) for line in open(manifest)]
    assert lines[0]['manifest'] == 1 and [entry['from'] for entry in lines[1:]] == moved


def test_undo_puts_back_what_it_can_and_overwrites_nothing(tmp_path):
    make(tmp_path / 'set' / 'x.jpg', 'x')
    make(tmp_path / 'set' / 'y.jpg', 'y')
    manifest, moved, _ = move_files([tmp_path / 'set' / 'x.jpg', tmp_path / 'set' / 'y.jpg'], tmp_path / 'moved')
    make(tmp_path / 'set' / 'y.jpg', 'a new file at the old place')
    restored, already, failed = undo(manifest)
    assert restored == [str(tmp_path / 'set' / 'x.jpg')] and (tmp_path / 'set' / 'x.jpg').read_text() == 'x'
    assert failed[0][0] == str(tmp_path / 'set' / 'y.jpg')
    assert (tmp_path / 'set' / 'y.jpg').read_text() == 'a new file at the old place'
    assert (tmp_path / 'moved' / 'y.jpg').read_text() == 'y'  # still safe where it was moved to
    assert already == []


def test_a_second_undo_finds_every_file_back_already_and_touches_nothing(tmp_path):
    make(tmp_path / 'set' / 'x.jpg', 'x')
    make(tmp_path / 'set' / 'y.jpg', 'y')
    manifest, moved, _ = move_files([tmp_path / 'set' / 'x.jpg', tmp_path / 'set' / 'y.jpg'], tmp_path / 'moved')
    assert undo(manifest)[0] == list(reversed(moved))
    restored, already, failed = undo(manifest)
    assert restored == [] and failed == [] and sorted(already) == sorted(moved)
    assert (tmp_path / 'set' / 'x.jpg').read_text() == 'x' and (tmp_path / 'set' / 'y.jpg').read_text() == 'y'
