"""What a client of the secured broker gets: the messages it reads, or the broker's refusal.

Probes use librdkafka (confluent-kafka), as a sponsor's own client would: it reports a
refusal as an error code at once (TOPIC_AUTHORIZATION_FAILED, _AUTHENTICATION, _SSL), where
aiokafka only logs it and returns nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from broker.access import admin_config
from core.settings import Settings


@dataclass
class Outcome:
    messages: list[bytes] = field(default_factory=list)
    errors: set[str] = field(default_factory=set)  # librdkafka error names

    @property
    def refused(self) -> bool:
        return bool(self.errors & REFUSALS)


REFUSALS = {
    "TOPIC_AUTHORIZATION_FAILED",
    "GROUP_AUTHORIZATION_FAILED",
    "_AUTHENTICATION",
    "_SSL",
}


def _config(settings: Settings, outcome: Outcome) -> dict[str, object]:
    def on_error(error: KafkaError) -> None:
        outcome.errors.add(error.name())

    return {**admin_config(settings), "error_cb": on_error, "socket.timeout.ms": 10_000}


def read(
    settings: Settings,
    topic: str,
    *,
    group: str,
    subscribe: bool = False,
    partitions: int = 3,
    want: int = 1,
    timeout: float = 15.0,
) -> Outcome:
    """Read `topic` from the beginning until `want` messages, a refusal, or `timeout`:
    assigned its partitions, or subscribed as a member of `group` (librdkafka looks up the
    group's coordinator either way, so `group` must be one the user may use)."""
    outcome = Outcome()
    consumer = Consumer(
        {
            **_config(settings, outcome),
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        if subscribe:
            consumer.subscribe([topic])
        else:
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(outcome.messages) < want and not outcome.refused:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                outcome.errors.add(message.error().name())
            else:
                outcome.messages.append(message.value())
    finally:
        consumer.close()
    return outcome


def write(settings: Settings, topic: str, value: bytes = b"{}", timeout: float = 15.0) -> Outcome:
    """Produce one message; `messages` holds it once the broker acknowledged it."""
    outcome = Outcome()

    def delivered(error: KafkaError | None, message: object) -> None:
        if error is None:
            outcome.messages.append(value)
        else:
            outcome.errors.add(error.name())

    producer = Producer({**_config(settings, outcome), "message.timeout.ms": int(timeout * 1000)})
    producer.produce(topic, value, key=b"probe", on_delivery=delivered)
    producer.flush(timeout + 5)
    return outcome
