"""Reading a stretch of one partition straight from the broker, by offset.

The study agent uses it to fill gaps: faust-streaming can skip messages of a partition it
keeps across a rebalance (its stream buffers are cleared while its fetch position and read
offset move on; README "Operations"), so the agent reads whatever it was not handed itself.
A range that holds no messages (a transactional producer's commit markers take offsets
too) comes back empty.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from broker.messages import Incoming


class RangeReader:
    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        self._consumer: AIOKafkaConsumer | None = None  # started on first use, in its loop
        self._lock = asyncio.Lock()

    async def read(self, topic: str, partition: int, first: int, last: int) -> list[Incoming]:
        """The messages at offsets `first`..`last` of the partition, in order."""
        async with self._lock:
            consumer = await self._started()
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, first)
            end = (await consumer.end_offsets([tp]))[tp]
            messages: list[Incoming] = []
            while await consumer.position(tp) <= last and await consumer.position(tp) < end:
                fetched = await consumer.getmany(tp, timeout_ms=1000)
                for record in fetched.get(tp, []):
                    if first <= record.offset <= last:
                        messages.append(
                            Incoming(
                                record.key, record.value or b"", topic, partition, record.offset
                            )
                        )
            return messages

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(**self._options, enable_auto_commit=False, group_id=None)
            await consumer.start()
            self._consumer = consumer
        return self._consumer
