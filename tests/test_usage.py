"""Wrong command lines are refused in one line, with exit 2, before any work; reading commands
never create a workspace. In process (app.main), since none of these may start a Flow."""
import os
import re

import pytest

import app
from tests.images import DATA, INDEX_IMAGES


def run(capsys, *argv):
    """(exit code, stderr) of `python app.py ARGV...`."""
    try:
        code = app.main(list(argv))
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    return code, capsys.readouterr().err


@pytest.fixture
def workspace(tmp_path):
    """A workspace that exists (an index of one image is not needed: no command here gets that far)."""
    folder = tmp_path / 'ws' / 'SimpleIndexer' / '0'
    folder.mkdir(parents=True)
    (folder / 'index.db').write_bytes(b'')
    return str(tmp_path / 'ws')


@pytest.mark.parametrize('argv, message', [
    (['search', INDEX_IMAGES[0], '--threshold', '65'], '--threshold 65 is more than the 64 bits of a hash'),
    (['dedup', '--threshold', '65'], '--threshold 65 is more than the 64 bits of a hash'),
    (['search', INDEX_IMAGES[0], '--limit', '10001'], '--limit 10001 is more than the 10,000 matches'),
    (['search', INDEX_IMAGES[0], '--limit', '0'], 'argument --limit: must be 1 or more, not 0'),
    (['search', INDEX_IMAGES[0], '--hash', 'md5'], "argument --hash: invalid choice: 'md5'"),
    (['index', INDEX_IMAGES[0], '--batch-size', '0'], 'argument --batch-size: must be 1 or more, not 0'),
    (['index', INDEX_IMAGES[0], '--batch-size', '100000'], '--batch-size 100000 is more than 10,000 images'),
    (['index', INDEX_IMAGES[0], '--shards', '0'], 'argument --shards: must be 1 or more, not 0'),
    (['index', INDEX_IMAGES[0], '--replicas', 'two'], "argument --replicas: invalid positive value: 'two'"),
    (['index', INDEX_IMAGES[0], '--host', 'localhost:1', '--replicas', '2'],
     '--replicas is for a Flow started here; the Flow at localhost:1 has its own'),
    (['status', '--host', 'localhost:1', '--shards', '3'], '--shards is for a Flow started here'),
    (['dedup', '--against', '/nonexistent'], '--against /nonexistent: no such file or folder'),
    (['dedup', '--prefer', '/nonexistent'], '--prefer /nonexistent: no such folder'),
    (['dedup', '--prefer', INDEX_IMAGES[0]], f'--prefer {INDEX_IMAGES[0]}: no such folder'),
    (['search', INDEX_IMAGES[0], '--output', '/missing/dir/out.json'],
     '--output /missing/dir/out.json: the folder /missing/dir does not exist'),
    (['search', INDEX_IMAGES[0], '--output', DATA], f'--output {DATA} is a folder; name a file'),
    (['search', INDEX_IMAGES[0], '--plot', os.path.join(INDEX_IMAGES[0], 'plots')],
     f'{INDEX_IMAGES[0]} is a file, not a folder'),
    (['dedup', '--output', os.path.join(INDEX_IMAGES[0], 'out')], f'{INDEX_IMAGES[0]} is a file, not a folder'),
    (['dedup', '--move-to', INDEX_IMAGES[0]], f'{INDEX_IMAGES[0]} is a file, not a folder'),
    (['index', INDEX_IMAGES[0], '--errors', '/missing/dir/errors.json'], "argument --errors: can't open"),
    (['serve', '--allow-root', '/nonexistent'], '--allow-root /nonexistent: no such folder'),
    (['serve', '--port-grpc', '70000'], '--port-grpc 70000: ports go up to 65535'),
    (['serve', '--port-grpc', '5000', '--port-http', '5000'], '--port-grpc and --port-http are both 5000'),
])
def test_a_wrong_command_line_is_one_line_and_exit_2_before_any_work(capsys, workspace, tmp_path, argv, message):
    output = tmp_path / 'out'
    extra = ['--workspace', workspace] if argv[0] != 'serve' else ['--workspace', str(tmp_path / 'new')]
    if argv[0] == 'dedup' and '--output' not in argv:
        extra += ['--output', str(output)]
    code, err = run(capsys, *argv, *extra)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and message in err, err
    assert err.startswith(f'app.py {argv[0]}: error: ')
    assert not output.exists() and not (tmp_path / 'new').exists()  # nothing was written or made


def test_a_read_only_output_folder_is_refused(capsys, workspace, tmp_path):
    locked = tmp_path / 'locked'
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip('running as a user who may write anywhere (root)')
        code, err = run(capsys, 'dedup', '--workspace', workspace, '--output', str(locked / 'out'))
        assert code == 2 and f'cannot write in {locked} (permission denied)' in err
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize('argv', [['status'], ['search', INDEX_IMAGES[0]], ['dedup']])
def test_reading_commands_on_a_missing_workspace_say_so_and_create_nothing(capsys, tmp_path, argv):
    mistyped = str(tmp_path / 'worksapce')
    code, err = run(capsys, *argv, '--workspace', mistyped, *(['--output', str(tmp_path / 'out')]
                                                              if argv == ['dedup'] else []))
    assert code == 1
    assert err == (f'error: there is no index in {mistyped} (a mistyped --workspace?); '
                   f'`python app.py index PATH --workspace {mistyped}` makes one\n')
    assert os.listdir(tmp_path) == []


def test_help_names_the_defaults_of_flow_yml(capsys):
    import yaml
    from client.connection import FLOW_YML
    executors = {e['name']: e for e in yaml.safe_load(open(FLOW_YML))['executors']}
    with pytest.raises(SystemExit):
        app.main(['index', '--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert f'(default: {executors["hasher"]["replicas"]}, from flow.yml)' in text.rsplit('--replicas N', 1)[1]
    assert f'(default: {executors["indexer"]["shards"]}, from flow.yml)' in text.rsplit('--shards N', 1)[1]


def test_counts_take_the_number_of_their_noun():
    from client.output import counted
    assert [counted(1, 'image'), counted(2, 'image'), counted(0, 'image')] == ['1 image', '2 images', '0 images']
    assert [counted(1, 'match'), counted(3, 'match')] == ['1 match', '3 matches']
    assert counted(2, 'more path') == '2 more paths'


def test_the_usage_in_app_py_names_every_option_of_every_command():
    commands = next(a for a in app.parser()._actions if isinstance(a, app.argparse._SubParsersAction)).choices
    usage = app.__doc__.split('\n\n')[1]
    for name, sub in commands.items():
        lines = usage.split(f'python app.py {name}')[1].split('python app.py')[0]
        options = {o for action in sub._actions for o in action.option_strings if o.startswith('--')}
        missing = options - {'--help', '--replicas', '--shards'} - set(re.findall(r'--[a-z-]+', lines))
        assert not missing, f'{name}: {sorted(missing)} missing from the usage in app.py'
