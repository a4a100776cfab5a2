"""Site reference data (`setup.sites`), read in full by every worker like a global table.

A plain aiokafka reader without a consumer group: it reads every partition from the start
and keeps following, so every worker holds every site. `caught_up` is set once it has read
to the end of the topic as it was at start-up, so /healthz waits for it.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from events.codec import JSONDecodeError, loads
from setupmon.settings import Settings
from streams.kafka import client_options, partition_count

log = logging.getLogger(__name__)

UNKNOWN_REGION = "unknown"


class SiteRegistry:
    def __init__(self, settings: Settings, topic: str) -> None:
        self.settings = settings
        self.topic = topic
        self.sites: dict[str, dict[str, object]] = {}
        self.caught_up = asyncio.Event()

    def region_of(self, site_id: str) -> str:
        region = self.sites.get(site_id, {}).get("region")
        return str(region) if region else UNKNOWN_REGION

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the compacted topic: a site, or a tombstone that removes it."""
        if key is None:
            return
        site_id = key.decode("utf-8", "replace")
        if value is None:
            self.sites.pop(site_id, None)
            return
        try:
            record = loads(value)
        except JSONDecodeError:
            log.warning("ignoring unreadable site record for %s", site_id)
            return
        if isinstance(record, dict):
            self.sites[site_id] = record

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
            log.exception("site registry reader stopped")
            raise
        finally:
            await consumer.stop()
