"""A steady stream of milestones from a background thread that rides out broker faults.

Messages go in chunks at a fixed rate; a chunk the broker did not acknowledge (it was down,
a leader moved) is sent again whole until it is. A re-sent event has the same `event_id`,
which the contract says is a duplicate, so the truth does not change; nothing is skipped.
"""

from __future__ import annotations

import asyncio
import threading
import time

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from broker.client import client_options
from core.settings import Settings

CHUNK = 50


class Feeder:
    def __init__(
        self, settings: Settings, topic: str, messages: list[tuple[bytes, bytes]], per_second: float
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.messages = messages
        self.per_second = per_second
        self.sent = 0  # messages acknowledged so far
        self.resent_chunks = 0
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="feeder", daemon=True)

    def __enter__(self) -> Feeder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish(timeout=300)

    def fraction(self) -> float:
        return self.sent / len(self.messages)

    def finish(self, timeout: float) -> None:
        """Wait until every message is acknowledged."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"feeder still sending after {timeout}s"
        assert self.failure is None, f"feeder failed: {self.failure!r}"

    def _run(self) -> None:
        try:
            asyncio.run(self._feed())
        except BaseException as exc:  # reported by finish()
            self.failure = exc

    async def _feed(self) -> None:
        producer = await self._producer()
        try:
            started = time.monotonic()
            for start in range(0, len(self.messages), CHUNK):
                chunk = self.messages[start : start + CHUNK]
                while True:
                    try:
                        sends = [await producer.send(self.topic, v, key=k) for k, v in chunk]
                        await asyncio.gather(*sends)
                        break
                    except KafkaError:
                        self.resent_chunks += 1
                        await asyncio.sleep(0.5)
                self.sent = start + len(chunk)
                due = started + self.sent / self.per_second
                await asyncio.sleep(max(0.0, due - time.monotonic()))
        finally:
            await producer.stop()

    async def _producer(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            **client_options(self.settings),
            acks="all",
            request_timeout_ms=5000,
            retry_backoff_ms=200,
        )
        await producer.start()
        return producer
