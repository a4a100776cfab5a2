"""An agent's events in batches, each acknowledged only once its batch is handled.

Faust-free: it needs only these parts of a Faust stream (`Stream.noack()`, the channel's
queue, `events()`, `ack`). A batch is whatever the partitions have ready, up to `MAX_BATCH`
events: per-batch costs (a changelog wait, a producer flush) are paid once for many events
when busy, and an event alone is handled at once when quiet. An event is acknowledged, so
Faust may commit its offset, only after its whole batch is handled: a crash before that
re-delivers it (at-least-once; README "Architecture").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

MAX_BATCH = 5000  # events an agent's batch takes at most
LINGER_BELOW = 200  # a batch smaller than this waits once, LINGER_SECONDS, for more events
LINGER_SECONDS = 0.002


class Queue(Protocol):
    def empty(self) -> bool: ...


class Channel(Protocol):
    @property
    def queue(self) -> Queue: ...


class ManualStream(Protocol):
    """A stream whose events are acknowledged by hand (`Stream.noack()`)."""

    @property
    def channel(self) -> Channel: ...

    def events(self) -> AsyncIterator[Any]: ...

    async def ack(self, event: Any) -> bool: ...


class Stream(Protocol):
    def noack(self) -> ManualStream: ...


async def in_batches(
    stream: Stream,
    handle: Callable[[list[Any]], Awaitable[None]],
    *,
    on_error: Callable[[], None],
) -> None:
    """Hand an agent's events to `handle` in batches: what the partitions have ready, up to
    MAX_BATCH. Events are acknowledged (so Faust may commit their offsets) only once their
    batch is handled; `on_error` drops what the failed batch may have left half done."""
    manual = stream.noack()
    ready = manual.channel.queue
    batch: list[Any] = []
    lingered = False
    async for event in manual.events():
        batch.append(event)
        if ready.empty() and len(batch) < LINGER_BELOW and not lingered:
            # A small batch waits once for the fetcher to deliver more, so a busy stream
            # pays the per-batch round trips for many events; it adds at most 2 ms.
            lingered = True
            await asyncio.sleep(LINGER_SECONDS)
        if len(batch) < MAX_BATCH and not ready.empty():
            continue
        try:
            await handle(batch)
        except BaseException:
            on_error()
            raise
        for done in batch:
            await manual.ack(done)
        batch = []
        lingered = False
