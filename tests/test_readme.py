"""The README's example sessions, run as written, print what the README says they print.

A session is a code block after the line CHECKED (or SERVED, for the ones that talk to a running
`serve`): `$ COMMAND` lines, each followed by the output it shows. They run in README order, in
one folder holding `data/` (a link to the sample), as a user following the README would. Times,
rates, ids (made from absolute paths) and the folder's own path differ from run to run and
machine to machine, so they are compared as placeholders.
"""
import os
import re
import subprocess
import sys

import pytest

import app
from tests.images import DATA, REPOSITORY
from tests.server import served

README = os.environ.get("README_UNDER_TEST") or os.path.join(REPOSITORY, "README.md")
CHECKED = '<!-- checked by tests/test_readme.py -->'
SERVED = '<!-- checked by tests/test_readme.py against a served Flow -->'
README_FOLDER = '/work/main'  # where the README's examples say they ran
README_PORTS = ('54321', '54322')


def sessions(marker: str):
    """[[(command, [expected output lines]), ...], ...] of the code blocks after `marker`."""
    text = open(README, encoding='utf-8').read()
    return [_steps(block) for block in re.findall(re.escape(marker) + r'\n```[a-z]*\n(.*?)```', text, re.S)]


def _steps(block: str):
    steps, continued = [], False
    for line in block.splitlines():
        if continued:  # a command broken over lines with a backslash
            steps[-1] = (steps[-1][0][:-1] + line.strip(), steps[-1][1])
        elif line.startswith('$ '):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        continued = bool(steps) and not steps[-1][1] and steps[-1][0].endswith('\\')
    return steps


def normal(lines, folder: str, ports=README_PORTS):
    """Lines with what may differ between runs made alike, and a step's passing progress lines
    (a log gets them only when the step is slow) left out."""
    kept = []
    for line in lines:
        if _passing_progress(line):
            continue
        line = line.replace(folder, README_FOLDER).replace(REPOSITORY, README_FOLDER)  # a clone elsewhere
        line = re.sub(r'("id": ?)"[0-9a-f]{20}"', r'\1"ID"', line)
        line = re.sub(r'\d+(\.\d+)?(?=/s| s\b| images/s)', 'T', line)
        for port, readme_port in zip(ports, README_PORTS):
            line = line.replace(f':{port}', f':{readme_port}')
        kept.append(line.rstrip())
    return kept


def run(command: str, folder: str, extra: str = '') -> list:
    """A README command line as bash runs it in `folder`, with this Python and this repository's scripts."""
    command = re.sub(r'^python (app\.py|examples/)', lambda m: f'{sys.executable} {REPOSITORY}/{m.group(1)}', command)
    done = subprocess.run(['bash', '-c', command + extra], cwd=folder, capture_output=False, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600,
                          env=dict(os.environ, PYTHONUNBUFFERED='1'))  # stdout and stderr in the order written
    return done.stdout.splitlines()


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    """A fresh folder with the sample photos in data/, as in a fresh clone."""
    folder = tmp_path_factory.mktemp('readme')
    os.symlink(DATA, folder / 'data')
    return str(folder)


def test_the_readme_has_sessions_to_check():
    assert len(sessions(CHECKED)) >= 4 and len(sessions(SERVED)) >= 2


def test_the_readme_sessions_print_what_the_readme_says(folder):
    for steps in sessions(CHECKED):
        for command, expected in steps:
            assert normal(run(command, folder), folder) == normal(expected, README_FOLDER), command


def test_the_served_flow_and_its_clients_answer_as_the_readme_says(folder):
    steps = [step for session in sessions(SERVED) for step in session]
    serve = [(command, expected) for command, expected in steps if command.startswith('python app.py serve')]
    assert len(serve) == 1
    for command, expected in steps[:steps.index(serve[0])]:  # what the README does before serving
        assert normal(run(command, folder), folder) == normal(expected, README_FOLDER), command
    args = app.parser().parse_args(serve[0][0].split()[2:])
    roots = [option for root in args.allow_root for option in ('--allow-root', os.path.join(folder, root))]
    with served(os.path.join(folder, args.workspace), *roots) as (server, grpc_port, http_port):
        ports = (str(grpc_port), str(http_port))
        banner = [line for line in open(server.log).read().splitlines() if line.startswith('serving ')]
        assert normal(banner, folder, ports) == normal(serve[0][1], README_FOLDER)
        for command, expected in steps[steps.index(serve[0]) + 1:]:
            if command.startswith('python examples/grpc_search.py'):
                answer = normal(run(command, folder, f' 127.0.0.1:{grpc_port}'), folder, ports)
                assert answer == normal(expected, README_FOLDER), command
            else:  # curl: the README shows a shortened answer; each "key":value it shows must be in it
                answer = ' '.join(normal(run(command.replace(':54322', f':{http_port}'), folder), folder, ports))
                shown = re.findall(r'"\w+":(?:"[^"]*"|[\d.]+|null)', ' '.join(normal(expected, README_FOLDER)))
                assert shown and [pair for pair in shown if pair not in answer] == [], answer


def rewrite(readme: str = README) -> int:
    """Run the CHECKED sessions as the test does and write what they print into the README, in
    place (times and rates as printed): `python -m tests.test_readme` after a change of output.
    Review the diff: it is the README's claims that change. The served sessions are not rewritten."""
    import tempfile
    text = open(readme, encoding='utf-8').read()
    with tempfile.TemporaryDirectory() as folder:
        os.symlink(DATA, os.path.join(folder, 'data'))

        def session(match):
            lines = []
            for command, _ in _steps(match.group(2)):
                shown = [line.replace(folder, README_FOLDER).rstrip() for line in run(command, folder)]
                lines += [f'$ {command}'] + [line for line in shown if not _passing_progress(line)]
            return match.group(1) + '\n'.join(lines) + '\n```'

        text, count = re.subn(re.escape(CHECKED) + r'(\n```[a-z]*\n)(.*?)```', lambda m: CHECKED + session(m), text,
                              flags=re.S)
    open(readme, 'w', encoding='utf-8').write(text)
    return count


def _passing_progress(line: str) -> bool:
    progress = re.fullmatch(r'\w+ (\d+)/(\d+) [a-z ]+ \([\d.]+/s\)', line)
    return bool(progress) and progress.group(1) != progress.group(2)


if __name__ == '__main__':
    print(f'rewrote {rewrite()} sessions of {README}')
