"""Kafka connection options for aiokafka and Faust, from the settings (TLS and SASL)."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka import errors as kafka_errors
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from broker.topics import TopicSpec
from core.errors import SetupmonError
from core.settings import Settings


class KafkaUnavailable(SetupmonError):
    retriable = True


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of every client, from aiokafka's helper (the system's trusted CAs
    unless SETUPMON_SSL_CAFILE names one; a client certificate when one is given)."""
    if not settings.security_protocol.endswith("SSL"):
        return None
    return create_ssl_context(
        cafile=settings.ssl_cafile or None,
        certfile=settings.ssl_certfile or None,
        keyfile=settings.ssl_keyfile or None,
        password=settings.ssl_key_password or None,
    )


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for aiokafka producers, consumers and admin clients."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password
    return options


LEADER_WAIT_SECONDS = 30.0


async def ensure_topics(
    settings: Settings, specs: list[TopicSpec], *, wait_for_leaders: bool = True
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created.

    A new partition takes a moment to get a leader that answers; a producer that writes
    at once logs `NotLeaderForPartitionError, retrying` (harmless, but it reads as a
    failure), so by default this waits until every new partition's leader answers. The
    worker's own sponsor topics skip the wait: its producer retries, off the console."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await admin.start()
    except KafkaError as exc:
        raise KafkaUnavailable(
            f"cannot reach Kafka at {settings.bootstrap_servers}: {exc}"
        ) from exc
    try:
        existing = set(await admin.list_topics())
        wanted = [spec for spec in specs if spec.name not in existing]
        if not wanted:
            return []
        new_topics = [
            NewTopic(
                spec.name,
                num_partitions=spec.partitions,
                replication_factor=settings.replication_factor,
                topic_configs=spec.config,
            )
            for spec in wanted
        ]
        try:
            response = await admin.create_topics(new_topics)
        except TopicAlreadyExistsError:
            pass  # another worker created them first
        else:
            _raise_refusals(response.topic_errors)
    finally:
        await admin.close()
    if wait_for_leaders:
        await _leaders_answer(settings, wanted)
    return [spec.name for spec in wanted]


def _raise_refusals(topic_errors: list[tuple[Any, ...]]) -> None:
    """CreateTopics answers per topic and aiokafka raises none of it: a refusal (no CREATE
    ACL, a replication factor the cluster cannot meet) would otherwise surface 30 s later as
    partitions without a leader."""
    refused = [
        f"{row[0]}: {kafka_errors.for_code(row[1]).__name__}"
        + (f" ({row[2]})" if len(row) > 2 and row[2] else "")
        for row in topic_errors
        if row[1] not in (0, TopicAlreadyExistsError.errno)
    ]
    if refused:
        raise SetupmonError("the broker refused to create " + "; ".join(refused))


async def _leaders_answer(settings: Settings, specs: list[TopicSpec]) -> None:
    """Wait until the leader of every partition of `specs` answers a ListOffsets request
    (only a partition's leader does)."""
    partitions = [TopicPartition(s.name, p) for s in specs for p in range(s.partitions)]
    consumer = AIOKafkaConsumer(**client_options(settings))
    await consumer.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LEADER_WAIT_SECONDS
    try:
        while True:
            try:
                await asyncio.wait_for(
                    consumer.end_offsets(partitions), max(0.1, deadline - loop.time())
                )
                return
            except (KafkaError, TimeoutError) as exc:
                if loop.time() >= deadline:
                    raise KafkaUnavailable(
                        f"topics created, but not every partition has a leader after "
                        f"{LEADER_WAIT_SECONDS:.0f} s: {exc!r}"
                    ) from exc
                await asyncio.sleep(0.2)
    finally:
        await consumer.stop()


async def partition_count(settings: Settings, topic: str) -> int:
    """How many partitions a topic has (0 when it does not exist).

    The topic is looked for in the topic list first: describing a missing topic is a metadata
    request for it, which a broker with `auto.create.topics.enable` (Kafka's default) answers
    by creating it with the broker's defaults (one partition, delete policy, 7-day retention):
    a compacted ledger or status topic made that way loses its records a week later."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await admin.start()
        if topic not in set(await admin.list_topics()):
            return 0
        described = await admin.describe_topics([topic])
    except KafkaError as exc:
        raise KafkaUnavailable(f"cannot describe {topic}: {exc}") from exc
    finally:
        await admin.close()
    for entry in described:
        if entry.get("topic") == topic and not entry.get("error_code"):
            return len(entry.get("partitions", []))
    return 0
