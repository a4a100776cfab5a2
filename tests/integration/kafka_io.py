"""Producing to and reading from the real test broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from broker.client import client_options, partition_count
from core.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


async def produce(
    settings: Settings, topic: str, messages: list[tuple[bytes | None, bytes]]
) -> list[Record]:
    """Send in order and wait for each acknowledgement; returns where each one landed."""
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        landed = []
        for key, value in messages:
            meta = await producer.send_and_wait(topic, value, key=key)
            landed.append(Record(topic, meta.partition, meta.offset, key, value))
        return landed
    finally:
        await producer.stop()


async def read_all(settings: Settings, topic: str) -> list[Record]:
    """Everything on the topic now, from the beginning, in partition then offset order."""
    partitions = await partition_count(settings, topic)
    if partitions == 0:
        return []
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        records: list[Record] = []
        for tp in tps:
            while await consumer.position(tp) < end[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                for message in batch.get(tp, []):
                    records.append(
                        Record(topic, tp.partition, message.offset, message.key, message.value)
                    )
        return records
    finally:
        await consumer.stop()


def wait_until(
    condition: Callable[[], object], *, timeout: float = 60.0, what: str, interval: float = 0.3
) -> None:
    """Poll until `condition()` is truthy; fails naming `what` when `timeout` runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(interval)


def wait_for(
    read: Callable[[], list[Record]],
    ready: Callable[[list[Record]], bool],
    *,
    timeout: float = 60.0,
    what: str = "records",
) -> list[Record]:
    """Poll `read` until `ready` holds on what it returned; returns those records."""
    seen: list[Record] = []

    def done() -> bool:
        nonlocal seen
        seen = read()
        return ready(seen)

    wait_until(done, timeout=timeout, what=what, interval=0.5)
    return seen


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from a synchronous test."""
    return asyncio.run(coroutine)
