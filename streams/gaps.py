"""Filling the holes Faust leaves in a partition. Faust-free.

faust-streaming 0.15 can skip messages of a partition a worker keeps across a rebalance (its
stream buffers are cleared while its read offset and fetch position move on), and the
commit of later offsets would then lose them for good. So each agent follows the offsets it
is handed (streams/progress.py) and reads any hole straight from the broker
(broker/range_reader.py), in place, before the message after it (README "Operations").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from broker.messages import Incoming
from streams.progress import Progress

log = logging.getLogger(__name__)

T = TypeVar("T")
ReadRange = Callable[[str, int, int, int], Awaitable[list[Incoming]]]


async def with_gaps_filled(
    items: list[T],
    progress: Progress,
    read_range: ReadRange,
    *,
    message_of: Callable[[T], Incoming],
    stand_in: Callable[[Incoming, T], T],
) -> list[T]:
    """`items` with every message of a hole before them read and put in place, each as
    `stand_in(message read, the item after the hole)`; `progress` knows the offsets handed
    so far (a partition not seen since its assignment has no hole)."""
    messages = [message_of(item) for item in items]
    gaps = progress.gaps((m.partition, m.offset) for m in messages)
    if not gaps:
        return items
    filled: list[T] = []
    for item, message in zip(items, messages, strict=True):
        first = gaps.get((message.partition, message.offset))
        if first is not None:
            last = message.offset - 1
            missing = await read_range(message.topic, message.partition, first, last)
            log.warning(
                "%s partition %d: offsets %d..%d were not handed to the agent; "
                "read %d messages there from the broker",
                message.topic, message.partition, first, last, len(missing),
            )  # fmt: skip
            filled += [stand_in(read, item) for read in missing]
        filled.append(item)
    return filled
