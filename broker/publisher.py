"""Sending a batch's outputs: one record batch per topic partition, one future per batch.

A worker's batch yields hundreds of outputs (study status, site clocks, alerts). Through a
producer's per-message `send`, each costs a coroutine, a future and an accumulator append;
here they are grouped by topic partition into aiokafka record batches (`create_batch` /
`send_batch`, public aiokafka API) in their original order, so a partition's outputs keep
their order and a batch of outputs costs a handful of futures. Partitions are chosen as the
Java client and aiokafka choose them (murmur2 of the key), so a study's or site's messages
land where every other producer of the contract would put them.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer

from broker.messages import Outgoing
from broker.partitions import partition_for

MAX_BATCH_BYTES = 512 * 1024  # under the broker's default message.max.bytes (1 MiB)
# The most a record adds to a batch beyond its key and value: its length, attributes,
# timestamp and offset deltas, key and value lengths and header count (varints, at most).
RECORD_OVERHEAD_BYTES = 5 + 1 + 10 + 5 + 5 + 5 + 1


@dataclass(frozen=True, slots=True)
class SentBatch:
    """Records handed to the producer for one topic partition; `future` resolves to the
    RecordMetadata of the first (its offset is the batch's base offset)."""

    topic: str
    partition: int
    count: int
    future: asyncio.Future[Any]


async def delivered(batches: Iterable[SentBatch]) -> None:
    """Wait until the broker has every batch (acks=all)."""
    await asyncio.gather(*(batch.future for batch in batches))


class Publisher:
    """An idempotent producer (acks=all) that sends lists of `Outgoing` as record batches."""

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        self._producer: AIOKafkaProducer | None = None  # made in the loop that uses it
        self._starting = asyncio.Lock()  # both agents may send first at the same moment
        self._partitions: dict[str, int] = {}  # topic -> its partition count
        self._spread = itertools.count()  # partitions for the rare output with no key

    async def start(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        async with self._starting:
            if self._producer is not None:
                return self._producer
            producer = AIOKafkaProducer(
                **self._options,
                acks="all",
                enable_idempotence=True,
                linger_ms=0,  # a batch is complete when handed over: nothing to wait for
                max_batch_size=MAX_BATCH_BYTES,
            )
            await producer.start()
            self._producer = producer
            return producer

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def send(self, outputs: Iterable[Outgoing]) -> list[SentBatch]:
        """Hand the outputs to the producer, in order within each topic partition."""
        producer = await self.start()
        by_partition: dict[tuple[str, int], list[Outgoing]] = {}
        for out in outputs:
            partition = out.partition
            if partition is None:
                count = await self._partition_count(producer, out.topic)
                partition = (
                    partition_for(out.key, count) if out.key else next(self._spread) % count
                )
            by_partition.setdefault((out.topic, partition), []).append(out)
        sent = []
        for (topic, partition), records in by_partition.items():
            batch, count = producer.create_batch(), 0
            for out in records:
                if batch.append(key=out.key, value=out.value, timestamp=None) is None:
                    future = await producer.send_batch(batch, topic, partition=partition)
                    sent.append(SentBatch(topic, partition, count, future))
                    batch, count = producer.create_batch(), 0
                    if batch.append(key=out.key, value=out.value, timestamp=None) is None:
                        raise ValueError(f"a {topic} message larger than {MAX_BATCH_BYTES} bytes")
                count += 1
            future = await producer.send_batch(batch, topic, partition=partition)
            sent.append(SentBatch(topic, partition, count, future))
        return sent

    async def send_whole(self, groups: Iterable[Sequence[Outgoing]]) -> list[SentBatch]:
        """Like `send`, but each group lands in ONE record batch, which the broker appends
        whole or not at all: a group is never half-published. A group is one key's records
        (all go to the partition of its first record); a group starts a new batch when it
        does not fit in the current one, and only a group larger than a whole batch
        (MAX_BATCH_BYTES) is split over several, in order."""
        producer = await self.start()
        open_batches: dict[tuple[str, int], tuple[Any, int]] = {}  # -> (batch, records in it)
        sent: list[SentBatch] = []
        for group in groups:
            if not group:
                continue
            first = group[0]
            partition = first.partition
            if partition is None:
                count = await self._partition_count(producer, first.topic)
                partition = partition_for(first.key, count) if first.key else 0
            where = (first.topic, partition)
            batch, count = open_batches.get(where) or (producer.create_batch(), 0)
            needed = sum(
                len(out.key or b"") + len(out.value or b"") + RECORD_OVERHEAD_BYTES
                for out in group
            )
            if count and batch.size() + needed > MAX_BATCH_BYTES:
                future = await producer.send_batch(batch, where[0], partition=partition)
                sent.append(SentBatch(where[0], partition, count, future))
                batch, count = producer.create_batch(), 0
            for out in group:
                if batch.append(key=out.key, value=out.value, timestamp=None) is None:
                    # only a group larger than one batch gets here
                    future = await producer.send_batch(batch, where[0], partition=partition)
                    sent.append(SentBatch(where[0], partition, count, future))
                    batch, count = producer.create_batch(), 0
                    if batch.append(key=out.key, value=out.value, timestamp=None) is None:
                        raise ValueError(
                            f"a {out.topic} message larger than {MAX_BATCH_BYTES} bytes"
                        )
                count += 1
            open_batches[where] = (batch, count)
        for (topic, partition), (batch, count) in open_batches.items():
            if count:
                future = await producer.send_batch(batch, topic, partition=partition)
                sent.append(SentBatch(topic, partition, count, future))
        return sent

    async def _partition_count(self, producer: AIOKafkaProducer, topic: str) -> int:
        count = self._partitions.get(topic)
        if count is None:
            partitions = await producer.partitions_for(topic)
            count = self._partitions[topic] = len(partitions)
        return count
