"""The worker's batch publisher on the real broker: where records land, their order, size."""

from __future__ import annotations

import asyncio

import pytest

from broker.client import client_options, ensure_topics
from broker.messages import Outgoing
from broker.publisher import MAX_BATCH_BYTES, Publisher, delivered
from broker.topics import TopicSpec
from core.codec import dumps, loads
from core.settings import Settings
from tests.integration.kafka_io import produce, read_all, run

pytestmark = pytest.mark.integration


def test_records_land_where_a_plain_producer_puts_them_in_order_and_none_is_lost(
    settings: Settings,
) -> None:
    topic, other = settings.topic("publisher-check"), settings.topic("publisher-other")
    run(ensure_topics(settings, [TopicSpec(t, 6, compacted=False) for t in (topic, other)]))
    keys = [f"CPMS-{n}".encode() for n in range(40)]
    # 20 KiB values: a partition's share is more than one record batch (MAX_BATCH_BYTES)
    padding = "x" * (20 * 1024)
    outputs = [
        Outgoing(topic, key, dumps({"key": key.decode(), "n": n, "padding": padding}))
        for n in range(12)
        for key in keys
    ]
    assert len(outputs) * len(padding) > 6 * MAX_BATCH_BYTES * 2

    async def publish() -> int:
        publisher = Publisher(client_options(settings))
        try:
            # both agents may send first at once: one producer serves them
            first, second = await asyncio.gather(
                publisher.send(outputs), publisher.send([Outgoing(other, b"k", b"{}")])
            )
            await delivered(first + second)
            return len(first)
        finally:
            await publisher.stop()

    batches = run(publish())
    # grouped into full record batches, not a request per record
    assert batches <= 6 * (len(outputs) * len(padding) // (6 * MAX_BATCH_BYTES) + 2)

    records = run(read_all(settings, topic))
    assert len(records) == len(outputs)
    assert len(run(read_all(settings, other))) == 1
    # a plain aiokafka producer (the Java client's partitioner) puts each key in the same place
    reference = run(produce(settings, other, [(key, b"{}") for key in keys]))
    home = {record.key: record.partition for record in reference}
    by_key: dict[bytes | None, list[int]] = {}
    for record in records:
        assert record.partition == home[record.key]
        by_key.setdefault(record.key, []).append(loads(record.value or b"{}")["n"])
    assert all(numbers == list(range(12)) for numbers in by_key.values())
    assert len(by_key) == len(keys)
