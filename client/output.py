"""Search results as a table for people, or JSON and CSV for programs (formats in DESIGN.md)."""
import csv
import io
import json
import os
from dataclasses import dataclass, field
from typing import List, Optional


@dataclass
class QueryResult:
    query: str
    matches: List[dict] = field(default_factory=list)  # {'uri', 'id', 'distance', 'evidence'}, nearest first
    error: Optional[str] = None
    threshold: Optional[int] = None  # the threshold the server applied, for the table's wording


def counted(count: int, noun: str, plural: Optional[str] = None) -> str:
    """'1 image', '2 images', '1 match', '3 matches': a count with its noun in the right number."""
    if count == 1:
        return f'{count} {noun}'
    return f'{count} {plural or (noun + "es" if noun.endswith(("ch", "sh", "s", "x")) else noun + "s")}'


def to_json(results: List[QueryResult]) -> str:
    # Ends with a newline, as text output should: `cat`, `wc -l` and shells expect one.
    return json.dumps([{'query': r.query, 'matches': r.matches, 'error': r.error} for r in results], indent=2) + '\n'



def to_csv(results: List[QueryResult]) -> str:
    """One row per (query, match); a query without matches still gets one row, with empty match cells."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(['query', 'match_uri', 'match_id', 'distance', 'error'])
    for r in results:
        for m in r.matches or [{'uri': '', 'id': '', 'distance': ''}]:
            writer.writerow([r.query, m['uri'], m['id'], m['distance'], r.error or ''])
    return out.getvalue()


def _short(path: Optional[str]) -> str:
    """A path relative to the working directory when it lies below it: shorter to read."""
    if not path:
        return '(no uri)'
    relative = os.path.relpath(path) if os.path.isabs(path) else path
    return path if relative.startswith('..') else relative


def to_table(results: List[QueryResult]) -> str:
    rows = [('query', 'match', 'bits')]
    for r in results:
        if r.error:
            rows.append((_short(r.query), f'error: {r.error}', ''))
        elif not r.matches:
            within = f' within {r.threshold} bits' if r.threshold is not None else ''
            rows.append((_short(r.query), f'(no match{within})', ''))
        for i, m in enumerate(r.matches):
            rows.append((_short(r.query) if i == 0 else '', _short(m['uri']), str(m['distance'])))
    width = [max(len(row[i]) for row in rows) for i in range(2)]
    return '\n'.join(f'{q:<{width[0]}}  {m:<{width[1]}}  {d:>4}'.rstrip() for q, m, d in rows) + '\n'


FORMATTERS = {'table': to_table, 'json': to_json, 'csv': to_csv}
