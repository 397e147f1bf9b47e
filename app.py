"""Near-duplicate image detection with perceptual hashes, as a Jina Flow.

    python app.py index  PATH... [--files-from FILE] [--image-column NAME] [--workspace DIR] [--hash phash] [--host HOST:PORT] [--batch-size N]
                                 [--errors FILE] [--no-views] [--rehash] [--prune]
    python app.py search PATH... [--files-from FILE] [--image-column NAME] [--workspace DIR] [--hash phash] [--threshold BITS] [--limit K]
                                 [--format table|json|csv] [--output FILE] [--plot DIR] [--host HOST:PORT]
                                 [--batch-size N] [--rotations] [--no-views] [--no-verify]
    python app.py dedup          [--workspace DIR] [--hash phash] [--threshold BITS] [--output DIR]
                                 [--strict | --connected] [--keep original|largest|oldest|first] [--prefer DIR]...
                                 [--against PATH_OR_WORKSPACE] [--image-column NAME]
                                 [--move-to DIR] [--max-sheets N] [--host HOST:PORT]
                                 [--batch-size N] [--rotations] [--views | --no-views] [--no-verify]
    python app.py undo   MANIFEST
    python app.py serve          [--workspace DIR] [--host 127.0.0.1] [--port-grpc N] [--port-http N]
                                 [--allow-root DIR]...
    python app.py status         [--workspace DIR] [--host HOST:PORT]
    python app.py forget PATH... [--workspace DIR] [--host HOST:PORT]
    python app.py evaluate       [--images DIR] [--output DIR] [--single-only] [--negatives DIR [--labels CSV]]

index, search, dedup, serve and status also take --replicas N and --shards N for the Flow they
start. Without --host a command starts the Flow of flow.yml here, on the workspace; with --host
it talks to a Flow started by `serve`. A PATH may be a .tar (.tar.gz), .zip or .parquet file, whose
images are named ARCHIVE::MEMBER (client/archives.py). Exit codes: 0 all done, 1 nothing could be done (search,
dedup and status on a workspace that does not exist among them), 2 wrong usage (said in one
line, before any work), 3 done but some files failed (each is listed on stderr).
"""
import os

# One BLAS thread per process, set before numpy loads: the Flow runs one hasher per core, and
# BLAS threads of its own in each fought for the same cores (the evidence's matrix products took
# 15 times the CPU on 2 cores, measured).
for _threads in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_threads, '1')

import argparse  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from client.connection import (DEFAULT_PORTS, DEFAULT_WORKSPACE, check_shards, connect, flow_config, flow_setting,
                               hash_bits, load_flow)
from client.archives import files_from, is_member_uri
from client.files import find_images
from client.dedup import NothingToCheck, duplicate_groups, leak_groups, without_missing_files
from client.jobs import IndexTally, index_files, search_files
from client.moving import move_files, undo
from client.output import FORMATTERS, counted
from client.progress import Progress
from client.sync import (archives_read_through, asked_of, forget, missing_files, prune, read_from, record_archives,
                         split_unchanged, stored_uris)
from client.workspace import WorkspaceError, WrongShards, check_workspace, check_workspace_exists
from evaluation.command import DEFAULT_IMAGES as EVAL_IMAGES, DEFAULT_OUTPUT as EVAL_OUTPUT, command_evaluate
from executors.documents import HASH_TYPES
from executors.simple_indexer.executor import MAX_LIMIT
from executors.simple_indexer.keep import ALIASES as KEEP_ALIASES, DEFAULT_POLICY as DEFAULT_KEEP, KEEP_POLICIES
from reports.groups import bytes_reclaimable, files_to_remove, write_data_files
from reports.html import write_report

EXIT_OK, EXIT_NOTHING_DONE, EXIT_USAGE, EXIT_SOME_FAILED = 0, 1, 2, 3
VIEWS_AUTO_LIMIT = 100_000  # dedup compares views up to this many images (see views_for_all_pairs)
MAX_HASH_BITS = 32 * 32  # the largest hash a Flow makes (hash_size 32): a remote Flow's may be any size up to it
MAX_BATCH = 10_000  # images per request: more only holds more memory in every process, for no speed
READING_COMMANDS = ('search', 'dedup', 'status')  # these never create a workspace
IN_BOTH = 'in-both.txt'  # dedup --against: the files that are in the index and in the other set


