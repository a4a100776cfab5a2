"""Waiting for the broker, out loud. Faust-free.

The worker waits for the broker's acknowledgements before it acknowledges its input; a
broker that stops acknowledging shows in the log long before the stall check marks the
worker unhealthy (streams/stalls.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any

log = logging.getLogger(__name__)


async def patiently(waiting: Awaitable[Any], what: str, every: float = 10.0) -> Any:
    """Await, logging a warning every `every` seconds it takes."""
    task = asyncio.ensure_future(waiting)
    started = time.monotonic()
    while True:
        done, _ = await asyncio.wait({task}, timeout=every)
        if done:
            return task.result()
        log.warning("still waiting for %s after %.0f s", what, time.monotonic() - started)
