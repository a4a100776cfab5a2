"""Log hygiene: a client library retrying a lost broker must not flood the log.

With its broker gone, aiokafka logs every reconnect, metadata and fetch attempt (about 160
lines a second from one notifier, measured). `limit_repeats` lets each distinct message of
those loggers through once a minute and says how many like it were held back, so an operator
still sees the broker is unreachable, and when it came back, without gigabytes of the same line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

WINDOW_SECONDS = 60.0
MAX_TRACKED = 1000  # distinct messages remembered; more are let through (never lost)


class RepeatLimiter(logging.Filter):
    """Passes a message, then holds back the same message for `window` seconds, counting."""

    def __init__(
        self, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.window = window
        self.clock = clock
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}  # -> (passed at, held)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        key = (record.name, record.levelno, text)
        now = self.clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.window:
            self._seen[key] = (seen[0], seen[1] + 1)
            return False
        if len(self._seen) >= MAX_TRACKED and seen is None:
            self._forget(now)
        self._seen[key] = (now, 0)
        if seen is not None and seen[1]:
            record.msg = f"{text} ({seen[1]} more like this in the last {now - seen[0]:.0f} s)"
            record.args = ()
        return True

    def _forget(self, now: float) -> None:
        """Drop messages last passed over a window ago; if all are recent, start afresh."""
        self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.window}
        if len(self._seen) >= MAX_TRACKED:
            self._seen.clear()


def limit_repeats(prefix: str = "aiokafka", limiter: RepeatLimiter | None = None) -> RepeatLimiter:
    """Attach one limiter to the `prefix` logger and every logger under it created so far.

    Logger filters see only records logged on that logger (not ones propagated from
    children), so each module's logger gets it; call after the library is imported."""
    limiter = limiter or RepeatLimiter()
    names = [prefix] + [
        name for name in logging.Logger.manager.loggerDict if name.startswith(prefix + ".")
    ]
    for name in names:
        logger = logging.getLogger(name)
        if limiter not in logger.filters:
            logger.addFilter(limiter)
    return limiter
