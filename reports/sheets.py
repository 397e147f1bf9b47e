"""Contact sheets drawn with matplotlib: one image first, the images found near it after.

In the spirit of the seed article's `print_matches`: the kept file (or the query) in a frame,
then each duplicate (or match) with its distance in bits, so a person can check a group at a
glance rather than read paths.
"""
import os
from collections import Counter
from typing import Dict, Iterable, List, Optional, Tuple

import matplotlib

matplotlib.use('Agg')  # files only: no display is needed or wanted
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

from client.output import counted  # noqa: E402
from reports.previews import preview  # noqa: E402

COLUMNS = 6
MOST_SHOWN = 24  # a group of hundreds still gets a readable sheet; the rest are counted
TILE_PIXELS = 256


CAPTION_CHARACTERS = 30  # what fits under a tile at fontsize 8


def distinguishing_names(paths: Iterable[str]) -> Dict[str, str]:
    """Each path's shortest ending (its name, else its last folder and name, ...) that no other of
    `paths` ends with: data/index/astronaut1.jpg is 'index/astronaut1.jpg' when some other folder
    has an astronaut1.jpg too, and 'astronaut1.jpg' when none has."""
    parts = {path: path.split(os.sep) for path in set(paths) if path}
    names, left, depth = {}, set(parts), 1
    while left:
        endings = Counter(tuple(parts[path][-depth:]) for path in parts)
        for path in list(left):
            if endings[tuple(parts[path][-depth:])] == 1 or depth >= len(parts[path]):
                names[path] = os.sep.join(parts[path][-depth:])
                left.discard(path)
        depth += 1
    return names


def _caption(label: str, detail: str) -> str:
    """The label on lines of CAPTION_CHARACTERS at most, broken after a separator, its last two
    lines kept (the end is what tells files apart); then the detail."""
    pieces = label.split(os.sep)
    lines = ['']
    for piece in [piece + os.sep for piece in pieces[:-1]] + pieces[-1:]:
        if lines[-1] and len(lines[-1]) + len(piece) > CAPTION_CHARACTERS:
            lines.append('')
        lines[-1] += piece
    shown = [line if len(line) <= CAPTION_CHARACTERS else '…' + line[1 - CAPTION_CHARACTERS:] for line in lines[-2:]]
    if len(lines) > 2:
        shown[0] = '…' + shown[0][1:] if len(shown[0]) >= CAPTION_CHARACTERS else '…' + shown[0]
    return '\n'.join(shown + [detail])


def draw_sheet(first: Tuple[str, str], others: List[Tuple[str, str]], title: str, out_path: str,
               names: Optional[Dict[str, str]] = None) -> str:
    """first and others are (path, caption detail); writes a PNG to out_path and returns it.
    names: the label of each path (distinguishing_names of every path the run shows); by
    default, of the paths on this sheet."""
    names = names or distinguishing_names(path for path, _ in [first] + others)
    shown = [first] + others[:MOST_SHOWN]
    columns = min(COLUMNS, len(shown))
    rows = (len(shown) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 2.6 * rows + 0.4), squeeze=False)
    for axis in axes.ravel():
        axis.axis('off')
    for i, (axis, (path, detail)) in enumerate(zip(axes.ravel(), shown)):
        image = preview(path, TILE_PIXELS) if path else None
        if image is None:
            axis.text(0.5, 0.5, 'cannot read', ha='center', va='center', color='grey')
        else:
            axis.imshow(image)
        # Captions as plain text under the image: matplotlib's title layout costs more than the picture.
        axis.text(0.5, -0.03, _caption(names.get(path, '(no uri)'), detail), transform=axis.transAxes, ha='center', va='top',
                  fontsize=8, color='darkgreen' if i == 0 else 'black')
        if i == 0:  # a frame marks the kept file / the query
            axis.axis('on')
            axis.set_xticks([])
            axis.set_yticks([])
            for spine in axis.spines.values():
                spine.set_edgecolor('darkgreen')
                spine.set_linewidth(3)
    hidden = len(others) - (len(shown) - 1)
    figure.suptitle(title + (f'  (+{hidden} more not shown)' if hidden > 0 else ''), fontsize=10)
    figure.subplots_adjust(left=0.02, right=0.98, bottom=0.7 / (2.6 * rows + 0.4), top=1 - 0.5 / (2.6 * rows + 0.4),
                           wspace=0.08, hspace=0.35)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    figure.savefig(out_path, dpi=80)
    plt.close(figure)
    return out_path


def _size(member: dict) -> str:
    return f'{member["width"]}x{member["height"]}' if member.get('width') else ''


def group_sheet(group: dict, out_path: str, names: Optional[Dict[str, str]] = None) -> str:
    keep = group['keep']
    return draw_sheet((keep['uri'], f'KEEP {_size(keep)}'),
                      [(d['uri'], f'{d["distance"]} bits {_size(d)}') for d in group['duplicates']],
                      f'group {group["group"]} ({group["kind"]}): {counted(1 + len(group["duplicates"]), "file")}',
                      out_path, names)


def search_sheet(query: str, matches: List[dict], out_path: str, names: Optional[Dict[str, str]] = None) -> str:
    return draw_sheet((query, 'QUERY'), [(m['uri'], f'{m["distance"]} bits') for m in matches],
                      f'{os.path.basename(query)}: {counted(len(matches), "match")}', out_path, names)
