"""What every benchmark report starts and ends with: the machine, the date and its load, since a
figure measured on a busy machine means little without them."""
import json
import os
import platform
import sys
import time


def started(**fields) -> dict:
    return {'machine': f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores',
            'date': time.strftime('%Y-%m-%d %H:%M'), 'load_before': os.getloadavg(), **fields}


def finish(report: dict, path: str) -> None:
    report['load_after'] = os.getloadavg()
    with open(path, 'w') as file:
        json.dump(report, file, indent=1)
    print(f'wrote {path}', file=sys.stderr)
