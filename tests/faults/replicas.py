"""Where a topic's partitions live on the cluster: leaders, replicas and in-sync replicas."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient

from broker.client import client_options
from core.settings import Settings
from tests.integration.kafka_io import run


@dataclass(frozen=True)
class PartitionReplicas:
    topic: str
    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


async def _describe(settings: Settings, topics: list[str]) -> list[PartitionReplicas]:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return [
        PartitionReplicas(
            entry["topic"],
            p["partition"],
            p["leader"],
            tuple(p["replicas"]),
            tuple(p["isr"]),
        )
        for entry in described
        for p in entry.get("partitions", [])
    ]


def describe(settings: Settings, topics: list[str]) -> list[PartitionReplicas]:
    return run(_describe(settings, topics))


async def _names(settings: Settings) -> list[str]:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        return sorted(await admin.list_topics())
    finally:
        await admin.close()


def topics_of_test(settings: Settings) -> list[str]:
    """Every topic of this test: its prefix's (sponsor topics too) and the app's changelogs."""
    return [
        name
        for name in run(_names(settings))
        if name.startswith((f"{settings.topic_prefix}.", f"{settings.app_id}-"))
    ]
