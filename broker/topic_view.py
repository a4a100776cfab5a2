"""A compacted topic read in full and followed, as a dict of its latest JSON values.

Every process that uses one reads every partition from the start, with no consumer group,
like a Faust global table. `caught_up` is set once it has read to the end of the topic as it
was when it started.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from broker.client import client_options, partition_count
from core.codec import JSONDecodeError, loads
from core.settings import Settings

log = logging.getLogger(__name__)


class TopicView:
    def __init__(self, settings: Settings, topic: str) -> None:
        self.settings = settings
        self.topic = topic
        self.records: dict[str, dict[str, object]] = {}
        self.caught_up = asyncio.Event()

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record: the latest value of its key, or a tombstone that removes it."""
        if key is None:
            return
        name = key.decode("utf-8", "replace")
        if value is None:
            self.records.pop(name, None)
            return
        try:
            record = loads(value)
        except JSONDecodeError:
            log.warning("ignoring an unreadable record for %s on %s", name, self.topic)
            return
        if isinstance(record, dict):
            self.records[name] = record

    async def run(self) -> None:
        partitions = await partition_count(self.settings, self.topic)
        consumer = AIOKafkaConsumer(
            **client_options(self.settings), enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        try:
            assigned = [TopicPartition(self.topic, p) for p in range(max(partitions, 1))]
            consumer.assign(assigned)
            await consumer.seek_to_beginning(*assigned)
            end = await consumer.end_offsets(assigned)
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        self.apply(record.key, record.value)
                if not self.caught_up.is_set():
                    positions = {tp: await consumer.position(tp) for tp in assigned}
                    if all(positions[tp] >= end[tp] for tp in assigned):
                        self.caught_up.set()
        except KafkaError:
            log.exception("reader of %s stopped", self.topic)
            raise
        finally:
            await consumer.stop()
