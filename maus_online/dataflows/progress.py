"""The live progress line: redrawn in place on a terminal, an occasional line in a log file."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from .statistics import RunStatistics, format_progress


class ProgressDisplay:
    """Shows :func:`format_progress` of ``stats`` at most every ``interval`` seconds.

    On a terminal the line is redrawn in place (``\\r``); elsewhere (a log file, a pipe) a new
    line is written every ``log_interval`` seconds, so logs stay readable.
    """

    def __init__(self, stats: RunStatistics, stream: TextIO | None = None, *,
                 enabled: bool = True, interval: float = 0.2, log_interval: float = 10.0
                 ) -> None:
        self.stats = stats
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.on_terminal = self.stream.isatty()
        self.interval = interval if self.on_terminal else log_interval
        self._last = time.monotonic()
        self._drawn = False
        #: What is paused and why (a server down), shown at the end of the line; None: nothing.
        self.paused: Callable[[], str | None] = lambda: None
        #: The farm's alarms (a worker lost, MAUS-146), shown after it; None: none.
        self.alarms: Callable[[], str | None] = lambda: None

    def update(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        line = format_progress(self.stats)
        paused = self.paused()
        if paused:
            line += f" | {paused}"
        alarms = self.alarms()
        if alarms:
            line += f" | {alarms}"
        if self.on_terminal:
            self.stream.write("\r\x1b[K" + line)
            self._drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """Print a message of the dataflow (e.g. the workers' birth report) above the progress line."""
        if self.on_terminal and self._drawn:
            self.stream.write("\r\x1b[K")
        print(text, file=sys.stdout, flush=True)
        self._drawn = False

    def close(self) -> None:
        """End the in-place line so that what follows starts on a fresh line."""
        if self.enabled and self.on_terminal and self._drawn:
            self.update(force=True)
            self.stream.write("\n")
            self.stream.flush()