class UsageError(Exception):
    """A command line that cannot work as given: said in one line, exit 2, before any work."""


def report_errors(errors) -> None:
    for path, reason in errors:
        print(f'error: {path}: {reason}', file=sys.stderr)


def exit_code(done: int, failed: int) -> int:
    if done == 0:
        return EXIT_NOTHING_DONE
    return EXIT_SOME_FAILED if failed else EXIT_OK


def named_paths(args) -> list:
    """The PATHs of the command line, then those of --files-from."""
    return list(args.paths) + (files_from(args.files_from) if args.files_from else [])


def images_or_exit(paths, image_column=None, error_list=None):
    files, problems = find_images(paths, image_column)
    report_errors(problems)
    if not files:
        write_error_list(error_list, problems)
        print('error: no image files found in ' + ', '.join(paths), file=sys.stderr)
        sys.exit(EXIT_NOTHING_DONE)
    return files, problems


def write_error_list(file, errors) -> None:
    """index --errors FILE: the files that failed, as JSON [{"path": PATH, "error": REASON}, ...],
    the same pairs as the `error: PATH: REASON` lines on stderr."""
    if file:
        json.dump([{'path': path, 'error': reason} for path, reason in errors], file, indent=1)
        file.write('\n')
        file.close()


def check_arguments(args) -> None:
    """What can be known wrong about a command line before the work starts, so that a typo costs
    one line (UsageError, exit 2) instead of a started Flow, a finished search whose results
    cannot be written, or a server's traceback; and a reading command on a workspace that does
    not exist (WorkspaceError, exit 1) instead of a new, empty index that answers "no match"."""
    remote = bool(getattr(args, 'host', None)) and args.command != 'serve'
    check_request_options(args, remote)
    if args.command in ('index', 'search'):
        check_named_paths(args)
    check_paths = {'search': check_search_paths, 'dedup': check_dedup_paths, 'serve': check_serve_options,
                   'evaluate': check_evaluate_paths}.get(args.command)
    if check_paths:
        check_paths(args)
    if args.command in READING_COMMANDS and not remote:
        check_workspace_exists(args.workspace)


def check_request_options(args, remote: bool) -> None:
    """The Flow's options and the request parameters the client can check itself."""
    for option in ('replicas', 'shards'):
        if remote and getattr(args, option, None) is not None:
            raise UsageError(f'--{option} is for a Flow started here; the Flow at {args.host} has its own')
    threshold = getattr(args, 'threshold', None)
    bits = MAX_HASH_BITS if remote else hash_bits()
    if threshold is not None and threshold > bits:
        raise UsageError(f'--threshold {threshold} is more than the {bits} bits of a hash'
                         + ('' if remote else f' (hash_size {round(bits ** 0.5)} in executors/image_hasher/config.yml)'))
    if getattr(args, 'limit', 0) > MAX_LIMIT:
        raise UsageError(f'--limit {args.limit} is more than the {MAX_LIMIT:,} matches a query can return')
    if getattr(args, 'batch_size', 0) > MAX_BATCH:
        raise UsageError(f'--batch-size {args.batch_size} is more than {MAX_BATCH:,} images per request')


def check_named_paths(args) -> None:
    """PATHs, or a list of them that can be read: the list is read when the work starts."""
    if args.files_from and args.files_from != '-' and not os.path.isfile(args.files_from):
        raise UsageError(f'--files-from {args.files_from}: no such file')
    if not args.paths and not args.files_from:
        raise UsageError('name the images: PATH..., or --files-from FILE')


def check_search_paths(args) -> None:
    writable_file(args.output, '--output')
    writable_folder(args.plot, '--plot')


