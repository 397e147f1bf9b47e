"""Near-duplicate image detection with perceptual hashes, as a Jina Flow.

    python app.py index  PATH... [--workspace DIR] [--hash phash] [--host HOST:PORT]
    python app.py search PATH... [--threshold BITS] [--limit K] [--format table|json|csv] [--output FILE]
    python app.py serve          [--workspace DIR] [--host 127.0.0.1] [--port-grpc N] [--port-http N]
    python app.py status         [--workspace DIR] [--host HOST:PORT]
    python app.py evaluate       [--images DIR] [--output DIR] [--single-only]

Without --host a command starts the Flow of flow.yml here, on the workspace; with --host it
talks to a Flow started by `serve`. Exit codes: 0 all done, 1 nothing could be done,
2 wrong usage, 3 done but some files failed (each is listed on stderr).
"""
import argparse
import json
import os
import sys

from client.connection import DEFAULT_PORTS, DEFAULT_WORKSPACE, connect, flow_config, load_flow
from client.files import find_images
from client.jobs import index_files, search_files
from client.output import FORMATTERS
from evaluation.command import DEFAULT_IMAGES as EVAL_IMAGES, DEFAULT_OUTPUT as EVAL_OUTPUT, command_evaluate
from executors.documents import HASH_TYPES

EXIT_OK, EXIT_NOTHING_DONE, EXIT_USAGE, EXIT_SOME_FAILED = 0, 1, 2, 3


def report_errors(errors) -> None:
    for path, reason in errors:
        print(f'error: {path}: {reason}', file=sys.stderr)


def exit_code(done: int, failed: int) -> int:
    if done == 0:
        return EXIT_NOTHING_DONE
    return EXIT_SOME_FAILED if failed else EXIT_OK


def images_or_exit(paths):
    files, problems = find_images(paths)
    report_errors(problems)
    if not files:
        print('error: no image files found in ' + ', '.join(paths), file=sys.stderr)
        sys.exit(EXIT_NOTHING_DONE)
    return files, problems


def command_index(args) -> int:
    files, problems = images_or_exit(args.paths)
    with connect(args.workspace, args.host) as connection:
        tally = index_files(connection, files, {'hash_type': args.hash}, args.batch_size)
    report_errors(tally.errors)
    print(tally.summary(), file=sys.stderr)
    return exit_code(tally.indexed + tally.updated, len(tally.errors) + len(problems))


def command_search(args) -> int:
    files, problems = images_or_exit(args.paths)
    parameters = {'hash_type': args.hash, 'limit': args.limit}
    if args.threshold is not None:
        parameters['threshold'] = args.threshold
    with connect(args.workspace, args.host) as connection:
        results = search_files(connection, files, parameters, args.batch_size)
    text = FORMATTERS[args.format](results)
    if args.output:
        with open(args.output, 'w', newline='') as file:
            file.write(text)
    else:
        sys.stdout.write(text)
    failed = [r for r in results if r.error]
    report_errors([(r.query, r.error) for r in failed])
    found = sum(1 for r in results if r.matches)
    print(f'searched {len(results)} images: {found} with matches, {len(results) - found - len(failed)} without, '
          f'{len(failed)} failed', file=sys.stderr)
    return exit_code(len(results) - len(failed), len(failed) + len(problems))


def command_serve(args) -> int:
    flow = load_flow(flow_config(args.workspace, host=args.host, ports=(args.port_grpc, args.port_http),
                                 allowed_roots=args.allow_root))
    with flow:
        print(f'serving {os.path.abspath(args.workspace)}: gRPC on {args.host}:{args.port_grpc}, '
              f'HTTP on {args.host}:{args.port_http}; Ctrl-C stops', file=sys.stderr)
        flow.block()
    return EXIT_OK


def command_status(args) -> int:
    with connect(args.workspace, args.host) as connection:
        print(json.dumps(connection.call('/status'), indent=2))
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog='app.py', description=__doc__.split('\n')[0],
                                  epilog='Exit codes: 0 all done, 1 nothing could be done, 2 wrong usage, '
                                         '3 done but some files failed.')
    commands = top.add_subparsers(dest='command', required=True)

    def command(name, help_text, function, flow_client=True):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(function=function)
        sub.add_argument('--workspace', default=DEFAULT_WORKSPACE, help='index folder (default: ./workspace)')
        if flow_client:
            sub.add_argument('--host', help='a running Flow (grpc://HOST:PORT or HOST:PORT) instead of a local one')
        return sub

    def hashed_paths(sub, verb):
        sub.add_argument('paths', nargs='+', metavar='PATH', help=f'image files or folders (searched recursively) to {verb}')
        sub.add_argument('--hash', choices=HASH_TYPES, default='phash', help='hash to use (default: phash)')
        sub.add_argument('--batch-size', type=positive, default=32, help='images per request (default: 32)')

    index = command('index', 'add images to the index (the same file again updates its entry)', command_index)
    hashed_paths(index, 'index')

    search = command('search', 'find the indexed images nearest each query image', command_search)
    hashed_paths(search, 'look up')
    search.add_argument('--threshold', type=non_negative, help='largest distance in bits that counts as a match '
                                                              '(default: measured for each hash type and size by `evaluate`)')
    search.add_argument('--limit', type=positive, default=10, help='matches per query, nearest first (default: 10)')
    search.add_argument('--format', choices=FORMATTERS, default='table', help='output format (default: table)')
    search.add_argument('--output', metavar='FILE', help='write the results here instead of to stdout')

    serve = command('serve', 'run the Flow for gRPC and HTTP clients until stopped', command_serve, flow_client=False)
    serve.add_argument('--host', default='127.0.0.1', help='address to listen on (default: 127.0.0.1, this machine only)')
    serve.add_argument('--port-grpc', type=positive, default=DEFAULT_PORTS[0], help=f'gRPC port (default: {DEFAULT_PORTS[0]})')
    serve.add_argument('--port-http', type=positive, default=DEFAULT_PORTS[1], help=f'HTTP port (default: {DEFAULT_PORTS[1]})')
    serve.add_argument('--allow-root', action='append', default=[], metavar='DIR',
                       help='a folder whose images clients may name by path (repeatable); '
                            'by default clients must send the image bytes')

    command('status', 'show what the index holds', command_status)

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
    args = parser().parse_args(argv)
    try:
        return args.function(args)
    except KeyboardInterrupt:
        print('interrupted: what was acknowledged before is in the index', file=sys.stderr)
        return EXIT_NOTHING_DONE
    except ConnectionError as error:
        print(f'error: cannot reach the Flow: {error}', file=sys.stderr)
        return EXIT_NOTHING_DONE


if __name__ == '__main__':
    sys.exit(main())
