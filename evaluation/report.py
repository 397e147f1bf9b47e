"""Writing the measurement: a markdown and a CSV table, the thresholds, and precision-recall curves."""
import csv
import json
import os
from typing import Dict, List

from evaluation.scoring import TARGET_PRECISION, Result
from evaluation.transforms import TRANSFORMS

# Thorn's `perception` benchmark, pHash 16x16 at 99.99% precision: its transform -> (recall %,
# our nearest transform). Published in the library's "Benchmarking" documentation.
ANCHOR = [
    ('blur', 100.0, 'blur-r1'),
    ('JPEG quality 95', 99.9, 'jpeg-q90'),
    ('resize 0.5', 100.0, 'resize-0.5'),
    ('watermark', 99.4, 'text-watermark'),
    ('rotate 4 degrees', 59.6, 'rotate-5'),
    ('crop 5%', 7.1, 'crop-5%'),
    ('pad 20%', 2.4, 'pad-20%'),
]


def percent(value: float) -> str:
    return f'{100 * value:.1f}'


def summary_rows(results: List[Result]) -> List[List[str]]:
    return [
        ['bits'] + [str(r.max_distance) for r in results],
        ['threshold (bits)'] + [str(r.threshold) for r in results],
        ['threshold per 64 bits'] + [f'{64 * r.threshold / r.max_distance:.1f}' for r in results],
        ['nearest distinct pair (bits)'] + [str(r.nearest_negative) for r in results],
        ['precision %'] + [percent(r.precision) for r in results],
        ['false matches'] + [f'{r.false_matches} of {r.negatives}' for r in results],
        ['recall %, all copies'] + [percent(r.recall) for r in results],
    ]


def transform_rows(results: List[Result]) -> List[List[str]]:
    rows = []
    for name, (family, *_rest) in TRANSFORMS.items():
        rows.append([f'{family}: {name}'] + [percent(r.recall_by_transform.get(name, 0.0)) for r in results])
    return rows


def markdown_table(header: List[str], rows: List[List[str]]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return '\n'.join(lines) + '\n'


def anchor_table(result: Result) -> str:
    rows = [[f'{theirs} ({ours})', f'{recall:.1f}', percent(result.recall_by_transform.get(ours, 0.0))]
            for theirs, recall, ours in ANCHOR]
    return markdown_table(['transform (ours)', 'perception pHash 16, 99.99% precision', f'{result.method}, '
                           f'{result.threshold} bits'], rows)


def markdown(results: List[Result], default: Result, context: str) -> str:
    header = ['recall % at >= {:.1f}% precision'.format(100 * TARGET_PRECISION)] + [r.method for r in results]
    return (f'# Detection quality\n\n{context}\n\n' + markdown_table(header, summary_rows(results) + transform_rows(results))
            + f'\n## Against the published anchor\n\n' + anchor_table(default))


def write_csv(path: str, results: List[Result]) -> None:
    with open(path, 'w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(['method', 'bits', 'threshold', 'precision', 'transform', 'family', 'recall', 'false_matches'])
        for r in results:
            writer.writerow([r.method, r.max_distance, r.threshold, f'{r.precision:.6f}', 'all', 'all',
                             f'{r.recall:.6f}', r.false_matches])
            for name, (family, *_rest) in TRANSFORMS.items():
                if name in r.recall_by_transform:
                    writer.writerow([r.method, r.max_distance, r.threshold, '', name, family,
                                     f'{r.recall_by_transform[name]:.6f}', r.false_matches_by_transform.get(name, 0)])


def plot_curves(path: str, panels: Dict[str, List[Result]]) -> None:
    """One panel per group of methods: precision against recall, each method's threshold marked."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5), squeeze=False)
    for axis, (title, results) in zip(axes[0], panels.items()):
        for r in results:
            line, = axis.plot(r.curve.recall, r.curve.precision, label=f'{r.method} (t={r.threshold})')
            axis.plot([r.recall], [r.precision], 'o', color=line.get_color())
        axis.axhline(TARGET_PRECISION, color='grey', linestyle=':', linewidth=1)
        axis.set(title=title, xlabel='recall (copies found)', ylabel='precision (matches that are right)',
                 xlim=(0, 1), ylim=(0.9, 1.002))
        axis.legend(loc='lower left', fontsize=8)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_all(folder: str, results: List[Result], default: Result, context: str,
              panels: Dict[str, List[Result]], thresholds: dict) -> List[str]:
    os.makedirs(folder, exist_ok=True)
    paths = [os.path.join(folder, name) for name in ('results.md', 'results.csv', 'thresholds.json', 'pr_curves.png')]
    with open(paths[0], 'w') as file:
        file.write(markdown(results, default, context))
    write_csv(paths[1], results)
    with open(paths[2], 'w') as file:
        json.dump(thresholds, file, indent=2)
        file.write('\n')
    plot_curves(paths[3], panels)
    return paths