def check_dedup_paths(args) -> None:
    writable_folder(args.output, '--output')
    writable_folder(args.move_to, '--move-to')
    if args.against and not os.path.exists(args.against):
        raise UsageError(f'--against {args.against}: no such file or folder')
    for folder in args.prefer:
        existing_folder(folder, '--prefer')


def check_serve_options(args) -> None:
    for option, port in (('--port-grpc', args.port_grpc), ('--port-http', args.port_http)):
        if port > 65535:
            raise UsageError(f'{option} {port}: ports go up to 65535')
    if args.port_grpc == args.port_http:
        raise UsageError(f'--port-grpc and --port-http are both {args.port_grpc}: gRPC and HTTP need a port each')
    for folder in args.allow_root:
        existing_folder(folder, '--allow-root')


def check_evaluate_paths(args) -> None:
    existing_folder(args.images, '--images')
    writable_folder(args.output, '--output')


def existing_folder(path: str, option: str) -> None:
    if not os.path.isdir(path):
        raise UsageError(f'{option} {path}: no such folder')


def writable_file(path, option: str) -> None:
    """A file that can be written: not a folder, in a folder that exists (none is made for it)."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f'{option} {path} is a folder; name a file')
    if not os.path.isdir(folder):
        raise UsageError(f'{option} {path}: the folder {folder} does not exist')
    if not os.access(path if os.path.exists(path) else folder, os.W_OK):
        raise UsageError(f'{option} {path}: permission denied')


def writable_folder(path, option: str) -> None:
    """A folder that exists and can be written, or can be made: its nearest existing parent can."""
    if path is None:
        return
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UsageError(f'{option} {path}: {existing} is a file, not a folder')
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f'{option} {path}: cannot write in {existing} (permission denied)')


def command_index(args) -> int:
    paths = named_paths(args)
    if args.prune:  # a folder emptied since it was indexed has nothing to index, and still entries to prune
        files, problems = find_images(paths, args.image_column)
        report_errors(problems)
    else:
        files, problems = images_or_exit(paths, args.image_column, args.errors)
    parameters = {'hash_type': args.hash, 'views': args.views}
    tally, unchanged, connection = IndexTally(), 0, None
    if not args.rehash and not args.host:  # a file stored from its present size and time is not read again
        files, unchanged = split_unchanged(files, parameters, read_from(args.workspace, args.shards))
    if files or args.prune or args.host:  # nothing changed: no Flow to start
        with connect(args.workspace, args.host, args.replicas, args.shards) as connection:
            if not args.rehash and args.host:
                files, unchanged = split_unchanged(files, parameters, asked_of(connection))
            if files:
                tally = index_files(connection, files, parameters, args.batch_size)
                record_archives(connection, archives_read_through(files, tally.errors), parameters)
            if args.prune:
                tally.pruned = prune(connection, connection.call('/status').get('shards', 1), paths)
    tally.unchanged = unchanged
    report_errors(tally.errors)
    write_error_list(args.errors, problems + tally.errors)
    unusable = f'; {counted(len(problems), "more path")} could not be used (listed above)' if problems else ''
    print(tally.summary() + (flow_start(connection) if connection else '') + unusable, file=sys.stderr)
    return exit_code(tally.indexed + tally.updated + tally.unchanged + (tally.pruned or 0),
                     len(tally.errors) + len(problems))


def command_forget(args) -> int:
    with connect(args.workspace, args.host, args.replicas, args.shards) as connection:
        forgotten = forget(connection, args.paths)
    if not forgotten:
        print('error: no indexed image is ' + ' or under '.join(args.paths), file=sys.stderr)
        return EXIT_NOTHING_DONE
    print(f'forgot {counted(forgotten, "indexed image")}; the files were not touched', file=sys.stderr)
    return EXIT_OK


def flow_start(connection) -> str:
    """The Flow's start, which a summary's own time leaves out."""
    return '' if connection.started_in is None else f'; the Flow took {connection.started_in:.1f} s to start'


def command_search(args) -> int:
    files, problems = images_or_exit(named_paths(args), args.image_column)
    parameters = {'hash_type': args.hash, 'limit': args.limit, 'views': args.views, 'rotations': args.rotations,
                  'verify': args.verify}
    if args.threshold is not None:
        parameters['threshold'] = args.threshold
    with connect(args.workspace, args.host, args.replicas, args.shards) as connection:
        results = search_files(connection, files, parameters, args.batch_size)
    if args.plot:
        from reports.sheets import distinguishing_names, search_sheet  # matplotlib: half a second, for pictures only
        names = distinguishing_names([os.path.abspath(r.query) for r in results] +
                                     [m['uri'] for r in results for m in r.matches])
        names.update({r.query: names[os.path.abspath(r.query)] for r in results})  # a query is drawn by the path given
        drawn = [search_sheet(r.query, r.matches, os.path.join(args.plot, f'{n:04d}-{os.path.basename(r.query)}.png'),
                              names)
                 for n, r in enumerate(results, 1) if r.matches]
        print(f'{counted(len(drawn), "picture")} of queries and their matches in {args.plot}', file=sys.stderr)
    text = FORMATTERS[args.format](results)
    if args.output:
        with open(args.output, 'w', newline='') as file:
            file.write(text)
    else:
        sys.stdout.write(text)
    failed = [r for r in results if r.error]
    report_errors([(r.query, r.error) for r in failed])
    found = sum(1 for r in results if r.matches)
    print(f'searched {counted(len(results), "image")}: {found} with matches, {len(results) - found - len(failed)} without, '
          f'{len(failed)} failed', file=sys.stderr)
    return exit_code(len(results) - len(failed), len(failed) + len(problems))


def command_dedup(args) -> int:
    parameters = {'hash_type': args.hash, 'strict': not args.connected, 'keep': args.keep, 'rotations': args.rotations,
                  'verify': args.verify,
                  'prefer': [os.path.abspath(folder) for folder in args.prefer]}
    if args.threshold is not None:
        parameters['threshold'] = args.threshold
    with connect(args.workspace, args.host, args.replicas, args.shards) as connection:
        status = connection.call('/status')
        images, shards = status.get('images', 0), status.get('shards', 1)
        if not images:
            print('error: the index is empty: run `python app.py index PATH` first', file=sys.stderr)
            return EXIT_NOTHING_DONE
        in_both = []
        if args.against:
            parameters['views'] = args.views is not False  # a search per image: views cost little
            try:
                groups, errors, in_both = leak_groups(connection, args.against, parameters, args.batch_size,
                                                      args.image_column)
            except NothingToCheck as error:
                print(f'error: {error}', file=sys.stderr)
                return EXIT_NOTHING_DONE
            report_errors(errors)
        else:
            parameters['views'] = views_for_all_pairs(args.views, images)
            groups = duplicate_groups(connection, parameters, shards, images)
        groups = without_missing_files(groups)  # never offer to remove a file that is gone
        summary = dedup_summary(groups, images, args.against, in_both)
        written = write_reports(groups, args, summary)
        if args.against:
            written.append(write_lines(os.path.join(args.output, IN_BOTH), in_both))
        remove = files_to_remove(groups)
        print(summary, file=sys.stderr)
        print('wrote ' + ', '.join(written), file=sys.stderr)
        if not remove:
            return EXIT_OK
        # Nothing is ever rewritten inside an archive: its data loader skips the members remove.txt lists.
        members = [uri for uri in remove if is_member_uri(uri)]
        files = [uri for uri in remove if not is_member_uri(uri)]
        if not args.move_to:
            inside = f' ({counted(len(members), "image")} inside archives are never moved)' if members else ''
            print(f'dry run: nothing was moved; --move-to DIR moves the {counted(len(files), "file")} of remove.txt'
                  f'{inside}', file=sys.stderr)
            return EXIT_OK
        if members:
            print(f'not moved: {counted(len(members), "image")} inside archives or Parquet files (e.g. {members[0]}); '
                  f'nothing is rewritten inside an archive: remove.txt lists their uris for a data loader to skip',
                  file=sys.stderr)
        if not files:
            return EXIT_OK
        manifest, moved, failed = move_files(files, args.move_to)
        if moved:  # the index forgets what moved; `undo` then `index` bring it back
            connection.call('/delete', {'uris': moved})
    report_errors(failed)
    print(f'moved {counted(len(moved), "file")} to {args.move_to}; `python app.py undo {manifest}` puts them back',
          file=sys.stderr)
    return exit_code(len(moved), len(failed))


def views_for_all_pairs(asked, images: int) -> bool:
    """Whether dedup compares views: as asked, else up to VIEWS_AUTO_LIMIT images. Views make the
    all-pairs search 8 to 16 times the work, growing faster than n (bench/views.py): seconds at
    10^4 images, 2 minutes at 10^5, an hour or more at 10^6."""
    if asked is not None:
        return asked
    if images <= VIEWS_AUTO_LIMIT:
        return True
    print(f'note: {images:,} images: comparing the images alone, without their views (which would make this '
          f'search tens of times longer); --views compares them anyway', file=sys.stderr)
    return False


def write_lines(path: str, lines) -> str:
    with open(path, 'w') as file:
        file.writelines(line + '\n' for line in lines)
    return path


def write_reports(groups, args, summary: str) -> list:
    """groups.json, duplicates.csv, remove.txt, contact sheets and report.html in --output."""
    from reports.sheets import distinguishing_names, group_sheet  # matplotlib: half a second, for pictures only
    written = write_data_files(groups, args.output)
    sheets = groups[:args.max_sheets]
    names = distinguishing_names(m['uri'] for g in groups for m in [g['keep']] + g['duplicates'])
    progress = Progress('drawing', len(sheets), noun='contact sheets')
    for group in sheets:
        group_sheet(group, os.path.join(args.output, 'groups', f'group-{group["group"]:05d}.png'), names)
        progress.advance(1)
    if len(groups) > len(sheets):
        print(f'drew contact sheets for the first {len(sheets)} of {len(groups)} groups (--max-sheets); '
              f'report.html shows them all', file=sys.stderr)
    written.append(os.path.join(args.output, 'groups/'))
    previewed = Progress('previewing', len({m['uri'] for g in groups for m in [g['keep']] + g['duplicates']}),
                         noun='files')
    written.append(write_report(groups, summary,
                                os.path.join(args.output, 'report.html'), on_thumbnail=lambda: previewed.advance(1)))
    return written


def dedup_summary(groups, images: int, against=None, in_both=()) -> str:
    remove = files_to_remove(groups)
    reclaim = f'{bytes_reclaimable(groups) / 1e6:.1f} MB reclaimable'
    if against:
        # A file in both sets is no copy to remove: moving it would take it from both.
        both = f'; {counted(len(in_both), "file")} in both sets, left out of remove.txt ({IN_BOTH})' if in_both else ''
        return (f'{counted(images, "indexed image")}: {counted(len(groups), "image")} of {against} '
                f'{"has" if len(groups) == 1 else "have"} copies in the index; '
                f'{counted(len(remove), "indexed file")} to remove, {reclaim}{both}')
    exact = sum(1 for g in groups if g['kind'] == 'exact')
    return (f'{counted(images, "image")}: {counted(exact, "exact duplicate group")}, '
            f'{counted(len(groups) - exact, "near-duplicate group")}; {counted(len(remove), "file")} to remove, {reclaim}')


def command_undo(args) -> int:
    try:
        restored, already, failed = undo(args.manifest)
    except (OSError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return EXIT_NOTHING_DONE
    report_errors(failed)
    if already and not restored and not failed:
        print(f'already undone: every file of {args.manifest} is back in place ({counted(len(already), "file")})',
              file=sys.stderr)
        return EXIT_OK
    earlier = f' ({len(already)} were back already)' if already else ''
    print(f'restored {counted(len(restored), "file")}{earlier}, {len(failed)} failed; '
          f'run `python app.py index` on them to index them again', file=sys.stderr)
    return exit_code(len(restored) + len(already), len(failed))


def command_serve(args) -> int:
    check_workspace(args.workspace)
    check_shards(args.workspace, args.shards)
    flow = load_flow(flow_config(args.workspace, host=args.host, ports=(args.port_grpc, args.port_http),
                                 allowed_roots=args.allow_root, replicas=args.replicas, shards=args.shards))
    # `kill` and service managers stop a server with SIGTERM: leave through `with flow` as for
    # Ctrl-C, so the executors close their databases and exit instead of outliving their parent.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(EXIT_OK))
    with flow:
        print(f'serving {os.path.abspath(args.workspace)}: gRPC on {args.host}:{args.port_grpc}, '
              f'HTTP on {args.host}:{args.port_http}; Ctrl-C or SIGTERM stops', file=sys.stderr)
        flow.block()
    return EXIT_OK


def command_status(args) -> int:
    with connect(args.workspace, args.host, args.replicas, args.shards) as connection:
        status = connection.call('/status')
        # Looked at here: a remote index's uris are this machine's paths (the client sent them).
        missing = missing_files(list(stored_uris(connection, status.get('shards', 1))))
    print(json.dumps(dict(status, missing_files=len(missing)), indent=2))
    if missing:
        print(f'{len(missing)} indexed file{"s are" if len(missing) != 1 else " is"} missing, e.g. {missing[0]}; '
              f'`python app.py index FOLDER --prune` or `python app.py forget PATH` removes their entries',
              file=sys.stderr)
    return EXIT_OK


class OneLineParser(argparse.ArgumentParser):
    """argparse with its usage errors in one line, like check_arguments' (--help has the usage)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f'{self.prog}: error: {message} (see {self.prog} --help)\n')


