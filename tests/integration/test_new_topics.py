"""A quiet first run (README "Quick start"): topics `ensure_topics` creates take writes at once,
with no `NotLeaderForPartitionError, retrying` lines from the producer."""

from __future__ import annotations

import logging
import time

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from broker.client import client_options, ensure_topics, partition_count
from broker.topics import TopicSpec
from core.settings import Settings
from tests.integration.kafka_io import run

pytestmark = pytest.mark.integration


def test_a_producer_writing_right_after_creation_meets_no_leaderless_partition(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # many partitions, written at once: without the wait this logs dozens of retries
    names = [settings.topic(f"fresh-{n}") for n in range(4)]
    specs = [TopicSpec(name, 12, compacted=False) for name in names]

    async def create_and_write() -> None:
        assert sorted(await ensure_topics(settings, specs)) == sorted(names)
        producer = AIOKafkaProducer(**client_options(settings))
        await producer.start()
        try:
            for name in names:
                for key in range(24):
                    await producer.send(name, b"{}", key=str(key).encode())
            await producer.flush()
        finally:
            await producer.stop()

    with caplog.at_level(logging.WARNING, logger="aiokafka"):
        run(create_and_write())
    retries = [r.getMessage() for r in caplog.records if "NotLeader" in r.getMessage()]
    assert retries == []


async def topic_names(settings: Settings) -> set[str]:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def test_asking_for_a_missing_topic_does_not_create_it(settings: Settings) -> None:
    # A metadata request for a missing topic makes a broker with auto.create.topics.enable
    # (the default) create it with its defaults: a compacted topic would come out wrong.
    missing = f"{settings.topic_prefix}.never-created"
    assert run(partition_count(settings, missing)) == 0
    time.sleep(2)  # the broker creates an auto-created topic a moment after the request
    assert run(partition_count(settings, missing)) == 0
    assert missing not in run(topic_names(settings))
