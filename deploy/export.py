"""Kubernetes manifests or a Docker Compose file for flow.cluster.yml, with a volume per indexer shard.

    python deploy/export.py kubernetes OUTDIR [--namespace NS] [--storage 50Gi]
    python deploy/export.py docker-compose OUTFILE

Runs `jina export` and then gives each indexer shard its own volume at /workspace: Jina's export
either gives the shards none (Kubernetes Deployments, whose files go with the pod) or, asked for
`volumes`, turns the shards' head into a StatefulSet without the shard merger beside it. The
gateway and the head run the base image (JINA_GATEWAY_IMAGE, default neardup-base:latest), which
holds the same pinned Jina as the executors and needs no call to Jina's hub.
"""
import argparse
import glob
import os
import re
import subprocess
import sys

import yaml

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER_FLOW = os.path.join(REPOSITORY, 'flow.cluster.yml')
BASE_IMAGE = 'neardup-base:latest'
WORKSPACE = '/workspace'  # flow.cluster.yml's indexer workspace
SHARD = re.compile(r'indexer-(\d+)$')


def jina_export(kind: str, out: str, namespace: str = None) -> None:
    command = [os.path.join(os.path.dirname(sys.executable), 'jina'), 'export', kind, CLUSTER_FLOW, out]
    if namespace:
        command += ['--k8s-namespace', namespace]
    env = dict(os.environ, JINA_GATEWAY_IMAGE=os.environ.get('JINA_GATEWAY_IMAGE', BASE_IMAGE))
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0 or 'Traceback' in done.stderr:
        raise RuntimeError(f'jina export {kind} failed:\n{done.stdout}\n{done.stderr}')


def shard_volumes_kubernetes(out: str, storage: str) -> list:
    """A PersistentVolumeClaim per shard, mounted at /workspace; Recreate, so that an update never
    runs two pods on one ReadWriteOnce volume. Returns the files changed."""
    changed = []
    for path in sorted(glob.glob(os.path.join(out, 'indexer', 'indexer-*.yml'))):
        name = os.path.splitext(os.path.basename(path))[0]
        if not SHARD.match(name):
            continue  # the head: stateless
        with open(path) as file:
            documents = [doc for doc in yaml.safe_load_all(file) if doc]
        claim = f'{name}-workspace'
        for doc in documents:
            if doc['kind'] == 'Deployment':
                doc['spec']['strategy'] = {'type': 'Recreate'}
                pod = doc['spec']['template']['spec']
                pod.setdefault('volumes', []).append({'name': 'workspace', 'persistentVolumeClaim': {'claimName': claim}})
                for container in pod['containers']:
                    container.setdefault('volumeMounts', []).append({'name': 'workspace', 'mountPath': WORKSPACE})
                namespace = doc['metadata'].get('namespace')
        documents.append({'apiVersion': 'v1', 'kind': 'PersistentVolumeClaim',
                          'metadata': {'name': claim, 'namespace': namespace},
                          'spec': {'accessModes': ['ReadWriteOnce'], 'resources': {'requests': {'storage': storage}}}})
        with open(path, 'w') as file:
            yaml.safe_dump_all(documents, file, sort_keys=False)
        changed.append(path)
    return changed


def shard_volumes_compose(out: str) -> list:
    """A named volume per shard at /workspace; no volume on the stateless services (Jina's default
    mounts a folder of the host's home on /app in each). Returns the shard services."""
    with open(out) as file:
        compose = yaml.safe_load(file)
    shards = []
    for name, service in compose['services'].items():
        service.pop('volumes', None)
        if SHARD.match(name):
            service['volumes'] = [f'{name}-workspace:{WORKSPACE}']
            shards.append(name)
    compose['volumes'] = {f'{name}-workspace': {} for name in shards}
    with open(out, 'w') as file:
        yaml.safe_dump(compose, file, sort_keys=False)
    return shards


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('kind', choices=('kubernetes', 'docker-compose'))
    parser.add_argument('out', help='a folder for kubernetes, a file for docker-compose')
    parser.add_argument('--namespace', help='Kubernetes namespace (default: the Flow name)')
    parser.add_argument('--storage', default='50Gi', help='size of each shard volume (Kubernetes; default 50Gi)')
    args = parser.parse_args(argv)
    jina_export(args.kind, args.out, args.namespace)
    if args.kind == 'kubernetes':
        changed = shard_volumes_kubernetes(args.out, args.storage)
    else:
        changed = shard_volumes_compose(args.out)
    print(f'wrote {args.out}; a volume at {WORKSPACE} for {len(changed)} indexer shards', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
