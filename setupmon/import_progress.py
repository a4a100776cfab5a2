"""A progress bar on standard error for `setupmon import` of large files.

On a terminal it redraws one line (`\\r`); in a log (not a TTY) it writes a line at every
tenth of the way, so a cron job's log shows progress without thousands of lines.
"""

from __future__ import annotations

import time
from typing import TextIO

BAR_WIDTH = 30
REDRAW_SECONDS = 0.1  # a terminal need not be redrawn for every round


class ProgressBar:
    def __init__(self, stream: TextIO, label: str, total: int, unit: str) -> None:
        self.stream = stream
        self.label = label
        self.total = max(total, 1)
        self.unit = unit
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self._last_tenth = 0
        self._last_draw = 0.0

    def update(self, done: int) -> None:
        fraction = min(done / self.total, 1.0)
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw >= REDRAW_SECONDS or done >= self.total:
                self._last_draw = now
                filled = int(fraction * BAR_WIDTH)
                bar = "#" * filled + "-" * (BAR_WIDTH - filled)
                self.stream.write(f"\r{self.label} [{bar}] {self._counts(done)}")
                self.stream.flush()
            return
        tenth = int(fraction * 10)
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(f"{self.label}: {tenth * 10}% {self._counts(done)}\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def _counts(self, done: int) -> str:
        elapsed = time.monotonic() - self.started
        rate = f", {done / elapsed:,.0f} {self.unit}/s" if elapsed > 0 and done else ""
        return f"{done:,}/{self.total:,} {self.unit}{rate}"
