"""Duplicate groups as data: the shape of groups.json, and the writers of its companion files.

A group is {"group": n, "kind": "exact" | "near" | "leak", "keep": MEMBER, "duplicates": [MEMBER,
...]} where a MEMBER is {"uri", "id", "distance" (bits to the kept file), "width", "height",
"bytes"} and, when the match decision gave any, its "evidence" {name: value}. For a leak check
the kept file is the image of the other set, and the duplicates are the indexed images that copy it.
"""
import csv
import json
import os
from typing import Iterable, List

CSV_COLUMNS = ['group', 'uri', 'role', 'distance', 'width', 'height', 'bytes']


def member(doc, distance: int = 0) -> dict:
    """A group member from an ImageDoc or a Match; with the match's `evidence` when it carries any."""
    row = {'uri': doc.uri, 'id': doc.id, 'distance': distance, 'width': doc.width, 'height': doc.height,
           'bytes': doc.byte_size}
    evidence = getattr(doc, 'evidence', None)
    if evidence:
        row['evidence'] = dict(evidence)
    return row


def group_of(number: int, kind: str, kept_doc, duplicate_docs: Iterable) -> dict:
    return {'group': number, 'kind': kind, 'keep': member(kept_doc),
            'duplicates': [member(doc, doc.distance) for doc in duplicate_docs]}


def files_to_remove(groups: List[dict]) -> List[str]:
    """Every non-kept member, once, in group order."""
    seen, paths = set(), []
    for group in groups:
        for duplicate in group['duplicates']:
            if duplicate['uri'] and duplicate['uri'] not in seen:
                seen.add(duplicate['uri'])
                paths.append(duplicate['uri'])
    return paths


def bytes_reclaimable(groups: List[dict]) -> int:
    sizes = {d['uri']: d['bytes'] or 0 for g in groups for d in g['duplicates']}
    return sum(sizes.values())


def write_data_files(groups: List[dict], folder: str) -> List[str]:
    """groups.json, duplicates.csv and remove.txt in `folder`; their paths."""
    os.makedirs(folder, exist_ok=True)
    paths = [os.path.join(folder, name) for name in ('groups.json', 'duplicates.csv', 'remove.txt')]
    with open(paths[0], 'w') as file:
        json.dump(groups, file, indent=1)
    with open(paths[1], 'w', newline='') as file:  # csv wants newline='' so spreadsheets see one row per line
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for group in groups:
            for role, row in [('keep', group['keep'])] + [('duplicate', d) for d in group['duplicates']]:
                writer.writerow([group['group'], row['uri'], role, row['distance'], row['width'], row['height'],
                                 row['bytes']])
    with open(paths[2], 'w') as file:
        file.writelines(path + '\n' for path in files_to_remove(groups))
    return paths
