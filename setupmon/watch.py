"""`setupmon watch`: follow a topic and print each message as one line of JSON."""

from __future__ import annotations

import sys

from aiokafka import AIOKafkaConsumer

from broker.client import client_options
from core.settings import Settings


async def watch_topic(settings: Settings, topic: str, from_beginning: bool) -> None:
    consumer = AIOKafkaConsumer(
        topic,
        **client_options(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    try:
        async for message in consumer:
            value = message.value.decode("utf-8", "replace") if message.value else "<deleted>"
            sys.stdout.write(value + "\n")
            sys.stdout.flush()
    finally:
        await consumer.stop()