def parser() -> argparse.ArgumentParser:
    top = OneLineParser(prog='app.py', description=__doc__.split('\n')[0],
                        epilog='Exit codes: 0 all done, 1 nothing could be done, 2 wrong usage, '
                               '3 done but some files failed.')
    commands = top.add_subparsers(dest='command', required=True)

    def command(name, help_text, function, flow_client=True):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(function=function)
        sub.add_argument('--workspace', default=DEFAULT_WORKSPACE, help='index folder (default: ./workspace)')
        if flow_client:
            sub.add_argument('--host', help='a running Flow (grpc://HOST:PORT or HOST:PORT) instead of a local one')
        # Scaling out (README, "Scaling out"): for the Flow started here; a --host Flow has its own.
        sub.add_argument('--replicas', type=positive, metavar='N',
                         help='hasher replicas, each a process hashing requests in parallel '
                              f'(default: {flow_setting("hasher", "replicas", 1)}, from flow.yml)')
        sub.add_argument('--shards', type=positive, metavar='N',
                         help='indexer shards, each storing a part of the index in WORKSPACE/SimpleIndexer/<shard>; '
                              'a workspace is always used with the number it was indexed with '
                              f'(default: {flow_setting("indexer", "shards", 1)}, from flow.yml)')
        return sub

    def image_column(sub):
        sub.add_argument('--image-column', metavar='NAME',
                         help='the column of a .parquet file that holds the images (default: the first that holds '
                              'image bytes: binary, or the Hugging Face layout {"bytes": ..., "path": ...})')

    def hashed_paths(sub, verb):
        sub.add_argument('paths', nargs='*', metavar='PATH',
                         help=f'image files, folders (searched recursively for images), .tar, .tar.gz, .zip or '
                              f'.parquet files to {verb}')
        sub.add_argument('--files-from', metavar='FILE',
                         help='also the paths listed in FILE, one per line (- for standard input)')
        image_column(sub)
        sub.add_argument('--hash', choices=HASH_TYPES, default='phash', help='hash to use (default: phash)')
        sub.add_argument('--batch-size', type=positive, default=32, help='images per request (default: 32)')

    def view_options(sub, rotations=True, automatic=False):
        sub.add_argument('--no-views', dest='views', action='store_false',
                         help='compare the images alone, not also their trimmed, centre, turned and cropped views '
                              '(faster, finds fewer padded, cropped and turned copies; README, "Detection quality")')
        if automatic:
            sub.add_argument('--views', dest='views', action='store_true',
                             help=f'compare the views even above {VIEWS_AUTO_LIMIT:,} images (default: views up '
                                  f'to {VIEWS_AUTO_LIMIT:,} images, the images alone above)')
            sub.set_defaults(views=None)
        if rotations:
            sub.add_argument('--no-verify', dest='verify', action='store_false',
                             help="stage 1's candidates are the answer: skip the 256-bit, colour and information "
                                  'checks that confirm each match (README, "Detection quality")')
            sub.add_argument('--rotations', action='store_true',
                             help='also find flipped copies and copies turned by 90, 180 or 270 degrees')

    index = command('index', 'add images to the index (the same file again updates its entry)', command_index)
    hashed_paths(index, 'index')
    view_options(index, rotations=False)
    # Opened (and emptied) at once, so that a run which stops early never leaves an old list behind.
    index.add_argument('--rehash', action='store_true',
                       help='read and hash every file, also those unchanged (same path, size and modification '
                            'time) since they were indexed, which are skipped by default')
    index.add_argument('--prune', action='store_true',
                       help='also remove the entries under PATH whose files no longer exist')
    index.add_argument('--errors', type=argparse.FileType('w', encoding='utf-8'), metavar='FILE',
                       help='also write the files that failed to FILE as JSON: [{"path": ..., "error": ...}]')

    search = command('search', 'find the indexed images nearest each query image', command_search)
    hashed_paths(search, 'look up')
    view_options(search)
    search.add_argument('--threshold', type=non_negative, help='largest distance in bits that counts as a match '
                                                              '(default: measured for each hash type and size by `evaluate`)')
    search.add_argument('--limit', type=positive, default=10, help='matches per query, nearest first (default: 10)')
    search.add_argument('--format', choices=FORMATTERS, default='table', help='output format (default: table)')
    search.add_argument('--output', metavar='FILE', help='write the results here instead of to stdout')

    search.add_argument('--plot', metavar='DIR', help='also draw each query with its matches, as PNGs in DIR')

    dedup = command('dedup', 'find duplicate groups in the index and write reports (a dry run unless --move-to)',
                    command_dedup)
    dedup.add_argument('--hash', choices=HASH_TYPES, default='phash', help='hash to compare (default: phash)')
    view_options(dedup, automatic=True)
    dedup.add_argument('--threshold', type=non_negative, help='largest distance in bits within a group '
                                                             '(default: measured for each hash type and size by `evaluate`)')
    dedup.add_argument('--output', default='dedup-output', metavar='DIR',
                       help='where groups.json, duplicates.csv, remove.txt, groups/*.png and report.html go '
                            '(default: ./dedup-output)')
    dedup.add_argument('--connected', action='store_true',
                       help='connected groups: a chain A~B~C is one group even when A and C do not match (members '
                            'not confirmed against the kept file say so); default: every member a confirmed match '
                            'of its kept file')
    dedup.add_argument('--strict', action='store_false', dest='connected',
                       help='every member a confirmed match of its kept file: the default')
    dedup.add_argument('--keep', choices=KEEP_POLICIES + tuple(KEEP_ALIASES), default=DEFAULT_KEEP,
                       help='file to keep: original (the unedited original: no added border, most pixels, colour, '
                            'JPEG before its re-saves, no lower quality, no clipping, no blur; README "Which file '
                            'to keep"), largest (most pixels, then the largest file; also called best), oldest '
                            f'(file time) or first (indexed first); default: {DEFAULT_KEEP}')
    dedup.add_argument('--prefer', action='append', default=[], metavar='DIR',
                       help='files under DIR are kept before any other (repeatable), e.g. a curated dataset')
    dedup.add_argument('--against', metavar='PATH_OR_WORKSPACE',
                       help='instead of groups within the index: the indexed images that copy images of another '
                            'set (a folder of images, or another workspace), e.g. train against test')
    image_column(dedup)
    dedup.add_argument('--move-to', metavar='DIR', help='move the files of remove.txt into DIR (keeping their '
                                                        'relative paths) and write a manifest for undo; images '
                                                        'inside archives are never moved')
    dedup.add_argument('--max-sheets', type=non_negative, default=200, metavar='N',
                       help='contact sheets for the first N groups (default: 200; report.html has all)')
    dedup.add_argument('--batch-size', type=positive, default=32, help='images per request with --against')

    undo_parser = commands.add_parser('undo', help='put back the files a dedup --move-to moved',
                                      description='put back the files a dedup --move-to moved')
    undo_parser.add_argument('manifest', metavar='MANIFEST', help='the manifest-*.jsonl that dedup wrote')
    undo_parser.set_defaults(function=command_undo)

    serve = command('serve', 'run the Flow for gRPC and HTTP clients until stopped', command_serve, flow_client=False)
    serve.add_argument('--host', default='127.0.0.1', help='address to listen on (default: 127.0.0.1, this machine only)')
    serve.add_argument('--port-grpc', type=positive, default=DEFAULT_PORTS[0], help=f'gRPC port (default: {DEFAULT_PORTS[0]})')
    serve.add_argument('--port-http', type=positive, default=DEFAULT_PORTS[1], help=f'HTTP port (default: {DEFAULT_PORTS[1]})')
    serve.add_argument('--allow-root', action='append', default=[], metavar='DIR',
                       help='a folder whose images clients may name by path (repeatable); '
                            'by default clients must send the image bytes')

    command('status', 'show what the index holds, and how many of its files are missing here', command_status)

    forget_parser = command('forget', 'remove the entries of files, or of every file under folders, from the index '
                                      '(the files are not touched)', command_forget)
    forget_parser.add_argument('paths', nargs='+', metavar='PATH', help='files or folders to forget')

    evaluate = commands.add_parser('evaluate', help='measure each hash on a labelled benchmark of altered copies',
                                   description='measure each hash on a labelled benchmark of altered copies')
    evaluate.set_defaults(function=command_evaluate)
    evaluate.add_argument('--images', default=EVAL_IMAGES, metavar='DIR',
                          help='folder of distinct photos to build the benchmark from (default: data/eval)')
    evaluate.add_argument('--output', default=EVAL_OUTPUT, metavar='DIR',
                          help='where results.md, results.csv, thresholds.json and pr_curves.png go '
                               '(default: ./evaluation-output)')
    evaluate.add_argument('--single-only', action='store_true',
                          help='measure the single hashes only, not the extra views (trim, rotations, crops)')
    evaluate.add_argument('--negatives', metavar='DIR',
                          help="also measure the match decision's false pairs per pair over every pair of DIR's "
                               'photos, taken as all different except the pairs --labels names')
    evaluate.add_argument('--labels', metavar='CSV',
                          help='with --negatives: pairs that are the same picture (columns a, b, label; a label '
                               'copy or burst leaves the pair out), as ../shared/datasets/clothing-small/labels.csv')
    return top


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be 1 or more, not {value}')
    return value


def non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f'must be 0 or more, not {value}')
    return value


def main(argv=None) -> int:
    from jina.excepts import BadServer
    args = parser().parse_args(argv)
    try:
        check_arguments(args)
        return args.function(args)
    except (UsageError, WrongShards) as error:
        print(f'app.py {args.command}: error: {error}', file=sys.stderr)
        return EXIT_USAGE
    except BadServer as error:  # a request the Flow refused: its message, not the client's traceback
        header = error.args[0] if error.args else None
        reason = header.status.description if hasattr(header, 'status') else str(error)
        print(f'error: the Flow refused the request: {reason}', file=sys.stderr)
        return EXIT_NOTHING_DONE
    except KeyboardInterrupt:
        print('interrupted: what was acknowledged before is in the index', file=sys.stderr)
        return EXIT_NOTHING_DONE
    except ConnectionError as error:
        print(f'error: cannot reach the Flow: {error}', file=sys.stderr)
        return EXIT_NOTHING_DONE
    except WorkspaceError as error:
        print(f'error: {error}', file=sys.stderr)
        return EXIT_NOTHING_DONE


if __name__ == '__main__':
    sys.exit(main())
