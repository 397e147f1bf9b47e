"""Progress of the long steps (indexing, searching, drawing, ...), on stderr.

On a terminal, one rich progress bar per step, redrawn in place (rich comes with Jina). In a
log (stderr not a terminal) a step writes its final line only, plus a line at each quarter
when it runs long enough for someone to wonder: a few lines per step, never one per item.
"""
import atexit
import sys
import time
from typing import Optional

LOG_AFTER_SECONDS = 5.0  # a step shorter than this writes only its final line to a log


class Progress:
    """Progress('indexing', 5000).advance(32) ...; the step ends when `total` items are done.

    total=None: a count not known in advance (a tar's images, which only reading it finds): the
    count goes on, and finish() ends the step with its final line.
    """

    def __init__(self, verb: str, total: Optional[int], noun: str = 'images', stream=None):
        self.verb, self.total, self.noun = verb, total, noun
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.monotonic()
        self._next_quarter = 0.25
        self._bar = _terminal_bar(self.stream, verb, noun, total) if self.stream.isatty() else None

    @property
    def rate(self) -> float:
        return self.done / max(time.monotonic() - self.started, 1e-9)

    def line(self) -> str:
        of = '' if self.total is None else f'/{self.total}'
        return f'{self.verb} {self.done}{of} {self.noun} ({self.rate:.1f}/s)'

    def finish(self) -> None:
        """The end of a step whose total was not known (for one that was, its last advance ended it)."""
        if self.total is not None:
            return
        self.total = self.done
        if self._bar is None:
            self._write()
            return
        bar, task = self._bar
        bar.update(task, completed=self.done, total=self.total)
        bar.stop()

    def advance(self, count: int) -> None:
        if self.total is None:  # no end and no quarters to tell yet: a terminal's bar counts on
            self.done += count
            if self._bar is not None:
                self._bar[0].update(self._bar[1], completed=self.done)
            return
        finished_before = self.done >= self.total
        self.done += count
        if self._bar is not None:
            bar, task = self._bar
            bar.update(task, completed=self.done)
            if self.done >= self.total:
                bar.stop()
            return
        if self.done >= self.total and not finished_before:
            self._write()
        elif self.total and self.done / self.total >= self._next_quarter:
            if time.monotonic() - self.started >= LOG_AFTER_SECONDS:
                self._write()
            self._next_quarter = (int(self.done / self.total * 4) + 1) / 4

    def _write(self) -> None:
        self.stream.write(self.line() + '\n')
        self.stream.flush()


def _terminal_bar(stream, verb: str, noun: str, total: int):
    """A started rich Progress with one task, and the task."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TaskProgressColumn, \
        TimeElapsedColumn, TimeRemainingColumn
    bar = RichProgress(f'{verb} {noun}', BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                       TimeElapsedColumn(), TimeRemainingColumn(), console=Console(file=stream),
                       redirect_stdout=False, redirect_stderr=False)
    task = bar.add_task(verb, total=total)
    bar.start()
    atexit.register(bar.stop)  # a step cut short (an error, Ctrl-C) still gives the terminal its cursor back
    if total == 0:
        bar.stop()
    return bar, task
