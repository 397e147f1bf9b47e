"""One progress display for the long steps: redrawn in place on a terminal, a few lines in a log."""
import io

from client import progress as progress_module
from client.progress import Progress


class Stream(io.StringIO):
    def __init__(self, terminal: bool):
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


def test_a_short_step_writes_one_line_to_a_log():
    log = Stream(terminal=False)
    step = Progress('drawing', 9, noun='contact sheets', stream=log)
    for _ in range(9):
        step.advance(1)
    lines = log.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith('drawing 9/9 contact sheets (')


def test_a_long_step_writes_a_line_at_each_quarter_and_no_more(monkeypatch):
    monkeypatch.setattr(progress_module, 'LOG_AFTER_SECONDS', 0)  # every step counts as long
    log = Stream(terminal=False)
    step = Progress('indexing', 1000, stream=log)
    for _ in range(100):
        step.advance(10)
    counts = [line.split()[1] for line in log.getvalue().splitlines()]
    assert counts == ['250/1000', '500/1000', '750/1000', '1000/1000']


def test_on_a_terminal_the_display_is_redrawn_in_place():
    terminal = Stream(terminal=True)
    step = Progress('indexing', 5, stream=terminal)
    for _ in range(5):
        step.advance(1)
    text = terminal.getvalue()
    assert '\x1b[' in text or '\r' in text  # cursor movement: the same line drawn over
    assert '5/5' in text and 'indexing images' in text
