"""Stopping on time when the broker is gone.

aiokafka retries a lost broker for ever: an offset commit, a consumer's or producer's `stop()`
wait for a coordinator or an acknowledgement that never comes. A notifier asked to stop
(SIGTERM from systemd or Kubernetes) must still stop, so its loop gets a grace period to finish
what it is doing, then is cancelled, and each client's `stop()` gets a bounded wait. Nothing is
lost by cutting it short: offsets are committed only once nothing is waiting, so a restart
reads again what was not delivered, and the delivery ledger drops what was.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 15.0  # the loop's time to finish its current batch once asked to stop
CLIENT_STOP_SECONDS = 10.0  # each Kafka client's time to close cleanly


async def within(step: Awaitable[Any], seconds: float, what: str) -> bool:
    """Await `step` for at most `seconds`; False (with a warning) if it took longer or was
    cancelled from inside (aiokafka's `stop()` can end that way with its coordinator gone)."""
    try:
        await asyncio.wait_for(step, seconds)
    except TimeoutError:
        log.warning("%s took over %.0f s (is the broker reachable?); going on", what, seconds)
        return False
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # we are being cancelled ourselves: not ours to swallow
        log.warning("%s was cut short inside the Kafka client; going on", what)
        return False
    return True


async def run_until_stopped(
    work: Coroutine[Any, Any, None], stop: asyncio.Event, grace: float = STOP_GRACE_SECONDS
) -> None:
    """Run `work` until it returns, or until `stop` is set and `grace` seconds have passed.

    `work` is expected to notice `stop` itself; if it is stuck (a broker that does not answer),
    it is cancelled, so its `finally` blocks run and the process can exit."""
    task = asyncio.create_task(work)
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait({task}, timeout=grace)
            if not task.done():
                log.warning("still busy %.0f s after being asked to stop; cancelling", grace)
                task.cancel()
                await asyncio.wait({task})
            if task.cancelled():
                return
        task.result()  # raises the work's own failure
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
