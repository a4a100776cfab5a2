"""`Publisher.send_whole`: a study's events in ONE record batch, which the broker appends whole.

The batches are aiokafka's own (`create_batch`, with the real size accounting of a 512 KiB
batch); only `send_batch`, the network hand-over, is replaced to see where each record went.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from broker.messages import Outgoing
from broker.partitions import partition_for
from broker.publisher import MAX_BATCH_BYTES, Publisher

TOPIC, PARTITIONS = "setup.milestones", 3


class RecordingBatch:
    """aiokafka's batch, remembering the keys appended to it."""

    def __init__(self, real: Any) -> None:
        self.real, self.keys = real, []

    def append(self, *, key: bytes | None, value: bytes | None, timestamp: None) -> Any:
        appended = self.real.append(key=key, value=value, timestamp=timestamp)
        if appended is not None:
            self.keys.append(key)
        return appended

    def size(self) -> int:
        return int(self.real.size())


async def send_all(groups: list[list[Outgoing]]) -> list[tuple[int, list[bytes | None]]]:
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", max_batch_size=MAX_BATCH_BYTES)
    sent: list[tuple[int, list[bytes | None]]] = []

    async def send_batch(batch: RecordingBatch, topic: str, *, partition: int) -> Any:
        sent.append((partition, batch.keys))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    producer.create_batch = lambda: RecordingBatch(AIOKafkaProducer.create_batch(producer))  # type: ignore[method-assign]
    producer.send_batch = send_batch  # type: ignore[method-assign]
    publisher = Publisher({})
    publisher._producer = producer  # never started: nothing leaves the process
    publisher._partitions[TOPIC] = PARTITIONS
    await publisher.send_whole(groups)
    return sent


def study(number: int, events: int, size: int) -> list[Outgoing]:
    key = f"CPMS-{number}".encode()
    return [Outgoing(TOPIC, key, bytes([65 + n % 26]) * size) for n in range(events)]


@pytest.mark.asyncio
async def test_each_study_lands_in_one_batch_on_its_partition_in_order() -> None:
    rng = random.Random(7)
    groups = [study(n, rng.randint(1, 60), rng.randint(200, 900)) for n in range(400)]
    sent = await send_all(groups)
    batches_of: dict[bytes, set[int]] = {}
    for index, (partition, keys) in enumerate(sent):
        for key in keys:
            assert key is not None
            assert partition == partition_for(key, PARTITIONS)
            batches_of.setdefault(key, set()).add(index)
    assert len(batches_of) == 400
    assert all(len(batches) == 1 for batches in batches_of.values())
    # several studies share a batch (not one request per study), and nothing is lost
    assert len(sent) < 100
    assert sum(len(keys) for _, keys in sent) == sum(len(g) for g in groups)


@pytest.mark.asyncio
async def test_only_a_study_larger_than_a_batch_is_split_and_its_order_kept() -> None:
    huge = study(1, 1500, 500)  # about 750 KB, over the 512 KiB batch
    sent = await send_all([study(2, 3, 100), huge, study(3, 3, 100)])
    holding = [keys for _, keys in sent if b"CPMS-1" in keys]
    assert len(holding) == 2
    assert sum(keys.count(b"CPMS-1") for keys in holding) == 1500
    for other in (b"CPMS-2", b"CPMS-3"):
        assert sum(1 for _, keys in sent if other in keys) == 1
